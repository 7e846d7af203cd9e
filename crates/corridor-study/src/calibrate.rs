//! Simulated-method-of-moments calibration.
//!
//! Parameters θ (scenario keys with bounds) are chosen to minimise
//! `J(θ) = Σ_j w_j (m_j(θ) − t_j)²`, where each target j names a per-point statistic
//! ([`crate::stats::moment_names`], e.g. `spread_to_deposit_bp_mean`) measured at a point
//! (scenario overrides such as `central_bank.reserve_target_per_bank = -50`). Every
//! evaluation simulates `runs` runs at every point with **common random numbers** (run r
//! always uses stream r of the seed), all (point, run) items of an evaluation — and of all
//! particles of a swarm — in parallel together.
//!
//! The optimiser (argmin's Nelder-Mead, or particle swarm with a seeded generator) works on
//! θ scaled to the unit box; Nelder-Mead steps outside the box are evaluated at the nearest
//! point of the box plus a quadratic penalty. Both are deterministic, so a resumed
//! calibration replays the same path: every evaluation is appended to `evaluations.jsonl`
//! (exact floats) as soon as it is done, and replayed evaluations come from that log
//! instead of being simulated again.
//!
//! **Standard errors.** At the estimate θ̂ the Jacobian G of the moments is estimated by
//! central differences (step 1% of each parameter's range, one-sided at a bound), with
//! common random numbers so that simulation noise largely cancels. S is the covariance of
//! the moments: the covariance across runs of each run's own statistics, times
//! `1/runs + 1/target_runs` (the second term only when the targets are themselves
//! averages over `target_runs` runs-equivalents, e.g. synthetic targets or data of that
//! many calendars). With W = diag(w), the reported covariance of θ̂ is the sandwich
//! (G'WG)⁻¹ G'W S W G (G'WG)⁻¹. For means the run-level covariance is exact; for quantiles
//! it is an approximation.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use argmin::solver::particleswarm::ParticleSwarm;
use corridor_model::{Population, RecordOptions};
use corridor_output::OutputMeta;
use corridor_output::study::{Column, write_table};
use corridor_runner::{ThreadPool, WorkItem, population, simulate_items, thread_pool};
use corridor_scenario::Scenario;
use rand_xoshiro::rand_core::SeedableRng as _;
use serde::{Deserialize, Serialize};
use toml_edit::TableLike;

use crate::error::{StudyError, io_error};
use crate::input::{Input, number_text, shown};
use crate::stats::{PointDays, moment_names};
use crate::sweep::write_json_atomic;

/// Relative step of the finite-difference Jacobian: 1% of each parameter's range.
pub const JACOBIAN_STEP: f64 = 0.01;

/// One parameter to estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Scenario key, e.g. `late_shock.sd`.
    pub key: String,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Starting value (Nelder-Mead).
    pub start: f64,
}

/// One target moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Statistic name, e.g. `spread_to_deposit_bp_mean`.
    pub moment: String,
    /// Target value.
    pub value: f64,
    /// Weight in the objective.
    pub weight: f64,
    /// Index of the point (distinct override set) it is measured at.
    pub point: usize,
}

/// The contents of a targets file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// The distinct points, as scenario overrides, in order of first appearance.
    pub points: Vec<Vec<String>>,
    /// The targets, in file order.
    pub targets: Vec<Target>,
    /// Runs-equivalents the target values average over (`None`: exact targets).
    pub target_runs: Option<u32>,
}

/// Reads a parameters file: `[[parameter]]` tables with `key`, `lower`, `upper`, `start`.
pub fn read_parameters(path: &Path) -> Result<Vec<Parameter>, StudyError> {
    parse_parameters(&Input::read(path)?)
}

/// [`read_parameters`] from text; `file` names it in messages.
pub fn parse_parameters_text(file: &str, text: &str) -> Result<Vec<Parameter>, StudyError> {
    parse_parameters(&Input::parse(file, text.to_owned())?)
}

/// A table of an array of tables, with its span.
type LocatedTable<'a> = (&'a dyn TableLike, std::ops::Range<usize>);

/// Moments (one per target) and each run's own moments (runs × targets).
type Moments = (Vec<f64>, Vec<Vec<f64>>);

/// A point's statistics and each run's statistics.
type PointStats = (Vec<Option<f64>>, Vec<Vec<Option<f64>>>);

fn tables<'a>(input: &'a Input, name: &str) -> Result<Vec<LocatedTable<'a>>, StudyError> {
    let root = input.doc.as_table();
    let Some(item) = root.get(name) else {
        return Err(input.error(
            None,
            format!("{name}: missing; expected one or more [[{name}]] tables"),
        ));
    };
    let Some(aot) = item.as_array_of_tables() else {
        return Err(input.error(
            Input::span(root, name),
            format!(
                "{name} = {}: expected [[{name}]] tables (an array of tables)",
                shown(item)
            ),
        ));
    };
    Ok(aot
        .iter()
        .map(|t| (t as &dyn TableLike, t.span().unwrap_or(0..0)))
        .collect())
}

