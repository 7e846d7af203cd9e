//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

use corridor_model::InvariantViolation;
use corridor_output::OutputError;
use corridor_scenario::ScenarioError;

/// Why a sweep or a calibration could not be set up or did not finish.
#[derive(thiserror::Error, Debug)]
pub enum StudyError {
    /// A sweep, targets or parameters file (or a `--grid` argument) is malformed. The message
    /// names the file (or the argument), the line where known, the key, the bad value and
    /// what is allowed, like scenario errors.
    #[error("{}: {message}", Location { file, line: *line })]
    Input {
        /// The file, or `--grid` for a command-line design.
        file: String,
        /// 1-based line of the offending key, when known.
        line: Option<usize>,
        /// The full message, starting with the dotted key.
        message: String,
    },

    /// The scenario with a point's (or an evaluation's) overrides does not validate.
    #[error("{what}: {cause}")]
    Scenario {
        /// Which point or evaluation, with its overrides.
        what: String,
        /// The scenario error (file, key, value, what is allowed). Not exposed as
        /// `source()`: the message already contains it.
        cause: ScenarioError,
    },

    /// `--shard I/N` cannot split this sweep (more shards than points).
    #[error(transparent)]
    Shard(#[from] corridor_runner::ShardError),

    /// An output file could not be written or read.
    #[error(transparent)]
    Output(#[from] OutputError),

    /// An accounting identity broke (a model bug), with its point and run.
    #[error("{what}, run {run}: accounting invariant broken on {violation}")]
    Invariant {
        /// Which point or evaluation.
        what: String,
        /// The run.
        run: u32,
        /// What broke.
        violation: InvariantViolation,
    },

    /// The output directory exists and holds a different study, or cannot be resumed.
    #[error("{}: {message}", .dir.display())]
    Resume {
        /// The output directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// The user interrupted the study; everything finished so far is kept.
    #[error("interrupted: finished work is kept in {}; rerun with --resume to continue", .dir.display())]
    Interrupted {
        /// The output directory.
        dir: PathBuf,
    },

    /// A file-system operation on the study's own files failed.
    #[error("I/O error while {action} {}: {cause}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    ThreadPool(String),

    /// The optimiser failed.
    #[error("optimiser: {0}")]
    Optimiser(String),

    /// A moment could not be computed (e.g. no day with a trade at a point).
    #[error("{0}")]
    Moment(String),
}

struct Location<'a> {
    file: &'a str,
    line: Option<usize>,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file, line),
            None => write!(f, "{}", self.file),
        }
    }
}

pub(crate) fn io_error(
    path: &std::path::Path,
    action: &'static str,
    e: std::io::Error,
) -> StudyError {
    StudyError::Io {
        path: path.to_path_buf(),
        action,
        cause: e,
    }
}
