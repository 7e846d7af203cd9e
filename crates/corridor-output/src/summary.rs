//! `summary.parquet`: exact per-day statistics across runs, computed in bounded memory.
//!
//! The daily file is read back (only the needed columns) once to learn the days, their dates
//! and row counts, then once per *block* of consecutive days: each pass keeps only that
//! block's values, so memory is bounded by the block budget however many runs there are.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Float64Builder, UInt32Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowFilter,
};

use crate::table::{Layout, Sink, Table};
use crate::{OutputError, OutputMeta};

/// The daily variables summarised, in column order.
pub(crate) const SUMMARY_VARS: [&str; 5] = [
    "overnight_rate_bp",
    "volume",
    "reserves_total",
    "lending_facility_use",
    "deposit_facility_use",
];

/// Statistic suffixes, in column order.
pub(crate) const STATS: [&str; 7] = ["mean", "std", "p05", "p25", "p50", "p75", "p95"];

/// The probabilities of the `p..` columns.
const QUANTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// Default memory budget for the values of one block of days.
pub(crate) const SUMMARY_BLOCK_BYTES: usize = 32 << 20;

/// Rows per batch when reading `daily.parquet` back.
const READ_BATCH_ROWS: usize = 65_536;

/// Bytes each daily row costs in a block: one `f64` per summarised variable.
const BYTES_PER_ROW: usize = SUMMARY_VARS.len() * std::mem::size_of::<f64>();

/// Columns of `summary.parquet`.
pub(crate) fn summary_fields() -> Vec<Field> {
    let mut fields = vec![
        Field::new("day", DataType::UInt32, false),
        Field::new("date", DataType::Date32, false),
        Field::new("runs", DataType::UInt32, false),
        Field::new("overnight_rate_count", DataType::UInt32, false),
    ];
    for var in SUMMARY_VARS {
        for stat in STATS {
            fields.push(Field::new(format!("{var}_{stat}"), DataType::Float64, true));
        }
    }
    fields
}

pub(crate) struct SummaryTable {
    day: UInt32Builder,
    date: Date32Builder,
    runs: UInt32Builder,
    rate_count: UInt32Builder,
    stats: Vec<Float64Builder>,
}

impl SummaryTable {
    fn new() -> Self {
        SummaryTable {
            day: UInt32Builder::new(),
            date: Date32Builder::new(),
            runs: UInt32Builder::new(),
            rate_count: UInt32Builder::new(),
            stats: (0..SUMMARY_VARS.len() * STATS.len())
                .map(|_| Float64Builder::new())
                .collect(),
        }
    }
}

impl Table for SummaryTable {
    fn finish_columns(&mut self) -> Vec<ArrayRef> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.day.finish()),
            Arc::new(self.date.finish()),
            Arc::new(self.runs.finish()),
            Arc::new(self.rate_count.finish()),
        ];
        cols.extend(
            self.stats
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols
    }
}

/// What the first pass learns about one day.
#[derive(Clone, Copy, Debug)]
struct DayInfo {
    date: i32,
    rows: u64,
}

/// Summarises `daily_path` into `out_path` (which must not exist); returns the summary's row
/// count (one row per distinct day).
///
/// Statistics are exact (no sketches): the values of a block of days are held in memory,
/// about 32 MiB at most whatever the number of runs, and the daily file is scanned once per
/// block. See the crate documentation for the definition of each statistic.
pub fn summarize_daily(
    daily_path: &Path,
    out_path: &Path,
    meta: &OutputMeta,
) -> Result<u64, OutputError> {
    summarize_daily_with(
        daily_path,
        out_path,
        meta,
        SUMMARY_BLOCK_BYTES,
        Layout::default(),
    )
    .map(|(rows, _blocks)| rows)
}

/// The summary of the rows of several daily files read one after the other, as if they
/// were one file: the shards of a batch, in shard order, give the same bytes as the batch's
/// own `daily.parquet`. Returns the row count.
pub fn summarize_files(
    daily_paths: &[PathBuf],
    out_path: &Path,
    meta: &OutputMeta,
) -> Result<u64, OutputError> {
    summarize_paths_with(
        daily_paths,
        out_path,
        meta,
        SUMMARY_BLOCK_BYTES,
        Layout::default(),
    )
    .map(|(rows, _blocks)| rows)
}

/// [`summarize_daily`] with an explicit block budget (bytes of values per block) and file
/// layout. Returns `(rows, blocks)`.
pub(crate) fn summarize_daily_with(
    daily_path: &Path,
    out_path: &Path,
    meta: &OutputMeta,
    block_bytes: usize,
    layout: Layout,
) -> Result<(u64, usize), OutputError> {
    summarize_paths_with(
        &[daily_path.to_path_buf()],
        out_path,
        meta,
        block_bytes,
        layout,
    )
}

