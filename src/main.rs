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
use corridor_output::{BatchWriter, OutputMeta};
use corridor_runner::{Batch, run_batch};
use corridor_scenario::Scenario;
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
