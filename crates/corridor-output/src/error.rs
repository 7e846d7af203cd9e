//! The one error type of the output layer.

use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// Everything that can go wrong while writing or summarising output.
///
/// Every variant names the file or directory involved, and the message includes the
/// underlying cause (so it is complete however it is printed; for the same reason the cause
/// is not repeated as [`source`](std::error::Error::source)).
#[derive(thiserror::Error, Debug)]
pub enum OutputError {
    /// The output directory exists and replacing it was not requested.
    #[error(
        "output directory {} already exists (choose another path or ask to replace it)",
        .path.display()
    )]
    AlreadyExists {
        /// The final output directory.
        path: PathBuf,
    },

    /// The temporary directory this process would write to already exists.
    #[error(
        "temporary output directory {} already exists: another writer in this process is \
         using it, or a crashed run left it behind (remove it if so)",
        .path.display()
    )]
    TempDirExists {
        /// The temporary directory.
        path: PathBuf,
    },

    /// The output path has no usable final component (e.g. `..` or `/`).
    #[error("invalid output path {}: {reason}", .path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// A file-system operation failed.
    #[error("I/O error while {action} {}: {cause}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What was being done, e.g. "creating directory".
        action: &'static str,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The Parquet library failed to write or read a file.
    #[error("Parquet error in {}: {cause}", .path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying error.
        cause: ParquetError,
    },

    /// Arrow failed to assemble or decode a record batch.
    #[error("Arrow error in {}: {cause}", .path.display())]
    Arrow {
        /// The Parquet file the batch belongs to.
        path: PathBuf,
        /// The underlying error.
        cause: ArrowError,
    },

    /// `manifest.json` could not be serialised.
    #[error("JSON error in {}: {cause}", .path.display())]
    Json {
        /// The manifest path.
        path: PathBuf,
        /// The underlying error.
        cause: serde_json::Error,
    },

    /// `write_run` was called with a run number not greater than the previous one.
    #[error(
        "{}: run {run} arrived after run {previous}; runs must arrive in increasing order",
        .path.display()
    )]
    RunOrder {
        /// The output directory being written.
        path: PathBuf,
        /// The run that arrived.
        run: u32,
        /// The run written before it.
        previous: u32,
    },

    /// `finish` found a different number of runs than the metadata declares.
    #[error(
        "{}: {written} runs were written but the batch metadata declares {declared}",
        .path.display()
    )]
    RunCount {
        /// The output directory being written.
        path: PathBuf,
        /// Runs passed to `write_run`.
        written: u64,
        /// `OutputMeta::runs`.
        declared: u32,
    },

    /// A directory of shards cannot be written to or merged: a shard is missing,
    /// unfinished, of another batch, or a file is not what its shard's manifest says.
    #[error("{}: {message}", .dir.display())]
    Shards {
        /// The output directory of the shards.
        dir: PathBuf,
        /// What is wrong, naming the shard or file.
        message: String,
    },

    /// A Parquet file read back does not have the expected columns or content.
    #[error("unexpected content in {}: {reason}", .path.display())]
    Format {
        /// The file read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl OutputError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.to_path_buf(),
            action,
            cause: source,
        }
    }

    pub(crate) fn parquet(path: &Path, source: ParquetError) -> Self {
        OutputError::Parquet {
            path: path.to_path_buf(),
            cause: source,
        }
    }

    pub(crate) fn arrow(path: &Path, source: ArrowError) -> Self {
        OutputError::Arrow {
            path: path.to_path_buf(),
            cause: source,
        }
    }

    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> Self {
        OutputError::Format {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
