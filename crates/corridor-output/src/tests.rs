//! Tests of the output layer: schemas, metadata, statistics, determinism and atomicity.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use corridor_model::{
    BankDayRecord, Date, DayRecord, Money, OperationRecord, RecordOptions, RunRecords,
    SecuritiesRecord, TradeRecord,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::summary::{
    STATS, SUMMARY_VARS, describe, quantile_linear, summarize_daily_with, summarize_paths_with,
};
use crate::table::{DailyTable, Layout, Table, schema_with_meta, writer_properties};
use crate::*;

// ---- fixtures ---------------------------------------------------------------------------

fn meta(runs: u32) -> OutputMeta {
    OutputMeta {
        scenario_name: "test-scenario".into(),
        scenario_toml: "[scenario]\nname = \"test-scenario\"\ndays = 6\n".into(),
        seed: 42,
        runs,
        money_minor_unit: "SEK".into(),
        corridor_version: "0.1.0-test".into(),
    }
}

const START: i32 = 16_436; // 2015-01-01

fn day_record(day: u32, rate: Option<f64>, volume: i64, reserves: i64) -> DayRecord {
    DayRecord {
        day,
        date: Date(START + day as i32),
        overnight_rate_bp: rate,
        volume: Money(volume),
        trade_count: (volume / 100) as u32,
        policy_rate_bp: -10.0,
        deposit_rate_bp: -85.0,
        lending_rate_bp: 65.0,
        reserves_total: Money(reserves),
        reserves_target: Money(1_000_000),
        lending_facility_use: Money(reserves / 7),
        deposit_facility_use: Money(reserves / 3),
        fine_tuning_amount: Money(-(day as i64) * 11),
        autonomous_factors: Money(-5 * volume),
        intraday_credit_peak: Money(2 * volume + 1),
        queued_payments: Money(day as i64 * 13),
        reserves_required: Money(500_000 + day as i64),
        maintenance_day: day % 7 + 1,
        nonbank_lending: Money(volume / 2),
        reverse_repo_use: Money(3 * day as i64),
        rate_p01_bp: rate.map(|r| r - 3.0),
        rate_p25_bp: rate.map(|r| r - 1.0),
        rate_p75_bp: rate.map(|r| r + 1.0),
        rate_p99_bp: rate.map(|r| r + 3.0),
        active_lenders: (volume % 7) as u32,
        active_borrowers: (volume % 5) as u32,
        top5_lender_share: rate.map(|_| 0.25 + (day % 4) as f64 / 8.0),
        cb_securities: Money(9 * reserves + 17),
        cb_repo_lending: Money(day as i64 * 5),
        cb_lending_facility: Money(reserves / 7),
        cb_reserves: Money(reserves),
        cb_term_deposits: Money(day as i64 * 3),
        cb_currency: Money(4 * reserves),
        cb_government: Money(2 * reserves + 19),
        cb_other_liabilities: Money(volume / 2),
        cb_capital: Money(-(day as i64)),
    }
}

/// A small deterministic generator, so test data has no pattern the code could exploit.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// `runs` runs of `days` days with varied values, null rates (about one in four, all of
/// day 2, all but run 0 on day 3), a few banks and trades.
fn synthetic_runs(runs: u32, days: u32) -> Vec<RunRecords> {
    let mut rng = Lcg(7);
    (0..runs)
        .map(|run| {
            let mut rec = RunRecords {
                run,
                ..Default::default()
            };
            for day in 0..days {
                let r = rng.next();
                let value = Some(-85.0 + (r % 15_000) as f64 / 100.0);
                let rate = match day {
                    2 => None,
                    3 => value.filter(|_| run == 0),
                    _ if r.is_multiple_of(4) => None,
                    _ => value,
                };
                let volume = (rng.next() % 1_000_000) as i64;
                let reserves = (rng.next() % 50_000_000) as i64 - 10_000_000;
                rec.days.push(day_record(day, rate, volume, reserves));
                for bank in 0..3 {
                    rec.banks.push(BankDayRecord {
                        day,
                        bank,
                        reserves: Money(reserves / 3 + bank as i64),
                        securities: Money(1),
                        loans: Money(2),
                        interbank_lent: Money(3),
                        cb_term_deposit: Money(4),
                        deposits: Money(5),
                        interbank_borrowed: Money(6),
                        lending_facility: Money(7),
                        cb_repo: Money(8),
                        equity: Money(9),
                        deposit_facility: Money(10),
                        required_reserves: Money(11 + bank as i64),
                        avg_borrowing_rate_bp: rate.filter(|_| bank == 1),
                        avg_lending_rate_bp: rate.filter(|_| bank == 0).map(|r| r - 0.5),
                    });
                }
                for _ in 0..(rng.next() % 3) {
                    rec.trades.push(TradeRecord {
                        day,
                        lender: 0,
                        borrower: 1,
                        amount: Money(volume),
                        rate_bp: rate.unwrap_or(0.0),
                        round: (rng.next() % 10) as u32,
                    });
                }
                for k in 0..(rng.next() % 3) {
                    let amount = (rng.next() % 100_000) as i64;
                    rec.operations.push(OperationRecord {
                        day,
                        date: Date(START + day as i32),
                        operation: ["fine_tuning_repo", "purchase", "main_deposit"][k as usize],
                        class: if k == 1 {
                            "bonds".into()
                        } else {
                            String::new()
                        },
                        amount: Money(amount),
                        reserve_effect: Money(if k == 2 { -amount } else { amount }),
                        rate_bp: (k != 1).then_some(-10.0 + k as f64),
                        marginal_rate_bp: (k == 2).then_some(-9.5),
                        counterparties: k as u32 + 2,
                    });
                }
                for class in ["bills", "bonds"] {
                    rec.securities.push(SecuritiesRecord {
                        day,
                        class: class.into(),
                        central_bank: Money(reserves / 2),
                        banks: Money(volume),
                        investors: Money(day as i64),
                    });
                }
            }
            rec
        })
        .collect()
}

