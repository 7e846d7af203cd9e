//! Files of multi-scenario studies (sweeps and calibrations): one daily part file per sweep
//! point, small generic tables (`points.parquet`,
//! `summary.parquet`, `trace.parquet`), and reading numeric columns back.
//!
//! Every file is written under a hidden temporary name in its final directory
//! (`.<name>.tmp-<pid>`) and renamed into place only when complete, so a file that exists
//! under its final name is finished. Hidden names are skipped by pyarrow's dataset discovery
//! and match no `*.parquet` glob.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, UInt32Type};
use arrow_array::{
    Array as _, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field};
use corridor_model::RunRecords;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::table::{DailyTable, Layout, Sink, schema_with_meta, writer_properties};
use crate::{OutputError, OutputMeta};

/// `<dir>/.<name>.tmp-<pid>`: the temporary name of `path` while it is written.
pub fn temp_name(path: &Path) -> Result<PathBuf, OutputError> {
    let name = path.file_name().ok_or_else(|| OutputError::InvalidPath {
        path: path.to_path_buf(),
        reason: "it has no file name",
    })?;
    Ok(path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Whether `name` is a temporary name made by [`temp_name`] (by any process).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

fn publish_file(temp: &Path, path: &Path) -> Result<(), OutputError> {
    fs::rename(temp, path).map_err(|e| OutputError::io(temp, "renaming", e))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(parent).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// The daily rows of one sweep point, written to one Parquet file atomically: the file
/// appears under its final name only after [`finish`](Self::finish). Dropping an unfinished
/// writer removes the temporary file.
///
/// The columns are exactly those of `daily.parquet`. The point id is not a column: it is the
/// hive partition of the file's directory (`daily/point=7/part-0.parquet`), which pyarrow,
/// polars and DuckDB turn into an integer `point` column (a column of the same name inside
/// the files would clash with it in pyarrow's dataset discovery).
pub struct DailyPartWriter {
    path: PathBuf,
    sink: Option<Sink<DailyTable>>,
    last_run: Option<u32>,
    runs: u32,
}

impl DailyPartWriter {
    /// Creates the temporary file next to `path` (creating missing directories).
    pub fn create(path: &Path, meta: &OutputMeta) -> Result<Self, OutputError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| OutputError::io(parent, "creating directory", e))?;
        }
        let temp = temp_name(path)?;
        let layout = Layout::default();
        let table = DailyTable::with_capacity(layout.batch_rows);
        let sink = Sink::create(temp, DailyTable::fields(), table, meta, layout)?;
        Ok(DailyPartWriter {
            path: path.to_path_buf(),
            sink: Some(sink),
            last_run: None,
            runs: 0,
        })
    }

    /// Appends one run's daily rows; runs must arrive in increasing order.
    pub fn write_run(&mut self, run: &RunRecords) -> Result<(), OutputError> {
        if let Some(previous) = self.last_run
            && run.run <= previous
        {
            return Err(OutputError::RunOrder {
                path: self.path.clone(),
                run: run.run,
                previous,
            });
        }
        self.last_run = Some(run.run);
        self.runs += 1;
        let sink = self.sink.as_mut().expect("open until finish");
        for record in &run.days {
            sink.table.append(run.run, record);
            sink.row_appended()?;
        }
        Ok(())
    }

    /// Runs written so far.
    pub fn runs(&self) -> u32 {
        self.runs
    }

    /// Closes the file, fsyncs it and renames it into place; returns the row count.
    pub fn finish(mut self) -> Result<u64, OutputError> {
        let sink = self.sink.take().expect("open until finish");
        let temp = sink.path().to_path_buf();
        let rows = match sink.close() {
            Ok(rows) => rows,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        };
        if let Err(e) = publish_file(&temp, &self.path) {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        Ok(rows)
    }
}

impl Drop for DailyPartWriter {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            let temp = sink.path().to_path_buf();
            drop(sink);
            let _ = fs::remove_file(temp);
        }
    }
}

/// A column of a small study table.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Non-null unsigned integers (ids, counts).
    U32(Vec<u32>),
    /// Non-null unsigned 64-bit integers (seeds).
    U64(Vec<u64>),
    /// Floats; `None` is null.
    F64(Vec<Option<f64>>),
    /// Text.
    Str(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::U32(v) => v.len(),
            Column::U64(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }
}

