//! Parameter sweeps: many points (scenario overrides) × runs, in parallel together, written
//! as a hive-partitioned Parquet dataset that can be resumed after an interruption.
//!
//! ```text
//! <out>/
//!   sweep.json                        the sweep's definition (checked on --resume)
//!   daily/point=<p>/part-0.parquet    one file per finished point: daily.parquet's columns
//!   points.parquet                    point -> seed and parameter values
//!   summary.parquet                   one row per point: the point's statistics
//!   manifest.json                     every file and its row count
//! ```
//!
//! A point's file appears under its final name only when all its runs are written (see
//! [`corridor_output::study`]), so a point whose file exists is finished: `--resume` skips
//! it. `points.parquet`, `summary.parquet` and `manifest.json` are computed from the
//! finished files in point order when every point is done, so they are byte-identical
//! whether or not the sweep was interrupted.
//!
//! With `--shard I/N` a process computes only a contiguous slice of the points into a
//! directory it shares with the other shards, and records itself in `shards/shard-<I>.json`
//! (see [`corridor_output::shard`]); [`merge`] checks the set and then writes `sweep.json`
//! and the tables with [`finish_dir`], exactly as one process does.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use corridor_model::{Population, RecordOptions};
use corridor_output::shard::{self, ShardKind, ShardManifest};
use corridor_output::study::{
    Column, DailyPartWriter, is_temp_name, read_numeric_columns, write_table,
};
use corridor_output::{ManifestFile, OutputMeta};
use corridor_runner::{Shard, WorkItem, population, simulate_items, thread_pool};
use corridor_scenario::Scenario;
use serde::{Deserialize, Serialize};

use crate::design::Design;
use crate::error::{StudyError, io_error};
use crate::stats::{DAILY_COLUMNS, PointDays, STATS, VARS};

/// Work items (point, run) simulated between two hand-overs to the writers: bounds memory to
/// one chunk's records and the points it touches, whatever the number of points.
pub const CHUNK_ITEMS: usize = 64;

/// How runs are seeded across points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seeds {
    /// Common random numbers: run `r` of every point uses stream `r` of the master seed, so
    /// differences between points are not blurred by sampling noise.
    Common,
    /// Each point has its own seed, [`point_seed`]`(seed, point)`.
    Independent,
}

/// The seed of point `p` under [`Seeds::Independent`]: SplitMix64 of the master seed and
/// the point id (deterministic, and distinct points get unrelated streams).
pub fn point_seed(seed: u64, point: u32) -> u64 {
    let mut z = seed ^ (u64::from(point) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What to sweep.
#[derive(Clone, Debug)]
pub struct SweepConfig {
    /// The base scenario file.
    pub scenario: PathBuf,
    /// `--set` overrides applied to every point (before the point's own).
    pub overrides: Vec<String>,
    /// The points.
    pub design: Design,
    /// Common or independent seeds.
    pub seeds: Seeds,
    /// Runs, seed, output and the other options every study shares.
    pub run: crate::RunOptions,
    /// Compute only this shard's slice of the points (`--shard I/N`); `merge` then writes
    /// the tables a single process writes.
    pub shard: Option<Shard>,
}

/// The definition stored in `sweep.json`; a resumed sweep must have the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SweepSpec {
    corridor_version: String,
    scenario: String,
    scenario_toml: String,
    overrides: Vec<String>,
    design: String,
    keys: Vec<String>,
    values: Vec<Vec<String>>,
    runs: u32,
    seed: u64,
    seeds: Seeds,
    money_unit: String,
}

/// `manifest.json` of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    /// Version of corridor.
    pub corridor_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Common or independent seeds.
    pub seeds: Seeds,
    /// Runs per point.
    pub runs: u32,
    /// Number of points.
    pub points: u32,
    /// Every file, relative to the output directory, with its rows.
    pub files: Vec<ManifestFile>,
}

/// A validated sweep, ready to run.
pub struct SweepPlan {
    config: SweepConfig,
    spec: SweepSpec,
    money_unit: String,
    /// Points whose file is not there yet.
    todo: Vec<u32>,
    /// The points this process computes: all, or a shard's slice.
    range: std::ops::Range<u32>,
    /// The shard's manifest, when sharded.
    shard: Option<ShardManifest>,
}

/// What [`SweepPlan::run`] finished.
#[derive(Clone, Debug)]
pub enum SweepOutcome {
    /// The whole sweep, with its tables.
    Complete(SweepManifest),
    /// One shard's points; `corridor merge` writes the tables once every shard is done.
    Shard(ShardManifest),
}

