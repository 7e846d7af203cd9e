//! Sharded batches end to end: `--shard I/N` on `run` and `sweep`, then `corridor merge`,
//! must give exactly the bytes one process writes, and a set of shards that is not one
//! complete batch must be refused with the offending shard named and nothing written.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use corridor_output::study::read_numeric_columns;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn corridor(args: &[&str]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("corridor runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Fails, and says why on stderr; returns stderr.
fn refused(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn poole() -> String {
    repo()
        .join("scenarios/poole_benchmark.toml")
        .to_str()
        .unwrap()
        .to_owned()
}

/// A small batch with a random forecast error (so runs differ and every statistic is
/// exercised), bank and trade records on.
fn run_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "run",
        &poole(),
        "--runs",
        "7",
        "--set",
        "calendar.business_days=25",
        "--set",
        "central_bank.fine_tuning.forecast_error_sd=3000",
        "--banks",
        "--trades",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    if !extra.contains(&"--seed") {
        a.extend(["--seed".to_string(), "11".to_string()]);
    }
    a
}

fn run(out: &Path, extra: &[&str]) -> Output {
    corridor(
        &run_args(out, extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
}

/// Every column of `paths`, read in order, as numbers (nulls as `None`): money, counts,
/// dates and rates all convert to `f64` exactly at these magnitudes.
fn rows(paths: &[PathBuf]) -> Vec<Vec<Option<f64>>> {
    let f = fs::File::open(&paths[0]).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .schema()
        .clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut out = vec![Vec::new(); names.len()];
    for p in paths {
        for (col, values) in out.iter_mut().zip(read_numeric_columns(p, &names).unwrap()) {
            col.extend(values);
        }
    }
    out
}

/// Three uneven shards (runs 0..2, 2..4, 4..7) on different thread counts, merged: the
/// summary is byte-identical to the single process's, and the shards' rows read in shard
/// order are exactly its daily, bank and trade rows.
#[test]
fn run_shards_merge_to_the_single_process_batch_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    let sharded = tmp.path().join("sharded");
    ok(&run(&single, &["--threads", "2"]));
    for (i, threads) in [(2, "1"), (0, "2"), (1, "1")] {
        ok(&run(
            &sharded,
            &["--shard", &format!("{i}/3"), "--threads", threads],
        ));
    }
    assert!(
        !sharded.join("summary.parquet").exists(),
        "shards write no summary"
    );
    ok(&corridor(&["merge", sharded.to_str().unwrap()]));

    assert_eq!(
        fs::read(single.join("summary.parquet")).unwrap(),
        fs::read(sharded.join("summary.parquet")).unwrap(),
        "merged summary.parquet differs from the single-process one"
    );
    for table in ["daily", "banks", "trades"] {
        let parts: Vec<PathBuf> = (0..3)
            .map(|i| sharded.join(format!("{table}/shard={i}/part-0.parquet")))
            .collect();
        let whole = rows(&[single.join(format!("{table}.parquet"))]);
        assert!(!whole[0].is_empty(), "{table} is empty");
        assert_eq!(rows(&parts), whole, "{table} rows differ");
    }

    // The merged manifest lists every part with its rows and says how many shards.
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sharded.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["shards"], 3);
    assert_eq!(m["runs"], 7);
    let names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "daily/shard=0/part-0.parquet");
    assert_eq!(names.len(), 3 * 3 + 1);
    assert_eq!(*names.last().unwrap(), "summary.parquet");
    let daily_rows: u64 = m["files"].as_array().unwrap()[..3]
        .iter()
        .map(|f| f["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(daily_rows, 7 * 25);

    // Each shard's manifest describes it.
    let s1: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sharded.join("shards/shard-1.json")).unwrap())
            .unwrap();
    assert_eq!(
        (
            s1["shard"].as_u64(),
            s1["shards"].as_u64(),
            s1["start"].as_u64(),
            s1["end"].as_u64()
        ),
        (Some(1), Some(3), Some(2), Some(4))
    );
    assert_eq!(s1["seed"], 11);
    assert_eq!(s1["complete"], true);
    assert_eq!(s1["scenario_sha256"].as_str().unwrap().len(), 64);

    // Merging again gives the same bytes (merge is idempotent).
    let before = files_under(&sharded);
    ok(&corridor(&["merge", sharded.to_str().unwrap()]));
    assert_eq!(files_under(&sharded), before);
}