fn all_options() -> RecordOptions {
    RecordOptions {
        banks: true,
        trades: true,
    }
}

fn write_batch(
    dir: &Path,
    runs: &[RunRecords],
    options: RecordOptions,
    layout: Layout,
    block_bytes: usize,
) -> Manifest {
    let mut w = BatchWriter::create_with(
        dir,
        meta(runs.len() as u32),
        options,
        false,
        layout,
        block_bytes,
    )
    .unwrap();
    for run in runs {
        w.write_run(run).unwrap();
    }
    w.finish().unwrap()
}

struct Read {
    schema: SchemaRef,
    kv: BTreeMap<String, String>,
    batches: Vec<RecordBatch>,
    row_groups: usize,
}

fn read(path: &Path) -> Read {
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let row_groups = builder.metadata().num_row_groups();
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Read {
        schema,
        kv,
        batches,
        row_groups,
    }
}

impl Read {
    fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn f64s(&self, name: &str) -> Vec<Option<f64>> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = b
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>();
            out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
        }
        out
    }

    fn u32s(&self, name: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = b.column_by_name(name).unwrap().as_primitive::<UInt32Type>();
            assert_eq!(a.null_count(), 0);
            out.extend(a.values().iter().copied());
        }
        out
    }

    fn i64s(&self, name: &str) -> Vec<i64> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = b.column_by_name(name).unwrap().as_primitive::<Int64Type>();
            assert_eq!(a.null_count(), 0);
            out.extend(a.values().iter().copied());
        }
        out
    }

    fn dates(&self, name: &str) -> Vec<i32> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = b.column_by_name(name).unwrap().as_primitive::<Date32Type>();
            out.extend(a.values().iter().copied());
        }
        out
    }
}

fn assert_close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
            "{what}: got {g}, want {w}"
        ),
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

fn expected_kv() -> Vec<(&'static str, String)> {
    let m = meta(5);
    vec![
        ("corridor.scenario", m.scenario_toml),
        ("corridor.scenario_name", m.scenario_name),
        ("corridor.seed", "42".into()),
        ("corridor.runs", "5".into()),
        ("corridor.version", m.corridor_version),
        ("corridor.money_unit", "SEK".into()),
        ("corridor.rate_unit", "bp (basis points, annual)".into()),
    ]
}

fn assert_metadata(r: &Read, what: &str) {
    for (k, v) in expected_kv() {
        assert_eq!(r.kv.get(k), Some(&v), "{what}: Parquet key {k}");
        assert_eq!(
            r.schema.metadata().get(k),
            Some(&v),
            "{what}: Arrow key {k}"
        );
    }
    // The embedded Arrow schema (what pyarrow reads) must carry the keys itself, not only
    // inherit them from the footer.
    assert!(r.kv.contains_key("ARROW:schema"), "{what}: ARROW:schema");
}

fn schema_of(r: &Read) -> Vec<(String, DataType, bool)> {
    r.schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect()
}

