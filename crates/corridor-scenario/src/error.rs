//! The one error type of this crate.

use std::fmt;

/// What kind of problem a [`ScenarioError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The scenario file could not be read.
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key that the schema does not know.
    UnknownKey,
    /// A value of the wrong TOML type (a string where a number belongs, ...).
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// A value of the right type outside its allowed range or set.
    InvalidValue,
    /// A `--set` argument that is not `key.path=value` or cannot be applied.
    BadOverride,
}

/// A scenario that cannot be read, parsed or validated.
///
/// The message always names the file, the line (or `(from --set)` when the value came from
/// an override), the full dotted key, the bad value and what is allowed:
///
/// ```text
/// scenarios/x.toml:14: central_bank.lending_rate_bp = -100: must be >= central_bank.deposit_rate_bp (-75)
/// scenarios/x.toml (from --set): central_bank.policy_rate_bp: expected a number, found a string "abc"
/// ```
#[derive(thiserror::Error, Debug)]
#[error("{}: {message}", Location(self))]
pub struct ScenarioError {
    kind: ErrorKind,
    file: String,
    line: Option<usize>,
    from_set: bool,
    key: Option<String>,
    message: String,
}

impl ScenarioError {
    pub(crate) fn new(
        kind: ErrorKind,
        file: &str,
        line: Option<usize>,
        from_set: bool,
        key: Option<String>,
        message: String,
    ) -> ScenarioError {
        ScenarioError {
            kind,
            file: file.to_owned(),
            line,
            from_set,
            key,
            message,
        }
    }

    /// The same error, found while applying a `[[timeline]]` event: the message is prefixed
    /// with the event (`timeline[1] (2014-09-10): `) and the location becomes `line` in the
    /// file, where the event wrote the value.
    pub(crate) fn in_timeline_event(mut self, event: &str, line: Option<usize>) -> ScenarioError {
        self.message = format!("{event}: {}", self.message);
        self.line = line;
        self.from_set = false;
        self
    }

    /// The same error, located at `line` in the file.
    pub(crate) fn at_line(mut self, line: Option<usize>) -> ScenarioError {
        self.line = line;
        self.from_set = false;
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The scenario file (or the `source_name` given to [`crate::parse`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line in the file of the offending key or value. `None` when the value came
    /// from `--set`, when the key is absent from the file, or for I/O errors.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// Whether the offending value (or key) came from a `--set` override.
    pub fn from_set(&self) -> bool {
        self.from_set
    }

    /// The full dotted key, e.g. `central_bank.fine_tuning.min_amount` or
    /// `autonomous.government.events[2].date`, when the error concerns one key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The message without the location prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `file:line`, `file (from --set)` or `file`.
struct Location<'a>(&'a ScenarioError);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        match (e.from_set, e.line) {
            (true, _) => write!(f, "{} (from --set)", e.file),
            (false, Some(line)) => write!(f, "{}:{}", e.file, line),
            (false, None) => write!(f, "{}", e.file),
        }
    }
}