/// Writes a small table (held in memory) to `path` atomically, with the `corridor.*`
/// metadata of `meta` and the same pinned writer settings as every other file. Returns the
/// row count.
pub fn write_table(
    path: &Path,
    columns: &[(String, Column)],
    meta: &OutputMeta,
) -> Result<u64, OutputError> {
    let rows = columns.first().map_or(0, |c| c.1.len());
    if let Some((name, _)) = columns.iter().find(|c| c.1.len() != rows) {
        return Err(OutputError::format(
            path,
            format!("column {name} has a different length from the first column"),
        ));
    }
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c)| match c {
            Column::U32(_) => Field::new(name, DataType::UInt32, false),
            Column::U64(_) => Field::new(name, DataType::UInt64, false),
            Column::F64(_) => Field::new(name, DataType::Float64, true),
            Column::Str(_) => Field::new(name, DataType::Utf8, false),
        })
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, c)| match c {
            Column::U32(v) => Arc::new(UInt32Array::from(v.clone())) as ArrayRef,
            Column::U64(v) => Arc::new(UInt64Array::from(v.clone())) as ArrayRef,
            Column::F64(v) => Arc::new(Float64Array::from(v.clone())) as ArrayRef,
            Column::Str(v) => Arc::new(StringArray::from(v.clone())) as ArrayRef,
        })
        .collect();
    let schema = schema_with_meta(fields, meta);
    let temp = temp_name(path)?;
    let result = (|| {
        let file = File::create_new(&temp)
            .map_err(|e| OutputError::io(&temp, "creating Parquet file", e))?;
        let mut writer = ArrowWriter::try_new(
            file,
            Arc::clone(&schema),
            Some(writer_properties(meta, &schema, Layout::default())),
        )
        .map_err(|e| OutputError::parquet(&temp, e))?;
        if rows > 0 {
            let batch =
                RecordBatch::try_new(schema, arrays).map_err(|e| OutputError::arrow(&temp, e))?;
            writer
                .write(&batch)
                .map_err(|e| OutputError::parquet(&temp, e))?;
        }
        writer
            .finish()
            .map_err(|e| OutputError::parquet(&temp, e))?;
        writer
            .inner()
            .sync_all()
            .map_err(|e| OutputError::io(&temp, "syncing", e))?;
        publish_file(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| rows as u64)
}

/// Reads the named numeric columns (UInt32, Int64, Float64 or Date32) of a Parquet file as
/// `f64` (nulls as `None`), in file order.
pub fn read_numeric_columns(
    path: &Path,
    names: &[&str],
) -> Result<Vec<Vec<Option<f64>>>, OutputError> {
    let file = File::open(path).map_err(|e| OutputError::io(path, "opening", e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| OutputError::parquet(path, e))?;
    let schema = Arc::clone(builder.schema());
    let mut roots = Vec::with_capacity(names.len());
    for name in names {
        // By top-level index, not dotted path: swept keys such as `late_shock.sd` are column
        // names that contain dots.
        match schema.index_of(name) {
            Ok(i) => roots.push(i),
            Err(_) => return Err(OutputError::format(path, format!("no column {name}"))),
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| OutputError::parquet(path, e))?;
    let mut out: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len()];
    for batch in reader {
        let batch = batch.map_err(|e| OutputError::arrow(path, e))?;
        for (j, name) in names.iter().enumerate() {
            let col = batch
                .column_by_name(name)
                .ok_or_else(|| OutputError::format(path, format!("no column {name}")))?;
            let values = &mut out[j];
            match col.data_type() {
                DataType::UInt32 => {
                    let a = col.as_primitive::<UInt32Type>();
                    values.extend(a.iter().map(|v| v.map(f64::from)));
                }
                DataType::Int64 => {
                    let a = col.as_primitive::<Int64Type>();
                    values.extend(a.iter().map(|v| v.map(|x| x as f64)));
                }
                DataType::Float64 => {
                    let a = col.as_primitive::<Float64Type>();
                    values.extend(a.iter());
                }
                DataType::Date32 => {
                    let a = col.as_primitive::<Date32Type>();
                    values.extend(a.iter().map(|v| v.map(f64::from)));
                }
                other => {
                    return Err(OutputError::format(
                        path,
                        format!("column {name} has type {other}, expected a number"),
                    ));
                }
            }
        }
    }
    Ok(out)
}