fn parse_parameters(input: &Input) -> Result<Vec<Parameter>, StudyError> {
    input.only_keys(input.doc.as_table(), "", &["parameter"])?;
    let mut out: Vec<Parameter> = Vec::new();
    for (i, (t, span)) in tables(input, "parameter")?.into_iter().enumerate() {
        let prefix = format!("parameter[{i}]");
        input.only_keys(t, &prefix, &["key", "lower", "upper", "start"])?;
        let missing = |k: &str| input.error(Some(span.clone()), format!("{prefix}.{k}: missing"));
        let key = input
            .string(t, &prefix, "key")?
            .ok_or_else(|| missing("key"))?;
        let lower = input
            .number(t, &prefix, "lower")?
            .ok_or_else(|| missing("lower"))?;
        let upper = input
            .number(t, &prefix, "upper")?
            .ok_or_else(|| missing("upper"))?;
        let start = input
            .number(t, &prefix, "start")?
            .ok_or_else(|| missing("start"))?;
        if upper <= lower {
            return Err(input.error(
                Input::span(t, "upper"),
                format!("{prefix}.upper = {upper}: must be > lower ({lower})"),
            ));
        }
        if !(lower..=upper).contains(&start) {
            return Err(input.error(
                Input::span(t, "start"),
                format!(
                    "{prefix}.start = {start}: must be within [lower, upper] = [{lower}, {upper}]"
                ),
            ));
        }
        if out.iter().any(|p| p.key == key) {
            return Err(input.error(
                Input::span(t, "key"),
                format!("{prefix}.key = {key:?}: this key is estimated twice"),
            ));
        }
        out.push(Parameter {
            key,
            lower,
            upper,
            start,
        });
    }
    Ok(out)
}

/// Reads a targets file (see `docs/calibration.md`).
pub fn read_targets(path: &Path) -> Result<Targets, StudyError> {
    parse_targets(&Input::read(path)?)
}

/// [`read_targets`] from text; `file` names it in messages.
pub fn parse_targets_text(file: &str, text: &str) -> Result<Targets, StudyError> {
    parse_targets(&Input::parse(file, text.to_owned())?)
}

fn parse_targets(input: &Input) -> Result<Targets, StudyError> {
    let root = input.doc.as_table();
    input.only_keys(root, "", &["target_runs", "target"])?;
    let target_runs = input.count(root, "", "target_runs", 1)?.map(|n| n as u32);
    let names = moment_names();
    let mut points: Vec<Vec<String>> = Vec::new();
    let mut targets = Vec::new();
    for (i, (t, span)) in tables(input, "target")?.into_iter().enumerate() {
        let prefix = format!("target[{i}]");
        input.only_keys(t, &prefix, &["moment", "value", "weight", "set"])?;
        let moment = input
            .string(t, &prefix, "moment")?
            .ok_or_else(|| input.error(Some(span.clone()), format!("{prefix}.moment: missing")))?;
        if !names.contains(&moment) {
            return Err(input.error(
                Input::span(t, "moment"),
                format!(
                    "{prefix}.moment = {moment:?}: unknown statistic; expected <variable>_<stat> \
                     with variable one of {} and stat one of {}",
                    crate::stats::VARS.join(", "),
                    crate::stats::STATS.join(", ")
                ),
            ));
        }
        let value = input
            .number(t, &prefix, "value")?
            .ok_or_else(|| input.error(Some(span.clone()), format!("{prefix}.value: missing")))?;
        let weight = input.number(t, &prefix, "weight")?.unwrap_or(1.0);
        if weight <= 0.0 {
            return Err(input.error(
                Input::span(t, "weight"),
                format!("{prefix}.weight = {weight}: must be > 0"),
            ));
        }
        let set = match t.get("set") {
            None => Vec::new(),
            Some(item) => match item.as_table_like() {
                Some(s) => input.overrides(s, "")?,
                None => {
                    return Err(input.error(
                        Input::span(t, "set"),
                        format!(
                            "{prefix}.set = {}: expected a table of scenario keys, e.g. \
                             {{ central_bank.reserve_target_per_bank = -50 }}",
                            shown(item)
                        ),
                    ));
                }
            },
        };
        let point = match points.iter().position(|p| *p == set) {
            Some(p) => p,
            None => {
                points.push(set);
                points.len() - 1
            }
        };
        targets.push(Target {
            moment,
            value,
            weight,
            point,
        });
    }
    Ok(Targets {
        points,
        targets,
        target_runs,
    })
}

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// argmin's Nelder-Mead from `start` (local).
    NelderMead,
    /// argmin's particle swarm over the bounds (global), seeded by the calibration seed.
    ParticleSwarm {
        /// Number of particles.
        particles: usize,
    },
}

