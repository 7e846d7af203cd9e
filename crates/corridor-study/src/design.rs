//! Sweep designs: which scenario overrides make up each point.
//!
//! A design is a list of scenario keys and, for every point, one value per key (as TOML text,
//! handed to the scenario's `--set` machinery). Three kinds:
//!
//! * **grid**: every combination of the keys' values; the first key varies slowest;
//! * **zip**: the i-th value of every key (all lists the same length);
//! * **latin_hypercube**: `points` points; each key's range `[lower, upper]` is cut into
//!   `points` equal strata, each stratum is used once, at a uniform position inside it,
//!   with the strata permuted independently per key (ChaCha8 seeded by `seed`).

use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use toml_edit::{TableLike, Value};

use crate::error::StudyError;
use crate::input::{Input, join, number_text, shown, value_text};

/// How the points of a sweep are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignKind {
    /// Every combination.
    Grid,
    /// Parallel lists.
    Zip,
    /// Latin hypercube sample.
    LatinHypercube,
}

impl DesignKind {
    /// The name used in sweep files.
    pub fn name(self) -> &'static str {
        match self {
            DesignKind::Grid => "grid",
            DesignKind::Zip => "zip",
            DesignKind::LatinHypercube => "latin_hypercube",
        }
    }
}

/// The points of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// How the points were built.
    pub kind: DesignKind,
    /// The swept scenario keys, e.g. `central_bank.reserve_target_per_bank`.
    pub keys: Vec<String>,
    /// For each point, one TOML value per key.
    pub values: Vec<Vec<String>>,
}

