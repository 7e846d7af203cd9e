//! Scenario files: TOML in, validated [`corridor_model::Params`] out.
//!
//! A scenario file describes one simulation set-up: the banks, their payments and late
//! shocks, the central bank's corridor and operations, the autonomous factors and the run
//! settings. This crate reads it once, at the boundary, and hands the model only values that
//! passed validation (ripgrep's low-level/high-level split):
//!
//! 1. the text is parsed with `toml_edit`, which keeps byte spans, so every key has a line;
//! 2. `--set key.path=value` overrides are applied to that document (creating missing
//!    tables); the dotted keys they touched are remembered;
//! 3. serde reads the result into private `Raw*` structs with `deny_unknown_fields` and the
//!    documented defaults (unknown keys and wrong types fail here);
//! 4. one validation pass checks ranges and cross-key rules, converts amounts to integer
//!    minor units with `money.scale`, and builds [`Params`];
//! 5. each `[[timeline]]` event is applied, cumulatively, to the document of step 2 with the
//!    same machinery as `--set`, and the whole resulting scenario is validated again; its
//!    central-bank and non-bank parameters become a `PolicyEvent` in
//!    [`Params::policy_timeline`]. Errors inside an event name it and point at its line.
//!
//! Every error is a [`ScenarioError`] that names the file, the line (or `(from --set)`), the
//! full dotted key, the bad value and what is allowed. The schema is documented key by key in
//! `docs/scenarios.md`.
//!
//! ```
//! let text = r#"
//! [money]
//! minor_unit = "SEK"
//! scale = 1_000_000          # amounts below are in millions of SEK
//!
//! [banks]
//! count = 20
//! mean_size = 50_000
//!
//! [late_shock]
//! sd = 1.5
//!
//! [central_bank]
//! policy_rate_bp = -10
//! deposit_rate_bp = -85
//! lending_rate_bp = 65
//! "#;
//! let scenario = corridor_scenario::parse("sweden.toml", text, &["banks.count=50".to_string()])?;
//! assert_eq!(scenario.name(), "sweden");
//! assert_eq!(scenario.params().banks.count, 50);
//! assert_eq!(scenario.params().late_shock.sd.minor_units(), 1_500_000);
//!
//! // A lending rate below the deposit rate is refused, with the file, line, key and value:
//! let bad = text.replace("lending_rate_bp = 65", "lending_rate_bp = -100");
//! let err = corridor_scenario::parse("sweden.toml", &bad, &[]).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "sweden.toml:16: central_bank.lending_rate_bp = -100: \
//!      must be >= central_bank.deposit_rate_bp (-85)"
//! );
//! # Ok::<(), corridor_scenario::ScenarioError>(())
//! ```

#![warn(missing_docs)]

mod edges;
mod error;
mod raw;
mod source;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

use corridor_model::{Params, RecordOptions};

pub use crate::error::{ErrorKind, ScenarioError};
use crate::raw::RawScenario;
use crate::source::Locator;

/// A validated scenario: model parameters plus run settings and naming.
#[derive(Clone, Debug)]
pub struct Scenario {
    params: Params,
    name: String,
    description: String,
    runs: u32,
    seed: u64,
    record: RecordOptions,
    money_unit: String,
    /// The scenario as read, with every default and override filled in.
    resolved: RawScenario,
}

impl Scenario {
    /// The validated model parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// `[scenario].name`; defaults to the file stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `[scenario].description`; defaults to the empty string.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// `[run].runs`: Monte Carlo runs when the command line does not say (default 100).
    pub fn default_runs(&self) -> u32 {
        self.runs
    }

    /// `[run].seed`: base seed when the command line does not say (default 1).
    pub fn default_seed(&self) -> u64 {
        self.seed
    }

    /// `[run].record_banks` and `[run].record_trades` (both default `false`).
    pub fn record_options(&self) -> RecordOptions {
        self.record
    }

    /// `[money].minor_unit`: the unit of every money column in the output, e.g. `"SEK"`.
    pub fn money_unit(&self) -> &str {
        &self.money_unit
    }

    /// The fully resolved scenario as TOML: every key written out, defaults filled in and
    /// overrides applied, amounts as in the file (with the same `money.scale`). Parsing it
    /// gives back a scenario with the same parameters, name and run settings.
    pub fn resolved_toml(&self) -> String {
        let body = toml::to_string(&self.resolved)
            .expect("a validated scenario contains only finite numbers and strings");
        format!(
            "# Resolved scenario: every key, with defaults filled in and --set overrides \
             applied.\n\n{body}"
        )
    }
}

/// Reads and validates a scenario file, applying `--set key.path=value` overrides first.
///
/// Each override is `key.path=value`; the value is read as a TOML value (`50`, `-0.5`,
/// `true`, `"corridor"`, `2015-01-02`, `[0, 0.01, 0, 0, 0]`), and text that is not one is
/// taken as a string (`--set money.minor_unit=SEK`).
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::new(
            ErrorKind::Io,
            &file,
            None,
            false,
            None,
            format!("cannot read the scenario file: {e}"),
        )
    })?;
    parse(&file, &text, overrides)
}

