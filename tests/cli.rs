//! The `corridor` binary end to end: determinism across thread counts, bad input, and the
//! files it writes read back with the documented schema and metadata.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use arrow_schema::DataType;
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn corridor(args: &[&str]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("corridor runs")
}

fn small_run(out: &Path, threads: &str) -> Output {
    let scenario = repo().join("scenarios/corridor_symmetric.toml");
    corridor(&[
        "run",
        scenario.to_str().unwrap(),
        "--runs",
        "9",
        "--seed",
        "5",
        "--threads",
        threads,
        "--banks",
        "--trades",
        "--check",
        "--set",
        "calendar.business_days=15",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn one_and_two_threads_write_byte_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("t1"), tmp.path().join("t2"));
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let out = small_run(dir, threads);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names = files(&a);
    assert_eq!(
        names,
        [
            "banks.parquet",
            "daily.parquet",
            "manifest.json",
            "operations.parquet",
            "securities.parquet",
            "summary.parquet",
            "trades.parquet"
        ]
    );
    assert_eq!(names, files(&b));
    for name in &names {
        let (x, y) = (
            fs::read(a.join(name)).unwrap(),
            fs::read(b.join(name)).unwrap(),
        );
        assert!(x == y, "{name} differs between 1 and 2 threads");
    }
}

#[test]
fn written_files_have_the_documented_schema_and_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = small_run(&dir, "2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let open = |name: &str| {
        let file = fs::File::open(dir.join(name)).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file).unwrap()
    };
    let daily = open("daily.parquet");
    let expected: &[(&str, DataType)] = &[
        ("run", DataType::UInt32),
        ("day", DataType::UInt32),
        ("date", DataType::Date32),
        ("overnight_rate_bp", DataType::Float64),
        ("volume", DataType::Int64),
        ("trade_count", DataType::UInt32),
        ("policy_rate_bp", DataType::Float64),
        ("deposit_rate_bp", DataType::Float64),
        ("lending_rate_bp", DataType::Float64),
        ("reserves_total", DataType::Int64),
        ("reserves_target", DataType::Int64),
        ("lending_facility_use", DataType::Int64),
        ("deposit_facility_use", DataType::Int64),
        ("fine_tuning_amount", DataType::Int64),
        ("autonomous_factors", DataType::Int64),
        ("intraday_credit_peak", DataType::Int64),
        ("queued_payments", DataType::Int64),
        ("reserves_required", DataType::Int64),
        ("maintenance_day", DataType::UInt32),
        ("nonbank_lending", DataType::Int64),
        ("reverse_repo_use", DataType::Int64),
        ("rate_p01_bp", DataType::Float64),
        ("rate_p25_bp", DataType::Float64),
        ("rate_p75_bp", DataType::Float64),
        ("rate_p99_bp", DataType::Float64),
        ("active_lenders", DataType::UInt32),
        ("active_borrowers", DataType::UInt32),
        ("top5_lender_share", DataType::Float64),
        ("cb_securities", DataType::Int64),
        ("cb_repo_lending", DataType::Int64),
        ("cb_lending_facility", DataType::Int64),
        ("cb_reserves", DataType::Int64),
        ("cb_term_deposits", DataType::Int64),
        ("cb_currency", DataType::Int64),
        ("cb_government", DataType::Int64),
        ("cb_other_liabilities", DataType::Int64),
        ("cb_capital", DataType::Int64),
    ];
    let schema = daily.schema().clone();
    let got: Vec<(&str, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(got, expected);
    let kv = daily
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let get = |k: &str| {
        kv.iter()
            .find(|e| e.key == k)
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| panic!("metadata key {k} missing"))
    };
    assert_eq!(get("corridor.seed"), "5");
    assert_eq!(get("corridor.runs"), "9");
    assert_eq!(get("corridor.money_unit"), "SEK million");
    assert_eq!(get("corridor.version"), env!("CARGO_PKG_VERSION"));
    // The embedded scenario is complete: it loads back to the same parameters.
    let embedded = corridor_scenario::parse("embedded", &get("corridor.scenario"), &[]).unwrap();
    let original = scenario(
        "corridor_symmetric.toml",
        &["calendar.business_days=15".into()],
    );
    assert_eq!(embedded.params(), original.params());

    let rows: usize = daily.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 9 * 15);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let rows_of = |name: &str| {
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows_of("daily.parquet"), 135);
    assert_eq!(rows_of("summary.parquet"), 15);
    assert_eq!(rows_of("banks.parquet"), 9 * 15 * 20);
    let summary = open("summary.parquet");
    for col in [
        "day",
        "runs",
        "overnight_rate_bp_mean",
        "overnight_rate_bp_p05",
        "volume_p95",
    ] {
        assert!(
            summary.schema().field_with_name(col).is_ok(),
            "summary lacks {col}"
        );
    }
}