impl Design {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the design has no point.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The `--set` overrides of point `p`.
    pub fn overrides(&self, p: usize) -> Vec<String> {
        self.keys
            .iter()
            .zip(&self.values[p])
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// The values of key `j` at every point as numbers, if they all are numbers.
    pub fn numeric(&self, j: usize) -> Option<Vec<f64>> {
        self.values
            .iter()
            .map(|v| {
                let text = v[j].trim();
                if text.starts_with('"') || text.starts_with('\'') {
                    return None;
                }
                text.replace('_', "").parse::<f64>().ok()
            })
            .collect()
    }

    /// A full grid from `--grid key=v1,v2,...` or `--grid key=from:to:steps` arguments.
    pub fn from_grid_args(args: &[String]) -> Result<Design, StudyError> {
        let err = |message: String| StudyError::Input {
            file: "--grid".into(),
            line: None,
            message,
        };
        let mut keys = Vec::new();
        let mut lists = Vec::new();
        for arg in args {
            let Some((key, spec)) = arg.split_once('=') else {
                return Err(err(format!(
                    "{arg}: expected key.path=v1,v2,... or key.path=from:to:steps"
                )));
            };
            let key = key.trim().to_owned();
            if key.is_empty() {
                return Err(err(format!("{arg}: the key is empty")));
            }
            if keys.contains(&key) {
                return Err(err(format!("{key} is swept twice")));
            }
            let values: Vec<String> = if spec.contains(':') && !spec.contains(',') {
                let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
                let [from, to, steps] = parts[..] else {
                    return Err(err(format!(
                        "{key}={spec}: a range is from:to:steps (three parts)"
                    )));
                };
                let num = |s: &str, what: &str| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| err(format!("{key}={spec}: {what} {s:?} is not a number")))
                };
                let (from, to) = (num(from, "from")?, num(to, "to")?);
                let steps: usize = steps.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    err(format!(
                        "{key}={spec}: steps {steps:?} must be a whole number >= 1"
                    ))
                })?;
                linspace(from, to, steps)
                    .into_iter()
                    .map(number_text)
                    .collect()
            } else {
                spec.split(',').map(|v| v.trim().to_owned()).collect()
            };
            if values.iter().any(String::is_empty) {
                return Err(err(format!("{key}={spec}: a value is empty")));
            }
            keys.push(key);
            lists.push(values);
        }
        if keys.is_empty() {
            return Err(err("no --grid given".into()));
        }
        Ok(Design {
            kind: DesignKind::Grid,
            keys,
            values: product(&lists),
        })
    }

    /// Reads a sweep file (see `docs/calibration.md` for the format).
    pub fn from_file(path: &Path) -> Result<Design, StudyError> {
        Self::from_input(&Input::read(path)?)
    }

    /// Same as [`from_file`](Self::from_file), from text; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Design, StudyError> {
        Self::from_input(&Input::parse(file, text.to_owned())?)
    }

    fn from_input(input: &Input) -> Result<Design, StudyError> {
        let root = input.doc.as_table();
        input.only_keys(root, "", &["design", "points", "seed", "parameters"])?;
        let kind = match input.string(root, "", "design")?.as_deref() {
            None | Some("grid") => DesignKind::Grid,
            Some("zip") => DesignKind::Zip,
            Some("latin_hypercube") => DesignKind::LatinHypercube,
            Some(other) => {
                return Err(input.error(
                    Input::span(root, "design"),
                    format!(
                        "design = {other:?}: expected one of \"grid\", \"zip\", \"latin_hypercube\""
                    ),
                ));
            }
        };
        let points = input.count(root, "", "points", 1)?;
        let seed = input.count(root, "", "seed", 0)?.unwrap_or(1);
        if kind != DesignKind::LatinHypercube {
            for key in ["points", "seed"] {
                if root.contains_key(key) {
                    return Err(input.error(
                        Input::span(root, key),
                        format!("{key}: only a latin_hypercube design takes {key}"),
                    ));
                }
            }
        }
        let Some(params) = root.get("parameters") else {
            return Err(input.error(
                None,
                "parameters: missing; expected a [parameters] table of scenario keys and \
                 their values"
                    .into(),
            ));
        };
        let Some(params) = params.as_table_like() else {
            return Err(input.error(
                Input::span(root, "parameters"),
                format!("parameters = {}: expected a table", shown(params)),
            ));
        };
        let mut leaves = Vec::new();
        collect_leaves(input, params, "", &mut leaves)?;
        if leaves.is_empty() {
            return Err(input.error(
                Input::span(root, "parameters"),
                "parameters: no key to sweep".into(),
            ));
        }
        let keys: Vec<String> = leaves.iter().map(|l| l.key.clone()).collect();
        let values = match kind {
            DesignKind::Grid | DesignKind::Zip => {
                let mut lists = Vec::new();
                for leaf in &leaves {
                    match &leaf.spec {
                        Spec::List(v) => lists.push(v.clone()),
                        Spec::Range { .. } => {
                            return Err(input.error(
                                leaf.span.clone(),
                                format!(
                                    "parameters.{}: lower/upper ranges are for latin_hypercube \
                                     designs; a {} design takes a list of values or \
                                     {{ from, to, steps }}",
                                    leaf.key,
                                    kind.name()
                                ),
                            ));
                        }
                    }
                }
                if kind == DesignKind::Grid {
                    product(&lists)
                } else {
                    let n = lists[0].len();
                    if let Some((leaf, list)) =
                        leaves.iter().zip(&lists).find(|(_, l)| l.len() != n)
                    {
                        return Err(input.error(
                            leaf.span.clone(),
                            format!(
                                "parameters.{} has {} values but parameters.{} has {n}: a zip \
                                 design needs lists of the same length",
                                leaf.key,
                                list.len(),
                                leaves[0].key
                            ),
                        ));
                    }
                    (0..n)
                        .map(|i| lists.iter().map(|l| l[i].clone()).collect())
                        .collect()
                }
            }
            DesignKind::LatinHypercube => {
                let Some(n) = points else {
                    return Err(input.error(
                        None,
                        "points: missing; a latin_hypercube design needs points = N".into(),
                    ));
                };
                let mut ranges = Vec::new();
                for leaf in &leaves {
                    match leaf.spec {
                        Spec::Range { lower, upper } => ranges.push((lower, upper)),
                        Spec::List(_) => {
                            return Err(input.error(
                                leaf.span.clone(),
                                format!(
                                    "parameters.{}: a latin_hypercube design takes \
                                     {{ lower, upper }}, not a list",
                                    leaf.key
                                ),
                            ));
                        }
                    }
                }
                latin_hypercube(&ranges, n as usize, seed)
            }
        };
        Ok(Design { kind, keys, values })
    }
}

enum Spec {
    List(Vec<String>),
    Range { lower: f64, upper: f64 },
}

struct Leaf {
    key: String,
    span: Option<std::ops::Range<usize>>,
    spec: Spec,
}

const SPEC_KEYS: [&str; 5] = ["from", "to", "steps", "lower", "upper"];