/// Same as [`load`], from text; `source_name` stands for the file in messages and its stem is
/// the default scenario name.
pub fn parse(
    source_name: &str,
    text: &str,
    overrides: &[String],
) -> Result<Scenario, ScenarioError> {
    let mut loc = Locator::new(source_name, text)?;
    let merged = loc.apply_overrides(overrides)?;
    let mut raw: RawScenario =
        toml::from_str(&merged).map_err(|e| serde_error(&loc, &merged, &e))?;

    let default_name = Path::new(source_name).file_stem().map_or_else(
        || source_name.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let mut v = validate::validate(&mut raw, &loc, &default_name)?;
    v.params.policy_timeline =
        validate::timeline(&mut raw, &merged, &loc, &default_name, &v.params)?;
    Ok(Scenario {
        params: v.params,
        name: v.name,
        description: v.description,
        runs: v.runs,
        seed: v.seed,
        record: RecordOptions {
            banks: v.record_banks,
            trades: v.record_trades,
        },
        money_unit: v.money_unit,
        resolved: raw,
    })
}

/// Turns serde's error (unknown field, wrong type) on the merged text into a located error.
pub(crate) fn serde_error(loc: &Locator<'_>, merged: &str, e: &toml::de::Error) -> ScenarioError {
    let msg = e.message();
    let doc = toml_edit::Document::parse(merged).ok();
    let span = e.span();
    let path = span
        .clone()
        .zip(doc.as_ref())
        .and_then(|(span, doc)| source::path_at(doc, span.start));
    let (Some(mut path), Some(doc), Some(span)) = (path, doc, span) else {
        // No key to blame (should not happen for shape errors): keep serde's words and the
        // line in the merged text, which is the file's when there are no overrides.
        let line = e.span().map(|s| source::line_of(merged, s.start));
        return ScenarioError::new(
            ErrorKind::Syntax,
            loc.file(),
            line,
            false,
            None,
            msg.to_owned(),
        );
    };
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let allowed = rest
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect::<Vec<_>>())
            .unwrap_or_default();
        let allowed = if allowed.is_empty() {
            "this table takes no keys".to_owned()
        } else {
            format!("allowed keys: {}", allowed.join(", "))
        };
        return loc.error(
            ErrorKind::UnknownKey,
            &path,
            format!("unknown key `{path}`; {allowed}"),
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        // serde lets a struct be read from an array, so `[[market]]` reaches the first
        // field of the table; blame the array itself.
        if !expected.starts_with("struct ") && source::is_array_of_tables_element(&doc, &path) {
            path.0.pop();
            return loc.error(
                ErrorKind::WrongType,
                &path,
                format!("{path}: expected a table, found an array of tables [[{path}]]"),
            );
        }
        let found = match found {
            // toml hands dates to serde as maps; tell them apart by their text.
            "map" => {
                let text = merged.get(span).unwrap_or("").trim();
                if text.starts_with('{') || text.starts_with('[') || text.is_empty() {
                    "a table".to_owned()
                } else {
                    format!("a date/time {text}")
                }
            }
            other => found_text(other),
        };
        return loc.error(
            ErrorKind::WrongType,
            &path,
            format!(
                "{path}: expected {}, found {found}",
                expected_text(expected)
            ),
        );
    }
    loc.error(ErrorKind::WrongType, &path, format!("{path}: {msg}"))
}

/// serde's name for the expected type, in the words of the schema docs.
fn expected_text(expected: &str) -> String {
    match expected {
        "f64" => "a number".to_owned(),
        "i64" => "an integer".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a boolean" => "a boolean (true or false)".to_owned(),
        e if e.starts_with("struct ") => "a table".to_owned(),
        e => e.to_owned(),
    }
}

/// serde's description of the value found, e.g. ``integer `5` `` → `an integer 5`.
fn found_text(found: &str) -> String {
    let backticked = |s: &str| s.split('`').nth(1).unwrap_or(s).to_owned();
    if let Some(s) = found.strip_prefix("string ") {
        format!("a string {s}")
    } else if let Some(s) = found.strip_prefix("integer ") {
        if s.contains(" as i128") {
            format!("an integer {} (outside the 64-bit range)", backticked(s))
        } else {
            format!("an integer {}", backticked(s))
        }
    } else if let Some(s) = found.strip_prefix("floating point ") {
        format!("a float {}", backticked(s))
    } else if let Some(s) = found.strip_prefix("boolean ") {
        format!("a boolean {}", backticked(s))
    } else if found == "sequence" {
        "an array".to_owned()
    } else {
        found.to_owned()
    }
}