fn cols(spec: &[(&str, DataType, bool)]) -> Vec<(String, DataType, bool)> {
    spec.iter()
        .map(|(n, t, null)| (n.to_string(), t.clone(), *null))
        .collect()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---- schemas, metadata, row counts ------------------------------------------------------

#[test]
fn files_have_documented_schemas_metadata_and_rows() {
    use DataType::*;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("batch");
    let runs = synthetic_runs(5, 6);
    let manifest = write_batch(
        &out,
        &runs,
        all_options(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );

    assert_eq!(
        dir_entries(tmp.path()),
        vec!["batch".to_string()],
        "only the final directory is left"
    );
    assert_eq!(
        dir_entries(&out),
        vec![
            "banks.parquet",
            "daily.parquet",
            "manifest.json",
            "operations.parquet",
            "securities.parquet",
            "summary.parquet",
            "trades.parquet"
        ]
    );

    let n_banks: usize = runs.iter().map(|r| r.banks.len()).sum();
    let n_trades: usize = runs.iter().map(|r| r.trades.len()).sum();
    assert!(n_trades > 0);
    let n_operations: usize = runs.iter().map(|r| r.operations.len()).sum();
    assert!(n_operations > 0);
    let names: Vec<(&str, u64)> = manifest
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.rows))
        .collect();
    assert_eq!(
        names,
        vec![
            ("daily.parquet", 30),
            ("banks.parquet", n_banks as u64),
            ("trades.parquet", n_trades as u64),
            ("operations.parquet", n_operations as u64),
            ("securities.parquet", 60),
            ("summary.parquet", 6),
        ]
    );

    // daily.parquet
    let daily = read(&out.join(DAILY_FILE));
    assert_eq!(
        schema_of(&daily),
        cols(&[
            ("run", UInt32, false),
            ("day", UInt32, false),
            ("date", Date32, false),
            ("overnight_rate_bp", Float64, true),
            ("volume", Int64, false),
            ("trade_count", UInt32, false),
            ("policy_rate_bp", Float64, false),
            ("deposit_rate_bp", Float64, false),
            ("lending_rate_bp", Float64, false),
            ("reserves_total", Int64, false),
            ("reserves_target", Int64, false),
            ("lending_facility_use", Int64, false),
            ("deposit_facility_use", Int64, false),
            ("fine_tuning_amount", Int64, false),
            ("autonomous_factors", Int64, false),
            ("intraday_credit_peak", Int64, false),
            ("queued_payments", Int64, false),
            ("reserves_required", Int64, false),
            ("maintenance_day", UInt32, false),
            ("nonbank_lending", Int64, false),
            ("reverse_repo_use", Int64, false),
            ("rate_p01_bp", Float64, true),
            ("rate_p25_bp", Float64, true),
            ("rate_p75_bp", Float64, true),
            ("rate_p99_bp", Float64, true),
            ("active_lenders", UInt32, false),
            ("active_borrowers", UInt32, false),
            ("top5_lender_share", Float64, true),
            ("cb_securities", Int64, false),
            ("cb_repo_lending", Int64, false),
            ("cb_lending_facility", Int64, false),
            ("cb_reserves", Int64, false),
            ("cb_term_deposits", Int64, false),
            ("cb_currency", Int64, false),
            ("cb_government", Int64, false),
            ("cb_other_liabilities", Int64, false),
            ("cb_capital", Int64, false),
        ])
    );
    assert_metadata(&daily, "daily");
    assert_eq!(daily.rows(), 30);
    assert_eq!(
        daily.i64s("cb_government"),
        runs.iter()
            .flat_map(|r| r.days.iter().map(|d| d.cb_government.0))
            .collect::<Vec<_>>()
    );

    // operations.parquet and securities.parquet: names are strings (Parquet
    // dictionary-encodes them on disk).
    let utf8_dict = || Utf8;
    let operations = read(&out.join(OPERATIONS_FILE));
    assert_eq!(
        schema_of(&operations),
        cols(&[
            ("run", UInt32, false),
            ("day", UInt32, false),
            ("date", Date32, false),
            ("operation", utf8_dict(), false),
            ("class", utf8_dict(), false),
            ("amount", Int64, false),
            ("reserve_effect", Int64, false),
            ("rate_bp", Float64, true),
            ("marginal_rate_bp", Float64, true),
            ("counterparties", UInt32, false),
        ])
    );
    assert_metadata(&operations, "operations");
    let all_ops: Vec<&OperationRecord> = runs.iter().flat_map(|r| &r.operations).collect();
    assert_eq!(
        operations.i64s("reserve_effect"),
        all_ops
            .iter()
            .map(|o| o.reserve_effect.0)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        operations.f64s("marginal_rate_bp"),
        all_ops
            .iter()
            .map(|o| o.marginal_rate_bp)
            .collect::<Vec<_>>()
    );
    let securities = read(&out.join(SECURITIES_FILE));
    assert_eq!(
        schema_of(&securities),
        cols(&[
            ("run", UInt32, false),
            ("day", UInt32, false),
            ("class", utf8_dict(), false),
            ("central_bank", Int64, false),
            ("banks", Int64, false),
            ("investors", Int64, false),
        ])
    );
    assert_eq!(securities.rows(), 60);
    // Values round-trip, in run-major, day-minor order.
    let flat: Vec<(u32, &DayRecord)> = runs
        .iter()
        .flat_map(|r| r.days.iter().map(move |d| (r.run, d)))
        .collect();
    assert_eq!(
        daily.u32s("run"),
        flat.iter().map(|x| x.0).collect::<Vec<_>>()
    );
    assert_eq!(
        daily.u32s("day"),
        flat.iter().map(|x| x.1.day).collect::<Vec<_>>()
    );
    assert_eq!(
        daily.dates("date"),
        flat.iter().map(|x| x.1.date.0).collect::<Vec<_>>()
    );
    assert_eq!(
        daily.f64s("overnight_rate_bp"),
        flat.iter()
            .map(|x| x.1.overnight_rate_bp)
            .collect::<Vec<_>>()
    );
    assert!(daily.f64s("overnight_rate_bp").iter().any(|r| r.is_none()));
    assert_eq!(
        daily.i64s("queued_payments"),
        flat.iter()
            .map(|x| x.1.queued_payments.0)
            .collect::<Vec<_>>()
    );
    for (name, field) in [
        (
            "reserves_required",
            (|d: &DayRecord| d.reserves_required) as fn(&DayRecord) -> Money,
        ),
        ("nonbank_lending", |d| d.nonbank_lending),
        ("reverse_repo_use", |d| d.reverse_repo_use),
    ] {
        assert_eq!(
            daily.i64s(name),
            flat.iter().map(|x| field(x.1).0).collect::<Vec<_>>(),
            "{name}"
        );
    }
    assert_eq!(
        daily.u32s("maintenance_day"),
        flat.iter().map(|x| x.1.maintenance_day).collect::<Vec<_>>()
    );
    for col in ["rate_p01_bp", "rate_p99_bp", "top5_lender_share"] {
        let want: Vec<Option<f64>> = flat
            .iter()
            .map(|x| match col {
                "rate_p01_bp" => x.1.rate_p01_bp,
                "rate_p99_bp" => x.1.rate_p99_bp,
                _ => x.1.top5_lender_share,
            })
            .collect();
        assert_eq!(daily.f64s(col), want, "{col}");
    }
    assert_eq!(
        daily.u32s("active_lenders"),
        flat.iter().map(|x| x.1.active_lenders).collect::<Vec<_>>()
    );
    assert_eq!(
        daily.i64s("fine_tuning_amount"),
        flat.iter()
            .map(|x| x.1.fine_tuning_amount.0)
            .collect::<Vec<_>>()
    );

    // banks.parquet
    let banks = read(&out.join(BANKS_FILE));
    let mut want = vec![
        ("run", UInt32, false),
        ("day", UInt32, false),
        ("bank", UInt32, false),
    ];
    for name in [
        "reserves",
        "securities",
        "loans",
        "interbank_lent",
        "cb_term_deposit",
        "deposits",
        "interbank_borrowed",
        "lending_facility",
        "cb_repo",
        "equity",
        "deposit_facility",
        "required_reserves",
    ] {
        want.push((name, Int64, false));
    }
    want.push(("avg_borrowing_rate_bp", Float64, true));
    want.push(("avg_lending_rate_bp", Float64, true));
    assert_eq!(schema_of(&banks), cols(&want));
    assert_metadata(&banks, "banks");
    assert_eq!(banks.rows(), n_banks);
    assert_eq!(banks.i64s("deposit_facility"), vec![10; n_banks]);
    assert_eq!(
        banks.i64s("required_reserves"),
        (0..n_banks)
            .map(|i| 11 + (i % 3) as i64)
            .collect::<Vec<_>>()
    );
    let lending: Vec<Option<f64>> = runs
        .iter()
        .flat_map(|r| r.banks.iter().map(|b| b.avg_lending_rate_bp))
        .collect();
    assert_eq!(banks.f64s("avg_lending_rate_bp"), lending);
    assert!(lending.iter().any(|r| r.is_none()) && lending.iter().any(|r| r.is_some()));

    // trades.parquet
    let trades = read(&out.join(TRADES_FILE));
    assert_eq!(
        schema_of(&trades),
        cols(&[
            ("run", UInt32, false),
            ("day", UInt32, false),
            ("lender", UInt32, false),
            ("borrower", UInt32, false),
            ("amount", Int64, false),
            ("rate_bp", Float64, false),
            ("round", UInt32, false),
        ])
    );
    assert_metadata(&trades, "trades");
    assert_eq!(trades.rows(), n_trades);
    assert_eq!(
        trades.u32s("round"),
        runs.iter()
            .flat_map(|r| r.trades.iter().map(|t| t.round))
            .collect::<Vec<_>>()
    );

    // summary.parquet
    let summary = read(&out.join(SUMMARY_FILE));
    let mut want = vec![
        ("day".to_string(), UInt32, false),
        ("date".to_string(), Date32, false),
        ("runs".to_string(), UInt32, false),
        ("overnight_rate_count".to_string(), UInt32, false),
    ];
    for var in [
        "overnight_rate_bp",
        "volume",
        "reserves_total",
        "lending_facility_use",
        "deposit_facility_use",
    ] {
        for stat in ["mean", "std", "p05", "p25", "p50", "p75", "p95"] {
            want.push((format!("{var}_{stat}"), Float64, true));
        }
    }
    assert_eq!(schema_of(&summary), want);
    assert_metadata(&summary, "summary");
    assert_eq!(summary.rows(), 6);
    assert_eq!(summary.u32s("day"), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(
        summary.dates("date"),
        (0..6).map(|d| START + d).collect::<Vec<_>>()
    );
    assert_eq!(summary.u32s("runs"), vec![5; 6]);

    // manifest.json
    let text = fs::read_to_string(out.join(MANIFEST_FILE)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["corridor_version"], "0.1.0-test");
    assert_eq!(json["scenario"], "test-scenario");
    assert_eq!(json["seed"], 42);
    assert_eq!(json["runs"], 5);
    assert_eq!(json["files"][0]["name"], "daily.parquet");
    assert_eq!(json["files"][0]["rows"], 30);
    assert_eq!(json["files"][5]["name"], "summary.parquet");
    assert!(text.starts_with("{\n  \"corridor_version\""), "{text}");
    let parsed: Manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, manifest);
}

