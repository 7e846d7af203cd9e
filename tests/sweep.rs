//! `corridor sweep` end to end: the Poole curve at every point, kill-and-resume giving the
//! same bytes as an uninterrupted sweep on another thread count, and bad sweep input.

mod common;

use std::fs;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use corridor_model::normal::cdf;
use corridor_output::study::read_numeric_columns;

fn corridor(args: &[&str]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("corridor runs")
}

fn poole_path() -> String {
    repo()
        .join("scenarios/poole_benchmark.toml")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Reserve supply swept from scarce to abundant on `poole_benchmark` (exact fine-tuning, so
/// every day's clearing rate sits on r = r_d + (r_l - r_d) Phi(-R/s), s = sd sqrt(1 - 1/N)).
/// The point's 5th and 95th percentiles of the rate over all run-days must both equal the
/// curve: tolerance 1e-6 bp, as in tests/poole.rs (the bisection finds the root to machine
/// precision; integer rounding of trades does not move the clearing rate).
#[test]
fn sweep_over_reserve_supply_reproduces_the_poole_curve_at_every_point() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("poole");
    let o = corridor(&[
        "sweep",
        &poole_path(),
        "--grid",
        "central_bank.reserve_target_per_bank=-240:240:9",
        "--runs",
        "3",
        "--set",
        "calendar.business_days=30",
        "--check",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cols = read_numeric_columns(
        &out.join("summary.parquet"),
        &[
            "point",
            "central_bank.reserve_target_per_bank",
            "overnight_rate_bp_p05",
            "overnight_rate_bp_p95",
            "spread_to_deposit_bp_mean",
            "overnight_rate_count",
            "days",
        ],
    )
    .unwrap();
    assert_eq!(cols[0].len(), 9, "one summary row per point");
    let s = 100.0 * (1.0f64 - 1.0 / 100.0).sqrt();
    #[allow(clippy::needless_range_loop)] // i indexes seven parallel columns
    for i in 0..9 {
        let r = cols[1][i].unwrap();
        assert_eq!(r, -240.0 + 60.0 * i as f64, "points in grid order");
        let want = 200.0 * cdf(-r / s);
        for (name, got) in [
            ("p05", cols[2][i]),
            ("p95", cols[3][i]),
            ("spread mean", cols[4][i]),
        ] {
            let got = got.unwrap();
            assert!(
                (got - want).abs() < 1e-6,
                "R={r}: {name} {got} bp, Poole {want} bp"
            );
        }
        assert_eq!(cols[5][i], Some(90.0), "a rate every day at R={r}");
        assert_eq!(cols[6][i], Some(90.0));
    }
    // The daily dataset holds every run-day of every point.
    let part =
        read_numeric_columns(&out.join("daily/point=4/part-0.parquet"), &["run", "day"]).unwrap();
    assert_eq!(part[0].len(), 90);
}

fn kill_sweep_args<'a>(out: &'a str, threads: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "sweep",
        &poole_path(),
        "--grid",
        "central_bank.reserve_target_per_bank=-100:100:6",
        "--grid",
        "late_shock.sd=80,120,160,200",
        "--runs",
        "5",
        "--set",
        "calendar.business_days=60",
        "--set",
        "central_bank.fine_tuning.forecast_error_sd=5000",
        "--threads",
        threads,
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// A real SIGKILL of the child once the first points' files are there, then `--resume`
/// (on another thread count) must give exactly the bytes of an uninterrupted sweep.
#[test]
fn killed_and_resumed_sweep_is_byte_identical_to_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let cut = tmp.path().join("cut");
    let (full_s, cut_s) = (full.to_str().unwrap(), cut.to_str().unwrap());

    let o = Command::new(corridor_bin())
        .args(kill_sweep_args(full_s, "2", &[]))
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut child = Command::new(corridor_bin())
        .args(kill_sweep_args(cut_s, "1", &[]))
        .env("CI", "true")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = cut.join("daily/point=1/part-0.parquet");
    let start = Instant::now();
    while !first.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no point finished"
        );
        assert!(child.try_wait().unwrap().is_none(), "sweep ended too early");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = (0..24)
        .filter(|p| cut.join(format!("daily/point={p}/part-0.parquet")).exists())
        .count();
    assert!(
        (2..24).contains(&finished) && !cut.join("manifest.json").exists(),
        "the kill must land midway ({finished} of 24 points finished)"
    );

    // Without --resume the directory is refused, and nothing is changed.
    let o = corridor(
        &kill_sweep_args(cut_s, "1", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));

    let o = corridor(
        &kill_sweep_args(cut_s, "2", &["--resume"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("{finished} of 24 points already finished")),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (a, b) = (files_under(&full), files_under(&cut));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(
        a.len(),
        24 + 4,
        "24 parts, points, summary, manifest, sweep.json"
    );
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{} differs after kill and resume", name);
    }

    // A resume with a different definition is refused.
    let mut other = kill_sweep_args(cut_s, "2", &["--resume"]);
    assert_eq!(other[6], "--runs");
    other[7] = "4".into();
    let o = corridor(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("different number of runs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Common random numbers: the same seed at every point (so with exact fine-tuning the
/// forecast error of run r, day d, is the same draw at every point); independent seeds give
/// each point its own, and both are recorded in points.parquet.
#[test]
fn common_random_numbers_by_default_independent_seeds_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (name, extra) in [("crn", None), ("ind", Some("--independent-seeds"))] {
        let out = tmp.path().join(name);
        let mut args = vec![
            "sweep".to_string(),
            poole_path(),
            "--grid".into(),
            "central_bank.policy_rate_bp=90,110".into(),
            "--runs".into(),
            "2".into(),
            "--seed".into(),
            "9".into(),
            "--set".into(),
            "calendar.business_days=5".into(),
            "--set".into(),
            "central_bank.fine_tuning.forecast_error_sd=5000".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        args.extend(extra.map(String::from));
        let o = corridor(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = read_numeric_columns(&out.join("points.parquet"), &["point"]).unwrap();
        assert_eq!(s[0], [Some(0.0), Some(1.0)]);
        // The policy rate does not enter the Poole clearing rate here (symmetric corridor
        // fixed at 0/200), so with common seeds the two points see the same reserves.
        let a = read_numeric_columns(
            &out.join("daily/point=0/part-0.parquet"),
            &["reserves_total"],
        )
        .unwrap();
        let b = read_numeric_columns(
            &out.join("daily/point=1/part-0.parquet"),
            &["reserves_total"],
        )
        .unwrap();
        seeds.push(a[0] == b[0]);
    }
    assert_eq!(
        seeds,
        [true, false],
        "common seeds share draws, independent ones do not"
    );
}

#[test]
fn bad_sweep_input_is_reported_like_scenario_errors_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bad");
    let design = tmp.path().join("sweep.toml");
    fs::write(
        &design,
        "design = \"zip\"\n[parameters]\n\"central_bank.reserve_target_per_bank\" = [-50, 0]\n\"late_shock.sd\" = [80, 90, 100]\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--design".into(), design.to_str().unwrap().into()],
            format!(
                "error: {}:4: parameters.late_shock.sd has 3 values but \
                 parameters.central_bank.reserve_target_per_bank has 2: a zip design needs \
                 lists of the same length",
                design.display()
            ),
        ),
        (
            vec!["--grid".into(), "late_shock.sd=100,abc".into()],
            format!(
                "error: sweep point 1 (late_shock.sd=abc): {} (from --set): late_shock.sd: \
                 expected a number",
                poole_path()
            ),
        ),
        (
            vec![
                "--grid".into(),
                "central_bank.lending_rate_bp=300,-10".into(),
            ],
            format!(
                "error: sweep point 1 (central_bank.lending_rate_bp=-10): {} (from --set): \
                 central_bank.lending_rate_bp = -10: must be >= central_bank.deposit_rate_bp",
                poole_path()
            ),
        ),
        (
            vec!["--grid".into(), "late_shock.sd=1:2".into()],
            "error: --grid: late_shock.sd=1:2: a range is from:to:steps (three parts)".into(),
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec![
            "sweep".to_string(),
            poole_path(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        args.extend(extra);
        let o = corridor(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            stderr.starts_with(&want),
            "{args:?}:\n got  {stderr}\n want {want}"
        );
        assert!(!out.exists(), "{args:?} left output behind");
    }
}

/// The runner's mixed work items give exactly the runs of an ordinary batch, whatever their
/// order in a chunk and the thread count (the basis of sweep determinism and CRN).
#[test]
fn work_items_of_several_scenarios_equal_ordinary_batch_runs() {
    use corridor_model::RecordOptions;
    use corridor_runner::{WorkItem, population, simulate_items, thread_pool};
    let noisy = "central_bank.fine_tuning.forecast_error_sd=5000".to_string();
    let days = "calendar.business_days=6".to_string();
    let a = scenario("poole_benchmark.toml", &[noisy.clone(), days.clone()]);
    let b = scenario(
        "poole_benchmark.toml",
        &[noisy, days, "late_shock.sd=150".into()],
    );
    let (pa, pb) = (population(a.params(), 4), population(b.params(), 4));
    let item = |s: &'static str, run| WorkItem {
        params: if s == "a" { a.params() } else { b.params() },
        population: if s == "a" { &pa } else { &pb },
        seed: 4,
        run,
    };
    let items = [
        item("b", 2),
        item("a", 0),
        item("a", 2),
        item("b", 0),
        item("a", 1),
    ];
    let batch_a = simulate(&a, 3, 4, RecordOptions::default());
    let batch_b = simulate(&b, 3, 4, RecordOptions::default());
    for threads in [1, 2] {
        let pool = thread_pool(Some(threads)).unwrap();
        let got: Vec<_> = simulate_items(&pool, &items, RecordOptions::default(), true, &|| {})
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got[0], batch_b[2]);
        assert_eq!(got[1], batch_a[0]);
        assert_eq!(got[2], batch_a[2]);
        assert_eq!(got[3], batch_b[0]);
        assert_eq!(got[4], batch_a[1]);
    }
    // The late-shock sd changes the outcome, so the comparison is not vacuous.
    assert_ne!(batch_a[0], batch_b[0]);
}

/// A Latin-hypercube sweep file, end to end: n points, each parameter's values inside its
/// bounds and one in each of the n equal strata of its range (the defining property of the
/// design), and every point simulated.
#[test]
fn latin_hypercube_design_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let design = tmp.path().join("lhs.toml");
    std::fs::write(
        &design,
        "design = \"latin_hypercube\"\npoints = 6\nseed = 3\n[parameters]\n\
         central_bank.reserve_target_per_bank = { lower = -200, upper = 200 }\n\
         late_shock.sd = { lower = 50, upper = 150 }\n",
    )
    .unwrap();
    let out = tmp.path().join("lhs");
    let run = corridor(&[
        "sweep",
        &poole_path(),
        "--design",
        design.to_str().unwrap(),
        "--runs",
        "2",
        "--set",
        "calendar.business_days=5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let keys = ["central_bank.reserve_target_per_bank", "late_shock.sd"];
    let cols = read_numeric_columns(&out.join("points.parquet"), &keys).unwrap();
    for (key, (lower, upper), values) in [
        (keys[0], (-200.0, 200.0), &cols[0]),
        (keys[1], (50.0, 150.0), &cols[1]),
    ] {
        let mut v: Vec<f64> = values.iter().map(|x| x.unwrap()).collect();
        assert_eq!(v.len(), 6, "{key}");
        v.sort_by(f64::total_cmp);
        let width = (upper - lower) / 6.0;
        for (k, x) in v.iter().enumerate() {
            let (lo, hi) = (lower + k as f64 * width, lower + (k + 1) as f64 * width);
            assert!(
                *x >= lo && *x <= hi,
                "{key}: value {x} not in stratum {k} [{lo}, {hi}]"
            );
        }
    }
    for p in 0..6 {
        assert!(
            out.join(format!("daily/point={p}/part-0.parquet")).exists(),
            "point {p}"
        );
    }
}
