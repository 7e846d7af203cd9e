//! Where things are: dotted key paths, their lines in the file, and `--set` overrides.
//!
//! The dotted key path is the common currency between the three texts involved: the file as
//! written (which gives line numbers), the file with overrides applied (which serde reads and
//! whose byte spans its errors carry) and the validator (which knows only keys).

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, DocumentMut, Item, Key, TableLike, Value};

use crate::error::{ErrorKind, ScenarioError};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A full key path such as `autonomous.government.events[2].date`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Seg>);

impl KeyPath {
    /// Builds a path from a dotted schema key (bare keys only, no indices).
    pub(crate) fn dotted(s: &str) -> KeyPath {
        KeyPath(s.split('.').map(|k| Seg::Key(k.to_owned())).collect())
    }

    pub(crate) fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }

    pub(crate) fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.len() >= prefix.0.len() && self.0[..prefix.0.len()] == prefix.0[..]
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Knows the file, its parsed form and the overrides; turns key paths into error locations.
pub(crate) struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    doc: Document<&'a str>,
    /// Keys set by `--set`, in order.
    overrides: Vec<KeyPath>,
}

impl<'a> Locator<'a> {
    /// Parses `text` (reporting TOML syntax errors with their line).
    pub(crate) fn new(file: &'a str, text: &'a str) -> Result<Locator<'a>, ScenarioError> {
        let doc = Document::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let key = e.span().and_then(|s| guess_key(text, s.start));
            let what = e.message().trim_end();
            let message = match &key {
                Some(key) => format!("{key}: invalid TOML: {what}"),
                None => format!("invalid TOML: {what}"),
            };
            ScenarioError::new(ErrorKind::Syntax, file, line, false, key, message)
        })?;
        Ok(Locator {
            file,
            text,
            doc,
            overrides: Vec::new(),
        })
    }

    pub(crate) fn file(&self) -> &str {
        self.file
    }

    /// Applies every override and returns the resulting TOML text (the file itself when
    /// there are none).
    pub(crate) fn apply_overrides(
        &mut self,
        overrides: &[String],
    ) -> Result<String, ScenarioError> {
        if overrides.is_empty() {
            return Ok(self.text.to_owned());
        }
        let mut doc: DocumentMut = self.doc.clone().into_mut();
        for arg in overrides {
            let path = apply_override(&mut doc, arg).map_err(|msg| {
                ScenarioError::new(
                    ErrorKind::BadOverride,
                    self.file,
                    None,
                    true,
                    None,
                    format!("--set {arg}: {msg}"),
                )
            })?;
            self.overrides.push(path);
        }
        Ok(doc.to_string())
    }

    /// Whether the value at `path` came from `--set`: it lies at or under an overridden key,
    /// or it is a table that exists only because an override created it.
    pub(crate) fn is_from_set(&self, path: &KeyPath) -> bool {
        self.overrides
            .iter()
            .any(|o| path.starts_with(o) || (o.starts_with(path) && self.span_of(path).is_none()))
    }

    /// The line of `path` in the file as written, if the key is there.
    pub(crate) fn line(&self, path: &KeyPath) -> Option<usize> {
        self.span_of(path).map(|s| line_of(self.text, s.start))
    }

    /// The line of the closest ancestor of `path` that the file contains (for a missing key:
    /// the table it belongs in).
    pub(crate) fn nearest_line(&self, path: &KeyPath) -> Option<usize> {
        (1..=path.0.len())
            .rev()
            .find_map(|n| self.line(&KeyPath(path.0[..n].to_vec())))
    }

    /// Builds an error about `path` with the right location.
    pub(crate) fn error(&self, kind: ErrorKind, path: &KeyPath, message: String) -> ScenarioError {
        let from_set = self.is_from_set(path);
        let line = if from_set {
            None
        } else if kind == ErrorKind::MissingKey {
            self.nearest_line(path)
        } else {
            self.line(path)
        };
        ScenarioError::new(
            kind,
            self.file,
            line,
            from_set,
            Some(path.to_string()),
            message,
        )
    }

    /// Span of the key (preferred) or value at `path` in the file as written.
    fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        if path.0.is_empty() {
            return None;
        }
        span_in_table(self.doc.as_table(), &path.0, None)
    }
}