#[test]
fn optional_files_are_absent_unless_requested() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let m = write_batch(
        &out,
        &synthetic_runs(2, 3),
        RecordOptions::default(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );
    assert_eq!(
        dir_entries(&out),
        vec![
            "daily.parquet",
            "manifest.json",
            "operations.parquet",
            "securities.parquet",
            "summary.parquet"
        ]
    );
    let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "daily.parquet",
            "operations.parquet",
            "securities.parquet",
            "summary.parquet"
        ]
    );
}

// ---- summary statistics -----------------------------------------------------------------

#[test]
fn summary_matches_hand_computed_statistics() {
    // Five runs, three days.
    // Day 0: rates 3, 1, 4, 1.5, 9 (sorted 1, 1.5, 3, 4, 9).
    //   mean = 18.5 / 5 = 3.7
    //   deviations -0.7, -2.7, 0.3, -2.2, 5.3; squares sum to 40.8; std = sqrt(40.8 / 4)
    //   numpy linear: h = (n - 1) q = 4q
    //     p05: h = 0.2 -> 1 + 0.2 * (1.5 - 1) = 1.1
    //     p25: h = 1   -> 1.5
    //     p50: h = 2   -> 3
    //     p75: h = 3   -> 4
    //     p95: h = 3.8 -> 4 + 0.8 * (9 - 4) = 8
    //   volumes 100, 300, 200, 500, 400 (sorted 100..500 step 100)
    //     mean 300, std = sqrt((4 + 1 + 0 + 1 + 4) e4 / 4) = sqrt(25000)
    //     p05 = 100 + 0.2 * 100 = 120, p25 200, p50 300, p75 400, p95 = 400 + 0.8 * 100 = 480
    // Day 1: only run 1 has a rate (2.0): count 1, mean 2, std null, every quantile 2.
    // Day 2: no rates: count 0, every rate statistic null.
    let rates0 = [3.0, 1.0, 4.0, 1.5, 9.0];
    let volumes0 = [100, 300, 200, 500, 400];
    let runs: Vec<RunRecords> = (0..5u32)
        .map(|run| RunRecords {
            run,
            days: vec![
                day_record(0, Some(rates0[run as usize]), volumes0[run as usize], 1_000),
                day_record(1, (run == 1).then_some(2.0), 7, -3_000),
                day_record(2, None, 0, 0),
            ],
            ..Default::default()
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hand");
    write_batch(
        &out,
        &runs,
        RecordOptions::default(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );
    let s = read(&out.join(SUMMARY_FILE));
    assert_eq!(s.rows(), 3);
    assert_eq!(s.u32s("runs"), vec![5, 5, 5]);
    assert_eq!(s.u32s("overnight_rate_count"), vec![5, 1, 0]);

    let col = |name: &str| s.f64s(name);
    let std0 = (40.8_f64 / 4.0).sqrt();
    let want_rate: [(&str, [Option<f64>; 3]); 7] = [
        ("mean", [Some(3.7), Some(2.0), None]),
        ("std", [Some(std0), None, None]),
        ("p05", [Some(1.1), Some(2.0), None]),
        ("p25", [Some(1.5), Some(2.0), None]),
        ("p50", [Some(3.0), Some(2.0), None]),
        ("p75", [Some(4.0), Some(2.0), None]),
        ("p95", [Some(8.0), Some(2.0), None]),
    ];
    for (stat, want) in want_rate {
        let got = col(&format!("overnight_rate_bp_{stat}"));
        for d in 0..3 {
            assert_close(got[d], want[d], &format!("rate {stat} day {d}"));
        }
    }
    let want_volume: [(&str, f64); 7] = [
        ("mean", 300.0),
        ("std", 25_000f64.sqrt()),
        ("p05", 120.0),
        ("p25", 200.0),
        ("p50", 300.0),
        ("p75", 400.0),
        ("p95", 480.0),
    ];
    for (stat, want) in want_volume {
        let got = col(&format!("volume_{stat}"));
        assert_close(got[0], Some(want), &format!("volume {stat} day 0"));
        // Day 1: every run has volume 7: std 0, all quantiles 7.
        let want1 = if stat == "std" { 0.0 } else { 7.0 };
        assert_close(got[1], Some(want1), &format!("volume {stat} day 1"));
    }
    // Negative money survives: reserves -3000 everywhere on day 1; lending use = -3000/7.
    assert_close(col("reserves_total_p05")[1], Some(-3000.0), "reserves p05");
    assert_close(
        col("lending_facility_use_mean")[1],
        Some((-3000 / 7) as f64),
        "lending mean",
    );
    assert_close(
        col("deposit_facility_use_p95")[0],
        Some((1000 / 3) as f64),
        "deposit p95",
    );
}

/// Independent reference: plain sums and the textbook form of linear interpolation.
fn naive_stats(mut xs: Vec<f64>) -> [Option<f64>; 7] {
    if xs.is_empty() {
        return [None; 7];
    }
    let n = xs.len();
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = xs.iter().sum::<f64>() / n as f64;
    let std = (n > 1)
        .then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let q = |p: f64| {
        let h = (n - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        let g = h - lo as f64;
        xs[lo] * (1.0 - g) + xs[hi] * g
    };
    [
        Some(mean),
        std,
        Some(q(0.05)),
        Some(q(0.25)),
        Some(q(0.5)),
        Some(q(0.75)),
        Some(q(0.95)),
    ]
}

#[test]
fn summary_matches_naive_reference_on_varied_data() {
    let runs = synthetic_runs(23, 9);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("v");
    write_batch(
        &out,
        &runs,
        RecordOptions::default(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );
    let s = read(&out.join(SUMMARY_FILE));
    assert_eq!(s.rows(), 9);

    let value = |d: &DayRecord, var: &str| -> Option<f64> {
        match var {
            "overnight_rate_bp" => d.overnight_rate_bp,
            "volume" => Some(d.volume.0 as f64),
            "reserves_total" => Some(d.reserves_total.0 as f64),
            "lending_facility_use" => Some(d.lending_facility_use.0 as f64),
            "deposit_facility_use" => Some(d.deposit_facility_use.0 as f64),
            _ => unreachable!(),
        }
    };
    let counts = s.u32s("overnight_rate_count");
    for day in 0..9u32 {
        let rates: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.days[day as usize].overnight_rate_bp)
            .collect();
        assert_eq!(
            counts[day as usize] as usize,
            rates.len(),
            "count day {day}"
        );
        for var in SUMMARY_VARS {
            let xs: Vec<f64> = runs
                .iter()
                .filter_map(|r| value(&r.days[day as usize], var))
                .collect();
            let want = naive_stats(xs);
            for (j, stat) in STATS.iter().enumerate() {
                let got = s.f64s(&format!("{var}_{stat}"))[day as usize];
                assert_close(got, want[j], &format!("{var}_{stat} day {day}"));
            }
        }
    }
    // The fixture really exercises the edge cases.
    assert_eq!(counts[2], 0);
    assert_eq!(counts[3], 1);
    assert!(s.f64s("overnight_rate_bp_std")[3].is_none());
}

#[test]
fn quantiles_follow_numpy_linear() {
    // np.quantile([1, 2, 3, 4], [0.05, 0.25, 0.5, 0.75, 0.95])
    //   = [1.15, 1.75, 2.5, 3.25, 3.85]
    let xs = [1.0, 2.0, 3.0, 4.0];
    for (q, want) in [
        (0.05, 1.15),
        (0.25, 1.75),
        (0.5, 2.5),
        (0.75, 3.25),
        (0.95, 3.85),
    ] {
        assert!((quantile_linear(&xs, q) - want).abs() < 1e-12, "q {q}");
    }
    assert_eq!(quantile_linear(&[5.0], 0.95), 5.0);
    assert_eq!(quantile_linear(&xs, 1.0), 4.0);
    assert_eq!(quantile_linear(&xs, 0.0), 1.0);
    let mut one = [2.5];
    assert_eq!(
        describe(&mut one),
        [
            Some(2.5),
            None,
            Some(2.5),
            Some(2.5),
            Some(2.5),
            Some(2.5),
            Some(2.5)
        ]
    );
    assert_eq!(describe(&mut []), [None; 7]);
}

#[test]
fn day_blocks_give_identical_summary_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("blocks");
    let runs = synthetic_runs(11, 11);
    // Small batches and row groups so every pass crosses several of them.
    let layout = Layout {
        batch_rows: 4,
        max_row_group_rows: 13,
        data_page_rows: 3,
    };
    write_batch(&out, &runs, RecordOptions::default(), layout, usize::MAX);
    let daily = out.join(DAILY_FILE);
    assert!(read(&daily).row_groups > 5);

    let m = meta(11);
    let row_bytes = SUMMARY_VARS.len() * 8;
    let mut outputs = Vec::new();
    for (budget, want_blocks) in [
        (usize::MAX, 1),
        (11 * row_bytes * 3, 4), // three days per block: 3 + 3 + 3 + 2
        (11 * row_bytes * 3 + 7, 4),
        (1, 11), // below one day: one day per block
    ] {
        let path = tmp.path().join(format!("summary-{budget}.parquet"));
        let (rows, blocks) = summarize_daily_with(&daily, &path, &m, budget, layout).unwrap();
        assert_eq!(rows, 11);
        assert_eq!(blocks, want_blocks, "budget {budget}");
        outputs.push(fs::read(&path).unwrap());
    }
    for o in &outputs[1..] {
        assert!(o == &outputs[0], "summary bytes depend on the block size");
    }
    // And the writer's own summary (single block) is the same file.
    assert_eq!(fs::read(out.join(SUMMARY_FILE)).unwrap(), outputs[0]);

    // The public entry point agrees with the default layout.
    let a = tmp.path().join("public.parquet");
    let b = tmp.path().join("tiny.parquet");
    assert_eq!(summarize_daily(&daily, &a, &m).unwrap(), 11);
    summarize_daily_with(&daily, &b, &m, 1, Layout::default()).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
}

// ---- determinism ------------------------------------------------------------------------

fn file_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    dir_entries(dir)
        .into_iter()
        .map(|n| {
            let bytes = fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

#[test]
fn chunking_and_location_do_not_change_bytes() {
    let runs = synthetic_runs(9, 7);
    let layout = Layout {
        batch_rows: 5,
        max_row_group_rows: 12,
        data_page_rows: 3,
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    // Like the runner with 1, 2 and 4 threads: runs arrive in chunks of different sizes,
    // with a pause (a chunk collected into a Vec) between chunks, in different directories.
    for (i, chunk) in [1usize, 2, 4, 9].into_iter().enumerate() {
        let out = tmp
            .path()
            .join(format!("sub{i}"))
            .join(format!("name-{chunk}"));
        let mut w =
            BatchWriter::create_with(&out, meta(9), all_options(), false, layout, 97 * i + 1)
                .unwrap();
        for group in runs.chunks(chunk) {
            let collected: Vec<RunRecords> = group.to_vec();
            for run in &collected {
                w.write_run(run).unwrap();
            }
        }
        w.finish().unwrap();
        results.push(file_bytes(&out));
    }
    assert_eq!(results[0].len(), 7);
    for r in &results[1..] {
        assert!(
            r == &results[0],
            "output bytes depend on chunking or location"
        );
    }
}

/// The daily file equals what one gets by concatenating all rows and handing them to the
/// Parquet writer in slices of exactly `batch_rows`: batch boundaries do not follow runs.
#[test]
fn batches_have_fixed_size_regardless_of_run_lengths() {
    // Runs of uneven lengths (3, 10, 1, 8 days), so run and batch boundaries differ.
    let lengths = [3u32, 10, 1, 8];
    let mut runs = synthetic_runs(4, 10);
    for (run, len) in runs.iter_mut().zip(lengths) {
        run.days.truncate(len as usize);
    }
    let layout = Layout {
        batch_rows: 7,
        max_row_group_rows: 16,
        data_page_rows: 3,
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("uneven");
    write_batch(&out, &runs, RecordOptions::default(), layout, usize::MAX);

    let m = meta(4);
    let mut table = DailyTable::with_capacity(32);
    for run in &runs {
        for d in &run.days {
            table.append(run.run, d);
        }
    }
    let schema = schema_with_meta(DailyTable::fields(), &m);
    let all = RecordBatch::try_new(Arc::clone(&schema), table.finish_columns()).unwrap();
    assert_eq!(all.num_rows(), 22);
    let mut reference = Vec::new();
    let props = writer_properties(&m, &schema, layout);
    let mut w = ArrowWriter::try_new(&mut reference, schema, Some(props)).unwrap();
    let mut offset = 0;
    while offset < all.num_rows() {
        let len = 7.min(all.num_rows() - offset);
        w.write(&all.slice(offset, len)).unwrap();
        offset += len;
    }
    w.close().unwrap();
    assert!(
        fs::read(out.join(DAILY_FILE)).unwrap() == reference,
        "daily.parquet is not the canonical fixed-batch encoding of its rows"
    );
}

// ---- atomicity and errors ---------------------------------------------------------------

#[test]
fn dropping_without_finish_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dropped");
    {
        let mut w = BatchWriter::create(&out, meta(3), all_options(), false).unwrap();
        assert!(w.temp_dir().is_dir());
        assert!(w.temp_dir().starts_with(tmp.path()));
        assert!(w.temp_dir().join(DAILY_FILE).is_file());
        for run in &synthetic_runs(2, 4) {
            w.write_run(run).unwrap();
        }
    }
    assert!(
        dir_entries(tmp.path()).is_empty(),
        "{:?}",
        dir_entries(tmp.path())
    );
}

#[test]
fn failing_finish_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("short");
    // Declares 3 runs but receives 2.
    let mut w = BatchWriter::create(&out, meta(3), all_options(), false).unwrap();
    for run in &synthetic_runs(2, 4) {
        w.write_run(run).unwrap();
    }
    let err = w.finish().unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::RunCount {
                written: 2,
                declared: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("short"), "{err}");
    assert!(
        dir_entries(tmp.path()).is_empty(),
        "{:?}",
        dir_entries(tmp.path())
    );
}

#[test]
fn runs_must_arrive_in_increasing_order() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("order");
    let runs = synthetic_runs(3, 2);
    let mut w = BatchWriter::create(&out, meta(3), RecordOptions::default(), false).unwrap();
    w.write_run(&runs[1]).unwrap();
    let err = w.write_run(&runs[0]).unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::RunOrder {
                run: 0,
                previous: 1,
                ..
            }
        ),
        "{err}"
    );
    drop(w);
    assert!(dir_entries(tmp.path()).is_empty());
}

#[test]
fn existing_directory_is_refused_or_replaced_at_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("existing");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("old.txt"), "old").unwrap();

    let err = BatchWriter::create(&out, meta(2), RecordOptions::default(), false)
        .err()
        .expect("existing directory must be refused");
    assert!(matches!(err, OutputError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("existing"), "{err}");
    assert_eq!(dir_entries(tmp.path()), vec!["existing"]);

    // A failed replacement keeps the old content and leaves no temporary directory.
    let runs = synthetic_runs(2, 3);
    let mut failing = BatchWriter::create(&out, meta(5), RecordOptions::default(), true).unwrap();
    failing.write_run(&runs[0]).unwrap();
    assert!(failing.finish().is_err());
    assert!(out.join("old.txt").is_file());
    assert_eq!(dir_entries(tmp.path()), vec!["existing"]);

    // Replacing: the old content survives until finish().
    let mut w = BatchWriter::create(&out, meta(2), RecordOptions::default(), true).unwrap();
    for run in &runs {
        w.write_run(run).unwrap();
    }
    assert!(out.join("old.txt").is_file());

    // A second writer for the same directory in the same process is refused, without
    // disturbing the first one's temporary directory.
    let err = BatchWriter::create(&out, meta(2), RecordOptions::default(), true)
        .err()
        .expect("temp dir in use");
    assert!(matches!(err, OutputError::TempDirExists { .. }), "{err}");
    assert!(w.temp_dir().join(DAILY_FILE).is_file());

    w.finish().unwrap();
    assert_eq!(
        dir_entries(&out),
        vec![
            "daily.parquet",
            "manifest.json",
            "operations.parquet",
            "securities.parquet",
            "summary.parquet"
        ]
    );
    assert_eq!(
        dir_entries(tmp.path()),
        vec!["existing"],
        "no temp or old dir left"
    );
}

#[test]
fn directory_created_meanwhile_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("racy");
    let mut w = BatchWriter::create(&out, meta(1), RecordOptions::default(), false).unwrap();
    w.write_run(&synthetic_runs(1, 2)[0]).unwrap();
    fs::create_dir(&out).unwrap();
    let err = w.finish().unwrap_err();
    assert!(matches!(err, OutputError::AlreadyExists { .. }), "{err}");
    assert!(dir_entries(&out).is_empty());
    assert_eq!(dir_entries(tmp.path()), vec!["racy"]);
}

