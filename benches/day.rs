//! Cost of the simulation's hot path: one business day, and a whole poole_benchmark run.
//!
//! `cargo bench --bench day`. Figures and the machine are recorded in docs/performance.md.

use corridor_model::{RecordOptions, RunRecords, Simulation, fixtures};
use corridor_runner::{population, run_rng, simulate_run};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// One day of a 100-bank, 10-period system, warmed up past its first days.
fn one_day(c: &mut Criterion) {
    let mut group = c.benchmark_group("day");
    for (name, params) in [
        ("poole_100x10", fixtures::poole(100, 10, 20_000, 0, 100)),
        ("busy_corridor_100x10", fixtures::busy_corridor(100, 20_000)),
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
                out.days.clear();
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
criterion_main!(benches);