/// Span of the key (or value) at `rest` below `table`; `table_span` when `rest` is empty.
fn span_in_table(
    table: &dyn TableLike,
    rest: &[Seg],
    table_span: Option<Range<usize>>,
) -> Option<Range<usize>> {
    let Some((first, rest)) = rest.split_first() else {
        return table_span;
    };
    let Seg::Key(k) = first else { return None };
    let (key, item) = table.get_key_value(k)?;
    let span = key.span().or_else(|| item.span());
    if rest.is_empty() {
        return span;
    }
    match item {
        Item::Table(t) => span_in_table(t, rest, span),
        Item::Value(Value::InlineTable(t)) => span_in_table(t, rest, span),
        Item::Value(Value::Array(a)) => {
            let Some((Seg::Index(i), rest)) = rest.split_first() else {
                return None;
            };
            let v = a.get(*i)?;
            match v {
                Value::InlineTable(t) => span_in_table(t, rest, v.span()),
                _ if rest.is_empty() => v.span(),
                _ => None,
            }
        }
        Item::ArrayOfTables(a) => {
            let Some((Seg::Index(i), rest)) = rest.split_first() else {
                return None;
            };
            let t = a.get(*i)?;
            span_in_table(t, rest, t.span())
        }
        _ => None,
    }
}

/// Whether `path` names a table of an array of tables (`[[key]]`) in `doc`.
pub(crate) fn is_array_of_tables_element(doc: &Document<&str>, path: &KeyPath) -> bool {
    let Some((Seg::Index(_), parent)) = path.0.split_last() else {
        return false;
    };
    let mut item = doc.as_item();
    for seg in parent {
        let Seg::Key(k) = seg else { return false };
        match item.as_table_like().and_then(|t| t.get(k)) {
            Some(next) => item = next,
            None => return false,
        }
    }
    item.is_array_of_tables()
}

/// Best effort for a syntax error at `offset`, where there is no parsed document: the
/// `key = ...` on that line, prefixed by the last `[table]` header above it.
fn guess_key(text: &str, offset: usize) -> Option<String> {
    let is_key = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
    };
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let (key, _) = text[line_start..line_end].split_once('=')?;
    let key: String = key.split('.').map(str::trim).collect::<Vec<_>>().join(".");
    if !is_key(&key) || key.contains(' ') {
        return None;
    }
    let header = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix('[')?.trim_start_matches('[');
        let inner = inner.split(']').next()?;
        Some(
            inner
                .split('.')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("."),
        )
    });
    match header {
        Some(h) if is_key(&h) && !h.contains(' ') => Some(format!("{h}.{key}")),
        Some(_) => None,
        None => Some(key),
    }
}

/// 1-based line containing byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key path whose key or value covers byte `offset` of the parsed `doc`.
pub(crate) fn path_at(doc: &Document<&str>, offset: usize) -> Option<KeyPath> {
    let mut path = Vec::new();
    table_at(doc.as_table(), offset, &mut path).then_some(KeyPath(path))
}

