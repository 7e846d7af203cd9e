//! What the charts need, read from a run's or a sweep's Parquet files (only the columns
//! drawn, and of `daily.parquet` only the first run's rows, so a batch of any size plots in
//! milliseconds).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::PlotError;

/// A value of a column: numbers of every type as `f64` (dates as days since 1970-01-01),
/// text as text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Number(Option<f64>),
    Text(String),
}

impl Value {
    /// The value as a legend shows it.
    pub(crate) fn label(&self) -> String {
        match self {
            Value::Number(Some(x)) => format_number(*x),
            Value::Number(None) => "none".into(),
            Value::Text(s) => s.clone(),
        }
    }
}

/// `x` without a trailing `.0`, as a scenario file would write it.
fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Some columns of a Parquet file, and its `corridor.*` metadata.
pub(crate) struct Table {
    path: PathBuf,
    /// Column names of the whole file, in order.
    pub(crate) names: Vec<String>,
    columns: BTreeMap<String, Vec<Value>>,
    metadata: BTreeMap<String, String>,
}

impl Table {
    /// Reads `wanted` columns (every one must exist) and, when `limit` is given, only that
    /// many rows from the start.
    pub(crate) fn read(
        path: &Path,
        wanted: &[&str],
        limit: Option<usize>,
    ) -> Result<Self, PlotError> {
        let file = File::open(path).map_err(|e| PlotError::io(path, "opening", e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| PlotError::parquet(path, e))?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let metadata = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let mut roots = Vec::with_capacity(wanted.len());
        for name in wanted {
            // By top-level index: swept keys such as `late_shock.sd` contain dots.
            let i = names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| PlotError::Column {
                    path: path.to_path_buf(),
                    column: (*name).to_string(),
                    problem: "missing (is this a corridor output file of this version?)".into(),
                })?;
            roots.push(i);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let mut builder = builder.with_projection(mask);
        if let Some(limit) = limit {
            builder = builder.with_limit(limit);
        }
        let reader = builder.build().map_err(|e| PlotError::parquet(path, e))?;
        let mut columns: BTreeMap<String, Vec<Value>> = wanted
            .iter()
            .map(|n| ((*n).to_string(), Vec::new()))
            .collect();
        for batch in reader {
            let batch = batch.map_err(|e| PlotError::parquet(path, e))?;
            for name in wanted {
                let array = batch
                    .column_by_name(name)
                    .expect("projected column is in the batch");
                let values = columns.get_mut(*name).expect("inserted above");
                append_values(path, name, array, values)?;
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            names,
            columns,
            metadata,
        })
    }

    /// The rows read.
    pub(crate) fn rows(&self) -> usize {
        self.columns.values().next().map_or(0, Vec::len)
    }

    /// A numeric column (nulls as `None`).
    pub(crate) fn numbers(&self, name: &str) -> Result<Vec<Option<f64>>, PlotError> {
        let column = self.column(name)?;
        column
            .iter()
            .map(|v| match v {
                Value::Number(x) => Ok(*x),
                Value::Text(_) => Err(PlotError::Column {
                    path: self.path.clone(),
                    column: name.into(),
                    problem: "is text, a number was expected".into(),
                }),
            })
            .collect()
    }

    /// A numeric column without nulls.
    pub(crate) fn required(&self, name: &str) -> Result<Vec<f64>, PlotError> {
        self.numbers(name)?
            .into_iter()
            .map(|x| {
                x.ok_or_else(|| PlotError::Column {
                    path: self.path.clone(),
                    column: name.into(),
                    problem: "has a null value where every row needs one".into(),
                })
            })
            .collect()
    }

    pub(crate) fn column(&self, name: &str) -> Result<&[Value], PlotError> {
        self.columns
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| PlotError::Column {
                path: self.path.clone(),
                column: name.into(),
                problem: "was not read".into(),
            })
    }

