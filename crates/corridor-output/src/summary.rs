//! `summary.parquet`: exact per-day statistics across runs, computed in bounded memory.
//!
//! The daily file (or the shards' daily files, in order) is read back (only the needed
//! columns) once to learn the days, their dates and row counts, and plans *blocks* of
//! consecutive days whose values fit the memory budget. A second pass decodes the values
//! once: the first block's stay in memory, every other block's go to a temporary file of
//! its own, which is read back when the block's turn comes. Memory is bounded by the block
//! budget however many runs there are, and the files are decoded twice, not once per block
//! (with tens of thousands of runs, decoding dominated the cost of a summary).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Float64Builder, UInt32Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

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

pub(crate) fn summarize_paths_with(
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
    if !blocks.is_empty() {
        summarize_blocks(daily_paths, &blocks, out_path, &mut sink)?;
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
fn open_projected(
    path: &Path,
    columns: &[(&str, DataType)],
) -> Result<ParquetRecordBatchReader, OutputError> {
    let file = File::open(path).map_err(|e| OutputError::io(path, "opening", e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
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

/// Values of one block of days: `values[slot][var]`, in file order.
type BlockValues = Vec<[Vec<f64>; 5]>;

/// Bytes of one spilled row: day slot (u32), rate validity (u8), rate (f64), four money
/// values (i64), little-endian.
const SPILL_ROW_BYTES: usize = 4 + 1 + 8 + 4 * 8;

/// Buffer of each block's spill file.
const SPILL_BUFFER_BYTES: usize = 256 << 10;

/// A block's values on disk, in a hidden temporary file next to the summary, removed when
/// dropped.
struct Spill {
    path: PathBuf,
    writer: Option<std::io::BufWriter<File>>,
}

impl Spill {
    fn create(out_path: &Path, block: usize) -> Result<Spill, OutputError> {
        let dir = out_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = dir.join(format!(".summary-block-{block}.tmp-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| OutputError::io(&path, "creating temporary file", e))?;
        Ok(Spill {
            writer: Some(std::io::BufWriter::with_capacity(SPILL_BUFFER_BYTES, file)),
            path,
        })
    }

    #[inline]
    fn push(&mut self, slot: u32, rate: Option<f64>, money: [i64; 4]) -> Result<(), OutputError> {
        use std::io::Write;
        let mut row = [0u8; SPILL_ROW_BYTES];
        row[0..4].copy_from_slice(&slot.to_le_bytes());
        row[4] = u8::from(rate.is_some());
        row[5..13].copy_from_slice(&rate.unwrap_or(0.0).to_le_bytes());
        for (k, m) in money.iter().enumerate() {
            row[13 + 8 * k..21 + 8 * k].copy_from_slice(&m.to_le_bytes());
        }
        self.writer
            .as_mut()
            .expect("open until read back")
            .write_all(&row)
            .map_err(|e| OutputError::io(&self.path, "writing temporary file", e))
    }

    /// Reads the block's rows back into `values`, in the order they were written.
    fn read_into(&mut self, values: &mut BlockValues) -> Result<(), OutputError> {
        use std::io::{Read, Seek};
        let io = |e| OutputError::io(&self.path, "reading temporary file", e);
        let mut file = self
            .writer
            .take()
            .expect("read back once")
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(SPILL_BUFFER_BYTES, file);
        let mut buf = vec![0u8; SPILL_ROW_BYTES * 4096];
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let n = reader.read(&mut buf[filled..]).map_err(io)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled % SPILL_ROW_BYTES != 0 {
                return Err(OutputError::format(&self.path, "truncated temporary file"));
            }
            for row in buf[..filled].chunks_exact(SPILL_ROW_BYTES) {
                let le8 = |i: usize| <[u8; 8]>::try_from(&row[i..i + 8]).expect("8 bytes");
                let slot = u32::from_le_bytes(row[0..4].try_into().expect("4 bytes")) as usize;
                let v = &mut values[slot];
                if row[4] == 1 {
                    v[0].push(f64::from_le_bytes(le8(5)));
                }
                for k in 0..4 {
                    v[k + 1].push(i64::from_le_bytes(le8(13 + 8 * k)) as f64);
                }
            }
            if filled < buf.len() {
                return Ok(());
            }
        }
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.writer = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where a day's values go: its block and its slot in the block.
struct DaySlots {
    days: Vec<u32>,
    place: Vec<(usize, u32)>,
}

impl DaySlots {
    fn new(blocks: &[Block]) -> DaySlots {
        let mut days = Vec::new();
        let mut place = Vec::new();
        for (b, block) in blocks.iter().enumerate() {
            for (slot, (day, _)) in block.iter().enumerate() {
                days.push(*day);
                place.push((b, slot as u32));
            }
        }
        DaySlots { days, place }
    }

    /// The index of `day` in `days`, trying the one after `guess` first: rows of a run come
    /// in day order, so that is almost always it.
    #[inline]
    fn find(&self, day: u32, guess: usize) -> Option<usize> {
        if self.days.get(guess) == Some(&day) {
            Some(guess)
        } else {
            self.days.binary_search(&day).ok()
        }
    }
}

/// One pass over every daily file: the first block's values are collected in memory, the
/// other blocks' are appended to one temporary file each (in file order), so the files are
/// decoded once however many blocks there are. Then each block is summarised in turn.
fn summarize_blocks(
    paths: &[PathBuf],
    blocks: &[Block],
    out_path: &Path,
    sink: &mut Sink<SummaryTable>,
) -> Result<(), OutputError> {
    let new_values = |block: &Block| -> BlockValues {
        block
            .iter()
            .map(|(_, info)| std::array::from_fn(|_| Vec::with_capacity(info.rows as usize)))
            .collect()
    };
    let slots = DaySlots::new(blocks);
    let mut first = new_values(&blocks[0]);
    let mut spills: Vec<Option<Spill>> = vec![None];
    for b in 1..blocks.len() {
        spills.push(Some(Spill::create(out_path, b)?));
    }

    let mut columns = vec![
        ("day", DataType::UInt32),
        ("overnight_rate_bp", DataType::Float64),
    ];
    columns.extend(SUMMARY_VARS[1..].iter().map(|v| (*v, DataType::Int64)));
    for path in paths {
        let path = path.as_path();
        let reader = open_projected(path, &columns)?;
        let mut next = 0usize;
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
                money.push(col.as_primitive::<Int64Type>().values());
            }
            for (i, &d) in day.values().iter().enumerate() {
                let Some(k) = slots.find(d, next) else {
                    return Err(OutputError::format(
                        path,
                        format!("day {d} appeared after the days were counted"),
                    ));
                };
                next = k + 1;
                let (b, slot) = slots.place[k];
                let r = rate.is_valid(i).then(|| rate.value(i));
                let m = [money[0][i], money[1][i], money[2][i], money[3][i]];
                if b == 0 {
                    let v = &mut first[slot as usize];
                    if let Some(r) = r {
                        v[0].push(r);
                    }
                    for (k, x) in m.iter().enumerate() {
                        v[k + 1].push(*x as f64);
                    }
                } else {
                    spills[b]
                        .as_mut()
                        .expect("spill of a later block")
                        .push(slot, r, m)?;
                }
            }
        }
    }

    append_block(&blocks[0], first, sink)?;
    for (b, block) in blocks.iter().enumerate().skip(1) {
        let mut spill = spills[b].take().expect("spilled once");
        let mut values = new_values(block);
        spill.read_into(&mut values)?;
        drop(spill);
        append_block(block, values, sink)?;
    }
    Ok(())
}

/// Computes and appends the summary rows of one block from its values.
fn append_block(
    block: &Block,
    mut values: BlockValues,
    sink: &mut Sink<SummaryTable>,
) -> Result<(), OutputError> {
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

/// `[mean, std, p05, p25, p50, p75, p95]` of `values` (which it reorders).
///
/// `std` is the sample standard deviation (ddof = 1), `None` below two values; quantiles use
/// numpy's default "linear" method. Everything is `None` without values. The quantiles need
/// only the order statistics at and after each virtual index, so those (at most ten) are
/// selected instead of sorting everything: the same values, as the k-th smallest under
/// `total_cmp` is one value however it is found, in a fraction of a sort's time.
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
    let mut ranks: Vec<usize> = QUANTILES
        .iter()
        .flat_map(|&q| {
            let (lo, hi, _) = linear_position(n, q);
            [lo, hi]
        })
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    let mut order_stats = Vec::with_capacity(ranks.len());
    select_ranks(values, 0, &ranks, &mut order_stats);
    let at = |rank: usize| -> f64 {
        order_stats
            .iter()
            .find(|(r, _)| *r == rank)
            .map(|(_, x)| *x)
            .expect("every needed rank is selected")
    };
    let mut out = [None; 7];
    out[0] = Some(mean);
    out[1] = std;
    for (j, &q) in QUANTILES.iter().enumerate() {
        let (lo, hi, t) = linear_position(n, q);
        out[2 + j] = Some(lerp(at(lo), at(hi), t));
    }
    out
}

/// Puts the order statistics of `ranks` (sorted, distinct, relative to the whole slice of
/// which `values` starts at `offset`) into `out` as `(rank, value)`: selects the middle rank,
/// then recurses into the parts below and above it.
fn select_ranks(values: &mut [f64], offset: usize, ranks: &[usize], out: &mut Vec<(usize, f64)>) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let k = ranks[mid] - offset;
    let (below, kth, above) = values.select_nth_unstable_by(k, f64::total_cmp);
    out.push((ranks[mid], *kth));
    select_ranks(below, offset, &ranks[..mid], out);
    select_ranks(above, offset + k + 1, &ranks[mid + 1..], out);
}

/// numpy's linear method for `n` values: the ranks below and above the virtual index
/// `h = (n - 1) q`, and its fraction.
fn linear_position(n: usize, q: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    (lo, hi, h - lo as f64)
}

/// numpy's lerp: `a + t (b - a)`, or `b - (1 - t)(b - a)` when `t >= 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// numpy's `quantile(..., method="linear")` of sorted, non-empty `sorted`:
/// virtual index `h = (n - 1) q`, then the same lerp numpy uses (`a + t (b - a)`, or
/// `b - (1 - t)(b - a)` when `t >= 0.5`).
#[cfg(test)]
pub(crate) fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let (lo, hi, t) = linear_position(sorted.len(), q);
    lerp(sorted[lo], sorted[hi], t)
}
