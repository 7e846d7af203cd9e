//! The output layer of `corridor`: turns the model's [`RunRecords`] into Parquet files.
//!
//! A batch of Monte Carlo runs is written to one directory:
//!
//! ```text
//! <out>/
//!   daily.parquet     one row per (run, day): `run` + every field of `DayRecord`
//!   banks.parquet     (opt-in) one row per (run, day, bank): `run` + `BankDayRecord`
//!   trades.parquet    (opt-in) one row per interbank loan: `run` + `TradeRecord`
//!   operations.parquet one row per central-bank operation: `run` + `OperationRecord`
//!   securities.parquet one row per (run, day, class): `run` + `SecuritiesRecord`
//!   summary.parquet   one row per day: statistics across runs of five daily variables
//!   manifest.json     version, scenario, seed, runs and each file's row count
//! ```
//!
//! Columns are named exactly like the record fields. Money columns are `Int64` counts of the
//! scenario's minor unit (recorded in the `corridor.money_unit` metadata key), rates are
//! `Float64` annual basis points, dates are Arrow `Date32`. Every Parquet file carries the
//! `corridor.*` key-value metadata (scenario TOML, name, seed, runs, version, money and rate
//! units), both in the Parquet footer and on the embedded Arrow schema. `docs/output.md`
//! documents every column for users.
//!
//! # Summary statistics
//!
//! For each day and each of `overnight_rate_bp`, `volume`, `reserves_total`,
//! `lending_facility_use` and `deposit_facility_use`, `summary.parquet` has `<var>_mean`,
//! `<var>_std` (sample standard deviation, ddof = 1, null below two values) and
//! `<var>_p05`, `_p25`, `_p50`, `_p75`, `_p95` (numpy's default "linear" quantiles). Null
//! rates (days without trades) are excluded and counted by `overnight_rate_count`; a
//! statistic with no value is null. The statistics are exact: after `daily.parquet` is
//! closed it is read back in blocks of days sized to hold about 32 MiB of values, one scan
//! per block, so memory does not grow with the number of runs ([`summarize_daily`]).
//!
//! # Guarantees
//!
//! * **Determinism.** File bytes depend only on the rows written, not on how the caller
//!   grouped its calls: rows are buffered in column builders and reach the Parquet writer in
//!   record batches of a fixed row count, with fixed row-group size, page limits and ZSTD
//!   level, and no timestamps or host names in the metadata.
//! * **Bounded memory.** Rows stream to disk; row groups are capped at 1 048 576 rows.
//! * **Atomicity.** Everything is written in a sibling temporary directory
//!   `<out>.tmp-<pid>`, fsynced, and renamed to `<out>` by [`BatchWriter::finish`] only when
//!   complete. Dropping a [`BatchWriter`] without finishing (e.g. after a `write_run`
//!   error) or a failing `finish` removes the temporary directory: a reader never sees a
//!   partial batch under `<out>`. When replacing, the old `<out>` is moved aside only once
//!   the new batch is complete, and deleted after the rename.

#![warn(missing_docs)]

mod error;
pub mod shard;
pub mod study;
mod summary;
mod table;
pub mod units;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use corridor_model::{RecordOptions, RunRecords};
use serde::{Deserialize, Serialize};

pub use error::OutputError;
pub use summary::{summarize_daily, summarize_files};
pub use table::RATE_UNIT;

use table::{Layout, RunSinks};

/// Name of the per-(run, day) file.
pub const DAILY_FILE: &str = "daily.parquet";
/// Name of the optional per-(run, day, bank) file.
pub const BANKS_FILE: &str = "banks.parquet";
/// Name of the optional per-trade file.
pub const TRADES_FILE: &str = "trades.parquet";
/// File name of the central bank's operations.
pub const OPERATIONS_FILE: &str = "operations.parquet";
/// File name of holdings by security class.
pub const SECURITIES_FILE: &str = "securities.parquet";
/// Name of the per-day summary file.
pub const SUMMARY_FILE: &str = "summary.parquet";
/// Name of the manifest.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Facts about a batch that are stored with every file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputMeta {
    /// Short name of the scenario.
    pub scenario_name: String,
    /// The fully resolved scenario, as TOML.
    pub scenario_toml: String,
    /// Master seed of the batch.
    pub seed: u64,
    /// Total runs in the batch.
    pub runs: u32,
    /// Name of the minor unit every `Int64` money column counts, e.g. "SEK" (öre).
    pub money_minor_unit: String,
    /// Version of corridor that produced the output.
    pub corridor_version: String,
}