fn collect_leaves(
    input: &Input,
    table: &dyn TableLike,
    prefix: &str,
    out: &mut Vec<Leaf>,
) -> Result<(), StudyError> {
    for (k, item) in table.iter() {
        let key = join(prefix, k);
        let span = Input::span(table, k);
        let sub = item.as_table_like();
        let is_spec =
            sub.is_some_and(|t| !t.is_empty() && t.iter().all(|(k, _)| SPEC_KEYS.contains(&k)));
        if let Some(t) = sub.filter(|_| !is_spec) {
            collect_leaves(input, t, &key, out)?;
            continue;
        }
        let spec = if let Some(t) = sub {
            spec_table(input, t, &key, span.clone())?
        } else if let Some(Value::Array(a)) = item.as_value() {
            if a.is_empty() {
                return Err(input.error(span, format!("parameters.{key} = []: no value to sweep")));
            }
            Spec::List(a.iter().map(value_text).collect())
        } else {
            return Err(input.error(
                span,
                format!(
                    "parameters.{key} = {}: expected a list of values, {{ from, to, steps }} or \
                     {{ lower, upper }}",
                    shown(item)
                ),
            ));
        };
        out.push(Leaf { key, span, spec });
    }
    Ok(())
}

fn spec_table(
    input: &Input,
    t: &dyn TableLike,
    key: &str,
    span: Option<std::ops::Range<usize>>,
) -> Result<Spec, StudyError> {
    let prefix = format!("parameters.{key}");
    let has = |k: &str| t.contains_key(k);
    if has("lower") || has("upper") {
        input.only_keys(t, &prefix, &["lower", "upper"])?;
        let lower = input.number(t, &prefix, "lower")?;
        let upper = input.number(t, &prefix, "upper")?;
        let (Some(lower), Some(upper)) = (lower, upper) else {
            return Err(input.error(span, format!("{prefix}: needs both lower and upper")));
        };
        if lower >= upper {
            return Err(input.error(
                Input::span(t, "upper"),
                format!("{prefix}.upper = {upper}: must be > lower ({lower})"),
            ));
        }
        return Ok(Spec::Range { lower, upper });
    }
    input.only_keys(t, &prefix, &["from", "to", "steps"])?;
    let (Some(from), Some(to)) = (
        input.number(t, &prefix, "from")?,
        input.number(t, &prefix, "to")?,
    ) else {
        return Err(input.error(span, format!("{prefix}: needs from, to and steps")));
    };
    let Some(steps) = input.count(t, &prefix, "steps", 1)? else {
        return Err(input.error(span, format!("{prefix}: needs from, to and steps")));
    };
    Ok(Spec::List(
        linspace(from, to, steps as usize)
            .into_iter()
            .map(number_text)
            .collect(),
    ))
}

/// `n` equally spaced values from `from` to `to` inclusive (exactly `to` last).
pub(crate) fn linspace(from: f64, to: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![from];
    }
    (0..n)
        .map(|i| {
            if i == n - 1 {
                to
            } else {
                from + (to - from) * i as f64 / (n - 1) as f64
            }
        })
        .collect()
}