/// File name of the sweep definition.
pub const SWEEP_FILE: &str = "sweep.json";

/// `daily/point=<p>/part-0.parquet`, relative to the output directory.
pub fn part_path(point: u32) -> PathBuf {
    Path::new("daily")
        .join(format!("point={point}"))
        .join("part-0.parquet")
}

impl SweepPlan {
    /// Validates every point's scenario (so a bad value fails before anything runs or is
    /// written), checks or prepares the output directory, and finds the unfinished points.
    pub fn new(config: SweepConfig) -> Result<SweepPlan, StudyError> {
        let design = &config.design;
        if design.is_empty() {
            return Err(StudyError::Input {
                file: "sweep".into(),
                line: None,
                message: "the design has no point".into(),
            });
        }
        let base = corridor_scenario::load(&config.scenario, &config.overrides).map_err(|e| {
            StudyError::Scenario {
                what: "base scenario".into(),
                cause: e,
            }
        })?;
        for p in 0..design.len() {
            load_point(&config, p as u32)?;
        }
        let runs = config.run.runs.unwrap_or(base.default_runs());
        if runs == 0 {
            return Err(StudyError::Input {
                file: "--runs".into(),
                line: None,
                message: "0: at least one run per point is needed".into(),
            });
        }
        if config.run.threads == Some(0) {
            return Err(StudyError::ThreadPool(
                "--threads 0: at least one thread is needed".into(),
            ));
        }
        let spec = SweepSpec {
            corridor_version: config.run.corridor_version.clone(),
            scenario: base.name().to_owned(),
            scenario_toml: base.resolved_toml(),
            overrides: config.overrides.clone(),
            design: design.kind.name().to_owned(),
            keys: design.keys.clone(),
            values: design.values.clone(),
            runs,
            seed: config.run.seed.unwrap_or(base.default_seed()),
            seeds: config.seeds,
            money_unit: base.money_unit().to_owned(),
        };
        let out = &config.run.out;
        let points = design.len() as u32;
        if let Some(shard) = config.shard {
            let range = shard.range(points, "points")?;
            let manifest = prepare_shard(&config, &spec, shard, range.clone())?;
            let todo = range
                .clone()
                .filter(|&p| !out.join(part_path(p)).exists())
                .collect();
            return Ok(SweepPlan {
                money_unit: base.money_unit().to_owned(),
                config,
                spec,
                todo,
                range,
                shard: Some(manifest),
            });
        }
        let spec_path = out.join(SWEEP_FILE);
        if out.exists() {
            if config.run.resume {
                let text = fs::read_to_string(&spec_path).map_err(|e| StudyError::Resume {
                    dir: out.clone(),
                    message: format!("cannot resume: {SWEEP_FILE} cannot be read ({e}); is this a sweep directory?"),
                })?;
                let stored: SweepSpec =
                    serde_json::from_str(&text).map_err(|e| StudyError::Resume {
                        dir: out.clone(),
                        message: format!(
                            "cannot resume: {SWEEP_FILE} is not a sweep definition ({e})"
                        ),
                    })?;
                if let Some(field) = spec_difference(&stored, &spec) {
                    return Err(StudyError::Resume {
                        dir: out.clone(),
                        message: format!(
                            "cannot resume: the sweep there has a different {field}; use the \
                             same scenario, design, --set, --runs, --seed and seeding, or --force \
                             to start over"
                        ),
                    });
                }
                remove_stale_temp_files(out)?;
            } else if config.run.force {
                fs::remove_dir_all(out).map_err(|e| io_error(out, "removing", e))?;
            } else {
                return Err(StudyError::Resume {
                    dir: out.clone(),
                    message: "the output directory already exists: pass --resume to continue \
                              the sweep in it, --force to replace it, or --out DIR"
                        .into(),
                });
            }
        }
        if !spec_path.exists() {
            fs::create_dir_all(out.join("daily")).map_err(|e| io_error(out, "creating", e))?;
            write_json_atomic(&spec_path, &spec)?;
        }
        let todo = (0..points)
            .filter(|&p| !out.join(part_path(p)).exists())
            .collect();
        Ok(SweepPlan {
            money_unit: base.money_unit().to_owned(),
            config,
            spec,
            todo,
            range: 0..points,
            shard: None,
        })
    }

    /// Number of points.
    pub fn points(&self) -> u32 {
        self.spec.values.len() as u32
    }

