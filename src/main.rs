//! `corridor`: the command line. Thin by design: it parses arguments, loads and validates
//! the scenario, wires the runner to the output layer and shows progress. The economics
//! lives in `corridor-model`, parallelism in `corridor-runner`, formats in `corridor-output`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use corridor_output::shard::{RunShardWriter, ShardKind};
use corridor_output::{BatchWriter, OutputMeta};
use corridor_runner::{Batch, Shard, run_batch};
use corridor_scenario::Scenario;
use corridor_study::calibrate::{
    Calibration, CalibrationConfig, Method, read_parameters, read_targets,
};
use corridor_study::{Design, Seeds, SweepConfig, SweepOutcome, SweepPlan};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "corridor",
    version,
    about = "Agent-based simulator of the interbank overnight money market"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Monte Carlo batch of a scenario and write Parquet output.
    Run(RunArgs),
    /// Check a scenario file (and any --set overrides) without running it.
    Validate(ScenarioArgs),
    /// Run a scenario at many parameter points (a grid, parallel lists or a Latin hypercube)
    /// and write one Parquet dataset with a point column, points.parquet and summary.parquet.
    Sweep(SweepArgs),
    /// Check that the shards in DIR (written with --shard I/N by `run` or `sweep`) form one
    /// complete batch, then write its summary: the same bytes as one process computes.
    Merge(MergeArgs),
    /// Fit bounded scenario parameters so simulated moments match targets (simulated method
    /// of moments), with simulated standard errors.
    Calibrate(CalibrateArgs),
    /// Draw a run's overnight rate in the corridor (median and 5-95% band across runs,
    /// reserves on a second axis) or a sweep's reserve demand curve, as PNG or SVG.
    Plot(PlotArgs),
}

#[derive(Args)]
struct PlotArgs {
    /// Output directory of `corridor run` or `corridor sweep`.
    dir: PathBuf,
    /// Image to write; the extension chooses the format (.png or .svg).
    #[arg(long, value_name = "FILE.png|svg")]
    out: PathBuf,
}

#[derive(Args)]
struct StudyArgs {
    /// Runs per point [default: the scenario's run.runs].
    #[arg(long)]
    runs: Option<u32>,
    /// Master seed [default: the scenario's run.seed].
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads [default: all cores]. Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Continue an interrupted study in --out; finished work is not recomputed.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Replace the output directory if it exists.
    #[arg(long)]
    force: bool,
    /// Check every accounting identity after every simulated day (slower).
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// A swept key: --grid key.path=v1,v2,... or --grid key.path=from:to:steps (repeatable;
    /// several make a full grid).
    #[arg(long, value_name = "KEY.PATH=VALUES", conflicts_with = "design")]
    grid: Vec<String>,
    /// Sweep file (TOML) with a grid, zip or latin_hypercube design (docs/calibration.md).
    #[arg(long, value_name = "SWEEP.toml")]
    design: Option<PathBuf>,
    /// Give each point its own seed instead of common random numbers.
    #[arg(long)]
    independent_seeds: bool,
    /// Output directory [default: output/<scenario name>-sweep].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Compute only shard I of N (0-based) of the points, into --out shared by all shards;
    /// `corridor merge` then writes the tables. For Slurm job arrays (docs/slurm.md).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    #[command(flatten)]
    study: StudyArgs,
}

#[derive(Args)]
struct CalibrateArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Target moments (TOML): name, value, weight and the points they are measured at.
    #[arg(long, value_name = "TARGETS.toml")]
    targets: PathBuf,
    /// Parameters to estimate (TOML): key, lower, upper, start.
    #[arg(long, value_name = "PARAMS.toml")]
    params: PathBuf,
    /// Optimiser: nelder-mead (local) or particle-swarm (global).
    #[arg(long, default_value = "nelder-mead")]
    method: String,
    /// Maximum optimiser iterations.
    #[arg(long, default_value_t = 100)]
    max_iters: u64,
    /// Particles of the particle swarm.
    #[arg(long, default_value_t = 16)]
    particles: usize,
    /// Output directory [default: output/<scenario name>-calibration].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    study: StudyArgs,
}