#[test]
fn missing_parents_are_created_and_bad_paths_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let out: PathBuf = tmp.path().join("a").join("b").join("c");
    let mut w = BatchWriter::create(&out, meta(1), RecordOptions::default(), false).unwrap();
    w.write_run(&synthetic_runs(1, 2)[0]).unwrap();
    let m = w.finish().unwrap();
    assert_eq!(m.files[0].rows, 2);
    assert!(out.join(MANIFEST_FILE).is_file());

    let err = BatchWriter::create(Path::new("/"), meta(1), RecordOptions::default(), false)
        .err()
        .unwrap();
    assert!(matches!(err, OutputError::InvalidPath { .. }), "{err}");
}

#[test]
fn summarize_rejects_files_without_the_daily_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    write_batch(
        &out,
        &synthetic_runs(2, 2),
        all_options(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );
    // trades.parquet has `day` but no `date`.
    let err = summarize_daily(
        &out.join(TRADES_FILE),
        &tmp.path().join("s.parquet"),
        &meta(2),
    )
    .unwrap_err();
    assert!(matches!(err, OutputError::Format { .. }), "{err}");
    assert!(err.to_string().contains("trades.parquet"), "{err}");
}

#[test]
fn io_errors_name_the_path_and_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere").join("daily.parquet");
    let err = summarize_daily(&missing, &tmp.path().join("s.parquet"), &meta(1)).unwrap_err();
    let text = err.to_string();
    let OutputError::Io { path, cause, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(path, &missing);
    assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains(&cause.to_string()), "{text}");
}