    /// Runs per point.
    pub fn runs(&self) -> u32 {
        self.spec.runs
    }

    /// Master seed.
    pub fn seed(&self) -> u64 {
        self.spec.seed
    }

    /// Points already finished (found on `--resume`), of those this process computes.
    pub fn finished_points(&self) -> u32 {
        (self.range.end - self.range.start) - self.todo.len() as u32
    }

    /// The points this process computes: all of them, or the shard's slice.
    pub fn point_range(&self) -> std::ops::Range<u32> {
        self.range.clone()
    }

    /// Runs still to simulate, for a progress bar.
    pub fn remaining_runs(&self) -> u64 {
        self.todo.len() as u64 * u64::from(self.spec.runs)
    }

    /// Runs the unfinished points, then writes `points.parquet`, `summary.parquet` and
    /// `manifest.json` (or, for a shard, marks its manifest complete). `progress` is called
    /// once per finished run; `interrupted` is polled between chunks (finished points stay
    /// on disk).
    pub fn run(
        &self,
        progress: &(dyn Fn() + Sync),
        interrupted: &AtomicBool,
    ) -> Result<SweepOutcome, StudyError> {
        let pool = thread_pool(self.config.run.threads).map_err(StudyError::ThreadPool)?;
        let runs = self.spec.runs;
        // Work item i is run i % runs of the (i / runs)-th unfinished point, generated chunk
        // by chunk: nothing here grows with the number of points times runs.
        let total = self.todo.len() * runs as usize;
        let item = |i: usize| (self.todo[i / runs as usize], (i % runs as usize) as u32);
        let mut loaded: BTreeMap<u32, (Scenario, Population, u64)> = BTreeMap::new();
        let mut writers: BTreeMap<u32, DailyPartWriter> = BTreeMap::new();
        for start in (0..total).step_by(CHUNK_ITEMS) {
            let chunk: Vec<(u32, u32)> = (start..(start + CHUNK_ITEMS).min(total))
                .map(item)
                .collect();
            let chunk = &chunk[..];
            if interrupted.load(Ordering::SeqCst) {
                return Err(StudyError::Interrupted {
                    dir: self.config.run.out.clone(),
                });
            }
            for &(p, _) in chunk {
                if let std::collections::btree_map::Entry::Vacant(e) = loaded.entry(p) {
                    let scenario = load_point(&self.config, p)?;
                    let seed = self.point_seed(p);
                    let pop = population(scenario.params(), seed);
                    e.insert((scenario, pop, seed));
                }
            }
            let work: Vec<WorkItem<'_>> = chunk
                .iter()
                .map(|&(p, run)| {
                    let (scenario, pop, seed) = &loaded[&p];
                    WorkItem {
                        params: scenario.params(),
                        population: pop,
                        seed: *seed,
                        run,
                    }
                })
                .collect();
            let results = simulate_items(
                &pool,
                &work,
                RecordOptions::default(),
                self.config.run.check_invariants,
                progress,
            );
            drop(work);
            for (&(p, run), result) in chunk.iter().zip(results) {
                let records = result.map_err(|violation| StudyError::Invariant {
                    what: format!("point {p}"),
                    run,
                    violation,
                })?;
                let w = match writers.entry(p) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        let meta = self.point_meta(p, &loaded[&p].0);
                        let path = self.config.run.out.join(part_path(p));
                        e.insert(DailyPartWriter::create(&path, &meta)?)
                    }
                };
                w.write_run(&records)?;
                if w.runs() == runs {
                    writers.remove(&p).expect("present").finish()?;
                    loaded.remove(&p);
                }
            }
        }
        let out = &self.config.run.out;
        match &self.shard {
            None => finish_dir(out).map(SweepOutcome::Complete),
            Some(manifest) => {
                let mut manifest = manifest.clone();
                for p in self.range.clone() {
                    let rel = part_path(p);
                    manifest.files.push(ManifestFile {
                        name: rel.to_string_lossy().replace('\\', "/"),
                        rows: shard::parquet_rows(&out.join(&rel))?,
                    });
                }
                manifest.complete = true;
                shard::write_json_atomic(
                    &out.join(shard::manifest_path(manifest.shard)),
                    &manifest,
                )?;
                Ok(SweepOutcome::Shard(manifest))
            }
        }
    }

    fn point_seed(&self, p: u32) -> u64 {
        seed_of(&self.spec, p)
    }

    fn point_meta(&self, p: u32, scenario: &Scenario) -> OutputMeta {
        OutputMeta {
            scenario_name: scenario.name().to_owned(),
            scenario_toml: scenario.resolved_toml(),
            seed: self.point_seed(p),
            runs: self.spec.runs,
            money_minor_unit: self.money_unit.clone(),
            corridor_version: self.spec.corridor_version.clone(),
        }
    }
}

