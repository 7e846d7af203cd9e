//! Calibration studies on top of `corridor`: parameter sweeps with common random numbers,
//! and simulated-method-of-moments calibration.
//!
//! * [`sweep`]: a [`Design`] of points (scenario overrides, through the same `--set`
//!   machinery as `corridor run`, so every scenario key is sweepable and validated the same
//!   way) × runs, simulated together in parallel chunks of (point, run) work items and
//!   streamed to one Parquet file per point (`daily/point=<p>/part-0.parquet`), plus
//!   `points.parquet`, `summary.parquet` and `manifest.json`; `--resume` skips finished
//!   points.
//! * [`calibrate`]: minimises a weighted distance between named summary statistics
//!   ([`stats`]) and targets over bounded parameters with argmin (Nelder-Mead or particle
//!   swarm), with common random numbers, parallel evaluation, a resumable evaluation log,
//!   a Parquet trace and simulated standard errors.
//!
//! The crate owns orchestration only: the runner owns the threads
//! ([`corridor_runner::simulate_items`]) and the output layer owns the file formats
//! ([`corridor_output::study`]). It prints nothing; progress goes through callbacks.

#![warn(missing_docs)]

pub mod calibrate;
pub mod design;
mod error;
mod input;
pub mod stats;
pub mod sweep;

pub use design::{Design, DesignKind};
pub use error::StudyError;
pub use sweep::{Seeds, SweepConfig, SweepManifest, SweepOutcome, SweepPlan};

/// The run options a sweep and a calibration share.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Runs per point (and per evaluation) [default: the scenario's `run.runs`].
    pub runs: Option<u32>,
    /// Master seed [default: the scenario's `run.seed`].
    pub seed: Option<u64>,
    /// Output directory.
    pub out: std::path::PathBuf,
    /// Worker threads (`None`: all cores). The output is identical for any value.
    pub threads: Option<usize>,
    /// Continue an interrupted study in `out`.
    pub resume: bool,
    /// Replace `out` if it exists.
    pub force: bool,
    /// Check every accounting identity after every day.
    pub check_invariants: bool,
    /// Version string recorded in the files.
    pub corridor_version: String,
}