/// One file listed in `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name inside the output directory.
    pub name: String,
    /// Number of rows.
    pub rows: u64,
}

/// Contents of `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `OutputMeta::corridor_version`.
    pub corridor_version: String,
    /// `OutputMeta::scenario_name`.
    pub scenario: String,
    /// `OutputMeta::seed`.
    pub seed: u64,
    /// `OutputMeta::runs`.
    pub runs: u32,
    /// The number of shards the batch was computed in (`corridor run --shard`, then
    /// `corridor merge`); absent for a batch computed in one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// The Parquet files, in the order daily, banks, trades, summary (absent ones omitted).
    pub files: Vec<ManifestFile>,
}

/// Writes one batch of runs to a directory, atomically (see the crate documentation).
pub struct BatchWriter {
    final_dir: PathBuf,
    temp_dir: PathBuf,
    meta: OutputMeta,
    replace: bool,
    layout: Layout,
    summary_block_bytes: usize,
    sinks: Option<RunSinks>,
    /// Set once the temporary directory has been renamed (or handed over); `Drop` then
    /// leaves the file system alone.
    done: bool,
}

impl BatchWriter {
    /// Creates `<final_dir>.tmp-<pid>` (sibling of `final_dir`, creating missing parent
    /// directories) and opens `daily.parquet` (+ `banks.parquet`, `trades.parquet` when
    /// `options` say so) inside it.
    ///
    /// Errors if `final_dir` already exists, unless `replace` is true, in which case it is
    /// replaced only at [`finish`](Self::finish).
    pub fn create(
        final_dir: &Path,
        meta: OutputMeta,
        options: RecordOptions,
        replace: bool,
    ) -> Result<Self, OutputError> {
        Self::create_with(
            final_dir,
            meta,
            options,
            replace,
            Layout::default(),
            summary::SUMMARY_BLOCK_BYTES,
        )
    }