/// Checks and prepares a shared sweep directory for shard `shard` (points `range`) and
/// writes the shard's manifest, marked incomplete. A directory holding shards is normal;
/// refused are: shards of another sweep there, this shard already finished (unless --force
/// starts it over, or --resume finds nothing to do), and points of this shard left by an
/// interrupted attempt without --resume or --force.
fn prepare_shard(
    config: &SweepConfig,
    spec: &SweepSpec,
    shard: Shard,
    range: std::ops::Range<u32>,
) -> Result<ShardManifest, StudyError> {
    let out = &config.run.out;
    let manifest = ShardManifest {
        corridor_version: spec.corridor_version.clone(),
        kind: ShardKind::Sweep,
        shard: shard.index(),
        shards: shard.count(),
        scenario: spec.scenario.clone(),
        scenario_sha256: shard::sha256_hex(&spec.scenario_toml),
        seed: spec.seed,
        runs: spec.runs,
        start: range.start,
        end: range.end,
        complete: false,
        files: Vec::new(),
        batch: serde_json::to_value(spec).expect("plain data serialises"),
    };
    let resume = config.run.resume;
    let force = config.run.force;
    let spec_path = out.join(SWEEP_FILE);
    if spec_path.exists() {
        let stored = read_spec(out)?;
        if let Some(field) = spec_difference(&stored, spec) {
            return Err(StudyError::Resume {
                dir: out.clone(),
                message: format!(
                    "holds another sweep ({SWEEP_FILE}: a different {field}): write shards to \
                     another --out"
                ),
            });
        }
    }
    fs::create_dir_all(out.join("daily")).map_err(|e| io_error(out, "creating", e))?;
    fs::create_dir_all(out.join(shard::SHARDS_DIR)).map_err(|e| io_error(out, "creating", e))?;
    shard::check_before_start(out, &manifest, resume || force)?;
    let merged = [
        "manifest.json",
        "summary.parquet",
        "points.parquet",
        SWEEP_FILE,
    ];
    if merged.iter().any(|f| out.join(f).exists()) {
        if !force {
            return Err(StudyError::Resume {
                dir: out.clone(),
                message: format!(
                    "the shards here are already merged (manifest.json): pass --force to compute \
                     shard {shard} again (the merged files are removed)"
                ),
            });
        }
        for f in merged {
            let p = out.join(f);
            if p.exists() {
                fs::remove_file(&p).map_err(|e| io_error(&p, "removing", e))?;
            }
        }
    }
    let own = out.join(shard::manifest_path(shard.index()));
    let finished: Vec<u32> = range
        .clone()
        .filter(|&p| out.join(part_path(p)).exists())
        .collect();
    if force {
        for &p in &finished {
            let path = out.join(part_path(p));
            fs::remove_file(&path).map_err(|e| io_error(&path, "removing", e))?;
        }
    } else if !finished.is_empty() && !resume {
        return Err(StudyError::Resume {
            dir: out.clone(),
            message: format!(
                "{} points of shard {shard} are already there (an interrupted or finished \
                 attempt): pass --resume to continue it or --force to start it over",
                finished.len()
            ),
        });
    }
    if resume || force {
        for p in range.clone() {
            let dir = out.join(part_path(p));
            let dir = dir.parent().expect("part paths have a directory");
            if dir.is_dir() {
                remove_temp_files_in(dir)?;
            }
        }
    }
    shard::write_json_atomic(&own, &manifest)?;
    Ok(manifest)
}