// ---- units ------------------------------------------------------------------------------

/// The unit each column must carry, from its documented kind (docs/output.md): an
/// independent statement of the rules, so a wrong rule in `units.rs` fails here.
fn documented_unit(name: &str, ty: &DataType) -> &'static str {
    match (name, ty) {
        (_, DataType::Int64) => "SEK",
        (_, DataType::Date32) => "date",
        ("run" | "bank" | "lender" | "borrower" | "point" | "seed", _) => "id",
        ("day" | "round" | "maintenance_day", _) => "index",
        ("trade_count" | "active_lenders" | "active_borrowers" | "runs", _) => "count",
        ("overnight_rate_count", _) => "count",
        ("top5_lender_share", _) => "share",
        (n, DataType::Float64) if n.ends_with("_bp") || n.contains("_bp_") => "bp",
        (n, DataType::Float64)
            if [
                "volume_",
                "reserves_total_",
                "lending_facility_use_",
                "deposit_facility_use_",
            ]
            .iter()
            .any(|v| n.starts_with(v)) =>
        {
            "SEK"
        }
        ("central_bank.reserve_target_per_bank", _) => "scenario",
        ("central_bank.policy_rate_bp", _) => "bp",
        _ => panic!("column {name} ({ty}) has no documented unit in this test"),
    }
}

