//! The one error type of the plotting crate.

use std::path::PathBuf;

/// Everything that can stop a chart from being drawn. Every variant names the file or
/// directory involved and says what was expected, so the message alone tells a user what to
/// fix.
#[derive(thiserror::Error, Debug)]
pub enum PlotError {
    /// The output file's extension names no supported format.
    #[error(
        "cannot write {}: unknown image format {ext:?}; the file name must end in .png or .svg",
        .path.display()
    )]
    Extension {
        /// The requested output file.
        path: PathBuf,
        /// Its extension ("" when it has none).
        ext: String,
    },

    /// The input is not a directory.
    #[error("{} is not a directory: give the output directory of `corridor run` or `corridor sweep`", .path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },

    /// The directory holds neither a run batch nor a sweep.
    #[error(
        "{} is neither a corridor run (daily.parquet and summary.parquet) nor a sweep \
         (points.parquet, summary.parquet and daily/); it contains: {found}",
        .path.display()
    )]
    UnknownDirectory {
        /// The directory given.
        path: PathBuf,
        /// Its entries, comma-separated, or "nothing".
        found: String,
    },

    /// A table lacks a column the chart needs, or has it with another type.
    #[error("{}: column {column}: {problem}", .path.display())]
    Column {
        /// The Parquet file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A table holds nothing to plot.
    #[error("{}: {what}", .path.display())]
    Empty {
        /// The Parquet file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },

    /// A file-system operation failed.
    #[error("I/O error while {action} {}: {cause}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The Parquet library could not read a file.
    #[error("cannot read {}: {cause}", .path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying error.
        cause: String,
    },

    /// Drawing or encoding the image failed.
    #[error("cannot draw {}: {cause}", .path.display())]
    Draw {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        cause: String,
    },
}

impl PlotError {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        cause: std::io::Error,
    ) -> Self {
        PlotError::Io {
            path: path.into(),
            action,
            cause,
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, cause: impl std::fmt::Display) -> Self {
        PlotError::Parquet {
            path: path.into(),
            cause: cause.to_string(),
        }
    }
}