#[derive(Args)]
struct ScenarioArgs {
    /// Scenario file (TOML), e.g. scenarios/corridor_symmetric.toml.
    scenario: PathBuf,
    /// Override a scenario value: --set central_bank.policy_rate_bp=25 (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    overrides: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Number of Monte Carlo runs [default: the scenario's run.runs].
    #[arg(long)]
    runs: Option<u32>,
    /// Master seed [default: the scenario's run.seed].
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory [default: output/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Also write banks.parquet (every bank's balance sheet every day).
    #[arg(long)]
    banks: bool,
    /// Also write trades.parquet (every interbank loan).
    #[arg(long)]
    trades: bool,
    /// Check every accounting identity after every simulated day (slower).
    #[arg(long)]
    check: bool,
    /// Replace the output directory if it exists.
    #[arg(long)]
    force: bool,
    /// Compute only shard I of N (0-based) of the runs, into --out shared by all shards;
    /// `corridor merge` then writes the summary. For Slurm job arrays (docs/slurm.md).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
}

#[derive(Args)]
struct MergeArgs {
    /// The directory the shards were written to (their common --out).
    dir: PathBuf,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate(args) => {
            let scenario = load(&args)?;
            let p = scenario.params();
            println!(
                "{}: ok ({} banks, {} business days, {} framework, rates {}/{}/{} bp)",
                args.scenario.display(),
                p.banks.count,
                p.calendar.business_days,
                p.central_bank.framework.name(),
                p.central_bank.deposit_rate_bp,
                p.central_bank.policy_rate_bp,
                p.central_bank.lending_rate_bp
            );
            Ok(())
        }
        Command::Run(args) => run_batch_command(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Calibrate(args) => calibrate_command(args),
        Command::Plot(args) => plot_command(args),
        Command::Merge(args) => merge_command(&args.dir),
    }
}

fn load(args: &ScenarioArgs) -> Result<Scenario> {
    Ok(corridor_scenario::load(&args.scenario, &args.overrides)?)
}

fn run_batch_command(args: RunArgs) -> Result<()> {
    let scenario = load(&args.scenario)?;
    let runs = args.runs.unwrap_or(scenario.default_runs());
    if runs == 0 {
        bail!("--runs 0: at least one run is needed");
    }
    if args.threads == Some(0) {
        bail!("--threads 0: at least one thread is needed");
    }
    let seed = args.seed.unwrap_or(scenario.default_seed());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(scenario.name()));
    let mut options = scenario.record_options();
    options.banks |= args.banks;
    options.trades |= args.trades;

    let meta = OutputMeta {
        scenario_name: scenario.name().to_string(),
        scenario_toml: scenario.resolved_toml(),
        seed,
        runs,
        money_minor_unit: scenario.money_unit().to_string(),
        corridor_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if let Some(shard) = args.shard {
        return run_shard_command(&args, &scenario, meta, options, shard, &out);
    }
    if out.exists() && !args.force {
        bail!(
            "output directory {} already exists: pass --force to replace it or --out DIR to write elsewhere",
            out.display()
        );
    }
    let mut writer = BatchWriter::create(&out, meta, options, args.force)
        .with_context(|| format!("cannot write to {}", out.display()))?;

    let bar = progress_bar(runs as u64);
    let batch = Batch {
        params: scenario.params(),
        seed,
        runs: 0..runs,
        options,
        check_invariants: args.check,
        threads: args.threads,
    };
    // Ctrl-C stops after the runs in flight; dropping the unfinished writer removes its
    // temporary directory, so an interrupted batch leaves no partial output.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    let tick = || bar.inc(1);
    run_batch(&batch, &tick, |records| {
        if interrupted.load(Ordering::SeqCst) {
            anyhow::bail!("interrupted: nothing was written to {}", out.display());
        }
        writer.write_run(&records).map_err(anyhow::Error::from)
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    let manifest = writer.finish()?;

    eprintln!(
        "{} runs of {} (seed {seed}) written to {}",
        runs,
        scenario.name(),
        out.display()
    );
    for f in &manifest.files {
        eprintln!("  {:<16} {:>12} rows", f.name, f.rows);
    }
    Ok(())
}

/// `corridor run --shard I/N`: this shard's slice of the runs into the shared directory.
fn run_shard_command(
    args: &RunArgs,
    scenario: &Scenario,
    meta: OutputMeta,
    options: corridor_model::RecordOptions,
    shard: Shard,
    out: &Path,
) -> Result<()> {
    let runs = shard.range(meta.runs, "runs")?;
    let mut writer = RunShardWriter::create(
        out,
        &meta,
        options,
        shard.index(),
        shard.count(),
        runs.clone(),
        args.force,
    )?;
    let bar = progress_bar(u64::from(runs.end - runs.start));
    let batch = Batch {
        params: scenario.params(),
        seed: meta.seed,
        runs: runs.clone(),
        options,
        check_invariants: args.check,
        threads: args.threads,
    };
    let interrupted = interrupt_flag()?;
    let tick = || bar.inc(1);
    run_batch(&batch, &tick, |records| {
        if interrupted.load(Ordering::SeqCst) {
            anyhow::bail!("interrupted: shard {shard} was not finished");
        }
        writer.write_run(&records).map_err(anyhow::Error::from)
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    let manifest = writer.finish()?;
    eprintln!(
        "shard {shard}: runs {}..{} of {} (seed {}) written to {}",
        runs.start,
        runs.end,
        scenario.name(),
        meta.seed,
        out.display()
    );
    for f in &manifest.files {
        eprintln!("  {:<32} {:>12} rows", f.name, f.rows);
    }
    Ok(())
}

/// `corridor merge DIR`: the summary of a sharded run or sweep.
fn merge_command(dir: &Path) -> Result<()> {
    let kind = corridor_output::shard::read_manifests(dir)?
        .first()
        .map(|(_, m)| m.kind);
    let bar = spinner("{spinner} {msg}  {elapsed}");
    bar.set_message(format!("merging {}", dir.display()));
    match kind {
        Some(ShardKind::Sweep) => {
            let m = corridor_study::sweep::merge(dir)?;
            bar.finish_and_clear();
            eprintln!(
                "{} points x {} runs (seed {}) merged in {}",
                m.points,
                m.runs,
                m.seed,
                dir.display()
            );
        }
        _ => {
            let m = corridor_output::shard::merge_run(dir)?;
            bar.finish_and_clear();
            eprintln!(
                "{} runs of {} (seed {}, {} shards) merged in {}",
                m.runs,
                m.scenario,
                m.seed,
                m.shards.unwrap_or(1),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Sets a flag on Ctrl-C: studies stop after the work in flight and keep what is finished.
fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    Ok(interrupted)
}

fn sweep_command(args: SweepArgs) -> Result<()> {
    let design = match &args.design {
        Some(path) => Design::from_file(path)?,
        None if args.grid.is_empty() => {
            bail!("nothing to sweep: give --grid key.path=v1,v2,... or --design SWEEP.toml")
        }
        None => Design::from_grid_args(&args.grid)?,
    };
    let name = Path::new(&args.scenario.scenario)
        .file_stem()
        .map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{name}-sweep")));
    let plan = SweepPlan::new(SweepConfig {
        scenario: args.scenario.scenario.clone(),
        overrides: args.scenario.overrides.clone(),
        design,
        seeds: if args.independent_seeds {
            Seeds::Independent
        } else {
            Seeds::Common
        },
        run: run_options(&args.study, &out),
        shard: args.shard,
    })?;
    let range = plan.point_range();
    if plan.finished_points() > 0 {
        eprintln!(
            "resuming: {} of {} points already finished in {}",
            plan.finished_points(),
            range.end - range.start,
            out.display()
        );
    }
    let interrupted = interrupt_flag()?;
    let bar = progress_bar(plan.remaining_runs());
    let tick = || bar.inc(1);
    let outcome = plan.run(&tick, &interrupted)?;
    bar.finish_and_clear();
    match outcome {
        SweepOutcome::Complete(manifest) => eprintln!(
            "{} points x {} runs (seed {}) written to {}",
            manifest.points,
            manifest.runs,
            manifest.seed,
            out.display()
        ),
        SweepOutcome::Shard(m) => eprintln!(
            "shard {}/{}: points {}..{} of {} x {} runs (seed {}) written to {}",
            m.shard,
            m.shards,
            m.start,
            m.end,
            plan.points(),
            m.runs,
            m.seed,
            out.display()
        ),
    }
    Ok(())
}

/// The options a sweep and a calibration share, from their common arguments.
fn run_options(study: &StudyArgs, out: &Path) -> corridor_study::RunOptions {
    corridor_study::RunOptions {
        runs: study.runs,
        seed: study.seed,
        out: out.to_path_buf(),
        threads: study.threads,
        resume: study.resume,
        force: study.force,
        check_invariants: study.check,
        corridor_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn calibrate_command(args: CalibrateArgs) -> Result<()> {
    let method = match args.method.as_str() {
        "nelder-mead" => Method::NelderMead,
        "particle-swarm" => Method::ParticleSwarm {
            particles: args.particles,
        },
        other => bail!("--method {other}: expected nelder-mead or particle-swarm"),
    };
    if args.particles == 0 {
        bail!("--particles 0: at least one particle is needed");
    }
    let name = Path::new(&args.scenario.scenario).file_stem().map_or_else(
        || "calibration".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{name}-calibration")));
    let calibration = Calibration::new(CalibrationConfig {
        scenario: args.scenario.scenario.clone(),
        overrides: args.scenario.overrides.clone(),
        targets: read_targets(&args.targets)?,
        parameters: read_parameters(&args.params)?,
        method,
        max_iters: args.max_iters,
        run: run_options(&args.study, &out),
    })?;
    if calibration.logged_evaluations() > 0 {
        eprintln!(
            "resuming: {} evaluations are replayed from {}",
            calibration.logged_evaluations(),
            out.display()
        );
    }
    let interrupted = interrupt_flag()?;
    let bar = spinner("{spinner} {pos} evaluations  {per_sec}  {msg}");
    let best = std::sync::Mutex::new(f64::INFINITY);
    let on_eval = |e: &corridor_study::calibrate::Evaluation| {
        let mut b = best.lock().expect("best lock");
        if e.phase == "search" && e.objective < *b {
            *b = e.objective;
        }
        bar.set_message(format!("best objective {:.6}", *b));
        bar.inc(1);
    };
    let report = calibration.run(&on_eval, &interrupted)?;
    bar.finish_and_clear();
    println!(
        "{} evaluations of {} runs per point; objective {:.6}",
        report.evaluations, report.runs, report.objective
    );
    println!(
        "{:<40} {:>14} {:>14}",
        "parameter", "estimate", "std. error"
    );
    for p in &report.parameters {
        let se = p
            .standard_error
            .map_or_else(|| "not identified".to_string(), |s| format!("{s:.6}"));
        println!("{:<40} {:>14.6} {:>14}", p.key, p.estimate, se);
    }
    println!(
        "{:<32} {:<44} {:>12} {:>12}",
        "moment", "at", "target", "simulated"
    );
    for t in &report.targets {
        println!(
            "{:<32} {:<44} {:>12.4} {:>12.4}",
            t.moment,
            t.set.join(", "),
            t.target,
            t.simulated
        );
    }
    eprintln!(
        "report, trace and evaluation log written to {}",
        out.display()
    );
    Ok(())
}

fn plot_command(args: PlotArgs) -> Result<()> {
    let chart = corridor_plot::plot(&args.dir, &args.out)?;
    let what = match chart {
        corridor_plot::Chart::RateCorridor { days } => {
            format!("overnight rate in the corridor over {days} business days")
        }
        corridor_plot::Chart::ReserveDemand { points, curves } => {
            format!("reserve demand curve: {points} points, {curves} curve(s)")
        }
    };
    eprintln!("{what} drawn to {}", args.out.display());
    Ok(())
}

/// A counter of evaluations on an interactive terminal; hidden when piped or under CI.
fn spinner(template: &str) -> ProgressBar {
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !interactive {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A bar on an interactive terminal; hidden when stderr is piped or under CI.
fn progress_bar(len: u64) -> ProgressBar {
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !interactive {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} runs  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    bar
}