fn assert_units(path: &Path) {
    let r = read(path);
    let footer: BTreeMap<String, String> =
        serde_json::from_str(&r.kv[units::UNITS_KEY]).expect("corridor.units is JSON");
    assert_eq!(
        footer.len(),
        r.schema.fields().len(),
        "{}: every column in corridor.units",
        path.display()
    );
    for f in r.schema.fields() {
        let want = documented_unit(f.name(), f.data_type());
        assert_eq!(
            f.metadata().get(units::UNIT_KEY).map(String::as_str),
            Some(want),
            "{}: field {}",
            path.display(),
            f.name()
        );
        assert_eq!(
            footer[f.name()],
            want,
            "{}: footer {}",
            path.display(),
            f.name()
        );
    }
}

#[test]
fn every_column_carries_its_unit_in_the_field_and_the_footer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("batch");
    write_batch(
        &out,
        &synthetic_runs(3, 4),
        all_options(),
        Layout::default(),
        summary::SUMMARY_BLOCK_BYTES,
    );
    for file in [DAILY_FILE, BANKS_FILE, TRADES_FILE, SUMMARY_FILE] {
        assert_units(&out.join(file));
    }
    // Study tables: swept keys, pooled statistics of spreads and money.
    use crate::study::{Column, write_table};
    let path = tmp.path().join("points.parquet");
    let columns = vec![
        ("point".to_string(), Column::U32(vec![0, 1])),
        ("seed".to_string(), Column::U64(vec![7, 7])),
        (
            "central_bank.reserve_target_per_bank".to_string(),
            Column::F64(vec![Some(-50.0), Some(50.0)]),
        ),
        (
            "central_bank.policy_rate_bp".to_string(),
            Column::F64(vec![Some(0.0), Some(25.0)]),
        ),
        ("runs".to_string(), Column::U32(vec![2, 2])),
        (
            "spread_to_deposit_bp_p95".to_string(),
            Column::F64(vec![Some(1.0), None]),
        ),
        (
            "reserves_total_mean".to_string(),
            Column::F64(vec![Some(1.0), Some(2.0)]),
        ),
    ];
    write_table(&path, &columns, &meta(2)).unwrap();
    assert_units(&path);
}

