//! Column builders for each file, and the buffered Parquet sink that makes output bytes a
//! function of the rows alone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, Int64Builder, StringBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Metadata, Schema, SchemaRef};
use corridor_model::{BankDayRecord, DayRecord, OperationRecord, SecuritiesRecord, TradeRecord};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::{OutputError, OutputMeta, units};

/// Rows per `RecordBatch` handed to the Parquet writer (the last batch may be shorter).
pub(crate) const BATCH_ROWS: usize = 65_536;
/// Maximum rows per Parquet row group; bounds the writer's in-memory buffer.
pub(crate) const MAX_ROW_GROUP_ROWS: usize = 1_048_576;
/// ZSTD level of every column chunk.
pub(crate) const ZSTD_LEVEL: i32 = 3;
/// Parquet data page size limit (bytes).
const DATA_PAGE_BYTES: usize = 1024 * 1024;
/// Parquet data page row limit.
const DATA_PAGE_ROWS: usize = 20_000;

/// Value of the `corridor.rate_unit` metadata key.
pub const RATE_UNIT: &str = "bp (basis points, annual)";

/// Knobs that change the physical layout (never the content) of the files; tests shrink them
/// to force many batches, row groups and summary passes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub batch_rows: usize,
    pub max_row_group_rows: usize,
    /// Parquet data page row limit. Page boundaries follow batch boundaries once a page is
    /// full, which is why the batch size must be fixed.
    pub data_page_rows: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            batch_rows: BATCH_ROWS,
            max_row_group_rows: MAX_ROW_GROUP_ROWS,
            data_page_rows: DATA_PAGE_ROWS,
        }
    }
}

/// The `corridor.*` key-value pairs of a file with columns `fields` (units attached), in the
/// fixed order they are written.
pub(crate) fn metadata_pairs(meta: &OutputMeta, fields: &[Field]) -> Vec<(String, String)> {
    vec![
        ("corridor.scenario".into(), meta.scenario_toml.clone()),
        ("corridor.scenario_name".into(), meta.scenario_name.clone()),
        ("corridor.seed".into(), meta.seed.to_string()),
        ("corridor.runs".into(), meta.runs.to_string()),
        ("corridor.version".into(), meta.corridor_version.clone()),
        ("corridor.money_unit".into(), meta.money_minor_unit.clone()),
        ("corridor.rate_unit".into(), RATE_UNIT.into()),
        (units::UNITS_KEY.into(), units::units_json(fields)),
    ]
}

/// Writer properties shared by every file, whose schema is `schema` (from
/// [`schema_with_meta`]). Everything that affects the bytes is pinned here rather than left to
/// the library's defaults.
pub(crate) fn writer_properties(
    meta: &OutputMeta,
    schema: &Schema,
    layout: Layout,
) -> WriterProperties {
    let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let kv = metadata_pairs(meta, &fields)
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect();
    let level = ZstdLevel::try_new(ZSTD_LEVEL).expect("ZSTD_LEVEL is a valid zstd level");
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(layout.max_row_group_rows))
        .set_max_row_group_bytes(None)
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_data_page_row_count_limit(layout.data_page_rows)
        .set_dictionary_page_size_limit(DATA_PAGE_BYTES)
        .set_write_batch_size(1024)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_key_value_metadata(Some(kv))
        .build()
}