/// What to calibrate.
#[derive(Clone, Debug)]
pub struct CalibrationConfig {
    /// The base scenario file.
    pub scenario: PathBuf,
    /// `--set` overrides applied everywhere (before the points' and the parameters').
    pub overrides: Vec<String>,
    /// Target moments.
    pub targets: Targets,
    /// Parameters to estimate.
    pub parameters: Vec<Parameter>,
    /// Optimiser.
    pub method: Method,
    /// Maximum optimiser iterations.
    pub max_iters: u64,
    /// Runs, seed, output and the other options every study shares.
    pub run: crate::RunOptions,
}

/// The definition stored in `calibration.json`; a resumed calibration must have the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CalibrationSpec {
    corridor_version: String,
    scenario_toml: String,
    overrides: Vec<String>,
    targets: Targets,
    parameters: Vec<Parameter>,
    method: Method,
    max_iters: u64,
    runs: u32,
    seed: u64,
}

/// One evaluation of the moments, as logged in `evaluations.jsonl` and `trace.parquet`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// 0-based evaluation number.
    pub eval: u32,
    /// `search` (the optimiser) or `jacobian` (standard errors).
    pub phase: String,
    /// Parameter values, in parameters-file order.
    pub theta: Vec<f64>,
    /// The objective J(θ).
    pub objective: f64,
    /// Simulated value of each target's moment.
    pub moments: Vec<f64>,
    /// Each run's own value of each target's moment (`runs` × targets).
    pub run_moments: Vec<Vec<f64>>,
}

/// One parameter's estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Scenario key.
    pub key: String,
    /// The estimate θ̂.
    pub estimate: f64,
    /// Simulated standard error (`None` when the moments do not identify the parameters).
    pub standard_error: Option<f64>,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// One target's fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// Statistic.
    pub moment: String,
    /// Where it is measured.
    pub set: Vec<String>,
    /// Target value.
    pub target: f64,
    /// Simulated value at the estimate.
    pub simulated: f64,
    /// Weight.
    pub weight: f64,
}

/// `report.json`: the estimate, its standard errors and the fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of corridor.
    pub corridor_version: String,
    /// Optimiser.
    pub method: Method,
    /// Runs per point per evaluation.
    pub runs: u32,
    /// Seed (common random numbers).
    pub seed: u64,
    /// `target_runs` of the targets file.
    pub target_runs: Option<u32>,
    /// Evaluations made (search and Jacobian).
    pub evaluations: u32,
    /// Objective at the estimate.
    pub objective: f64,
    /// The estimates.
    pub parameters: Vec<Estimate>,
    /// The fit of every target.
    pub targets: Vec<Fit>,
    /// Jacobian of the moments (targets × parameters) at the estimate.
    pub jacobian: Vec<Vec<f64>>,
    /// Covariance matrix of the estimate (parameters × parameters), when identified.
    pub covariance: Option<Vec<Vec<f64>>>,
}

/// A validated calibration, ready to run.
pub struct Calibration {
    config: CalibrationConfig,
    spec: CalibrationSpec,
    money_unit: String,
    scenario_name: String,
    pool: ThreadPool,
    log: Mutex<Log>,
}

struct Log {
    file: fs::File,
    path: PathBuf,
    cache: HashMap<Vec<u64>, Evaluation>,
    /// Evaluations in order (replayed or new), for the trace.
    done: Vec<Evaluation>,
    next: u32,
}

/// File names.
const SPEC_FILE: &str = "calibration.json";
const LOG_FILE: &str = "evaluations.jsonl";

