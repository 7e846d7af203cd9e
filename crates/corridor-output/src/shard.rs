//! Sharded batches: `n` processes (for example the tasks of a Slurm job array) each compute
//! one slice of a batch's runs, or of a sweep's points, into one shared directory, and
//! [`merge_run`] (or the sweep's merge) computes what a single process would have.
//!
//! ```text
//! <out>/
//!   shards/shard-<i>.json            shard i's manifest: what it is part of and its files
//!   daily/shard=<i>/part-0.parquet   run shards: runs first..end of the batch (hive partition)
//!   banks/shard=<i>/part-0.parquet   (opt-in) likewise
//!   trades/shard=<i>/part-0.parquet  (opt-in) likewise
//!   summary.parquet, manifest.json   written by `corridor merge`
//! ```
//!
//! A shard's manifest is self-describing: shard `i` of `n`, the scenario's name and the
//! SHA-256 of its resolved TOML, the seed, the total runs, its slice, and the definition of
//! the whole batch. It is written when the shard starts (`"complete": false`) and rewritten
//! with its files and row counts when they are all in place, so a shard killed half-way is
//! visible as such. The merge refuses a set of shards with a missing, incomplete,
//! mismatched or unexpected member, naming it.
//!
//! Every file is written under a hidden temporary name and renamed into place, so readers
//! globbing `*.parquet` never see a partial file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use corridor_model::{RecordOptions, RunRecords};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::study::{is_temp_name, temp_name};
use crate::table::{Layout, RunSinks};
use crate::{
    MANIFEST_FILE, Manifest, ManifestFile, OutputError, OutputMeta, SUMMARY_FILE, summary,
};

/// Directory of the shard manifests, inside the output directory.
pub const SHARDS_DIR: &str = "shards";

/// `shards/shard-<i>.json`, relative to the output directory.
pub fn manifest_path(index: u32) -> PathBuf {
    Path::new(SHARDS_DIR).join(format!("shard-{index}.json"))
}

/// `<table>/shard=<i>/part-0.parquet`, relative to the output directory.
pub fn part_path(table: &str, index: u32) -> PathBuf {
    Path::new(table)
        .join(format!("shard={index}"))
        .join("part-0.parquet")
}

/// What a sharded directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardKind {
    /// `corridor run --shard`: a slice of the runs.
    Run,
    /// `corridor sweep --shard`: a slice of the points.
    Sweep,
}

/// `shards/shard-<i>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// Version of corridor that wrote the shard.
    pub corridor_version: String,
    /// A slice of a batch's runs or of a sweep's points.
    pub kind: ShardKind,
    /// This shard's number, 0-based.
    pub shard: u32,
    /// The number of shards.
    pub shards: u32,
    /// The scenario's name.
    pub scenario: String,
    /// SHA-256 (hex) of the fully resolved scenario TOML (the `corridor.scenario` metadata).
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Runs of the whole batch (a run shard) or per point (a sweep shard).
    pub runs: u32,
    /// First run (or point) of this shard.
    pub start: u32,
    /// One past the last run (or point) of this shard.
    pub end: u32,
    /// Whether every file below is in place.
    pub complete: bool,
    /// The shard's Parquet files, relative to the output directory, with their rows.
    pub files: Vec<ManifestFile>,
    /// Everything else that defines the whole batch; equal in every shard of it.
    pub batch: serde_json::Value,
}

/// SHA-256 of `text`, as lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn shards_error(dir: &Path, message: impl Into<String>) -> OutputError {
    OutputError::Shards {
        dir: dir.to_path_buf(),
        message: message.into(),
    }
}

/// Writes `value` as pretty JSON (plus a newline) to a temporary name, syncs it and renames
/// it into place.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), OutputError> {
    use std::io::Write;
    let temp = temp_name(path)?;
    let mut json = serde_json::to_string_pretty(value).map_err(|e| OutputError::Json {
        path: path.to_path_buf(),
        cause: e,
    })?;
    json.push('\n');
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&temp)?;
        f.write_all(json.as_bytes())?;
        f.sync_all()?;
        fs::rename(&temp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        OutputError::io(path, "writing", e)
    })
}

