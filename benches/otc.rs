//! Cost of the OTC market: one trading session (10 rounds, one call per bank and round) at
//! 100, 1000 and 10 000 banks on a complete and on a core-periphery network, and a whole
//! simulated day with the OTC market at 1000 banks.
//!
//! `cargo bench --bench otc`. Figures and the machine are recorded in docs/performance.md.
//!
//! Criterion measures wall-clock time, which a busy machine inflates. With
//! `CORRIDOR_CPU_TIME=1` the session benchmarks instead print the thread's CPU time per
//! session over a fixed number of sessions (Linux only: read from /proc, 10 ms ticks, so
//! about 3 s of work per figure keeps the resolution under 0.5%).
//! `CORRIDOR_OTC_CASES=core_periphery/10000,1000` limits the session benchmarks to the cases
//! named (network/banks, a network or a bank count), for a profiler or `valgrind
//! --tool=callgrind`, and `CORRIDOR_OTC_SESSIONS=N` sets the number of sessions timed.

use std::sync::Arc;

use corridor_model::market::{Loan, MarketScratch, Network, OtcMarket, Participant};
use corridor_model::params::{MarketMechanism, NetworkKind};
use corridor_model::remuneration::Remuneration;
use corridor_model::{Money, RecordOptions, RunRecords, Simulation, fixtures};
use corridor_runner::{population, run_rng};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt;

fn core_periphery(n: u32) -> NetworkKind {
    // A core of 5% of the banks with about 20 core links each, about 3 core lines per
    // periphery bank and about one periphery line each: every degree stays bounded as N
    // grows, so the network has O(N) links (fixed densities would give O(N²)).
    let core = (n / 20).max(1);
    NetworkKind::CorePeriphery {
        core_size: core,
        core_density: (20.0 / core as f64).min(0.7),
        core_periphery_density: (3.0 / core as f64).min(1.0),
        periphery_density: (1.0 / n as f64).min(1.0),
    }
}

/// One session of the OTC market on `n` banks with positions of the size of their late
/// shocks, warm: the market's buffers are already allocated.
fn session(c: &mut Criterion) {
    let mut group = c.benchmark_group("otc_session");
    let schedules = vec![Remuneration::corridor(-75.0).marginal_value(75.0)];
    let cases = std::env::var("CORRIDOR_OTC_CASES").ok();
    let wanted = |name: &str, n: u32| {
        cases.as_deref().is_none_or(|list| {
            list.split(',').any(|c| {
                let c = c.trim();
                c == name || c == n.to_string() || c == format!("{name}/{n}")
            })
        })
    };
    for n in [100u32, 1_000, 10_000] {
        for (name, kind) in [
            ("complete", NetworkKind::Complete),
            ("core_periphery", core_periphery(n)),
        ] {
            if !wanted(name, n) {
                continue;
            }
            let params = fixtures::with_otc(fixtures::busy_corridor(n, 1), 10, 1.0, kind);
            let MarketMechanism::Otc(otc) = &params.market.mechanism else {
                unreachable!()
            };
            let pop = population(&params, 1);
            let network: Arc<Network> = pop.network.clone().expect("OTC population");
            let mut rng = run_rng(1, 0);
            let mean = pop.sizes.iter().sum::<f64>() / n as f64;
            let participants: Vec<Participant> = pop
                .sizes
                .iter()
                .map(|s| {
                    let sd = 20_000.0 * (s / mean).sqrt();
                    let z: f64 = rng.random::<f64>() * 2.0 - 1.0;
                    Participant {
                        position: Money((2.0 * sd * z) as i64),
                        perceived_sd: sd,
                        buffer: 0.0,
                        borrowing_cost_per_unit: 0.0,
                        schedule: 0,
                    }
                })
                .collect();
            let mut market = OtcMarket::new(otc, network);
            let mut loans: Vec<Loan> = Vec::new();
            let mut scratch = MarketScratch::default();
            if std::env::var_os("CORRIDOR_CPU_TIME").is_some() {
                let sessions = match std::env::var("CORRIDOR_OTC_SESSIONS") {
                    Ok(s) => s.trim().parse().unwrap_or_else(|_| {
                        panic!("CORRIDOR_OTC_SESSIONS: {s:?} is not a session count")
                    }),
                    Err(_) => (3_000_000 / n as u64).max(20),
                };
                let start = thread_cpu_ticks();
                for _ in 0..sessions {
                    loans.clear();
                    market.trade(
                        &participants,
                        &schedules,
                        &[],
                        &mut loans,
                        &mut scratch,
                        &mut rng,
                    );
                }
                let ms = (thread_cpu_ticks() - start) as f64 * 10.0 / sessions as f64;
                println!(
                    "cpu time otc_session/{name}/{n}: {ms:.3} ms per session \
                     ({sessions} sessions, {} loans in the last)",
                    loans.len()
                );
                continue;
            }
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    loans.clear();
                    market.trade(
                        &participants,
                        &schedules,
                        &[],
                        &mut loans,
                        &mut scratch,
                        &mut rng,
                    );
                    loans.len()
                })
            });
        }
    }
    group.finish();
}

/// User plus system CPU time of this thread, in clock ticks (1/100 s on Linux).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")
        .expect("CORRIDOR_CPU_TIME needs Linux's /proc/thread-self/stat");
    // Fields after the command name, which is in parentheses: utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
}

/// A whole business day (payments, market, shocks, facilities) with the OTC market.
fn day(c: &mut Criterion) {
    if std::env::var_os("CORRIDOR_CPU_TIME").is_some() {
        // CPU-time mode measures sessions only; the set-up below would run (and cost a
        // profiler's time) even when criterion's filter leaves this group out.
        return;
    }
    let mut group = c.benchmark_group("otc_day");
    for (name, mechanism_otc) in [("call_1000x10", false), ("otc_1000x10", true)] {
        let base = fixtures::busy_corridor(1_000, 20_000);
        let params = if mechanism_otc {
            fixtures::with_otc(base, 10, 1.0, NetworkKind::Complete)
        } else {
            base
        };
        let pop = population(&params, 1);
        let mut sim = Simulation::new(&params, &pop);
        let mut rng = run_rng(1, 0);
        let mut out = RunRecords::default();
        for _ in 0..20 {
            sim.step(&mut rng, RecordOptions::default(), &mut out);
        }
        group.bench_function(BenchmarkId::new("step", name), |b| {
            b.iter(|| {
                if sim.is_finished() {
                    sim = Simulation::new(&params, &pop);
                }
                out.clear_rows();
                sim.step(&mut rng, RecordOptions::default(), &mut out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, session, day);
criterion_main!(benches);