impl Calibration {
    /// Validates the set-up (every point's scenario at the start values and at both bounds
    /// of every parameter), and prepares or reopens the output directory.
    pub fn new(config: CalibrationConfig) -> Result<Calibration, StudyError> {
        let base = corridor_scenario::load(&config.scenario, &config.overrides).map_err(|e| {
            StudyError::Scenario {
                what: "base scenario".into(),
                cause: e,
            }
        })?;
        for p in &config.parameters {
            for point in &config.targets.points {
                if point
                    .iter()
                    .any(|o| o.split('=').next() == Some(p.key.as_str()))
                {
                    return Err(StudyError::Input {
                        file: "calibration".into(),
                        line: None,
                        message: format!(
                            "{} is both estimated and set by a target point; estimate it or \
                             fix it, not both",
                            p.key
                        ),
                    });
                }
            }
        }
        let start: Vec<f64> = config.parameters.iter().map(|p| p.start).collect();
        let mut probes = vec![("start values", start.clone())];
        for (i, p) in config.parameters.iter().enumerate() {
            let mut lo = start.clone();
            lo[i] = p.lower;
            let mut hi = start.clone();
            hi[i] = p.upper;
            probes.push(("a lower bound", lo));
            probes.push(("an upper bound", hi));
        }
        for (what, theta) in &probes {
            for g in 0..config.targets.points.len() {
                load_eval(&config, g, theta, what)?;
            }
        }
        let runs = config.run.runs.unwrap_or(base.default_runs());
        if runs < 2 {
            return Err(StudyError::Input {
                file: "--runs".into(),
                line: None,
                message: format!(
                    "{runs}: at least 2 runs are needed (standard errors use the variation \
                     across runs)"
                ),
            });
        }
        if config.run.threads == Some(0) {
            return Err(StudyError::ThreadPool(
                "--threads 0: at least one thread is needed".into(),
            ));
        }
        let spec = CalibrationSpec {
            corridor_version: config.run.corridor_version.clone(),
            scenario_toml: base.resolved_toml(),
            overrides: config.overrides.clone(),
            targets: config.targets.clone(),
            parameters: config.parameters.clone(),
            method: config.method,
            max_iters: config.max_iters,
            runs,
            seed: config.run.seed.unwrap_or(base.default_seed()),
        };
        let out = config.run.out.clone();
        let spec_path = out.join(SPEC_FILE);
        let log_path = out.join(LOG_FILE);
        let mut cache = HashMap::new();
        if out.exists() {
            if config.run.resume {
                let text = fs::read_to_string(&spec_path).map_err(|e| StudyError::Resume {
                    dir: out.clone(),
                    message: format!("cannot resume: {SPEC_FILE} cannot be read ({e})"),
                })?;
                let stored: CalibrationSpec =
                    serde_json::from_str(&text).map_err(|e| StudyError::Resume {
                        dir: out.clone(),
                        message: format!("cannot resume: {SPEC_FILE} is not valid ({e})"),
                    })?;
                if stored != spec {
                    return Err(StudyError::Resume {
                        dir: out.clone(),
                        message: "cannot resume: the calibration there has a different \
                                  scenario, targets, parameters, method, runs or seed; use \
                                  --force to start over"
                            .into(),
                    });
                }
                cache = read_log(&log_path)?;
            } else if config.run.force {
                fs::remove_dir_all(&out).map_err(|e| io_error(&out, "removing", e))?;
            } else {
                return Err(StudyError::Resume {
                    dir: out.clone(),
                    message: "the output directory already exists: pass --resume to continue \
                              the calibration in it, --force to replace it, or --out DIR"
                        .into(),
                });
            }
        }
        if !spec_path.exists() {
            fs::create_dir_all(&out).map_err(|e| io_error(&out, "creating", e))?;
            write_json_atomic(&spec_path, &spec)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io_error(&log_path, "opening", e))?;
        let pool = thread_pool(config.run.threads).map_err(StudyError::ThreadPool)?;
        Ok(Calibration {
            money_unit: base.money_unit().to_owned(),
            scenario_name: base.name().to_owned(),
            config,
            spec,
            pool,
            log: Mutex::new(Log {
                file,
                path: log_path,
                cache,
                done: Vec::new(),
                next: 0,
            }),
        })
    }

    /// Evaluations found in the log of an interrupted calibration (replayed, not simulated).
    pub fn logged_evaluations(&self) -> usize {
        self.log.lock().expect("log lock").cache.len()
    }

    /// Runs per point and evaluation.
    pub fn runs(&self) -> u32 {
        self.spec.runs
    }