    pub(crate) fn create_with(
        final_dir: &Path,
        meta: OutputMeta,
        options: RecordOptions,
        replace: bool,
        layout: Layout,
        summary_block_bytes: usize,
    ) -> Result<Self, OutputError> {
        let temp_dir = sibling(final_dir, "tmp")?;
        if !replace && exists(final_dir)? {
            return Err(OutputError::AlreadyExists {
                path: final_dir.to_path_buf(),
            });
        }
        if let Some(parent) = final_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| OutputError::io(parent, "creating directory", e))?;
        }
        fs::create_dir(&temp_dir).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                OutputError::TempDirExists {
                    path: temp_dir.clone(),
                }
            } else {
                OutputError::io(&temp_dir, "creating directory", e)
            }
        })?;

        // From here on the writer owns the temporary directory: an early return drops it,
        // and Drop removes the directory.
        let mut writer = BatchWriter {
            final_dir: final_dir.to_path_buf(),
            temp_dir,
            meta,
            replace,
            layout,
            summary_block_bytes,
            sinks: None,
            done: false,
        };
        let dir = writer.temp_dir.clone();
        writer.sinks = Some(RunSinks::create(
            |table| Ok(dir.join(format!("{table}.parquet"))),
            &writer.meta,
            options,
            layout,
        )?);
        Ok(writer)
    }

    /// Appends one run's rows. Runs must arrive in increasing run order.
    ///
    /// Per-bank and per-trade rows are written only if the corresponding files were
    /// requested at [`create`](Self::create); otherwise they are ignored.
    pub fn write_run(&mut self, run: &RunRecords) -> Result<(), OutputError> {
        self.sinks
            .as_mut()
            .expect("sinks are open until finish")
            .append(run, &self.final_dir)?;
        Ok(())
    }

    /// Closes the files, computes `summary.parquet` from `daily.parquet`, writes
    /// `manifest.json`, fsyncs, and renames the temporary directory to the final one.
    /// Returns the manifest.
    ///
    /// Errors if the number of runs written differs from `OutputMeta::runs`, or if the final
    /// directory appeared meanwhile and replacing was not requested. On any error nothing is
    /// left behind (and a directory being replaced is kept).
    pub fn finish(mut self) -> Result<Manifest, OutputError> {
        // On error `self` is dropped here, and Drop removes the temporary directory.
        let manifest = self.finish_inner()?;
        Ok(manifest)
    }

    fn finish_inner(&mut self) -> Result<Manifest, OutputError> {
        let runs_written = self.sinks.as_ref().map_or(0, RunSinks::runs_written);
        if runs_written != u64::from(self.meta.runs) {
            return Err(OutputError::RunCount {
                path: self.final_dir.clone(),
                written: runs_written,
                declared: self.meta.runs,
            });
        }
        let closed = self
            .sinks
            .take()
            .expect("sinks are open until finish")
            .close()?;
        let daily_path = closed[0].1.clone();
        let mut files: Vec<ManifestFile> = closed
            .into_iter()
            .map(|(table, _, rows)| ManifestFile {
                name: format!("{table}.parquet"),
                rows,
            })
            .collect();
        let (summary_rows, _blocks) = summary::summarize_daily_with(
            &daily_path,
            &self.temp_dir.join(SUMMARY_FILE),
            &self.meta,
            self.summary_block_bytes,
            self.layout,
        )?;
        files.push(ManifestFile {
            name: SUMMARY_FILE.into(),
            rows: summary_rows,
        });

        let manifest = Manifest {
            corridor_version: self.meta.corridor_version.clone(),
            scenario: self.meta.scenario_name.clone(),
            seed: self.meta.seed,
            runs: self.meta.runs,
            shards: None,
            files,
        };
        self.write_manifest(&manifest)?;
        sync_dir(&self.temp_dir)?;
        self.publish()?;
        Ok(manifest)
    }

    fn write_manifest(&self, manifest: &Manifest) -> Result<(), OutputError> {
        use std::io::Write;
        let path = self.temp_dir.join(MANIFEST_FILE);
        let mut json = serde_json::to_string_pretty(manifest).map_err(|e| OutputError::Json {
            path: path.clone(),
            cause: e,
        })?;
        json.push('\n');
        let mut file =
            fs::File::create_new(&path).map_err(|e| OutputError::io(&path, "creating", e))?;
        file.write_all(json.as_bytes())
            .map_err(|e| OutputError::io(&path, "writing", e))?;
        file.sync_all()
            .map_err(|e| OutputError::io(&path, "syncing", e))?;
        Ok(())
    }

    /// Renames the complete temporary directory to the final one. An existing final
    /// directory (when replacing) is first moved aside to `<out>.old-<pid>`, restored if the
    /// rename fails, and deleted afterwards.
    fn publish(&mut self) -> Result<(), OutputError> {
        let final_dir = self.final_dir.clone();
        let mut old: Option<PathBuf> = None;
        if exists(&final_dir)? {
            if !self.replace {
                return Err(OutputError::AlreadyExists { path: final_dir });
            }
            let aside = sibling(&final_dir, "old")?;
            fs::rename(&final_dir, &aside)
                .map_err(|e| OutputError::io(&final_dir, "moving aside", e))?;
            old = Some(aside);
        }
        if let Err(e) = fs::rename(&self.temp_dir, &final_dir) {
            if let Some(aside) = &old {
                let _ = fs::rename(aside, &final_dir);
            }
            return Err(OutputError::io(&self.temp_dir, "renaming", e));
        }
        self.done = true;
        // Make the rename durable. The batch is complete and visible at this point, so a
        // failure here is not reported as a failure of the batch (which would have to undo
        // a correct result).
        if let Some(parent) = final_dir.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            let _ = sync_dir(parent);
        }
        if let Some(aside) = old {
            // The new output is in place; the old one is only garbage now. Failing to
            // delete it is not a failure of this batch.
            let _ = remove_any(&aside);
        }
        Ok(())
    }

    /// The directory the batch will be published to.
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// The temporary directory being written.
    pub fn temp_dir(&self) -> &Path {
        &self.temp_dir
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Close file handles before removing the directory.
        if let Some(mut sinks) = self.sinks.take() {
            sinks.abandon();
        }
        let _ = fs::remove_dir_all(&self.temp_dir);
    }
}

/// `<dir>.<tag>-<pid>`, next to `dir`.
fn sibling(dir: &Path, tag: &str) -> Result<PathBuf, OutputError> {
    let name = dir.file_name().ok_or_else(|| OutputError::InvalidPath {
        path: dir.to_path_buf(),
        reason: "it has no final directory name",
    })?;
    let mut name = name.to_os_string();
    name.push(format!(".{tag}-{}", std::process::id()));
    Ok(dir.with_file_name(name))
}

fn exists(path: &Path) -> Result<bool, OutputError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(OutputError::io(path, "checking", e)),
    }
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Makes a directory's entries durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| OutputError::io(dir, "syncing directory", e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