/// Each malformed class exits non-zero with an error naming the file, the line, the key,
/// the bad value and what is allowed, and leaves no output directory behind.
#[test]
fn bad_scenarios_fail_cleanly_and_write_nothing() {
    let base = fs::read_to_string(repo().join("scenarios/poole_benchmark.toml")).unwrap();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        // (what, original line, replacement, fragments the message must contain)
        (
            "unknown key",
            "count = 100",
            "cuont = 100",
            &["banks.cuont", "count"],
        ),
        (
            "wrong type",
            "sd = 100",
            "sd = \"wide\"",
            &["late_shock.sd", "wide"],
        ),
        (
            "negative count",
            "count = 100",
            "count = -3",
            &["banks.count", "-3"],
        ),
        (
            "lending below deposit",
            "lending_rate_bp = 200.0",
            "lending_rate_bp = -10.0",
            &["central_bank.lending_rate_bp", "-10"],
        ),
        (
            "share outside [0, 1]",
            "securities_share = 0.2",
            "securities_share = 1.7",
            &["banks.securities_share", "1.7"],
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (what, from, to, fragments) in cases {
        assert!(base.contains(from), "{what}: fixture line missing");
        let text = base.replacen(from, to, 1);
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(to))
            .unwrap()
            + 1;
        let file = tmp.path().join("bad.toml");
        fs::write(&file, &text).unwrap();
        let out_dir = tmp.path().join("never");
        let out = corridor(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(
            stderr.contains(&format!("bad.toml:{line}")),
            "{what}: no file:line in {stderr}"
        );
        for f in *fragments {
            assert!(stderr.contains(f), "{what}: `{f}` missing from: {stderr}");
        }
        assert!(!out_dir.exists(), "{what}: output directory created");
        assert_eq!(
            files(tmp.path()),
            ["bad.toml"],
            "{what}: debris left behind"
        );
        // validate reports the same error.
        let v = corridor(&["validate", file.to_str().unwrap()]);
        assert!(!v.status.success());
        assert!(String::from_utf8_lossy(&v.stderr).contains(&format!("bad.toml:{line}")));
    }
}

#[test]
fn set_overrides_reach_the_model_and_bad_overrides_are_named() {
    let scenario = repo().join("scenarios/poole_benchmark.toml");
    let ok = corridor(&[
        "validate",
        scenario.to_str().unwrap(),
        "--set",
        "banks.count=7",
    ]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("7 banks"));
    let bad = corridor(&[
        "validate",
        scenario.to_str().unwrap(),
        "--set",
        "banks.count=zero",
    ]);
    assert!(!bad.status.success());
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        msg.contains("banks.count") && msg.contains("--set"),
        "{msg}"
    );
}

#[test]
fn an_existing_output_directory_is_not_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep.txt"), "precious").unwrap();
    let out = small_run(&dir, "1");
    assert!(!out.status.success());
    assert_eq!(
        fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "precious"
    );
}