/// An Arrow schema with each column's unit and the `corridor.*` metadata attached (so pyarrow
/// shows them too).
pub(crate) fn schema_with_meta(fields: Vec<Field>, meta: &OutputMeta) -> SchemaRef {
    let fields: Vec<Field> = fields
        .into_iter()
        .map(|f| units::with_unit(f, &meta.money_minor_unit))
        .collect();
    let metadata: Metadata = metadata_pairs(meta, &fields).into_iter().collect();
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// A set of column builders that can be drained into arrays.
pub(crate) trait Table {
    /// Finishes (and resets) every builder, in schema order.
    fn finish_columns(&mut self) -> Vec<ArrayRef>;
}

// ---- record tables, generated from the record field lists -------------------------------

macro_rules! builder_ty {
    (U32) => {
        UInt32Builder
    };
    (Date) => {
        Date32Builder
    };
    (F64) => {
        Float64Builder
    };
    (OptF64) => {
        Float64Builder
    };
    (Money) => {
        Int64Builder
    };
    (Str) => {
        StringBuilder
    };
}

macro_rules! data_type {
    (U32) => {
        DataType::UInt32
    };
    (Date) => {
        DataType::Date32
    };
    (F64) => {
        DataType::Float64
    };
    (OptF64) => {
        DataType::Float64
    };
    (Money) => {
        DataType::Int64
    };
    (Str) => {
        DataType::Utf8
    };
}

macro_rules! with_capacity {
    (Str, $rows:expr) => {
        StringBuilder::with_capacity($rows, 16 * $rows)
    };
    ($kind:ident, $rows:expr) => {
        <builder_ty!($kind)>::with_capacity($rows)
    };
}

macro_rules! nullable {
    (OptF64) => {
        true
    };
    ($other:ident) => {
        false
    };
}

macro_rules! push {
    ($b:expr, U32, $v:expr) => {
        $b.append_value(*$v)
    };
    ($b:expr, Date, $v:expr) => {
        $b.append_value($v.0)
    };
    ($b:expr, F64, $v:expr) => {
        $b.append_value(*$v)
    };
    ($b:expr, OptF64, $v:expr) => {
        $b.append_option(*$v)
    };
    ($b:expr, Money, $v:expr) => {
        $b.append_value($v.0)
    };
    ($b:expr, Str, $v:expr) => {
        $b.append_value(&**$v)
    };
}

/// Defines a table whose columns are `run` followed by every field of a record, named
/// exactly like the field. The destructuring in `append` has no `..`, so adding a field to
/// the record without adding a column here is a compile error.
macro_rules! record_table {
    ($(#[$doc:meta])* $table:ident for $rec:ident { $($field:ident: $kind:ident),* $(,)? }) => {
        $(#[$doc])*
        pub(crate) struct $table {
            run: UInt32Builder,
            $($field: builder_ty!($kind),)*
        }

        impl $table {
            pub(crate) fn fields() -> Vec<Field> {
                vec![
                    Field::new("run", DataType::UInt32, false),
                    $(Field::new(stringify!($field), data_type!($kind), nullable!($kind)),)*
                ]
            }

            pub(crate) fn with_capacity(rows: usize) -> Self {
                $table {
                    run: UInt32Builder::with_capacity(rows),
                    $($field: with_capacity!($kind, rows),)*
                }
            }

            pub(crate) fn append(&mut self, run: u32, record: &$rec) {
                let $rec { $($field),* } = record;
                self.run.append_value(run);
                $(push!(self.$field, $kind, $field);)*
            }
        }

        impl Table for $table {
            fn finish_columns(&mut self) -> Vec<ArrayRef> {
                vec![
                    Arc::new(self.run.finish()) as ArrayRef,
                    $(Arc::new(self.$field.finish()) as ArrayRef,)*
                ]
            }
        }
    };
}

record_table! {
    /// Columns of `daily.parquet`.
    DailyTable for DayRecord {
        day: U32,
        date: Date,
        overnight_rate_bp: OptF64,
        volume: Money,
        trade_count: U32,
        policy_rate_bp: F64,
        deposit_rate_bp: F64,
        lending_rate_bp: F64,
        reserves_total: Money,
        reserves_target: Money,
        lending_facility_use: Money,
        deposit_facility_use: Money,
        fine_tuning_amount: Money,
        autonomous_factors: Money,
        intraday_credit_peak: Money,
        queued_payments: Money,
        reserves_required: Money,
        maintenance_day: U32,
        nonbank_lending: Money,
        reverse_repo_use: Money,
        rate_p01_bp: OptF64,
        rate_p25_bp: OptF64,
        rate_p75_bp: OptF64,
        rate_p99_bp: OptF64,
        active_lenders: U32,
        active_borrowers: U32,
        top5_lender_share: OptF64,
        cb_securities: Money,
        cb_repo_lending: Money,
        cb_lending_facility: Money,
        cb_reserves: Money,
        cb_term_deposits: Money,
        cb_currency: Money,
        cb_government: Money,
        cb_other_liabilities: Money,
        cb_capital: Money,
    }
}

record_table! {
    /// Columns of `operations.parquet`.
    OperationsTable for OperationRecord {
        day: U32,
        date: Date,
        operation: Str,
        class: Str,
        amount: Money,
        reserve_effect: Money,
        rate_bp: OptF64,
        marginal_rate_bp: OptF64,
        counterparties: U32,
    }
}

record_table! {
    /// Columns of `securities.parquet`.
    SecuritiesTable for SecuritiesRecord {
        day: U32,
        class: Str,
        central_bank: Money,
        banks: Money,
        investors: Money,
    }
}

record_table! {
    /// Columns of `banks.parquet`.
    BanksTable for BankDayRecord {
        day: U32,
        bank: U32,
        reserves: Money,
        securities: Money,
        loans: Money,
        interbank_lent: Money,
        cb_term_deposit: Money,
        deposits: Money,
        interbank_borrowed: Money,
        lending_facility: Money,
        cb_repo: Money,
        equity: Money,
        deposit_facility: Money,
        required_reserves: Money,
        avg_borrowing_rate_bp: OptF64,
        avg_lending_rate_bp: OptF64,
    }
}

record_table! {
    /// Columns of `trades.parquet`.
    TradesTable for TradeRecord {
        day: U32,
        lender: U32,
        borrower: U32,
        amount: Money,
        rate_bp: F64,
        round: U32,
    }
}

// ---- the sink ---------------------------------------------------------------------------

/// A Parquet file being written from a [`Table`] of builders.
///
/// Rows accumulate in the builders and leave them only in batches of exactly
/// `layout.batch_rows` rows (plus one final partial batch), so the sequence of
/// `RecordBatch`es — and hence every page, row group and byte — depends only on the rows,
/// never on how the caller grouped its appends.
pub(crate) struct Sink<T: Table> {
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    pub(crate) table: T,
    buffered: usize,
    rows: u64,
    batch_rows: usize,
}

impl<T: Table> Sink<T> {
    /// Creates `path` (which must not exist) and writes the header.
    pub(crate) fn create(
        path: PathBuf,
        fields: Vec<Field>,
        table: T,
        meta: &OutputMeta,
        layout: Layout,
    ) -> Result<Self, OutputError> {
        let schema = schema_with_meta(fields, meta);
        let file = File::create_new(&path)
            .map_err(|e| OutputError::io(&path, "creating Parquet file", e))?;
        let writer = ArrowWriter::try_new(
            file,
            Arc::clone(&schema),
            Some(writer_properties(meta, &schema, layout)),
        )
        .map_err(|e| OutputError::parquet(&path, e))?;
        Ok(Sink {
            path,
            schema,
            writer,
            table,
            buffered: 0,
            rows: 0,
            batch_rows: layout.batch_rows.max(1),
        })
    }

    /// Records that one row was appended to `self.table`; writes a batch when one is full.
    #[inline]
    pub(crate) fn row_appended(&mut self) -> Result<(), OutputError> {
        self.buffered += 1;
        self.rows += 1;
        if self.buffered >= self.batch_rows {
            self.write_buffered()?;
        }
        Ok(())
    }

    fn write_buffered(&mut self) -> Result<(), OutputError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns = self.table.finish_columns();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| OutputError::arrow(&self.path, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| OutputError::parquet(&self.path, e))?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes the last partial batch and the footer, fsyncs, and returns the row count.
    pub(crate) fn close(mut self) -> Result<u64, OutputError> {
        self.write_buffered()?;
        self.writer
            .finish()
            .map_err(|e| OutputError::parquet(&self.path, e))?;
        self.writer
            .inner()
            .sync_all()
            .map_err(|e| OutputError::io(&self.path, "syncing", e))?;
        Ok(self.rows)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

// ---- one run batch's record files -------------------------------------------------------

/// The record tables of a batch (or of one shard of it), in the order files are listed:
/// daily, banks, trades, operations, securities. Banks and trades only when requested.
/// Shared by [`crate::BatchWriter`] and [`crate::shard::RunShardWriter`], which differ only
/// in where the files go.
pub(crate) struct RunSinks {
    daily: Option<Sink<DailyTable>>,
    banks: Option<Sink<BanksTable>>,
    trades: Option<Sink<TradesTable>>,
    operations: Option<Sink<OperationsTable>>,
    securities: Option<Sink<SecuritiesTable>>,
    last_run: Option<u32>,
    runs_written: u64,
}

impl RunSinks {
    /// Opens each table's file at `path_of(table)` (table: "daily", "banks", ...).
    pub(crate) fn create(
        mut path_of: impl FnMut(&'static str) -> Result<PathBuf, OutputError>,
        meta: &OutputMeta,
        options: corridor_model::RecordOptions,
        layout: Layout,
    ) -> Result<Self, OutputError> {
        let cap = layout.batch_rows.max(1);
        let mut sinks = RunSinks {
            daily: None,
            banks: None,
            trades: None,
            operations: None,
            securities: None,
            last_run: None,
            runs_written: 0,
        };
        sinks.daily = Some(Sink::create(
            path_of("daily")?,
            DailyTable::fields(),
            DailyTable::with_capacity(cap),
            meta,
            layout,
        )?);
        if options.banks {
            sinks.banks = Some(Sink::create(
                path_of("banks")?,
                BanksTable::fields(),
                BanksTable::with_capacity(cap),
                meta,
                layout,
            )?);
        }
        if options.trades {
            sinks.trades = Some(Sink::create(
                path_of("trades")?,
                TradesTable::fields(),
                TradesTable::with_capacity(cap),
                meta,
                layout,
            )?);
        }
        sinks.operations = Some(Sink::create(
            path_of("operations")?,
            OperationsTable::fields(),
            OperationsTable::with_capacity(cap),
            meta,
            layout,
        )?);
        sinks.securities = Some(Sink::create(
            path_of("securities")?,
            SecuritiesTable::fields(),
            SecuritiesTable::with_capacity(cap),
            meta,
            layout,
        )?);
        Ok(sinks)
    }

    /// Runs appended so far.
    pub(crate) fn runs_written(&self) -> u64 {
        self.runs_written
    }

    /// Appends one run's rows to every open table (rows of tables not requested are
    /// dropped). Runs must arrive in increasing order; `dir` names the batch in the error.
    pub(crate) fn append(
        &mut self,
        run: &corridor_model::RunRecords,
        dir: &Path,
    ) -> Result<(), OutputError> {
        if let Some(previous) = self.last_run
            && run.run <= previous
        {
            return Err(OutputError::RunOrder {
                path: dir.to_path_buf(),
                run: run.run,
                previous,
            });
        }
        self.last_run = Some(run.run);
        self.runs_written += 1;
        fn rows<T: Table, R>(
            sink: &mut Option<Sink<T>>,
            run: u32,
            records: &[R],
            append: impl Fn(&mut T, u32, &R),
        ) -> Result<(), OutputError> {
            if let Some(sink) = sink.as_mut() {
                for record in records {
                    append(&mut sink.table, run, record);
                    sink.row_appended()?;
                }
            }
            Ok(())
        }
        rows(&mut self.daily, run.run, &run.days, DailyTable::append)?;
        rows(&mut self.banks, run.run, &run.banks, BanksTable::append)?;
        rows(&mut self.trades, run.run, &run.trades, TradesTable::append)?;
        rows(
            &mut self.operations,
            run.run,
            &run.operations,
            OperationsTable::append,
        )?;
        rows(
            &mut self.securities,
            run.run,
            &run.securities,
            SecuritiesTable::append,
        )?;
        Ok(())
    }

    /// Closes every file: (table, path written, rows), in listing order.
    pub(crate) fn close(mut self) -> Result<Vec<(&'static str, PathBuf, u64)>, OutputError> {
        fn done<T: Table>(
            out: &mut Vec<(&'static str, PathBuf, u64)>,
            table: &'static str,
            sink: Option<Sink<T>>,
        ) -> Result<(), OutputError> {
            if let Some(sink) = sink {
                let path = sink.path().to_path_buf();
                out.push((table, path, sink.close()?));
            }
            Ok(())
        }
        let mut out = Vec::new();
        done(&mut out, "daily", self.daily.take())?;
        done(&mut out, "banks", self.banks.take())?;
        done(&mut out, "trades", self.trades.take())?;
        done(&mut out, "operations", self.operations.take())?;
        done(&mut out, "securities", self.securities.take())?;
        Ok(out)
    }

    /// The paths of files still open (closing their handles): what to remove when a batch
    /// is abandoned.
    pub(crate) fn abandon(&mut self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        let mut push = |p: Option<PathBuf>| paths.extend(p);
        push(self.daily.take().map(|s| s.path().to_path_buf()));
        push(self.banks.take().map(|s| s.path().to_path_buf()));
        push(self.trades.take().map(|s| s.path().to_path_buf()));
        push(self.operations.take().map(|s| s.path().to_path_buf()));
        push(self.securities.take().map(|s| s.path().to_path_buf()));
        paths
    }
}