fn covers(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn table_at(table: &dyn TableLike, offset: usize, path: &mut Vec<Seg>) -> bool {
    for (k, _) in table.iter() {
        let Some((key, item)) = table.get_key_value(k) else {
            continue;
        };
        path.push(Seg::Key(k.to_owned()));
        if covers(key.span(), offset) || item_at(item, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn item_at(item: &Item, offset: usize, path: &mut Vec<Seg>) -> bool {
    match item {
        Item::None => false,
        Item::Value(v) => value_at(v, offset, path),
        Item::Table(t) => table_at(t, offset, path) || covers(t.span(), offset),
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if table_at(t, offset, path) || covers(t.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
    }
}

fn value_at(v: &Value, offset: usize, path: &mut Vec<Seg>) -> bool {
    match v {
        Value::Array(a) => {
            for (i, el) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if value_at(el, offset, path) {
                    return true;
                }
                path.pop();
            }
            covers(a.span(), offset)
        }
        Value::InlineTable(t) => table_at(t, offset, path) || covers(t.span(), offset),
        _ => covers(v.span(), offset),
    }
}

/// Applies one `key.path=value` to `doc`, creating missing tables. The value is read as a
/// TOML value; text that is not one (`SEK`, `my run`) is taken as a string.
fn apply_override(doc: &mut DocumentMut, arg: &str) -> Result<KeyPath, String> {
    const USAGE: &str = "expected key.path=value, e.g. --set banks.count=50";
    let Some((key_text, value_text)) = arg.split_once('=') else {
        return Err(USAGE.to_owned());
    };
    let keys = Key::parse(key_text.trim())
        .map_err(|_| format!("`{}` is not a dotted key; {USAGE}", key_text.trim()))?;
    if keys.is_empty() {
        return Err(USAGE.to_owned());
    }
    let names: Vec<String> = keys.iter().map(|k| k.get().to_owned()).collect();
    let path = KeyPath(names.iter().map(|k| Seg::Key(k.clone())).collect());

    let value_text = value_text.trim();
    let value = value_text
        .parse::<Value>()
        .unwrap_or_else(|_| Value::from(value_text));

    set_value(doc, &names, value)?;
    Ok(path)
}

/// Sets the value at the dotted key `names` in `doc`, creating missing tables: the one way
/// both `--set` and `[[timeline]]` events change a scenario.
pub(crate) fn set_value(
    doc: &mut DocumentMut,
    names: &[String],
    value: Value,
) -> Result<(), String> {
    let path = KeyPath(names.iter().map(|k| Seg::Key(k.clone())).collect());
    let (last, parents) = names.split_last().ok_or("an empty key")?;
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for (depth, name) in parents.iter().enumerate() {
        if !table.contains_key(name) {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            table.insert(name, Item::Table(t));
        }
        let item = table.get_mut(name).expect("just inserted");
        table = item.as_table_like_mut().ok_or_else(|| {
            let prefix = KeyPath(path.0[..=depth].to_vec());
            format!("`{prefix}` is not a table, so it cannot hold `{path}`")
        })?;
    }
    table.insert(last, Item::Value(value));
    Ok(())
}

/// Removes the value at the dotted key `names` from `doc`, if it is there.
pub(crate) fn remove_value(doc: &mut DocumentMut, names: &[String]) {
    let Some((last, parents)) = names.split_last() else {
        return;
    };
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for name in parents {
        match table.get_mut(name).and_then(Item::as_table_like_mut) {
            Some(t) => table = t,
            None => return,
        }
    }
    table.remove(last);
}

/// One value a `[[timeline]]` event sets: the scenario key it changes, where it is written
/// (below `timeline[i].set`, for its line) and the value.
pub(crate) struct SetEntry {
    pub key: Vec<String>,
    pub written_at: KeyPath,
    pub value: Value,
}

/// The entries of a `set` table: each key is a dotted scenario key, quoted
/// (`"central_bank.deposit_rate_bp" = -20`) or bare (`central_bank.deposit_rate_bp = -20`,
/// which TOML reads as dotted tables and is followed down); a table written out explicitly
/// (`"central_bank.framework" = { kind = "floor" }`) is one value.
pub(crate) fn set_entries(set: &dyn TableLike, at: &KeyPath) -> Vec<SetEntry> {
    let mut out = Vec::new();
    collect_set_entries(set, at, &[], &mut out);
    out
}

fn collect_set_entries(
    table: &dyn TableLike,
    at: &KeyPath,
    prefix: &[String],
    out: &mut Vec<SetEntry>,
) {
    for (k, item) in table.iter() {
        let mut key = prefix.to_vec();
        key.extend(k.split('.').map(str::to_owned));
        let written_at = at.key(k);
        let dotted = match item {
            Item::Table(t) => t.is_dotted().then_some(t as &dyn TableLike),
            Item::Value(Value::InlineTable(t)) => t.is_dotted().then_some(t as &dyn TableLike),
            _ => None,
        };
        if let Some(t) = dotted {
            collect_set_entries(t, &written_at, &key, out);
            continue;
        }
        if let Ok(value) = item.clone().into_value() {
            out.push(SetEntry {
                key,
                written_at,
                value,
            });
        }
    }
}