    /// Runs the optimiser, estimates the standard errors, and writes `trace.parquet` and
    /// `report.json`. `on_eval` is called after every evaluation (replayed or new) with it;
    /// `interrupted` is polled before every evaluation.
    pub fn run(
        &self,
        on_eval: &(dyn Fn(&Evaluation) + Sync),
        interrupted: &AtomicBool,
    ) -> Result<Report, StudyError> {
        let k = self.spec.parameters.len();
        let problem = Problem {
            cal: self,
            on_eval,
            interrupted,
            failure: Mutex::new(None),
        };
        let z_hat: Vec<f64> = match self.spec.method {
            Method::NelderMead => {
                let z0: Vec<f64> = self
                    .spec
                    .parameters
                    .iter()
                    .map(|p| (p.start - p.lower) / (p.upper - p.lower))
                    .collect();
                let mut simplex = vec![z0.clone()];
                for i in 0..k {
                    let mut z = z0.clone();
                    z[i] += if z[i] + 0.15 <= 1.0 { 0.15 } else { -0.15 };
                    simplex.push(z);
                }
                let solver = NelderMead::new(simplex)
                    .with_sd_tolerance(1e-10)
                    .map_err(|e| StudyError::Optimiser(e.to_string()))?;
                let result = Executor::new(&problem, solver)
                    .configure(|s| s.max_iters(self.spec.max_iters))
                    .run();
                let state = problem.check(result)?;
                state
                    .get_best_param()
                    .cloned()
                    .ok_or_else(|| StudyError::Optimiser("no estimate".into()))?
            }
            Method::ParticleSwarm { particles } => {
                let rng = rand_xoshiro::Xoroshiro128Plus::seed_from_u64(self.spec.seed);
                let solver = ParticleSwarm::new((vec![0.0; k], vec![1.0; k]), particles)
                    .with_rng_generator(rng);
                let result = Executor::new(&problem, solver)
                    .configure(|s| s.max_iters(self.spec.max_iters))
                    .run();
                let state = problem.check(result)?;
                state
                    .get_best_param()
                    .map(|p| p.position.clone())
                    .ok_or_else(|| StudyError::Optimiser("no estimate".into()))?
            }
        };
        let theta_hat = self.theta(&clamp01(&z_hat));
        let at = problem
            .eval_many(std::slice::from_ref(&theta_hat), "search")?
            .remove(0);

        // Jacobian by central differences under common random numbers.
        let mut probes = Vec::new();
        let mut steps = Vec::new();
        for (i, p) in self.spec.parameters.iter().enumerate() {
            let h = JACOBIAN_STEP * (p.upper - p.lower);
            let mut plus = theta_hat.clone();
            let mut minus = theta_hat.clone();
            plus[i] = (theta_hat[i] + h).min(p.upper);
            minus[i] = (theta_hat[i] - h).max(p.lower);
            steps.push(plus[i] - minus[i]);
            probes.push(plus);
            probes.push(minus);
        }
        let evals = problem.eval_many(&probes, "jacobian")?;
        let m = self.spec.targets.targets.len();
        let g: Vec<Vec<f64>> = (0..m)
            .map(|j| {
                (0..k)
                    .map(|i| (evals[2 * i].moments[j] - evals[2 * i + 1].moments[j]) / steps[i])
                    .collect()
            })
            .collect();
        let covariance = self.sandwich(&g, &at.run_moments);
        let parameters = self
            .spec
            .parameters
            .iter()
            .enumerate()
            .map(|(i, p)| Estimate {
                key: p.key.clone(),
                estimate: theta_hat[i],
                standard_error: covariance.as_ref().map(|v| v[i][i].max(0.0).sqrt()),
                lower: p.lower,
                upper: p.upper,
            })
            .collect();
        let targets = self
            .spec
            .targets
            .targets
            .iter()
            .enumerate()
            .map(|(j, t)| Fit {
                moment: t.moment.clone(),
                set: self.spec.targets.points[t.point].clone(),
                target: t.value,
                simulated: at.moments[j],
                weight: t.weight,
            })
            .collect();
        let log = self.log.lock().expect("log lock");
        let report = Report {
            corridor_version: self.spec.corridor_version.clone(),
            method: self.spec.method,
            runs: self.spec.runs,
            seed: self.spec.seed,
            target_runs: self.spec.targets.target_runs,
            evaluations: log.done.len() as u32,
            objective: at.objective,
            parameters,
            targets,
            jacobian: g,
            covariance,
        };
        self.write_trace(&log.done)?;
        drop(log);
        write_json_atomic(&self.config.run.out.join("report.json"), &report)?;
        Ok(report)
    }

