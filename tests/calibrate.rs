//! `corridor calibrate` end to end: recovering known parameters from synthetic targets, and
//! a killed calibration resuming to the same bytes.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use corridor_output::study::read_numeric_columns;

/// The parameters to recover: late-shock sd and precautionary buffer.
const TRUE_SD: f64 = 120.0;
const TRUE_BUFFER: f64 = 0.5;
const RESERVES: [i64; 4] = [-100, 0, 100, 200];
const TARGET_RUNS: u32 = 40;

/// Poole benchmark with noisy reserve supply (the central bank's forecast error, sd 50 per
/// bank), so the moments are genuinely random; money.scale = 1000 so the late-shock sd is not
/// rounded to whole units (a step function would defeat the optimiser and the Jacobian).
const COMMON: [&str; 6] = [
    "--set",
    "money.scale=1000",
    "--set",
    "calendar.business_days=20",
    "--set",
    "central_bank.fine_tuning.forecast_error_sd=5000",
];

fn corridor(args: &[String]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("corridor runs")
}

fn s(x: &str) -> String {
    x.to_owned()
}

fn poole() -> String {
    repo()
        .join("scenarios/poole_benchmark.toml")
        .to_string_lossy()
        .into_owned()
}

/// Synthetic targets: the model's own spread-to-deposit mean at four reserve levels, at the
/// true parameters, with seed 2 and 40 runs (the calibration uses seed 1).
fn write_targets(dir: &Path) -> (String, String) {
    let out = dir.join("truth");
    let mut args = vec![
        s("sweep"),
        poole(),
        s("--grid"),
        format!(
            "central_bank.reserve_target_per_bank={}",
            RESERVES.map(|r| r.to_string()).join(",")
        ),
        s("--set"),
        format!("late_shock.sd={TRUE_SD}"),
        s("--set"),
        format!("behaviour.precautionary_buffer_sd={TRUE_BUFFER}"),
        s("--runs"),
        TARGET_RUNS.to_string(),
        s("--seed"),
        s("2"),
        s("--out"),
        out.to_string_lossy().into_owned(),
    ];
    args.extend(COMMON.map(s));
    let o = corridor(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cols = read_numeric_columns(
        &out.join("summary.parquet"),
        &[
            "central_bank.reserve_target_per_bank",
            "spread_to_deposit_bp_mean",
        ],
    )
    .unwrap();
    let mut targets = format!("target_runs = {TARGET_RUNS}\n");
    for (r, v) in cols[0].iter().zip(&cols[1]) {
        targets.push_str(&format!(
            "[[target]]\nmoment = \"spread_to_deposit_bp_mean\"\nvalue = {}\n\
             set = {{ central_bank.reserve_target_per_bank = {} }}\n",
            v.unwrap(),
            r.unwrap()
        ));
    }
    let t = dir.join("targets.toml");
    fs::write(&t, targets).unwrap();
    let p = dir.join("params.toml");
    fs::write(
        &p,
        "[[parameter]]\nkey = \"late_shock.sd\"\nlower = 50\nupper = 250\nstart = 90\n\
         [[parameter]]\nkey = \"behaviour.precautionary_buffer_sd\"\nlower = -1\nupper = 2\nstart = 0\n",
    )
    .unwrap();
    (
        t.to_string_lossy().into_owned(),
        p.to_string_lossy().into_owned(),
    )
}

fn calibrate_args(targets: &str, params: &str, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        s("calibrate"),
        poole(),
        s("--targets"),
        s(targets),
        s("--params"),
        s(params),
        s("--runs"),
        s("10"),
        s("--seed"),
        s("1"),
        s("--out"),
        out.to_string_lossy().into_owned(),
    ];
    a.extend(COMMON.map(s));
    a.extend(extra.iter().map(|x| s(x)));
    a
}

#[derive(serde::Deserialize)]
struct Report {
    parameters: Vec<Estimate>,
}

#[derive(serde::Deserialize)]
struct Estimate {
    key: String,
    estimate: f64,
    standard_error: Option<f64>,
}