fn sweep_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "sweep",
        &poole(),
        "--grid",
        "central_bank.reserve_target_per_bank=-100:100:5",
        "--runs",
        "3",
        "--set",
        "calendar.business_days=20",
        "--set",
        "central_bank.fine_tuning.forecast_error_sd=3000",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn sweep(out: &Path, extra: &[&str]) -> Output {
    corridor(
        &sweep_args(out, extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
}

/// A sweep of 5 points in 2 shards, merged: every file a single process writes
/// (`sweep.json`, each part file, `points.parquet`, `summary.parquet`, `manifest.json`) is
/// there with the same bytes, and nothing else but the shard manifests.
#[test]
fn sweep_shards_merge_to_the_single_process_sweep_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    let sharded = tmp.path().join("sharded");
    ok(&sweep(&single, &[]));
    ok(&sweep(&sharded, &["--shard", "1/2", "--threads", "1"]));
    ok(&sweep(&sharded, &["--shard", "0/2"]));
    assert!(!sharded.join("summary.parquet").exists());
    let o = corridor(&["merge", sharded.to_str().unwrap()]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 points x 3 runs"));

    let want = files_under(&single);
    let mut got = files_under(&sharded);
    let shard_files: Vec<String> = got
        .keys()
        .filter(|k| k.starts_with("shards/"))
        .cloned()
        .collect();
    assert_eq!(shard_files, ["shards/shard-0.json", "shards/shard-1.json"]);
    for k in shard_files {
        got.remove(&k);
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        assert!(
            got[name] == *bytes,
            "{name} differs from the single-process sweep"
        );
    }
    // Shard 0 of 2 has points 0..2 (floor(5/2) = 2), shard 1 points 2..5.
    let s0: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sharded.join("shards/shard-0.json")).unwrap())
            .unwrap();
    assert_eq!(
        (s0["start"].as_u64(), s0["end"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(s0["kind"], "sweep");
}

/// A shard's interrupted points are kept: `--resume` continues the shard, and without it
/// (or --force) the shard refuses to start.
#[test]
fn a_sweep_shard_resumes_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    ok(&sweep(&dir, &["--shard", "1/2"]));
    let e = refused(&sweep(&dir, &["--shard", "1/2"]));
    assert!(
        e.contains("shard 1/2 is already finished") && e.contains("--force"),
        "{e}"
    );
    // Simulate a shard killed after two of its three points: its manifest is incomplete.
    fs::remove_file(dir.join("daily/point=4/part-0.parquet")).unwrap();
    let m = dir.join("shards/shard-1.json");
    let text = fs::read_to_string(&m)
        .unwrap()
        .replace("\"complete\": true", "\"complete\": false");
    fs::write(&m, text).unwrap();
    let e = refused(&sweep(&dir, &["--shard", "1/2"]));
    assert!(
        e.contains("2 points of shard 1/2 are already there") && e.contains("--resume"),
        "{e}"
    );
    let o = sweep(&dir, &["--shard", "1/2", "--resume"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("resuming: 2 of 3 points"));
    assert!(dir.join("daily/point=4/part-0.parquet").exists());
    ok(&sweep(&dir, &["--shard", "0/2"]));
    ok(&corridor(&["merge", dir.to_str().unwrap()]));
    let single = tmp.path().join("single");
    ok(&sweep(&single, &[]));
    assert_eq!(
        fs::read(single.join("summary.parquet")).unwrap(),
        fs::read(dir.join("summary.parquet")).unwrap()
    );
}

fn no_merged_output(dir: &Path) {
    for f in ["summary.parquet", "manifest.json", "points.parquet"] {
        assert!(!dir.join(f).exists(), "a failed merge left {f}");
    }
    let hidden: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "temporary files left: {hidden:?}");
}

/// Each way a set of shards can fail to be one batch is refused at the merge, naming the
/// shard or file, and leaves no merged file behind.
#[test]
fn merge_refuses_missing_unfinished_mismatched_and_stray_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    ok(&run(&dir, &["--shard", "0/3"]));
    ok(&run(&dir, &["--shard", "2/3"]));

    let merge = || corridor(&["merge", dir.to_str().unwrap()]);
    let e = refused(&merge());
    assert!(
        e.contains("1 of 3 shards missing") && e.contains("shard 1;"),
        "{e}"
    );
    no_merged_output(&dir);

    ok(&run(&dir, &["--shard", "1/3"]));
    let m1 = dir.join("shards/shard-1.json");
    let good = fs::read_to_string(&m1).unwrap();

    // Unfinished (a shard still running, or killed).
    fs::write(
        &m1,
        good.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("1 of 3 shards not finished") && e.contains("shard 1"),
        "{e}"
    );
    no_merged_output(&dir);

    // Of another batch: another seed (written elsewhere, then copied in).
    let other = tmp.path().join("other");
    ok(&run(&other, &["--shard", "1/3", "--seed", "12"]));
    fs::copy(other.join("shards/shard-1.json"), &m1).unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("shards/shard-0.json and shards/shard-1.json are not shards of the same batch")
            && e.contains("seed is 11 in one and 12"),
        "{e}"
    );
    no_merged_output(&dir);

    // A manifest under the wrong name (a duplicate of shard 0).
    fs::write(
        &m1,
        fs::read_to_string(dir.join("shards/shard-0.json")).unwrap(),
    )
    .unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("shards/shard-1.json says it is shard 0/3"),
        "{e}"
    );
    no_merged_output(&dir);

    // A part file that does not match its manifest.
    fs::write(&m1, &good).unwrap();
    let part = dir.join("daily/shard=1/part-0.parquet");
    let bytes = fs::read(&part).unwrap();
    fs::copy(dir.join("daily/shard=2/part-0.parquet"), &part).unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("daily/shard=1/part-0.parquet has 75 rows, but shards/shard-1.json says 50"),
        "{e}"
    );
    fs::remove_file(&part).unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("lists daily/shard=1/part-0.parquet, which cannot be read"),
        "{e}"
    );
    no_merged_output(&dir);
    fs::write(&part, bytes).unwrap();

    // A partition no shard owns (left by an earlier array with more shards).
    fs::create_dir_all(dir.join("daily/shard=3")).unwrap();
    let e = refused(&merge());
    assert!(
        e.contains("found daily/shard=3, which no shard of this batch (3 shards) owns"),
        "{e}"
    );
    no_merged_output(&dir);
    fs::remove_dir(dir.join("daily/shard=3")).unwrap();

    ok(&merge());

    // Not a directory of shards at all.
    let single = tmp.path().join("single");
    ok(&run(&single, &[]));
    let e = refused(&corridor(&["merge", single.to_str().unwrap()]));
    assert!(e.contains("no shard manifests"), "{e}");
}