    /// (G'WG)⁻¹ G'W S W G (G'WG)⁻¹ with S the covariance of the moments.
    fn sandwich(&self, g: &[Vec<f64>], run_moments: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
        let targets = &self.spec.targets;
        let m = targets.targets.len();
        let k = self.spec.parameters.len();
        let r = run_moments.len() as f64;
        let mean: Vec<f64> = (0..m)
            .map(|j| run_moments.iter().map(|x| x[j]).sum::<f64>() / r)
            .collect();
        let factor = 1.0 / r + targets.target_runs.map_or(0.0, |t| 1.0 / f64::from(t));
        let s: Vec<Vec<f64>> = (0..m)
            .map(|a| {
                (0..m)
                    .map(|b| {
                        run_moments
                            .iter()
                            .map(|x| (x[a] - mean[a]) * (x[b] - mean[b]))
                            .sum::<f64>()
                            / (r - 1.0)
                            * factor
                    })
                    .collect()
            })
            .collect();
        let w: Vec<f64> = targets.targets.iter().map(|t| t.weight).collect();
        // WG (m × k)
        let wg: Vec<Vec<f64>> = (0..m)
            .map(|j| (0..k).map(|i| w[j] * g[j][i]).collect())
            .collect();
        let a: Vec<Vec<f64>> = (0..k)
            .map(|i| {
                (0..k)
                    .map(|l| (0..m).map(|j| g[j][i] * wg[j][l]).sum())
                    .collect()
            })
            .collect();
        let b: Vec<Vec<f64>> = (0..k)
            .map(|i| {
                (0..k)
                    .map(|l| {
                        (0..m)
                            .map(|x| (0..m).map(|y| wg[x][i] * s[x][y] * wg[y][l]).sum::<f64>())
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let ainv = invert(&a)?;
        let prod = |x: &[Vec<f64>], y: &[Vec<f64>]| -> Vec<Vec<f64>> {
            (0..k)
                .map(|i| {
                    (0..k)
                        .map(|l| (0..k).map(|q| x[i][q] * y[q][l]).sum())
                        .collect()
                })
                .collect()
        };
        Some(prod(&prod(&ainv, &b), &ainv))
    }

    fn theta(&self, z: &[f64]) -> Vec<f64> {
        self.spec
            .parameters
            .iter()
            .zip(z)
            .map(|(p, z)| p.lower + (p.upper - p.lower) * z)
            .collect()
    }

    fn meta(&self) -> OutputMeta {
        OutputMeta {
            scenario_name: self.scenario_name.clone(),
            scenario_toml: self.spec.scenario_toml.clone(),
            seed: self.spec.seed,
            runs: self.spec.runs,
            money_minor_unit: self.money_unit.clone(),
            corridor_version: self.spec.corridor_version.clone(),
        }
    }

    fn write_trace(&self, done: &[Evaluation]) -> Result<(), StudyError> {
        let mut cols = vec![
            (
                "eval".to_owned(),
                Column::U32(done.iter().map(|e| e.eval).collect()),
            ),
            (
                "phase".to_owned(),
                Column::Str(done.iter().map(|e| e.phase.clone()).collect()),
            ),
        ];
        for (i, p) in self.spec.parameters.iter().enumerate() {
            cols.push((
                p.key.clone(),
                Column::F64(done.iter().map(|e| Some(e.theta[i])).collect()),
            ));
        }
        cols.push((
            "objective".into(),
            Column::F64(done.iter().map(|e| Some(e.objective)).collect()),
        ));
        for (j, t) in self.spec.targets.targets.iter().enumerate() {
            cols.push((
                format!("{}@{j}", t.moment),
                Column::F64(done.iter().map(|e| Some(e.moments[j])).collect()),
            ));
        }
        write_table(
            &self.config.run.out.join("trace.parquet"),
            &cols,
            &self.meta(),
        )?;
        Ok(())
    }

    /// Simulates the moments at each θ (all points × runs of all θ in parallel together).
    fn simulate(&self, thetas: &[Vec<f64>]) -> Result<Vec<Moments>, StudyError> {
        let spec = &self.spec;
        let n_points = spec.targets.points.len();
        let mut loaded: Vec<(Scenario, Population)> = Vec::new();
        for theta in thetas {
            for g in 0..n_points {
                let scenario = load_eval(&self.config, g, theta, "an evaluation")?;
                let pop = population(scenario.params(), spec.seed);
                loaded.push((scenario, pop));
            }
        }
        let items: Vec<WorkItem<'_>> = loaded
            .iter()
            .flat_map(|(s, pop)| {
                (0..spec.runs).map(move |run| WorkItem {
                    params: s.params(),
                    population: pop,
                    seed: spec.seed,
                    run,
                })
            })
            .collect();
        let mut days: Vec<PointDays> = vec![PointDays::default(); loaded.len()];
        for (c, chunk) in items.chunks(256).enumerate() {
            let results = simulate_items(
                &self.pool,
                chunk,
                RecordOptions::default(),
                self.config.run.check_invariants,
                &|| {},
            );
            for (i, r) in results.into_iter().enumerate() {
                let idx = (c * 256 + i) / spec.runs as usize;
                let records = r.map_err(|violation| StudyError::Invariant {
                    what: "calibration evaluation".into(),
                    run: chunk[i].run,
                    violation,
                })?;
                days[idx].push_run(&records);
            }
        }
        let names = moment_names();
        let index: Vec<usize> = spec
            .targets
            .targets
            .iter()
            .map(|t| {
                names
                    .iter()
                    .position(|n| *n == t.moment)
                    .expect("validated")
            })
            .collect();
        thetas
            .iter()
            .enumerate()
            .map(|(e, theta)| {
                let per_point: Vec<PointStats> = (0..n_points)
                    .map(|g| {
                        let d = &days[e * n_points + g];
                        (d.statistics(), d.run_statistics())
                    })
                    .collect();
                let missing = |j: usize| {
                    let t = &spec.targets.targets[j];
                    StudyError::Moment(format!(
                        "{} is undefined at point [{}] with {} (no day with a trade?)",
                        t.moment,
                        spec.targets.points[t.point].join(", "),
                        self.overrides_text(theta)
                    ))
                };
                let mut moments = Vec::new();
                for (j, t) in spec.targets.targets.iter().enumerate() {
                    moments.push(per_point[t.point].0[index[j]].ok_or_else(|| missing(j))?);
                }
                let mut run_moments = Vec::new();
                for run in 0..spec.runs as usize {
                    let mut row = Vec::new();
                    for (j, t) in spec.targets.targets.iter().enumerate() {
                        let runs = &per_point[t.point].1;
                        row.push(
                            runs.get(run)
                                .and_then(|r| r[index[j]])
                                .ok_or_else(|| missing(j))?,
                        );
                    }
                    run_moments.push(row);
                }
                Ok((moments, run_moments))
            })
            .collect()
    }

    fn overrides_text(&self, theta: &[f64]) -> String {
        param_overrides(&self.spec.parameters, theta).join(", ")
    }
}

fn param_overrides(parameters: &[Parameter], theta: &[f64]) -> Vec<String> {
    parameters
        .iter()
        .zip(theta)
        .map(|(p, x)| format!("{}={}", p.key, number_text(*x)))
        .collect()
}

/// The scenario of target point `g` at parameters `theta`.
fn load_eval(
    config: &CalibrationConfig,
    g: usize,
    theta: &[f64],
    what: &str,
) -> Result<Scenario, StudyError> {
    let point = &config.targets.points[g];
    let params = param_overrides(&config.parameters, theta);
    let mut all = config.overrides.clone();
    all.extend(point.iter().cloned());
    all.extend(params.iter().cloned());
    corridor_scenario::load(&config.scenario, &all).map_err(|e| StudyError::Scenario {
        what: format!(
            "calibration at {what} ({}) at target point [{}]",
            params.join(", "),
            point.join(", ")
        ),
        cause: e,
    })
}

fn clamp01(z: &[f64]) -> Vec<f64> {
    z.iter().map(|x| x.clamp(0.0, 1.0)).collect()
}

fn read_log(path: &Path) -> Result<HashMap<Vec<u64>, Evaluation>, StudyError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_error(path, "reading", e)),
    };
    let mut cache = HashMap::new();
    let mut good = 0;
    for line in text.split_inclusive('\n') {
        // A line cut by a kill has no newline or does not parse: it and anything after it
        // are dropped (the evaluation is simply redone).
        let Some(body) = line.strip_suffix('\n') else {
            break;
        };
        let Ok(e) = serde_json::from_str::<Evaluation>(body) else {
            break;
        };
        cache.insert(key(&e.theta), e);
        good += line.len();
    }
    if good < text.len() {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, "opening", e))?;
        f.set_len(good as u64)
            .map_err(|e| io_error(path, "truncating", e))?;
    }
    Ok(cache)
}