/// Nelder-Mead from (90, 0) must land within 3 reported standard errors of the truth
/// (120, 0.5) for both parameters. k = 3: if the sandwich standard errors are right, each
/// miss has probability about 0.3% (the targets' own noise is included through
/// target_runs). The standard errors must also be small enough to make this a test: under 5%
/// of the true sd and under 0.1 for the buffer, and the start lies over 10 of them away.
///
/// A second calibration is killed (SIGKILL) after some evaluations are logged and resumed:
/// its trace, log and report must be byte-identical to the uninterrupted one's.
#[test]
fn calibration_recovers_known_parameters_and_resumes_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let (targets, params) = write_targets(tmp.path());

    let full = tmp.path().join("full");
    let o = corridor(&calibrate_args(
        &targets,
        &params,
        &full,
        &["--threads", "2"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Report =
        serde_json::from_str(&fs::read_to_string(full.join("report.json")).unwrap()).unwrap();
    for (p, truth, start, max_se) in [
        (&report.parameters[0], TRUE_SD, 90.0, 6.0),
        (&report.parameters[1], TRUE_BUFFER, 0.0, 0.1),
    ] {
        let se = p.standard_error.expect("identified");
        assert!(
            (p.estimate - truth).abs() < 3.0 * se,
            "{}: estimate {} ± {se}, truth {truth}",
            p.key,
            p.estimate
        );
        assert!(se > 0.0 && se < max_se, "{}: se {se}", p.key);
        assert!(
            (start - truth).abs() > 10.0 * se,
            "{}: start too close",
            p.key
        );
    }
    let trace = read_numeric_columns(&full.join("trace.parquet"), &["eval", "objective"]).unwrap();
    assert!(trace[0].len() > 20, "every evaluation is traced");

    // Kill a second calibration midway, then resume it on one thread.
    let cut = tmp.path().join("cut");
    let mut child = Command::new(corridor_bin())
        .args(calibrate_args(&targets, &params, &cut, &["--threads", "2"]))
        .env("CI", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = cut.join("evaluations.jsonl");
    let start = Instant::now();
    while fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 15 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "calibration ended too early"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cut.join("report.json").exists(),
        "the kill must land midway"
    );
    let o = corridor(&calibrate_args(
        &targets,
        &params,
        &cut,
        &["--threads", "1", "--resume"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("evaluations are replayed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "report.json",
        "trace.parquet",
        "evaluations.jsonl",
        "calibration.json",
    ] {
        assert!(
            fs::read(full.join(f)).unwrap() == fs::read(cut.join(f)).unwrap(),
            "{f} differs after kill and resume"
        );
    }
}

#[test]
fn bad_targets_and_parameters_are_reported_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t.toml");
    let p = tmp.path().join("p.toml");
    fs::write(
        &p,
        "[[parameter]]\nkey = \"late_shock.sd\"\nlower = 50\nupper = 250\nstart = 90\n",
    )
    .unwrap();
    fs::write(
        &t,
        "[[target]]\nmoment = \"spread_to_deposit_bp_mean\"\nvalue = \"high\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (ts, ps) = (t.to_string_lossy(), p.to_string_lossy());
    let o = corridor(&calibrate_args(&ts, &ps, &out, &[]));
    assert!(!o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        format!(
            "error: {}:3: target[0].value = \"high\": expected a finite number",
            t.display()
        )
    );
    // A parameter key the scenario does not know fails like a bad --set, before any output.
    fs::write(&t, "[[target]]\nmoment = \"volume_mean\"\nvalue = 1\n").unwrap();
    fs::write(
        &p,
        "[[parameter]]\nkey = \"late_shock.sdd\"\nlower = 50\nupper = 250\nstart = 90\n",
    )
    .unwrap();
    let o = corridor(&calibrate_args(&ts, &ps, &out, &[]));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.starts_with(&format!(
            "error: calibration at start values (late_shock.sdd=90) at target point []: {} (from --set): unknown key `late_shock.sdd`; allowed keys: sd, size_elasticity",
            poole()
        )),
        "{stderr}"
    );
    assert!(!out.exists());
}