    /// A `corridor.*` metadata value, or `default` when the file has none.
    pub(crate) fn meta(&self, key: &str, default: &str) -> String {
        self.metadata
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
}

fn append_values(
    path: &Path,
    name: &str,
    array: &ArrayRef,
    out: &mut Vec<Value>,
) -> Result<(), PlotError> {
    match array.data_type() {
        DataType::Float64 => out.extend(
            array
                .as_primitive::<Float64Type>()
                .iter()
                .map(Value::Number),
        ),
        DataType::Int64 => out.extend(
            array
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| Value::Number(v.map(|x| x as f64))),
        ),
        DataType::UInt32 => out.extend(
            array
                .as_primitive::<UInt32Type>()
                .iter()
                .map(|v| Value::Number(v.map(f64::from))),
        ),
        DataType::UInt64 => out.extend(
            array
                .as_primitive::<UInt64Type>()
                .iter()
                .map(|v| Value::Number(v.map(|x| x as f64))),
        ),
        DataType::Date32 => out.extend(
            array
                .as_primitive::<Date32Type>()
                .iter()
                .map(|v| Value::Number(v.map(f64::from))),
        ),
        DataType::Utf8 => out.extend(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| Value::Text(v.unwrap_or_default().to_string())),
        ),
        other => {
            return Err(PlotError::Column {
                path: path.to_path_buf(),
                column: name.into(),
                problem: format!("has type {other}, which the chart cannot use"),
            });
        }
    }
    debug_assert!(array.len() <= out.len());
    Ok(())
}

/// Facts about the batch for the chart's subtitle and source line.
#[derive(Clone, Debug)]
pub(crate) struct Provenance {
    pub scenario: String,
    pub money_unit: String,
    pub seed: String,
    pub runs: String,
    pub version: String,
}

impl Provenance {
    fn of(table: &Table) -> Self {
        Provenance {
            scenario: table.meta("corridor.scenario_name", "unnamed scenario"),
            money_unit: table.meta("corridor.money_unit", "money units"),
            seed: table.meta("corridor.seed", "?"),
            runs: table.meta("corridor.runs", "?"),
            version: table.meta("corridor.version", "?"),
        }
    }
}

/// A run batch over time: the overnight rate's distribution across runs each day, the
/// corridor, and reserves.
#[derive(Clone, Debug)]
pub(crate) struct RateFan {
    pub provenance: Provenance,
    /// Calendar date of each business day (days since 1970-01-01).
    pub dates: Vec<i32>,
    pub p05: Vec<Option<f64>>,
    pub p50: Vec<Option<f64>>,
    pub p95: Vec<Option<f64>>,
    /// Median across runs of the reserve supply, in money units.
    pub reserves_p50: Vec<Option<f64>>,
    pub lending: Vec<f64>,
    pub policy: Vec<f64>,
    pub deposit: Vec<f64>,
}

/// Reads `summary.parquet` and the first run's rows of `daily.parquet` in `dir`.
///
/// The facility rates come from the first run: the policy timeline is the scenario's, the
/// same in every run, so one run holds them all.
pub(crate) fn read_rate_fan(dir: &Path) -> Result<RateFan, PlotError> {
    let summary_path = dir.join("summary.parquet");
    let summary = Table::read(
        &summary_path,
        &[
            "day",
            "date",
            "overnight_rate_bp_p05",
            "overnight_rate_bp_p50",
            "overnight_rate_bp_p95",
            "reserves_total_p50",
        ],
        None,
    )?;
    let days = summary.required("day")?;
    if days.is_empty() {
        return Err(PlotError::Empty {
            path: summary_path,
            what: "no days to plot".into(),
        });
    }
    let daily_path = dir.join("daily.parquet");
    let daily = Table::read(
        &daily_path,
        &[
            "run",
            "day",
            "policy_rate_bp",
            "deposit_rate_bp",
            "lending_rate_bp",
        ],
        Some(days.len()),
    )?;
    let runs = daily.required("run")?;
    if daily.required("day")? != days || runs.iter().any(|&r| r != runs[0]) {
        return Err(PlotError::Empty {
            path: daily_path,
            what: format!(
                "its first run does not cover the {} days of summary.parquet in order",
                days.len()
            ),
        });
    }
    Ok(RateFan {
        provenance: Provenance::of(&summary),
        dates: summary
            .required("date")?
            .into_iter()
            .map(|d| d as i32)
            .collect(),
        p05: summary.numbers("overnight_rate_bp_p05")?,
        p50: summary.numbers("overnight_rate_bp_p50")?,
        p95: summary.numbers("overnight_rate_bp_p95")?,
        reserves_p50: summary.numbers("reserves_total_p50")?,
        lending: daily.required("lending_rate_bp")?,
        policy: daily.required("policy_rate_bp")?,
        deposit: daily.required("deposit_rate_bp")?,
    })
}

/// One sweep point of a reserve demand curve.
#[derive(Clone, Debug)]
pub(crate) struct DemandPoint {
    /// Mean reserve supply over the point's run-days, in money units.
    pub reserves: f64,
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub lending: f64,
    pub policy: f64,
    pub deposit: f64,
}