/// Every combination, first list slowest.
fn product(lists: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for list in lists {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    out
}

fn latin_hypercube(ranges: &[(f64, f64)], n: usize, seed: u64) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let columns: Vec<Vec<f64>> = ranges
        .iter()
        .map(|&(lower, upper)| {
            let mut strata: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                strata.swap(i, j);
            }
            strata
                .into_iter()
                .map(|s| {
                    let u: f64 = rng.random();
                    lower + (upper - lower) * (s as f64 + u) / n as f64
                })
                .collect()
        })
        .collect();
    (0..n)
        .map(|i| columns.iter().map(|c| number_text(c[i])).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Design::parse("s.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn grid_args_make_every_combination_first_key_slowest() {
        let d = Design::from_grid_args(&["a.b=1,2".into(), "c=-1:1:3".into()]).unwrap();
        assert_eq!(d.keys, ["a.b", "c"]);
        assert_eq!(
            d.values,
            [
                ["1", "-1"],
                ["1", "0"],
                ["1", "1"],
                ["2", "-1"],
                ["2", "0"],
                ["2", "1"]
            ]
        );
        assert_eq!(d.overrides(4), ["a.b=2", "c=0"]);
        assert_eq!(d.numeric(1).unwrap(), [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0]);
        let d = Design::from_grid_args(&["x=0:1:5".into()]).unwrap();
        assert_eq!(d.values.concat(), ["0", "0.25", "0.5", "0.75", "1"]);
    }

    #[test]
    fn bad_grid_args_say_what_is_allowed() {
        let e = |a: &str| Design::from_grid_args(&[a.into()]).unwrap_err().to_string();
        assert_eq!(
            e("x=0:1"),
            "--grid: x=0:1: a range is from:to:steps (three parts)"
        );
        assert_eq!(
            e("x=0:1:0"),
            "--grid: x=0:1:0: steps \"0\" must be a whole number >= 1"
        );
        assert_eq!(e("x=a:1:2"), "--grid: x=a:1:2: from \"a\" is not a number");
        assert!(e("novalue").contains("expected key.path=v1,v2"));
        assert_eq!(e("x=1,,2"), "--grid: x=1,,2: a value is empty");
    }

    #[test]
    fn sweep_files_give_grid_zip_and_latin_hypercube() {
        let text = "design = \"zip\"\n[parameters]\ncentral_bank.reserve_target_per_bank = [-50, 0, 50]\n\"late_shock.sd\" = { from = 80, to = 120, steps = 3 }\n";
        let d = Design::parse("s.toml", text).unwrap();
        assert_eq!(
            d.keys,
            ["central_bank.reserve_target_per_bank", "late_shock.sd"]
        );
        assert_eq!(d.values, [["-50", "80"], ["0", "100"], ["50", "120"]]);

        let grid = Design::parse("s.toml", &text.replace("design = \"zip\"", "")).unwrap();
        assert_eq!(grid.len(), 9);

        let lhs = "design = \"latin_hypercube\"\npoints = 8\nseed = 3\n[parameters]\na = { lower = 0, upper = 8 }\nb = { lower = -1, upper = 1 }\n";
        let d = Design::parse("s.toml", lhs).unwrap();
        assert_eq!(d.len(), 8);
        // Every stratum of every key is used exactly once.
        for (j, (lo, hi)) in [(0.0, 8.0), (-1.0, 1.0)].into_iter().enumerate() {
            let mut strata: Vec<usize> = d
                .numeric(j)
                .unwrap()
                .iter()
                .map(|x| ((x - lo) / (hi - lo) * 8.0).floor() as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..8).collect::<Vec<_>>(), "key {j}");
        }
        assert_eq!(Design::parse("s.toml", lhs).unwrap(), d, "seeded");
        assert_ne!(
            Design::parse("s.toml", &lhs.replace("seed = 3", "seed = 4")).unwrap(),
            d
        );
    }

    #[test]
    fn bad_sweep_files_name_file_line_key_value_and_what_is_allowed() {
        assert_eq!(
            err("design = \"grd\"\n[parameters]\na = [1]\n"),
            "s.toml:1: design = \"grd\": expected one of \"grid\", \"zip\", \"latin_hypercube\""
        );
        assert_eq!(
            err("design = \"zip\"\n[parameters]\na = [1, 2]\nb = [1, 2, 3]\n"),
            "s.toml:4: parameters.b has 3 values but parameters.a has 2: a zip design needs \
             lists of the same length"
        );
        assert_eq!(
            err("[parameters]\na = 5\n"),
            "s.toml:2: parameters.a = 5: expected a list of values, { from, to, steps } or \
             { lower, upper }"
        );
        assert_eq!(
            err("[parameters]\na = { from = 1, to = \"x\", steps = 2 }\n"),
            "s.toml:2: parameters.a.to = \"x\": expected a finite number"
        );
        assert_eq!(
            err("desing = \"grid\"\n[parameters]\na = [1]\n"),
            "s.toml:1: unknown key desing; expected one of: design, points, seed, parameters"
        );
        assert_eq!(
            err("design = \"latin_hypercube\"\n[parameters]\na = { lower = 0, upper = 1 }\n"),
            "s.toml: points: missing; a latin_hypercube design needs points = N"
        );
        assert_eq!(
            err(
                "design = \"latin_hypercube\"\npoints = 3\n[parameters]\na = { lower = 2, upper = 1 }\n"
            ),
            "s.toml:4: parameters.a.upper = 1: must be > lower (2)"
        );
        assert_eq!(
            err("[parameters\n"),
            "s.toml:1: invalid TOML: unclosed table, expected `]`"
        );
    }
}
