//! Parallel Monte Carlo over `corridor-model` runs.
//!
//! Determinism is designed in: run `k` of a batch with seed `s` draws from a ChaCha8 stream
//! seeded by `s` on stream `k`, and nothing else; the banking population comes from stream
//! `u64::MAX` of the same seed. Runs are computed in parallel in fixed-size chunks and handed
//! to the sink strictly in run order, so what the sink sees is identical whatever the
//! thread count, and run 17 computed alone equals run 17 of a batch.
//!
//! The runner owns parallelism and nothing else: it knows no file format (the sink does)
//! and no terminal (the caller's progress callback does).

use std::ops::Range;

use corridor_model::{
    InvariantViolation, Params, Population, RecordOptions, RunRecords, Simulation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use rayon::ThreadPool;

/// Runs computed between two hand-overs to the sink: bounds memory to a chunk's records.
pub const CHUNK_RUNS: u32 = 64;

/// Stream id reserved for drawing the banking population.
const POPULATION_STREAM: u64 = u64::MAX;

/// What to run.
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    pub params: &'a Params,
    pub seed: u64,
    /// Run indices to compute (a shard of a larger batch is a sub-range).
    pub runs: Range<u32>,
    pub options: RecordOptions,
    /// Check every accounting identity after every day (slower; on in tests).
    pub check_invariants: bool,
    /// Worker threads; `None` uses rayon's default (all cores).
    pub threads: Option<usize>,
}

/// Why a batch stopped.
#[derive(Debug)]
pub enum BatchError<E> {
    /// An accounting identity broke: a bug in the model, reported with its run and day.
    Invariant {
        run: u32,
        violation: InvariantViolation,
    },
    /// The sink refused a run (for example, a write failed).
    Sink(E),
    /// The thread pool could not be built.
    ThreadPool(String),
}

impl<E: std::fmt::Display> std::fmt::Display for BatchError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Invariant { run, violation } => {
                write!(f, "run {run}: accounting invariant broken on {violation}")
            }
            BatchError::Sink(e) => write!(f, "{e}"),
            BatchError::ThreadPool(e) => write!(f, "cannot start worker threads: {e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for BatchError<E> {}

/// The random stream of run `run` under `seed`.
pub fn run_rng(seed: u64, run: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run as u64);
    rng
}

/// The batch's banking population (the same for every run of the seed).
pub fn population(params: &Params, seed: u64) -> Population {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(POPULATION_STREAM);
    Population::draw(params, &mut rng)
}

/// Simulates one run from its first to its last business day.
pub fn simulate_run(
    params: &Params,
    population: &Population,
    seed: u64,
    run: u32,
    options: RecordOptions,
    check_invariants: bool,
) -> Result<RunRecords, InvariantViolation> {
    let mut rng = run_rng(seed, run);
    let mut sim = Simulation::new(params, population);
    let days = sim.calendar().len();
    let n = population.sizes.len();
    let mut records = RunRecords {
        run,
        days: Vec::with_capacity(days),
        banks: Vec::with_capacity(if options.banks { days * n } else { 0 }),
        trades: Vec::new(),
        operations: Vec::new(),
        securities: Vec::with_capacity(days * params.securities.len()),
    };
    if check_invariants {
        sim.check_invariants()?;
    }
    while !sim.is_finished() {
        sim.step(&mut rng, options, &mut records);
        if check_invariants {
            sim.check_invariants()?;
        }
    }
    Ok(records)
}

/// Runs the batch in parallel and hands each run's records to `sink` in run order.
/// `progress` is called once per finished run, from worker threads.
pub fn run_batch<E, S>(
    batch: &Batch<'_>,
    progress: &(dyn Fn() + Sync),
    mut sink: S,
) -> Result<(), BatchError<E>>
where
    E: Send,
    S: FnMut(RunRecords) -> Result<(), E>,
{
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = batch.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder
        .build()
        .map_err(|e| BatchError::ThreadPool(e.to_string()))?;
    let population = population(batch.params, batch.seed);
    let mut start = batch.runs.start;
    while start < batch.runs.end {
        let end = (start + CHUNK_RUNS).min(batch.runs.end);
        let chunk: Vec<Result<RunRecords, BatchError<E>>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|run| {
                    let r = simulate_run(
                        batch.params,
                        &population,
                        batch.seed,
                        run,
                        batch.options,
                        batch.check_invariants,
                    )
                    .map_err(|violation| BatchError::Invariant { run, violation });
                    progress();
                    r
                })
                .collect()
        });
        for records in chunk {
            sink(records?).map_err(BatchError::Sink)?;
        }
        start = end;
    }
    Ok(())
}

/// Builds the worker pool of a batch or study: `threads` workers, or all cores for `None`.
pub fn thread_pool(threads: Option<usize>) -> Result<ThreadPool, String> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    builder.build().map_err(|e| e.to_string())
}