/// Merges the shards of a `corridor sweep --shard` directory: checks that they form one
/// complete sweep, then writes `sweep.json`, `points.parquet`, `summary.parquet` and
/// `manifest.json` exactly as a sweep in one process does ([`finish_dir`]), byte for byte.
pub fn merge(dir: &Path) -> Result<SweepManifest, StudyError> {
    let points_of = |m: &ShardManifest| -> Result<u32, corridor_output::OutputError> {
        let spec: SweepSpec = serde_json::from_value(m.batch.clone()).map_err(|e| {
            corridor_output::OutputError::Shards {
                dir: dir.to_path_buf(),
                message: format!(
                    "{}: not a sweep definition ({e})",
                    shard::manifest_path(m.shard).display()
                ),
            }
        })?;
        Ok(spec.values.len() as u32)
    };
    let shards = shard::complete_set(dir, points_of)?;
    let first = &shards[0];
    if first.kind != ShardKind::Sweep {
        return Err(StudyError::Resume {
            dir: dir.to_path_buf(),
            message: "holds shards of `corridor run`, not of a sweep".into(),
        });
    }
    let spec: SweepSpec =
        serde_json::from_value(first.batch.clone()).expect("checked by complete_set");
    let n = spec.values.len() as u32;
    let owned = |name: &str| {
        name.strip_prefix("point=")
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| p < n && format!("point={p}") == name)
    };
    let stray = shard::stray_partitions(dir, "daily", &owned)?;
    if !stray.is_empty() {
        return Err(StudyError::Resume {
            dir: dir.to_path_buf(),
            message: format!(
                "found {}, which no point of this sweep ({n} points) owns: a dataset reader \
                 would read their rows too; remove them",
                stray.join(", ")
            ),
        });
    }
    let spec_path = dir.join(SWEEP_FILE);
    if spec_path.exists()
        && let Some(field) = spec_difference(&read_spec(dir)?, &spec)
    {
        return Err(StudyError::Resume {
            dir: dir.to_path_buf(),
            message: format!(
                "{SWEEP_FILE} describes another sweep than the shards (a different {field})"
            ),
        });
    }
    write_json_atomic(&spec_path, &spec)?;
    finish_dir(dir)
}

fn read_spec(out: &Path) -> Result<SweepSpec, StudyError> {
    let spec_path = out.join(SWEEP_FILE);
    let text = fs::read_to_string(&spec_path).map_err(|e| io_error(&spec_path, "reading", e))?;
    serde_json::from_str(&text).map_err(|e| StudyError::Resume {
        dir: out.to_path_buf(),
        message: format!("{SWEEP_FILE} is not a sweep definition ({e})"),
    })
}

/// Writes `points.parquet`, `summary.parquet` and `manifest.json` of a sweep directory whose
/// points are all finished, from `sweep.json` and the part files, in point order. The bytes
/// depend only on the part files, never on which process (or shard) computed which point or
/// whether the sweep was resumed; a sweep calls this when its last point is done.
pub fn finish_dir(out: &Path) -> Result<SweepManifest, StudyError> {
    let spec = read_spec(out)?;
    let n = spec.values.len() as u32;
    let missing = (0..n).filter(|&p| !out.join(part_path(p)).exists()).count();
    if missing > 0 {
        return Err(StudyError::Resume {
            dir: out.to_path_buf(),
            message: format!("{missing} of {n} points are not finished yet"),
        });
    }
    let meta = OutputMeta {
        scenario_name: spec.scenario.clone(),
        scenario_toml: spec.scenario_toml.clone(),
        seed: spec.seed,
        runs: spec.runs,
        money_minor_unit: spec.money_unit.clone(),
        corridor_version: spec.corridor_version.clone(),
    };
    let design = &Design {
        kind: crate::design::DesignKind::Grid,
        keys: spec.keys.clone(),
        values: spec.values.clone(),
    };

    let param_columns: Vec<(String, Column)> = (0..design.keys.len())
        .map(|j| {
            let col = match design.numeric(j) {
                Some(xs) => Column::F64(xs.into_iter().map(Some).collect()),
                None => Column::Str(design.values.iter().map(|v| v[j].clone()).collect()),
            };
            (design.keys[j].clone(), col)
        })
        .collect();

    let mut files = Vec::new();
    let mut runs_col = Vec::new();
    let mut days_col = Vec::new();
    let mut rate_count = Vec::new();
    let mut stats: Vec<Vec<Option<f64>>> = vec![Vec::new(); VARS.len() * STATS.len()];
    for p in 0..n {
        let rel = part_path(p);
        let cols = read_numeric_columns(&out.join(&rel), &DAILY_COLUMNS)?;
        let days = PointDays::from_columns(&cols);
        files.push(ManifestFile {
            name: rel.to_string_lossy().replace('\\', "/"),
            rows: days.len() as u64,
        });
        let mut run_ids = days.run.clone();
        run_ids.dedup();
        runs_col.push(run_ids.len() as u32);
        days_col.push(days.len() as u32);
        rate_count.push(days.rate_count() as u32);
        for (col, x) in stats.iter_mut().zip(days.statistics()) {
            col.push(x);
        }
    }

    let ids: Vec<u32> = (0..n).collect();
    let mut points = vec![
        ("point".to_owned(), Column::U32(ids.clone())),
        (
            "seed".to_owned(),
            Column::U64(ids.iter().map(|&p| seed_of(&spec, p)).collect()),
        ),
    ];
    points.extend(param_columns.iter().cloned());
    let rows = write_table(&out.join("points.parquet"), &points, &meta)?;
    files.push(ManifestFile {
        name: "points.parquet".into(),
        rows,
    });

    let mut summary = vec![("point".to_owned(), Column::U32(ids))];
    summary.extend(param_columns);
    summary.push(("runs".into(), Column::U32(runs_col)));
    summary.push(("days".into(), Column::U32(days_col)));
    summary.push(("overnight_rate_count".into(), Column::U32(rate_count)));
    let names = crate::stats::moment_names();
    summary.extend(
        names
            .into_iter()
            .zip(stats)
            .map(|(name, v)| (name, Column::F64(v))),
    );
    let rows = write_table(&out.join("summary.parquet"), &summary, &meta)?;
    files.push(ManifestFile {
        name: "summary.parquet".into(),
        rows,
    });

    let manifest = SweepManifest {
        corridor_version: spec.corridor_version.clone(),
        scenario: spec.scenario.clone(),
        seed: spec.seed,
        seeds: spec.seeds,
        runs: spec.runs,
        points: n,
        files,
    };
    write_json_atomic(&out.join("manifest.json"), &manifest)?;
    Ok(manifest)
}

