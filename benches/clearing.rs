//! The call market's clearing cost under each operational framework, next to the plain
//! corridor (issue 3: a tiered scheme may cost at most twice the corridor).
//!
//! `cargo bench --bench clearing`. Each case simulates 12 days of a 100-bank lognormal
//! system under the framework, then times clearing and allocating that day's market again.
//! The plain cases have tiers narrow against the late shock (quotas of ~0.25 shock sds for
//! a mean bank): demand then needs an exact solve per bank per rate tried. The `_wide`
//! cases have tiers of ~25 sds, where each step is inverted in closed form.
//!
//! Wall-clock time on a shared machine is noisy. For instruction counts, which are not,
//! `CORRIDOR_CLEARINGS=N CORRIDOR_CASE=name` skips criterion and clears that case's market N
//! times; run the bench binary under `valgrind --tool=callgrind
//! --toggle-collect='*clear_repeatedly*'` and divide the instructions collected by N
//! (docs/performance.md has the script).

use corridor_model::market::{Loan, Market, MarketScratch, Participant};
use corridor_model::params::{Allocation, Framework, ReserveRequirementParams};
use corridor_model::remuneration::MarginalValue;
use corridor_model::{Money, RecordOptions, RunRecords, Simulation, fixtures};
use corridor_runner::{population, run_rng};
use criterion::{Criterion, criterion_group, criterion_main};

fn cases() -> Vec<(&'static str, corridor_model::Params)> {
    let base = || {
        let mut p = fixtures::busy_corridor(100, 40);
        p.central_bank.policy_rate_bp = 100.0;
        p.central_bank.deposit_rate_bp = 0.0;
        p.central_bank.lending_rate_bp = 200.0;
        p
    };
    let total = Money(100 * 5_000);
    let requirement = ReserveRequirementParams {
        ratio: 0.01,
        maintenance_days: 20,
        averaging: true,
        enforced: true,
        remuneration_rate_bp: 100.0,
        penalty_rate_bp: 250.0,
    };
    let with = |f: Framework, rr: bool| {
        let mut p = base();
        p.central_bank.framework = f;
        if rr {
            p.central_bank.reserve_requirement = Some(requirement.clone());
        }
        p
    };
    vec![
        ("corridor", base()),
        ("floor", with(Framework::Floor, false)),
        (
            "quota",
            with(
                Framework::Quota {
                    quotas: Allocation::ProRata { total },
                },
                false,
            ),
        ),
        (
            "current_account_limits",
            with(
                Framework::CurrentAccountLimits {
                    limits: Allocation::ProRata { total },
                    current_account_rate_bp: 50.0,
                },
                false,
            ),
        ),
        (
            "exemption_threshold",
            with(
                Framework::ExemptionThreshold {
                    multiple: 20.0,
                    fixed_amount: Money(100),
                    exempt_rate_bp: 50.0,
                },
                true,
            ),
        ),
        (
            "two_tier",
            with(
                Framework::TwoTier {
                    multiple: 6.0,
                    exempt_rate_bp: 50.0,
                },
                true,
            ),
        ),
        (
            "three_tier",
            with(
                Framework::ThreeTier {
                    basic: Allocation::ProRata { total },
                    basic_rate_bp: 80.0,
                    macro_add_on: Allocation::ProRata { total },
                    macro_rate_bp: 40.0,
                },
                false,
            ),
        ),
        ("corridor_with_averaging", with(Framework::Corridor, true)),
        // Tiers wide against the end-of-day uncertainty (quotas of ~25 shock sds): each
        // step of a bank's demand is inverted in closed form.
        (
            "quota_wide",
            with(
                Framework::Quota {
                    quotas: Allocation::ProRata {
                        total: Money(100 * 500_000),
                    },
                },
                false,
            ),
        ),
        (
            "three_tier_wide",
            with(
                Framework::ThreeTier {
                    basic: Allocation::ProRata {
                        total: Money(100 * 500_000),
                    },
                    basic_rate_bp: 80.0,
                    macro_add_on: Allocation::ProRata {
                        total: Money(100 * 500_000),
                    },
                    macro_rate_bp: 40.0,
                },
                false,
            ),
        ),
    ]
}

fn clearing(c: &mut Criterion) {
    let mut group = c.benchmark_group("clearing");
    for (name, params) in cases() {
        let pop = population(&params, 1);
        let mut sim = Simulation::new(&params, &pop);
        let mut rng = run_rng(1, 0);
        let mut out = RunRecords::default();
        for _ in 0..12 {
            sim.step(&mut rng, RecordOptions::default(), &mut out);
        }
        let (participants, schedules) = sim.last_market();
        let (participants, schedules) = (participants.to_vec(), schedules.to_vec());
        let mut scratch = MarketScratch::default();
        let mut loans: Vec<Loan> = Vec::new();
        let mut market = Market::Call;
        if let Some(clearings) = std::env::var_os("CORRIDOR_CLEARINGS") {
            if std::env::var_os("CORRIDOR_CASE").is_some_and(|c| c == name) {
                let clearings: u32 = clearings
                    .to_str()
                    .and_then(|n| n.parse().ok())
                    .expect("CORRIDOR_CLEARINGS must be a whole number");
                clear_repeatedly(
                    clearings,
                    &mut market,
                    (&participants, &schedules),
                    &mut loans,
                    &mut scratch,
                    &mut rng,
                );
                println!("{name}: {clearings} clearings, {} loans", loans.len());
            }
            continue;
        }
        group.bench_function(name, |b| {
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
    group.finish();
}

/// The instruction-count mode's loop, a function of its own so that callgrind can collect
/// exactly this.
#[inline(never)]
fn clear_repeatedly<R: rand::Rng>(
    clearings: u32,
    market: &mut Market,
    (participants, schedules): (&[Participant], &[MarginalValue]),
    loans: &mut Vec<Loan>,
    scratch: &mut MarketScratch,
    rng: &mut R,
) {
    for _ in 0..clearings {
        loans.clear();
        market.trade(participants, schedules, &[], loans, scratch, rng);
    }
}

criterion_group!(benches, clearing);
criterion_main!(benches);