/// A shard refuses to start next to shards of another batch, to overwrite a finished shard
/// without --force, and to split fewer items than shards; bad --shard values name the rule.
#[test]
fn shards_refuse_bad_values_and_other_batches_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    ok(&run(&dir, &["--shard", "0/2"]));

    let e = refused(&run(&dir, &["--shard", "1/2", "--seed", "5"]));
    assert!(
        e.contains("shards/shard-0.json belongs to another batch (seed 11, this shard has 5)"),
        "{e}"
    );
    let e = refused(&run(&dir, &["--shard", "0/3"]));
    assert!(
        e.contains("belongs to another batch (shards 2, this shard has 3)"),
        "{e}"
    );
    assert!(
        !dir.join("shards/shard-1.json").exists(),
        "a refused shard wrote its manifest"
    );

    let e = refused(&run(&dir, &["--shard", "0/2"]));
    assert!(
        e.contains("shard 0/2 is already finished") && e.contains("--force"),
        "{e}"
    );
    ok(&run(&dir, &["--shard", "0/2", "--force"]));

    for (bad, want) in [
        ("2/2", "shards are numbered 0 to 1"),
        ("1/0", "at least 1"),
        ("a/2", "expected INDEX/COUNT"),
    ] {
        let e = refused(&run(&tmp.path().join("x"), &["--shard", bad]));
        assert!(e.contains(want), "--shard {bad}: {e}");
    }
    let e = refused(&run(&tmp.path().join("x"), &["--shard", "0/8"]));
    assert!(
        e.starts_with("error: --shard 0/8: 7 runs cannot be split into 8 shards"),
        "{e}"
    );
    let e = refused(&sweep(&tmp.path().join("x"), &["--shard", "0/6"]));
    assert!(
        e.starts_with("error: --shard 0/6: 5 points cannot be split into 6 shards"),
        "{e}"
    );
    assert!(
        !tmp.path().join("x").exists(),
        "a refused shard created its directory"
    );

    // After a merge, a shard is recomputed only with --force, which removes the merged files.
    ok(&run(&dir, &["--shard", "1/2"]));
    ok(&corridor(&["merge", dir.to_str().unwrap()]));
    let e = refused(&run(&dir, &["--shard", "1/2"]));
    assert!(e.contains("already finished"), "{e}");
    ok(&run(&dir, &["--shard", "1/2", "--force"]));
    assert!(!dir.join("summary.parquet").exists() && !dir.join("manifest.json").exists());
}
