//! Reading the study's own TOML files (sweep designs, targets, parameters) with line numbers,
//! so their errors look like scenario errors: `file:line: key = value: what is allowed`.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, TableLike, Value};

use crate::error::{StudyError, io_error};

/// A parsed TOML file that knows where everything is.
pub(crate) struct Input {
    pub(crate) file: String,
    text: String,
    pub(crate) doc: Document<String>,
}

impl Input {
    pub(crate) fn read(path: &Path) -> Result<Input, StudyError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, "reading", e))?;
        Input::parse(&path.display().to_string(), text)
    }

    pub(crate) fn parse(file: &str, text: String) -> Result<Input, StudyError> {
        let doc = Document::parse(text.clone()).map_err(|e| StudyError::Input {
            file: file.to_owned(),
            line: e.span().map(|s| line_of(&text, s.start)),
            message: format!("invalid TOML: {}", e.message().trim_end()),
        })?;
        Ok(Input {
            file: file.to_owned(),
            text,
            doc,
        })
    }

    /// An error located at `span` (a key's or a value's).
    pub(crate) fn error(&self, span: Option<Range<usize>>, message: String) -> StudyError {
        StudyError::Input {
            file: self.file.clone(),
            line: span.map(|s| line_of(&self.text, s.start)),
            message,
        }
    }

    /// Refuses keys of `table` not in `allowed`.
    pub(crate) fn only_keys(
        &self,
        table: &dyn TableLike,
        prefix: &str,
        allowed: &[&str],
    ) -> Result<(), StudyError> {
        for (k, item) in table.iter() {
            if !allowed.contains(&k) {
                let (key, _) = table.get_key_value(k).expect("key exists");
                return Err(self.error(
                    key.span().or_else(|| item.span()),
                    format!(
                        "unknown key {}; expected one of: {}",
                        join(prefix, k),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Span of `key` in `table` (the key's, else the value's).
    pub(crate) fn span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
        let (k, item) = table.get_key_value(key)?;
        k.span().or_else(|| item.span())
    }

    /// A number (integer or float) at `key`, if present.
    pub(crate) fn number(
        &self,
        table: &dyn TableLike,
        prefix: &str,
        key: &str,
    ) -> Result<Option<f64>, StudyError> {
        let Some(item) = table.get(key) else {
            return Ok(None);
        };
        match item.as_value().and_then(value_number) {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.error(
                Self::span(table, key),
                format!(
                    "{} = {}: expected a finite number",
                    join(prefix, key),
                    shown(item)
                ),
            )),
        }
    }

    /// A string at `key`, if present.
    pub(crate) fn string(
        &self,
        table: &dyn TableLike,
        prefix: &str,
        key: &str,
    ) -> Result<Option<String>, StudyError> {
        let Some(item) = table.get(key) else {
            return Ok(None);
        };
        match item.as_str() {
            Some(s) => Ok(Some(s.to_owned())),
            None => Err(self.error(
                Self::span(table, key),
                format!("{} = {}: expected a string", join(prefix, key), shown(item)),
            )),
        }
    }

    /// A non-negative integer at `key`, if present.
    pub(crate) fn count(
        &self,
        table: &dyn TableLike,
        prefix: &str,
        key: &str,
        min: i64,
    ) -> Result<Option<u64>, StudyError> {
        let Some(item) = table.get(key) else {
            return Ok(None);
        };
        match item.as_integer() {
            Some(n) if n >= min => Ok(Some(n as u64)),
            _ => Err(self.error(
                Self::span(table, key),
                format!(
                    "{} = {}: expected a whole number >= {min}",
                    join(prefix, key),
                    shown(item)
                ),
            )),
        }
    }

    /// The scenario overrides in a table of dotted keys (`{ "central_bank.x" = 1 }` or nested
    /// tables), as `key=value` strings for `corridor_scenario::load`, in file order.
    pub(crate) fn overrides(
        &self,
        table: &dyn TableLike,
        prefix: &str,
    ) -> Result<Vec<String>, StudyError> {
        let mut out = Vec::new();
        for (k, item) in table.iter() {
            let key = if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            };
            match item {
                Item::Table(t) => out.extend(self.overrides(t, &key)?),
                Item::Value(Value::InlineTable(t)) => out.extend(self.overrides(t, &key)?),
                Item::Value(v) => out.push(format!("{key}={}", value_text(v))),
                _ => {
                    return Err(self.error(
                        Self::span(table, k),
                        format!("{key}: expected a scenario value"),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A TOML value as written (without surrounding blanks or comments).
pub(crate) fn value_text(v: &Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

/// An item as written, for messages.
pub(crate) fn shown(item: &Item) -> String {
    match item {
        Item::Value(v) => value_text(v),
        Item::Table(_) => "a table".into(),
        Item::ArrayOfTables(_) => "an array of tables".into(),
        Item::None => "nothing".into(),
    }
}

pub(crate) fn value_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    }
}

/// 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A number as an override value: integers without a decimal point (so integer-typed
/// scenario keys accept them), others in Rust's shortest round-trip form.
pub(crate) fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