/// One unit of work of a multi-scenario study (a sweep point or a calibration evaluation):
/// run `run` of `params` under `seed`, on `population`.
#[derive(Clone, Copy, Debug)]
pub struct WorkItem<'a> {
    /// The scenario's validated parameters.
    pub params: &'a Params,
    /// The banking population, `population(params, seed)`.
    pub population: &'a Population,
    /// The seed whose stream `run` is used.
    pub seed: u64,
    /// The run index (its random stream).
    pub run: u32,
}

/// Simulates a chunk of heterogeneous work items in parallel on `pool` and returns their
/// records in the order of `items` (so callers see the same thing whatever the thread
/// count). Items of different scenarios run side by side: a study keeps every core busy
/// across points, not point by point. `progress` is called once per finished item.
///
/// Run `k` of an item equals run `k` of a [`run_batch`] of the same parameters and seed.
pub fn simulate_items(
    pool: &ThreadPool,
    items: &[WorkItem<'_>],
    options: RecordOptions,
    check_invariants: bool,
    progress: &(dyn Fn() + Sync),
) -> Vec<Result<RunRecords, InvariantViolation>> {
    pool.install(|| {
        items
            .par_iter()
            .map(|item| {
                let r = simulate_run(
                    item.params,
                    item.population,
                    item.seed,
                    item.run,
                    options,
                    check_invariants,
                );
                progress();
                r
            })
            .collect()
    })
}

/// One of `count` equal slices of a batch's runs or a sweep's points, so that `count`
/// independent processes (for example the tasks of a Slurm job array) together compute
/// exactly the work of one process. Shards are numbered from 0, like
/// `SLURM_ARRAY_TASK_ID` under `--array=0-<count-1>`.
///
/// Shard `index` gets the contiguous indices `floor(index·N/count) .. floor((index+1)·N/count)`
/// of `N` items: contiguous, so that reading the shards in shard order reads the items in
/// order, and a run's random stream depends only on (seed, run), never on the shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `--shard` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardError(String);

impl std::fmt::Display for ShardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShardError {}

impl Shard {
    /// Shard `index` of `count` (0-based); errors unless `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError(format!(
                "--shard {index}/0: the number of shards must be at least 1"
            )));
        }
        if index >= count {
            return Err(ShardError(format!(
                "--shard {index}/{count}: shards are numbered 0 to {} (0-based, like \
                 SLURM_ARRAY_TASK_ID with --array=0-{})",
                count - 1,
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// The 0-based shard number.
    pub fn index(self) -> u32 {
        self.index
    }

    /// The number of shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// This shard's slice of `items` items (runs or points). Errors when there are fewer
    /// items than shards, so that no shard is empty (`what` names the items in the message).
    pub fn range(self, items: u32, what: &str) -> Result<Range<u32>, ShardError> {
        if items < self.count {
            return Err(ShardError(format!(
                "--shard {self}: {items} {what} cannot be split into {} shards; use at most \
                 {items} shards",
                self.count
            )));
        }
        let bound = |i: u32| (u64::from(i) * u64::from(items) / u64::from(self.count)) as u32;
        Ok(bound(self.index)..bound(self.index + 1))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    /// Parses `i/n`, e.g. `3/64`.
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = || {
            ShardError(format!(
                "--shard {s}: expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4 \
                 (in a Slurm array: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n)
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    /// The shards of any split are disjoint, contiguous, in order, cover every item once
    /// and differ in size by at most one.
    #[test]
    fn shards_partition_the_items_in_order() {
        for items in [1u32, 2, 7, 64, 100, 1000, 64_000, u32::MAX] {
            for count in [1u32, 2, 3, 4, 7, 64] {
                if count > items {
                    continue;
                }
                let mut next = 0u32;
                let mut sizes = Vec::new();
                for index in 0..count {
                    let r = Shard::new(index, count)
                        .unwrap()
                        .range(items, "runs")
                        .unwrap();
                    assert_eq!(r.start, next, "{index}/{count} of {items}");
                    assert!(r.end > r.start, "{index}/{count} of {items} is empty");
                    sizes.push(r.end - r.start);
                    next = r.end;
                }
                assert_eq!(next, items);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{count} shards of {items}: sizes {lo}..{hi}");
            }
        }
    }

    #[test]
    fn bad_shard_values_are_refused_with_the_rule() {
        assert_eq!("3/64".parse::<Shard>().unwrap(), Shard::new(3, 64).unwrap());
        for bad in ["4/4", "1/0", "x/4", "4", "-1/4", "1/4/2", ""] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("--shard {bad}")), "{bad}: {e}");
        }
        assert!(
            "4/4"
                .parse::<Shard>()
                .unwrap_err()
                .to_string()
                .contains("0 to 3")
        );
        let e = Shard::new(2, 5).unwrap().range(3, "points").unwrap_err();
        assert!(
            e.to_string()
                .contains("3 points cannot be split into 5 shards"),
            "{e}"
        );
    }
}