#[test]
fn calibration_columns_take_their_moment_unit() {
    let unit = |name: &str, ty: DataType| units::column_unit(name, &ty, "EUR");
    assert_eq!(
        unit("spread_to_policy_bp_mean@3", DataType::Float64).as_deref(),
        Some("bp")
    );
    assert_eq!(
        unit("volume_p50@0", DataType::Float64).as_deref(),
        Some("EUR")
    );
    assert_eq!(unit("objective", DataType::Float64).as_deref(), Some("1"));
    assert_eq!(unit("phase", DataType::Utf8).as_deref(), Some("text"));
    assert_eq!(unit("eval", DataType::UInt32).as_deref(), Some("id"));
    // A name no rule places gets no unit rather than a guess.
    assert_eq!(unit("mystery", DataType::Float64), None);
    assert_eq!(unit("mystery_mean", DataType::Float64), None);
}

// ---- shards -----------------------------------------------------------------------------

/// Shards of a batch, written by `RunShardWriter` and merged, give the summary bytes of the
/// batch written whole; so does summarising their files with blocks of days small enough
/// that every block but the first is spilled to a temporary file, which is removed.
#[test]
fn shards_summarise_to_the_bytes_of_the_whole_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = synthetic_runs(11, 11);
    let whole = tmp.path().join("whole");
    write_batch(&whole, &runs, all_options(), Layout::default(), usize::MAX);
    let want = fs::read(whole.join(SUMMARY_FILE)).unwrap();

    let sharded = tmp.path().join("sharded");
    for (index, range) in [(0u32, 0u32..3u32), (1, 3..7), (2, 7..11)] {
        let mut w = shard::RunShardWriter::create(
            &sharded,
            &meta(11),
            all_options(),
            index,
            3,
            range.clone(),
            false,
        )
        .unwrap();
        for run in &runs[range.start as usize..range.end as usize] {
            w.write_run(run).unwrap();
        }
        let m = w.finish().unwrap();
        assert!(m.complete);
        let names: Vec<&str> = m
            .files
            .iter()
            .map(|f| f.name.split('/').next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["daily", "banks", "trades", "operations", "securities"]
        );
    }
    let manifest = shard::merge_run(&sharded).unwrap();
    assert_eq!(manifest.shards, Some(3));
    assert_eq!(fs::read(sharded.join(SUMMARY_FILE)).unwrap(), want);

    let parts: Vec<PathBuf> = (0..3)
        .map(|i| sharded.join(shard::part_path("daily", i)))
        .collect();
    let row_bytes = SUMMARY_VARS.len() * 8;
    let out_dir = tmp.path().join("blocks");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("summary.parquet");
    let (rows, blocks) = summarize_paths_with(
        &parts,
        &out,
        &meta(11),
        11 * row_bytes * 3,
        Layout::default(),
    )
    .unwrap();
    assert_eq!((rows, blocks), (11, 4));
    assert_eq!(
        fs::read(&out).unwrap(),
        want,
        "spilled blocks change the bytes"
    );
    assert_eq!(
        dir_entries(&out_dir),
        ["summary.parquet"],
        "temporary files left"
    );
}

/// A shard writer refuses runs outside its slice, and a shard dropped unfinished leaves no
/// temporary file and a manifest that says it is not complete.
#[test]
fn a_shard_takes_only_its_runs_and_an_unfinished_one_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = synthetic_runs(4, 3);
    let dir = tmp.path().join("s");
    let mut w =
        shard::RunShardWriter::create(&dir, &meta(4), RecordOptions::default(), 1, 2, 2..4, false)
            .unwrap();
    let e = w.write_run(&runs[1]).unwrap_err().to_string();
    assert!(e.contains("run 1 is outside shard 1/2 (runs 2..4)"), "{e}");
    w.write_run(&runs[2]).unwrap();
    drop(w);
    let m: shard::ShardManifest =
        serde_json::from_str(&fs::read_to_string(dir.join(shard::manifest_path(1))).unwrap())
            .unwrap();
    assert!(!m.complete && m.files.is_empty());
    assert_eq!(
        dir_entries(&dir.join("daily/shard=1")),
        Vec::<String>::new()
    );
    let e = shard::merge_run(&dir).unwrap_err().to_string();
    assert!(
        e.contains("1 of 2 shards missing") && e.contains("shard 0;"),
        "{e}"
    );
}

/// The quantiles found by selecting order statistics are bit for bit those of sorting
/// first, for every length from 1 to 80, with ties, signed zeros and negative values.
#[test]
fn selected_quantiles_equal_sorted_quantiles_bit_for_bit() {
    let mut rng = Lcg(99);
    for n in 1..=80usize {
        for _ in 0..5 {
            let values: Vec<f64> = (0..n)
                .map(|_| match rng.next() % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 12.5,
                    _ => (rng.next() % 20_001) as f64 / 7.0 - 1_000.0,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let mut shuffled = values;
            let got = describe(&mut shuffled);
            for (j, q) in [0.05, 0.25, 0.5, 0.75, 0.95].iter().enumerate() {
                let want = quantile_linear(&sorted, *q);
                assert_eq!(
                    got[2 + j].map(f64::to_bits),
                    Some(want.to_bits()),
                    "n {n}, q {q}"
                );
            }
        }
    }
}