/// The points of a sweep that share every swept value except the one that moves reserves.
#[derive(Clone, Debug)]
pub(crate) struct DemandCurve {
    /// `key = value` of the other swept keys; empty with a single swept key.
    pub label: String,
    /// Sorted by reserves.
    pub points: Vec<DemandPoint>,
}

#[derive(Clone, Debug)]
pub(crate) struct DemandCurves {
    pub provenance: Provenance,
    /// The swept key along the curve.
    pub along: String,
    pub curves: Vec<DemandCurve>,
    pub points: usize,
}

/// Reads a sweep's `summary.parquet`, and the facility rates of each point from the first
/// row of its part file.
///
/// The swept key along each curve is the first whose name mentions reserves
/// (`central_bank.reserve_target_per_bank`), or else the first swept key; points that share
/// the values of every other swept key form one curve.
pub(crate) fn read_demand_curves(dir: &Path) -> Result<DemandCurves, PlotError> {
    let path = dir.join("summary.parquet");
    // The swept keys are the columns between `point` and `runs` (docs/output.md).
    let names = Table::read(&path, &["point"], Some(0))?.names;
    let runs_at = names
        .iter()
        .position(|n| n == "runs")
        .ok_or_else(|| PlotError::Column {
            path: path.clone(),
            column: "runs".into(),
            problem: "missing: this is not a sweep summary".into(),
        })?;
    let keys: Vec<String> = names[1..runs_at].to_vec();
    let mut wanted: Vec<&str> = vec![
        "point",
        "reserves_total_mean",
        "overnight_rate_bp_p05",
        "overnight_rate_bp_p50",
        "overnight_rate_bp_p95",
    ];
    wanted.extend(keys.iter().map(String::as_str));
    let summary = Table::read(&path, &wanted, None)?;
    if summary.rows() == 0 {
        return Err(PlotError::Empty {
            path,
            what: "the sweep has no points".into(),
        });
    }
    let along = keys
        .iter()
        .find(|k| k.contains("reserve"))
        .or_else(|| keys.first())
        .cloned()
        .unwrap_or_default();
    let ids = summary.required("point")?;
    let reserves = summary.required("reserves_total_mean")?;
    let (p05, p50, p95) = (
        summary.numbers("overnight_rate_bp_p05")?,
        summary.numbers("overnight_rate_bp_p50")?,
        summary.numbers("overnight_rate_bp_p95")?,
    );
    let others: Vec<&String> = keys.iter().filter(|k| **k != along).collect();
    let other_values: Vec<&[Value]> = others
        .iter()
        .map(|k| summary.column(k))
        .collect::<Result<_, _>>()?;
    let mut groups: Vec<(Vec<Value>, Vec<DemandPoint>)> = Vec::new();
    for i in 0..summary.rows() {
        let point = ids[i] as u32;
        let part = dir
            .join("daily")
            .join(format!("point={point}"))
            .join("part-0.parquet");
        let first = Table::read(
            &part,
            &["policy_rate_bp", "deposit_rate_bp", "lending_rate_bp"],
            Some(1),
        )?;
        let rate = |name: &str| -> Result<f64, PlotError> {
            first
                .required(name)?
                .first()
                .copied()
                .ok_or_else(|| PlotError::Empty {
                    path: part.clone(),
                    what: "the point's part file has no rows".into(),
                })
        };
        let p = DemandPoint {
            reserves: reserves[i],
            p05: p05[i],
            p50: p50[i],
            p95: p95[i],
            lending: rate("lending_rate_bp")?,
            policy: rate("policy_rate_bp")?,
            deposit: rate("deposit_rate_bp")?,
        };
        let key: Vec<Value> = other_values.iter().map(|v| v[i].clone()).collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, points)) => points.push(p),
            None => groups.push((key, vec![p])),
        }
    }
    let curves = groups
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by(|a, b| a.reserves.total_cmp(&b.reserves));
            let label = others
                .iter()
                .zip(&key)
                .map(|(k, v)| format!("{k} = {}", v.label()))
                .collect::<Vec<_>>()
                .join(", ");
            DemandCurve { label, points }
        })
        .collect();
    Ok(DemandCurves {
        provenance: Provenance::of(&summary),
        along,
        curves,
        points: summary.rows(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_a_scenario_file_writes_them() {
        assert_eq!(Value::Number(Some(80.0)).label(), "80");
        assert_eq!(Value::Number(Some(-0.5)).label(), "-0.5");
        assert_eq!(Value::Text("call".into()).label(), "call");
    }
}
