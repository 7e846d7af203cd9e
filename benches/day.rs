//! Cost of the simulation's hot path: one business day, and a whole poole_benchmark run.
//! `busy_corridor_qe` is the busy corridor with an asset purchase programme running (an
//! operation in each of two classes every business day); daily fine-tuning absorbs what it
//! adds, so the market sees the same reserves and the difference is the programme's cost.
//!
//! `cargo bench --bench day`. Figures and the machine are recorded in docs/performance.md.

use corridor_model::params::Params;
use corridor_model::{Money, RecordOptions, RunRecords, Simulation, fixtures};
use corridor_runner::{population, run_rng, simulate_run};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

/// The busy corridor with QE: 0.1% of banks' bonds and MBS a month, bought every business
/// day (half from non-bank investors), so holdings last the benchmark's calendar.
fn busy_corridor_with_qe(banks: u32, days: u32) -> Params {
    let mut p = fixtures::busy_corridor(banks, days);
    for class in &mut p.securities {
        class.investor_holdings = Money(1_000_000 * banks as i64);
    }
    let bs = &mut p.central_bank.balance_sheet;
    bs.monthly_purchases = vec![
        Money::ZERO,
        Money(80 * banks as i64),
        Money(40 * banks as i64),
    ];
    bs.operations_per_month = 23;
    p
}

/// One day of a 100-bank, 10-period system, warmed up past its first days.
fn one_day(c: &mut Criterion) {
    let mut group = c.benchmark_group("day");
    for (name, params) in [
        ("poole_100x10", fixtures::poole(100, 10, 20_000, 0, 100)),
        ("busy_corridor_100x10", fixtures::busy_corridor(100, 20_000)),
        (
            "busy_corridor_qe_100x10",
            busy_corridor_with_qe(100, 20_000),
        ),
    ] {
        let pop = population(&params, 1);
        let mut sim = Simulation::new(&params, &pop);
        let mut rng = run_rng(1, 0);
        let mut out = RunRecords::default();
        for _ in 0..20 {
            sim.step(&mut rng, RecordOptions::default(), &mut out);
        }
        let bank_periods = params.banks.count as u64 * params.payments.periods as u64;
        group.throughput(Throughput::Elements(bank_periods));
        group.bench_function(BenchmarkId::new("step", name), |b| {
            b.iter(|| {
                if sim.is_finished() {
                    // Rare (every 20 000 days): start the calendar again.
                    sim = Simulation::new(&params, &pop);
                }
                out.clear_rows();
                sim.step(&mut rng, RecordOptions::default(), &mut out);
            })
        });
    }
    group.finish();
}

/// A full poole_benchmark run: 100 banks, 10 periods, 250 days.
fn full_run(c: &mut Criterion) {
    let params = fixtures::poole(100, 10, 250, 0, 100);
    let pop = population(&params, 1);
    let mut group = c.benchmark_group("run");
    group.sample_size(20);
    group.bench_function("poole_100x10x250", |b| {
        let mut k = 0;
        b.iter(|| {
            k += 1;
            simulate_run(&params, &pop, 1, k, RecordOptions::default(), false).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, one_day, full_run);

/// `CORRIDOR_FIXED_DAYS=N CORRIDOR_CASE=name target/release/deps/day-* ` simulates N days of
/// one case and exits, for instruction counts under `valgrind --tool=callgrind`, which are
/// repeatable whatever else the machine is doing (wall-clock figures are not on a shared
/// machine). Two day counts give the marginal cost of a day, without the setup.
fn fixed_days(days: u32, case: &str) {
    let params = match case {
        "busy_corridor_100x10" => fixtures::busy_corridor(100, days),
        "busy_corridor_qe_100x10" => busy_corridor_with_qe(100, days),
        _ => fixtures::poole(100, 10, days, 0, 100),
    };
    let pop = population(&params, 1);
    let mut sim = Simulation::new(&params, &pop);
    let mut rng = run_rng(1, 0);
    let mut out = RunRecords::default();
    while !sim.is_finished() {
        out.clear_rows();
        sim.step(&mut rng, RecordOptions::default(), &mut out);
    }
    println!(
        "{case}: {days} days, final reserves {:?}",
        out.days.last().map(|d| d.reserves_total)
    );
}

fn main() {
    if let Ok(days) = std::env::var("CORRIDOR_FIXED_DAYS") {
        let case = std::env::var("CORRIDOR_CASE").unwrap_or_default();
        fixed_days(
            days.parse().expect("CORRIDOR_FIXED_DAYS: a number of days"),
            &case,
        );
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
