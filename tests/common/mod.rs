//! Shared helpers for the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use corridor_model::{RecordOptions, RunRecords};
use corridor_runner::{Batch, run_batch};
use corridor_scenario::Scenario;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str, sets: &[String]) -> Scenario {
    let path = repo().join("scenarios").join(name);
    corridor_scenario::load(&path, sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a batch in memory (all threads) and returns every run's records in order.
pub fn simulate(
    scenario: &Scenario,
    runs: u32,
    seed: u64,
    options: RecordOptions,
) -> Vec<RunRecords> {
    simulate_on(scenario, runs, seed, options, None, true)
}

/// [`simulate`] on a given number of threads (`None`: all cores), with or without the
/// daily invariant checks.
pub fn simulate_on(
    scenario: &Scenario,
    runs: u32,
    seed: u64,
    options: RecordOptions,
    threads: Option<usize>,
    check_invariants: bool,
) -> Vec<RunRecords> {
    let batch = Batch {
        params: scenario.params(),
        seed,
        runs: 0..runs,
        options,
        check_invariants,
        threads,
    };
    let mut out = Vec::new();
    run_batch::<std::convert::Infallible, _>(&batch, &|| {}, |r| {
        out.push(r);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// Mean and standard error of the mean of `xs`.
pub fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

pub fn overnight_rates(runs: &[RunRecords]) -> Vec<f64> {
    runs.iter()
        .flat_map(|r| r.days.iter().filter_map(|d| d.overnight_rate_bp))
        .collect()
}

pub fn corridor_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_corridor"))
}

/// Every file under `dir` (recursively), by path relative to it, with its bytes.
pub fn files_under(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(base).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