fn summarize_paths_with(
    daily_paths: &[PathBuf],
    out_path: &Path,
    meta: &OutputMeta,
    block_bytes: usize,
    layout: Layout,
) -> Result<(u64, usize), OutputError> {
    let mut days = BTreeMap::new();
    for path in daily_paths {
        scan_days(path, &mut days)?;
    }
    let blocks = plan_blocks(&days, block_bytes);

    let mut sink = Sink::create(
        out_path.to_path_buf(),
        summary_fields(),
        SummaryTable::new(),
        meta,
        layout,
    )?;
    for block in &blocks {
        summarize_block(daily_paths, block, &mut sink)?;
    }
    let rows = sink.close()?;
    Ok((rows, blocks.len()))
}

/// A block of consecutive days (in day order) and their info.
type Block = Vec<(u32, DayInfo)>;

/// Greedy split of the days into blocks whose values fit in `block_bytes` (at least one day
/// per block, however large).
fn plan_blocks(days: &BTreeMap<u32, DayInfo>, block_bytes: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Block = Vec::new();
    let mut current_bytes: u128 = 0;
    for (&day, &info) in days {
        let bytes = info.rows as u128 * BYTES_PER_ROW as u128;
        if !current.is_empty() && current_bytes + bytes > block_bytes as u128 {
            blocks.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push((day, info));
        current_bytes += bytes;
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

/// Opens `path` reading only `columns`, after checking their types.
///
/// With `days = Some((first, last))`, only rows whose `day` lies in `first..=last` are
/// returned, and the other columns are decoded only for those rows.
fn open_projected(
    path: &Path,
    columns: &[(&str, DataType)],
    days: Option<(u32, u32)>,
) -> Result<ParquetRecordBatchReader, OutputError> {
    let file = File::open(path).map_err(|e| OutputError::io(path, "opening", e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| OutputError::parquet(path, e))?;
    for (name, expected) in columns {
        let field = builder
            .schema()
            .field_with_name(name)
            .map_err(|_| OutputError::format(path, format!("no column `{name}`")))?;
        if field.data_type() != expected {
            return Err(OutputError::format(
                path,
                format!(
                    "column `{name}` has type {}, expected {expected}",
                    field.data_type()
                ),
            ));
        }
    }
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().map(|c| c.0));
    if let Some((first, last)) = days {
        let day_mask = ProjectionMask::columns(builder.parquet_schema(), ["day"]);
        let predicate = ArrowPredicateFn::new(day_mask, move |batch: RecordBatch| {
            let day = batch
                .column(0)
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| ArrowError::SchemaError("column `day` is not UInt32".into()))?;
            Ok(day
                .values()
                .iter()
                .map(|&d| Some(first <= d && d <= last))
                .collect::<BooleanArray>())
        });
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
    }
    builder
        .with_projection(mask)
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(|e| OutputError::parquet(path, e))
}

fn column<'a>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a ArrayRef, OutputError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| OutputError::format(path, format!("no column `{name}` in batch")))
}

fn require_no_nulls(path: &Path, name: &str, array: &dyn Array) -> Result<(), OutputError> {
    if array.null_count() > 0 {
        return Err(OutputError::format(
            path,
            format!("column `{name}` has null values"),
        ));
    }
    Ok(())
}

/// First pass: every day, its date and how many rows (runs) it has, added to `days`.
fn scan_days(path: &Path, days: &mut BTreeMap<u32, DayInfo>) -> Result<(), OutputError> {
    let reader = open_projected(
        path,
        &[("day", DataType::UInt32), ("date", DataType::Date32)],
        None,
    )?;
    for batch in reader {
        let batch = batch.map_err(|e| OutputError::arrow(path, e))?;
        let day = column(path, &batch, "day")?;
        let date = column(path, &batch, "date")?;
        require_no_nulls(path, "day", day)?;
        require_no_nulls(path, "date", date)?;
        let day = day.as_primitive::<UInt32Type>();
        let date = date.as_primitive::<Date32Type>();
        for (&d, &dt) in day.values().iter().zip(date.values().iter()) {
            let info = days.entry(d).or_insert(DayInfo { date: dt, rows: 0 });
            if info.date != dt {
                return Err(OutputError::format(
                    path,
                    format!(
                        "day {d} has two different dates ({} and {dt} days since 1970-01-01)",
                        info.date
                    ),
                ));
            }
            info.rows += 1;
        }
    }
    Ok(())
}

/// One pass over the daily file for one block of days: collects the block's values,
/// computes and appends its summary rows.
fn summarize_block(
    paths: &[PathBuf],
    block: &Block,
    sink: &mut Sink<SummaryTable>,
) -> Result<(), OutputError> {
    let first = block[0].0;
    let last = block[block.len() - 1].0;
    // values[slot][var]
    let mut values: Vec<[Vec<f64>; 5]> = block
        .iter()
        .map(|(_, info)| std::array::from_fn(|_| Vec::with_capacity(info.rows as usize)))
        .collect();
    let block_days: Vec<u32> = block.iter().map(|(d, _)| *d).collect();

    let mut columns = vec![
        ("day", DataType::UInt32),
        ("overnight_rate_bp", DataType::Float64),
    ];
    columns.extend(SUMMARY_VARS[1..].iter().map(|v| (*v, DataType::Int64)));
    for path in paths {
        let path = path.as_path();
        let reader = open_projected(path, &columns, Some((first, last)))?;
        for batch in reader {
            let batch = batch.map_err(|e| OutputError::arrow(path, e))?;
            let day_col = column(path, &batch, "day")?;
            require_no_nulls(path, "day", day_col)?;
            let day = day_col.as_primitive::<UInt32Type>();
            let rate = column(path, &batch, SUMMARY_VARS[0])?.as_primitive::<Float64Type>();
            let mut money = Vec::with_capacity(4);
            for name in &SUMMARY_VARS[1..] {
                let col = column(path, &batch, name)?;
                require_no_nulls(path, name, col)?;
                money.push(col.as_primitive::<Int64Type>());
            }
            for (i, &d) in day.values().iter().enumerate() {
                if d < first || d > last {
                    continue;
                }
                let Ok(slot) = block_days.binary_search(&d) else {
                    continue;
                };
                let v = &mut values[slot];
                if rate.is_valid(i) {
                    v[0].push(rate.value(i));
                }
                for (k, m) in money.iter().enumerate() {
                    v[k + 1].push(m.value(i) as f64);
                }
            }
        }
    }

    for ((day, info), vals) in block.iter().zip(values.iter_mut()) {
        let t = &mut sink.table;
        t.day.append_value(*day);
        t.date.append_value(info.date);
        t.runs.append_value(saturating_u32(info.rows));
        t.rate_count
            .append_value(saturating_u32(vals[0].len() as u64));
        for (k, var_values) in vals.iter_mut().enumerate() {
            let stats = describe(var_values);
            for (j, s) in stats.into_iter().enumerate() {
                t.stats[k * STATS.len() + j].append_option(s);
            }
        }
        // Release this day's values before the next day's rows are appended.
        for v in vals.iter_mut() {
            *v = Vec::new();
        }
        sink.row_appended()?;
    }
    Ok(())
}

fn saturating_u32(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// Neumaier-compensated sum (accurate and order-deterministic).
fn compensated_sum(xs: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut c = 0.0_f64;
    for x in xs {
        let t = sum + x;
        if sum.abs() >= x.abs() {
            c += (sum - t) + x;
        } else {
            c += (x - t) + sum;
        }
        sum = t;
    }
    sum + c
}

/// `[mean, std, p05, p25, p50, p75, p95]` of `values` (which it sorts).
///
/// `std` is the sample standard deviation (ddof = 1), `None` below two values; quantiles use
/// numpy's default "linear" method. Everything is `None` without values.
pub(crate) fn describe(values: &mut [f64]) -> [Option<f64>; 7] {
    let n = values.len();
    if n == 0 {
        return [None; 7];
    }
    let mean = compensated_sum(values.iter().copied()) / n as f64;
    let std = if n >= 2 {
        let ss = compensated_sum(values.iter().map(|x| (x - mean) * (x - mean)));
        Some((ss / (n - 1) as f64).sqrt())
    } else {
        None
    };
    values.sort_unstable_by(f64::total_cmp);
    let mut out = [None; 7];
    out[0] = Some(mean);
    out[1] = std;
    for (j, q) in QUANTILES.iter().enumerate() {
        out[2 + j] = Some(quantile_linear(values, *q));
    }
    out
}

/// numpy's `quantile(..., method="linear")` of sorted, non-empty `sorted`:
/// virtual index `h = (n - 1) q`, then the same lerp numpy uses (`a + t (b - a)`, or
/// `b - (1 - t)(b - a)` when `t >= 0.5`).
pub(crate) fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}