/// Every shard manifest in `dir/shards`, by file name order (not validated as a set).
pub fn read_manifests(dir: &Path) -> Result<Vec<(PathBuf, ShardManifest)>, OutputError> {
    let shards = dir.join(SHARDS_DIR);
    let entries = match fs::read_dir(&shards) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OutputError::io(&shards, "listing", e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| OutputError::io(&shards, "listing", e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temp_name(&name) || !name.ends_with(".json") {
            continue;
        }
        let path = e.path();
        let text = fs::read_to_string(&path).map_err(|e| OutputError::io(&path, "reading", e))?;
        let m: ShardManifest = serde_json::from_str(&text).map_err(|e| {
            shards_error(
                dir,
                format!(
                    "{}: not a shard manifest ({e})",
                    Path::new(SHARDS_DIR).join(&name).display()
                ),
            )
        })?;
        out.push((path, m));
    }
    out.sort_by_key(|(_, m)| m.shard);
    Ok(out)
}

/// The first field in which two shards' definitions of their batch differ, with both
/// values, or `None` when they belong to the same batch.
pub fn difference(a: &ShardManifest, b: &ShardManifest) -> Option<(String, String, String)> {
    let plain = [
        ("kind", json(&a.kind), json(&b.kind)),
        ("shards", json(&a.shards), json(&b.shards)),
        ("scenario", json(&a.scenario), json(&b.scenario)),
        (
            "scenario_sha256",
            json(&a.scenario_sha256),
            json(&b.scenario_sha256),
        ),
        ("seed", json(&a.seed), json(&b.seed)),
        ("runs", json(&a.runs), json(&b.runs)),
        (
            "corridor_version",
            json(&a.corridor_version),
            json(&b.corridor_version),
        ),
    ];
    if let Some((k, x, y)) = plain.into_iter().find(|(_, x, y)| x != y) {
        return Some((k.to_owned(), x, y));
    }
    if a.batch == b.batch {
        return None;
    }
    // Name the first differing key of the batch definition.
    if let (Some(x), Some(y)) = (a.batch.as_object(), b.batch.as_object()) {
        let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for k in keys {
            let (vx, vy) = (x.get(k), y.get(k));
            if vx != vy {
                let show = |v: Option<&serde_json::Value>| {
                    let s = v.map_or_else(|| "absent".to_owned(), |v| v.to_string());
                    if s.chars().count() > 80 {
                        format!("{}...", s.chars().take(77).collect::<String>())
                    } else {
                        s
                    }
                };
                return Some((format!("batch.{k}"), show(vx), show(vy)));
            }
        }
    }
    Some(("batch".into(), a.batch.to_string(), b.batch.to_string()))
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// Checks, before a shard starts, that the shards already in `dir` belong to the same
/// batch as `mine`, and that this shard is not already finished there (unless `replace`).
/// Catches a second array with another seed or shard count in the same directory early,
/// instead of at the merge.
pub fn check_before_start(
    dir: &Path,
    mine: &ShardManifest,
    replace: bool,
) -> Result<(), OutputError> {
    for (path, other) in read_manifests(dir)? {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Some((field, theirs, ours)) = difference(&other, mine) {
            return Err(shards_error(
                dir,
                format!(
                    "{rel} belongs to another batch ({field} {theirs}, this shard has \
                     {ours}): write this one to another --out, or remove that directory first"
                ),
            ));
        }
        if other.shard == mine.shard && other.complete && !replace {
            return Err(shards_error(
                dir,
                format!(
                    "shard {}/{} is already finished here ({rel}): pass --force to compute \
                     it again",
                    mine.shard, mine.shards
                ),
            ));
        }
    }
    Ok(())
}

/// The complete, consistent set of shards in `dir`: one manifest per shard 0..n, each
/// complete, all of the same batch, their slices tiling `0..items` in order, and every file
/// they list present with its row count. `items` gives the number of runs (or points) the
/// slices must cover, from the first manifest. Errors name the offending shard or file.
pub fn complete_set(
    dir: &Path,
    items: impl Fn(&ShardManifest) -> Result<u32, OutputError>,
) -> Result<Vec<ShardManifest>, OutputError> {
    let found = read_manifests(dir)?;
    let Some((first_path, first)) = found.first() else {
        return Err(shards_error(
            dir,
            format!(
                "no shard manifests ({SHARDS_DIR}/shard-<i>.json): is this a directory written \
                 by `corridor run --shard` or `corridor sweep --shard`?"
            ),
        ));
    };
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    let n = first.shards;
    let mut by_index: BTreeMap<u32, (PathBuf, ShardManifest)> = BTreeMap::new();
    for (path, m) in &found {
        let expected_name = format!("shard-{}.json", m.shard);
        if path.file_name().is_none_or(|f| f != expected_name.as_str()) {
            return Err(shards_error(
                dir,
                format!(
                    "{} says it is shard {}/{}, which belongs in {}",
                    rel(path),
                    m.shard,
                    m.shards,
                    manifest_path(m.shard).display()
                ),
            ));
        }
        if let Some((field, a, b)) = difference(first, m) {
            return Err(shards_error(
                dir,
                format!(
                    "{} and {} are not shards of the same batch: {field} is {a} in one and {b} \
                     in the other",
                    rel(first_path),
                    rel(path)
                ),
            ));
        }
        if m.shard >= n {
            return Err(shards_error(
                dir,
                format!("{} is shard {} of {n}: out of range", rel(path), m.shard),
            ));
        }
        by_index.insert(m.shard, (path.clone(), m.clone()));
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(shards_error(
            dir,
            format!(
                "{} of {n} shards missing (no {SHARDS_DIR}/shard-<i>.json): shard {}; run \
                 them (with the same arguments and --shard <i>/{n}) before merging",
                missing.len(),
                abbreviate(&missing)
            ),
        ));
    }
    let unfinished: Vec<String> = by_index
        .values()
        .filter(|(_, m)| !m.complete)
        .map(|(_, m)| m.shard.to_string())
        .collect();
    if !unfinished.is_empty() {
        return Err(shards_error(
            dir,
            format!(
                "{} of {n} shards not finished (still running, or they failed): shard {}",
                unfinished.len(),
                abbreviate(&unfinished)
            ),
        ));
    }
    let total = items(first)?;
    let mut next = 0u32;
    for (path, m) in by_index.values() {
        if m.start != next || m.end < m.start {
            return Err(shards_error(
                dir,
                format!(
                    "{} covers {}..{}, but the shards before it end at {next}",
                    rel(path),
                    m.start,
                    m.end
                ),
            ));
        }
        next = m.end;
        for f in &m.files {
            let p = dir.join(&f.name);
            let rows = parquet_rows(&p).map_err(|e| {
                shards_error(
                    dir,
                    format!("{} lists {}, which cannot be read: {e}", rel(path), f.name),
                )
            })?;
            if rows != f.rows {
                return Err(shards_error(
                    dir,
                    format!(
                        "{} has {rows} rows, but {} says {}",
                        f.name,
                        rel(path),
                        f.rows
                    ),
                ));
            }
        }
    }
    if next != total {
        return Err(shards_error(
            dir,
            format!("the shards cover 0..{next}, but the batch has {total}"),
        ));
    }
    Ok(by_index.into_values().map(|(_, m)| m).collect())
}

fn abbreviate(items: &[String]) -> String {
    if items.len() <= 12 {
        items.join(", ")
    } else {
        format!(
            "{}, ... ({} more)",
            items[..10].join(", "),
            items.len() - 10
        )
    }
}

/// The row count in a Parquet file's footer (the file's data is not read).
pub fn parquet_rows(path: &Path) -> Result<u64, OutputError> {
    let file = File::open(path).map_err(|e| OutputError::io(path, "opening", e))?;
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(file)
        .map_err(|e| OutputError::parquet(path, e))?;
    use parquet::file::reader::FileReader;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}

/// Part directories under `dir/<table>/` that no shard of `shards` owns: a reader of the
/// dataset would count their rows twice (or rows of another batch), so the merge refuses
/// them. `owned` gives the partition directory names (`shard=3`, `point=17`) that belong.
pub fn stray_partitions(
    dir: &Path,
    table: &str,
    owned: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, OutputError> {
    let root = dir.join(table);
    let entries = match fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OutputError::io(&root, "listing", e)),
    };
    let mut stray = Vec::new();
    for e in entries {
        let e = e.map_err(|e| OutputError::io(&root, "listing", e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temp_name(&name) {
            continue;
        }
        if !owned(&name) {
            stray.push(format!("{table}/{name}"));
        }
    }
    stray.sort();
    Ok(stray)
}

// ---- run shards ---------------------------------------------------------------------------

/// The definition of a sharded run batch, stored as a shard manifest's `batch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RunBatch {
    scenario_toml: String,
    money_unit: String,
    banks: bool,
    trades: bool,
}

/// Writes one shard of a `corridor run` batch (see the module documentation): the shard's
/// runs go to `daily/shard=<i>/part-0.parquet` (and banks, trades), under temporary names
/// until [`finish`](Self::finish). Dropping an unfinished writer removes its temporary
/// files and leaves the manifest marked incomplete.
pub struct RunShardWriter {
    dir: PathBuf,
    manifest: ShardManifest,
    sinks: Option<RunSinks>,
}

impl RunShardWriter {
    /// Starts shard `index` of `count` of the batch `meta`, computing runs `runs` (the
    /// shard's slice, from `corridor_runner::Shard::range`), in `dir` (created if missing).
    ///
    /// Errors if `dir` holds shards of another batch, or already holds this shard finished
    /// and `replace` is false; a merged `summary.parquet` and `manifest.json` in `dir` are
    /// removed when `replace` is true and refused otherwise (they would no longer describe
    /// the shards).
    pub fn create(
        dir: &Path,
        meta: &OutputMeta,
        options: RecordOptions,
        index: u32,
        count: u32,
        runs: std::ops::Range<u32>,
        replace: bool,
    ) -> Result<Self, OutputError> {
        let manifest = ShardManifest {
            corridor_version: meta.corridor_version.clone(),
            kind: ShardKind::Run,
            shard: index,
            shards: count,
            scenario: meta.scenario_name.clone(),
            scenario_sha256: sha256_hex(&meta.scenario_toml),
            seed: meta.seed,
            runs: meta.runs,
            start: runs.start,
            end: runs.end,
            complete: false,
            files: Vec::new(),
            batch: serde_json::to_value(RunBatch {
                scenario_toml: meta.scenario_toml.clone(),
                money_unit: meta.money_minor_unit.clone(),
                banks: options.banks,
                trades: options.trades,
            })
            .expect("plain data serialises"),
        };
        if dir.join("daily.parquet").exists() {
            return Err(shards_error(
                dir,
                "holds a single-process batch (daily.parquet): write shards to another --out",
            ));
        }
        fs::create_dir_all(dir.join(SHARDS_DIR))
            .map_err(|e| OutputError::io(dir, "creating directory", e))?;
        check_before_start(dir, &manifest, replace)?;
        for merged in [MANIFEST_FILE, SUMMARY_FILE] {
            let p = dir.join(merged);
            if p.exists() {
                if !replace {
                    return Err(shards_error(
                        dir,
                        format!(
                            "the shards here are already merged ({merged}): pass --force to \
                             compute shard {index}/{count} again (the merged files are removed)"
                        ),
                    ));
                }
                fs::remove_file(&p).map_err(|e| OutputError::io(&p, "removing", e))?;
            }
        }
        write_json_atomic(&dir.join(manifest_path(index)), &manifest)?;

        let layout = Layout::default();
        let open = |table: &str| -> Result<PathBuf, OutputError> {
            let path = dir.join(part_path(table, index));
            let parent = path.parent().expect("part paths have a directory");
            fs::create_dir_all(parent)
                .map_err(|e| OutputError::io(parent, "creating directory", e))?;
            let temp = temp_name(&path)?;
            if temp.exists() {
                fs::remove_file(&temp).map_err(|e| OutputError::io(&temp, "removing", e))?;
            }
            Ok(temp)
        };
        let sinks = RunSinks::create(open, meta, options, layout)?;
        let writer = RunShardWriter {
            dir: dir.to_path_buf(),
            manifest,
            sinks: Some(sinks),
        };
        Ok(writer)
    }

    /// Appends one run's rows; runs must arrive in increasing order, inside the shard.
    pub fn write_run(&mut self, run: &RunRecords) -> Result<(), OutputError> {
        let m = &self.manifest;
        if run.run < m.start || run.run >= m.end {
            return Err(shards_error(
                &self.dir,
                format!(
                    "run {} is outside shard {}/{} (runs {}..{})",
                    run.run, m.shard, m.shards, m.start, m.end
                ),
            ));
        }
        self.sinks
            .as_mut()
            .expect("sinks are open until finish")
            .append(run, &self.dir)?;
        Ok(())
    }

    /// Closes the files, renames them into place and marks the shard complete in its
    /// manifest. Returns the manifest.
    pub fn finish(mut self) -> Result<ShardManifest, OutputError> {
        let expected = self.manifest.end - self.manifest.start;
        let runs_written = self.sinks.as_ref().map_or(0, RunSinks::runs_written);
        if runs_written != u64::from(expected) {
            return Err(OutputError::RunCount {
                path: self.dir.clone(),
                written: runs_written,
                declared: expected,
            });
        }
        let index = self.manifest.shard;
        let closed = self
            .sinks
            .take()
            .expect("sinks are open until finish")
            .close()?;
        let mut files = Vec::new();
        for (table, temp, rows) in closed {
            let rel = part_path(table, index);
            let path = self.dir.join(&rel);
            fs::rename(&temp, &path).map_err(|e| {
                let _ = fs::remove_file(&temp);
                OutputError::io(&temp, "renaming", e)
            })?;
            files.push(ManifestFile {
                name: rel.to_string_lossy().replace('\\', "/"),
                rows,
            });
        }
        self.manifest.files = files;
        self.manifest.complete = true;
        write_json_atomic(&self.dir.join(manifest_path(index)), &self.manifest)?;
        Ok(self.manifest.clone())
    }
}

impl Drop for RunShardWriter {
    fn drop(&mut self) {
        let open = self
            .sinks
            .take()
            .map(|mut s| s.abandon())
            .unwrap_or_default();
        for path in open {
            let _ = fs::remove_file(path);
        }
    }
}

/// Merges the shards of a `corridor run --shard` batch in `dir`: checks that they form one
/// complete batch, then writes `summary.parquet` (computed from the shards' daily files in
/// shard order, so byte-identical to the summary of the same batch run in one process) and
/// `manifest.json`. Only the five summarised columns (and `day`, `date`) are read.
pub fn merge_run(dir: &Path) -> Result<Manifest, OutputError> {
    let shards = complete_set(dir, |m| Ok(m.runs))?;
    let first = &shards[0];
    if first.kind != ShardKind::Run {
        return Err(shards_error(
            dir,
            "holds sweep shards: merge them as a sweep",
        ));
    }
    let batch: RunBatch = serde_json::from_value(first.batch.clone()).map_err(|e| {
        shards_error(
            dir,
            format!("{}: not a run batch ({e})", manifest_path(0).display()),
        )
    })?;
    let n = first.shards;
    for table in ["daily", "banks", "trades"] {
        let owned = |name: &str| {
            name.strip_prefix("shard=")
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i < n && format!("shard={i}") == name)
        };
        let stray = stray_partitions(dir, table, &owned)?;
        if !stray.is_empty() {
            return Err(shards_error(
                dir,
                format!(
                    "found {}, which no shard of this batch ({n} shards) owns: a dataset \
                     reader would read their rows too; remove them",
                    stray.join(", ")
                ),
            ));
        }
    }
    let meta = OutputMeta {
        scenario_name: first.scenario.clone(),
        scenario_toml: batch.scenario_toml.clone(),
        seed: first.seed,
        runs: first.runs,
        money_minor_unit: batch.money_unit.clone(),
        corridor_version: first.corridor_version.clone(),
    };
    let daily: Vec<PathBuf> = shards
        .iter()
        .map(|m| dir.join(part_path("daily", m.shard)))
        .collect();
    let summary_path = dir.join(SUMMARY_FILE);
    let temp = temp_name(&summary_path)?;
    if temp.exists() {
        fs::remove_file(&temp).map_err(|e| OutputError::io(&temp, "removing", e))?;
    }
    let rows = match summary::summarize_files(&daily, &temp, &meta) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    fs::rename(&temp, &summary_path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        OutputError::io(&temp, "renaming", e)
    })?;
    let mut files = Vec::new();
    for table in ["daily", "banks", "trades"] {
        for m in &shards {
            files.extend(
                m.files
                    .iter()
                    .filter(|f| f.name.starts_with(&format!("{table}/")))
                    .cloned(),
            );
        }
    }
    files.push(ManifestFile {
        name: SUMMARY_FILE.into(),
        rows,
    });
    let manifest = Manifest {
        corridor_version: first.corridor_version.clone(),
        scenario: first.scenario.clone(),
        seed: first.seed,
        runs: first.runs,
        shards: Some(n),
        files,
    };
    write_json_atomic(&dir.join(MANIFEST_FILE), &manifest)?;
    Ok(manifest)
}