fn key(theta: &[f64]) -> Vec<u64> {
    theta.iter().map(|x| x.to_bits()).collect()
}

/// Gauss-Jordan inverse with partial pivoting; `None` when singular.
fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            r
        })
        .collect();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |s, x| s.max(x.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..n {
        let p = (c..n).max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))?;
        if m[p][c].abs() <= 1e-12 * scale {
            return None;
        }
        m.swap(c, p);
        let d = m[c][c];
        for x in m[c].iter_mut() {
            *x /= d;
        }
        for r in 0..n {
            if r != c {
                let f = m[r][c];
                if f != 0.0 {
                    let pivot = m[c].clone();
                    for (x, y) in m[r].iter_mut().zip(pivot) {
                        *x -= f * y;
                    }
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[n..].to_vec()).collect())
}

/// The argmin problem: J on the unit box, evaluated through the log.
struct Problem<'a> {
    cal: &'a Calibration,
    on_eval: &'a (dyn Fn(&Evaluation) + Sync),
    interrupted: &'a AtomicBool,
    failure: Mutex<Option<StudyError>>,
}

impl Problem<'_> {
    /// Evaluates each θ (from the log when known, else simulated all together), logs the new
    /// ones and returns the evaluations in order.
    fn eval_many(&self, thetas: &[Vec<f64>], phase: &str) -> Result<Vec<Evaluation>, StudyError> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(StudyError::Interrupted {
                dir: self.cal.config.run.out.clone(),
            });
        }
        let cal = self.cal;
        let mut log = cal.log.lock().expect("log lock");
        let mut unique: Vec<Vec<f64>> = Vec::new();
        for t in thetas {
            if !log.cache.contains_key(&key(t)) && !unique.iter().any(|u| key(u) == key(t)) {
                unique.push(t.clone());
            }
        }
        let simulated = if unique.is_empty() {
            Vec::new()
        } else {
            drop(log);
            let s = cal.simulate(&unique)?;
            log = cal.log.lock().expect("log lock");
            s
        };
        for (theta, (moments, run_moments)) in unique.iter().zip(simulated) {
            let objective = cal
                .spec
                .targets
                .targets
                .iter()
                .zip(&moments)
                .map(|(t, m)| t.weight * (m - t.value) * (m - t.value))
                .sum();
            let e = Evaluation {
                eval: 0,
                phase: phase.to_owned(),
                theta: theta.clone(),
                objective,
                moments,
                run_moments,
            };
            let mut line = serde_json::to_string(&e).expect("finite numbers serialise");
            line.push('\n');
            let path = log.path.clone();
            log.file
                .write_all(line.as_bytes())
                .and_then(|()| log.file.sync_data())
                .map_err(|err| io_error(&path, "appending to", err))?;
            log.cache.insert(key(theta), e);
        }
        let mut out = Vec::new();
        for t in thetas {
            let mut e = log.cache[&key(t)].clone();
            if !log.done.iter().any(|d| key(&d.theta) == key(t)) {
                e.eval = log.next;
                log.next += 1;
                log.done.push(e.clone());
                (self.on_eval)(&e);
            } else {
                e.eval = log
                    .done
                    .iter()
                    .find(|d| key(&d.theta) == key(t))
                    .expect("done")
                    .eval;
            }
            out.push(e);
        }
        Ok(out)
    }

    fn cost_of(&self, zs: &[&Vec<f64>]) -> Result<Vec<f64>, ArgminError> {
        let thetas: Vec<Vec<f64>> = zs.iter().map(|z| self.cal.theta(&clamp01(z))).collect();
        match self.eval_many(&thetas, "search") {
            Ok(evals) => Ok(zs
                .iter()
                .zip(evals)
                .map(|(z, e)| {
                    let outside: f64 = z.iter().map(|x| (x - x.clamp(0.0, 1.0)).powi(2)).sum();
                    e.objective + outside * (1.0 + e.objective) * 1e3
                })
                .collect()),
            Err(e) => {
                let msg = e.to_string();
                *self.failure.lock().expect("failure lock") = Some(e);
                Err(ArgminError::msg(msg))
            }
        }
    }

    /// Turns argmin's result into ours, preferring the study error that stopped it.
    fn check<S, R>(&self, result: Result<R, ArgminError>) -> Result<S, StudyError>
    where
        R: ResultState<S>,
    {
        match result {
            Ok(r) => Ok(r.into_state()),
            Err(e) => Err(self
                .failure
                .lock()
                .expect("failure lock")
                .take()
                .unwrap_or_else(|| StudyError::Optimiser(e.to_string()))),
        }
    }
}