fn seed_of(spec: &SweepSpec, p: u32) -> u64 {
    match spec.seeds {
        Seeds::Common => spec.seed,
        Seeds::Independent => point_seed(spec.seed, p),
    }
}

/// The scenario of point `p`: the base file with the sweep's `--set` then the point's.
fn load_point(config: &SweepConfig, p: u32) -> Result<Scenario, StudyError> {
    let point = config.design.overrides(p as usize);
    let mut all = config.overrides.clone();
    all.extend(point.iter().cloned());
    corridor_scenario::load(&config.scenario, &all).map_err(|e| StudyError::Scenario {
        what: format!("sweep point {p} ({})", point.join(", ")),
        cause: e,
    })
}

fn spec_difference(a: &SweepSpec, b: &SweepSpec) -> Option<&'static str> {
    if a.scenario_toml != b.scenario_toml || a.scenario != b.scenario {
        Some("scenario")
    } else if a.overrides != b.overrides {
        Some("--set")
    } else if a.design != b.design || a.keys != b.keys || a.values != b.values {
        Some("design (points)")
    } else if a.runs != b.runs {
        Some("number of runs")
    } else if a.seed != b.seed || a.seeds != b.seeds {
        Some("seed")
    } else if a.corridor_version != b.corridor_version {
        Some("corridor version")
    } else {
        None
    }
}

/// Removes temporary files a killed process left in `out` and its point directories.
fn remove_stale_temp_files(out: &Path) -> Result<(), StudyError> {
    let mut dirs = vec![out.to_path_buf()];
    let daily = out.join("daily");
    if daily.is_dir() {
        for e in fs::read_dir(&daily).map_err(|e| io_error(&daily, "listing", e))? {
            let e = e.map_err(|e| io_error(&daily, "listing", e))?;
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
    }
    for dir in dirs {
        remove_temp_files_in(&dir)?;
    }
    Ok(())
}

/// Removes the temporary files a killed process left directly in `dir`.
fn remove_temp_files_in(dir: &Path) -> Result<(), StudyError> {
    for e in fs::read_dir(dir).map_err(|e| io_error(dir, "listing", e))? {
        let e = e.map_err(|e| io_error(dir, "listing", e))?;
        if is_temp_name(&e.file_name().to_string_lossy()) {
            fs::remove_file(e.path()).map_err(|err| io_error(&e.path(), "removing", err))?;
        }
    }
    Ok(())
}

/// Writes pretty JSON (plus a newline) to a temporary name and renames it into place.
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), StudyError> {
    use std::io::Write;
    let temp = corridor_output::study::temp_name(path)?;
    let mut json = serde_json::to_string_pretty(value).expect("plain data serialises");
    json.push('\n');
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&temp)?;
        f.write_all(json.as_bytes())?;
        f.sync_all()?;
        fs::rename(&temp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error(path, "writing", e)
    })
}