/// Extracts the final state of an argmin run.
trait ResultState<S> {
    fn into_state(self) -> S;
}

impl<O, Sv, I: State> ResultState<I> for argmin::core::OptimizationResult<O, Sv, I> {
    fn into_state(self) -> I {
        self.state
    }
}

impl CostFunction for &Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, z: &Vec<f64>) -> Result<f64, ArgminError> {
        Ok(self.cost_of(&[z])?[0])
    }

    // A swarm's particles are evaluated together: all their (point, run) items in parallel.
    fn bulk_cost<P>(&self, params: &[P]) -> Result<Vec<f64>, ArgminError>
    where
        P: std::borrow::Borrow<Vec<f64>> + argmin::core::SyncAlias,
        f64: argmin::core::SendAlias,
        Self: argmin::core::SyncAlias,
    {
        let zs: Vec<&Vec<f64>> = params.iter().map(|p| p.borrow()).collect();
        self.cost_of(&zs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_a_known_matrix() {
        // [[4, 7], [2, 6]]^-1 = [[0.6, -0.7], [-0.2, 0.4]] (det 10).
        let inv = invert(&[vec![4.0, 7.0], vec![2.0, 6.0]]).unwrap();
        let want = [[0.6, -0.7], [-0.2, 0.4]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inv[i][j] - want[i][j]).abs() < 1e-12);
            }
        }
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }

    #[test]
    fn bad_targets_and_parameters_are_located() {
        let e = parse_targets_text(
            "t.toml",
            "[[target]]\nmoment = \"spread_bp_mean\"\nvalue = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("t.toml:2: target[0].moment = \"spread_bp_mean\": unknown statistic; expected <variable>_<stat> with variable one of overnight_rate_bp, spread_to_deposit_bp"),
            "{e}"
        );
        let e = parse_targets_text(
            "t.toml",
            "[[target]]\nmoment = \"volume_mean\"\nvalue = 1\nweight = -2\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "t.toml:4: target[0].weight = -2: must be > 0");
        let e = parse_parameters_text(
            "p.toml",
            "[[parameter]]\nkey = \"late_shock.sd\"\nlower = 10\nupper = 200\nstart = 300\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "p.toml:5: parameter[0].start = 300: must be within [lower, upper] = [10, 200]"
        );
        let e = parse_parameters_text("p.toml", "[parameter]\nkey = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.toml:1: parameter = a table: expected [[parameter]] tables (an array of tables)"
        );
    }

    #[test]
    fn targets_group_by_point_in_order_of_appearance() {
        let t = parse_targets_text(
            "t.toml",
            "target_runs = 40\n\
             [[target]]\nmoment = \"spread_to_deposit_bp_mean\"\nvalue = 150\nset = { central_bank.reserve_target_per_bank = -50 }\n\
             [[target]]\nmoment = \"volume_mean\"\nvalue = 3\nweight = 0.5\n\
             [[target]]\nmoment = \"spread_to_deposit_bp_p50\"\nvalue = 149\nset = { \"central_bank.reserve_target_per_bank\" = -50 }\n",
        )
        .unwrap();
        assert_eq!(t.target_runs, Some(40));
        assert_eq!(
            t.points,
            vec![
                vec!["central_bank.reserve_target_per_bank=-50".to_string()],
                vec![]
            ]
        );
        let points: Vec<usize> = t.targets.iter().map(|t| t.point).collect();
        assert_eq!(points, [0, 1, 0]);
        assert_eq!(t.targets[1].weight, 0.5);
    }
}
