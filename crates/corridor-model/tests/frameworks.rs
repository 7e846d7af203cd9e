//! Operational frameworks against what theory says they do (MODEL.md sections 4 and 8).
//! Each test states its tolerance and why.

use corridor_model::normal::cdf;
use corridor_model::params::{
    Allocation, Framework, NonBankParams, Params, ReserveRequirementParams, ReverseRepoParams,
};
use corridor_model::{Money, Population, RecordOptions, RunRecords, Simulation, fixtures};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Runs `runs` runs of `days` days with every invariant checked every day.
fn simulate(params: &Params, runs: u64) -> Vec<RunRecords> {
    let population = Population::draw(params, &mut ChaCha8Rng::seed_from_u64(0));
    (0..runs)
        .map(|run| {
            let mut rng = ChaCha8Rng::seed_from_u64(1000 + run);
            let mut sim = Simulation::new(params, &population);
            let mut out = RunRecords::default();
            while !sim.is_finished() {
                sim.step(
                    &mut rng,
                    RecordOptions {
                        banks: false,
                        trades: true,
                    },
                    &mut out,
                );
                sim.check_invariants().unwrap_or_else(|v| panic!("{v}"));
            }
            out
        })
        .collect()
}

fn rates(runs: &[RunRecords]) -> Vec<f64> {
    runs.iter()
        .flat_map(|r| r.days.iter().filter_map(|d| d.overnight_rate_bp))
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Identical banks under a quota system: the call market must reproduce the tiered Poole
/// formula r = r_L F(K - R) + r_Q [F(K + Q - R) - F(K - R)] + r_X [1 - F(K + Q - R)] with
/// K = 0 (no requirement), Q the quota per bank, F the late shock's normal distribution.
/// Reserve supply is exact (no forecast error), so every day's rate must sit on the curve
/// to the solver's precision; tolerance 1e-6 bp.
#[test]
fn quota_system_follows_the_tiered_poole_formula() {
    let (r_l, r_q, r_x) = (200.0, 100.0, 0.0);
    let quota = 300i64; // per bank; sd of the late shock below is 100 → s ≈ 99.5
    let n = 50u32;
    let s = 100.0 * (1.0f64 - 1.0 / n as f64).sqrt();
    let f = |x: f64| cdf(x / s);
    for reserves in [-150i64, 0, 100, 150, 250, 300, 350, 450, 600] {
        let mut p = fixtures::poole(n, 4, 15, reserves, 100);
        p.central_bank.policy_rate_bp = r_q;
        p.central_bank.deposit_rate_bp = r_x;
        p.central_bank.lending_rate_bp = r_l;
        p.central_bank.framework = Framework::Quota {
            quotas: Allocation::ProRata {
                total: Money(quota * n as i64),
            },
        };
        let r = reserves as f64;
        let q = quota as f64;
        let expected = r_l * f(-r) + r_q * (f(q - r) - f(-r)) + r_x * (1.0 - f(q - r));
        let got = rates(&simulate(&p, 2));
        assert!(!got.is_empty());
        for rate in got {
            assert!(
                (rate - expected).abs() < 1e-6,
                "R={reserves}: {rate} vs {expected}"
            );
        }
    }
}

/// Sweeping reserves from below to above the total quota (MODEL.md section 8): the rate
/// stays within 1 bp of the policy rate while reserves are below the quota by more than
/// three shock sds, and falls to within 1 bp of the reserve rate once they exceed it by as
/// much. 1 bp is 1% of the 100 bp gap; Φ(-3) ≈ 0.13% of it is the model's own residual.
#[test]
fn quota_rate_stays_at_policy_below_the_quota_and_falls_above_it() {
    let n = 30u32;
    let quota = 2_000i64;
    for (reserves, near) in [
        (400i64, 100.0),
        (1_000, 100.0),
        (1_600, 100.0),
        (2_400, 0.0),
        (3_000, 0.0),
    ] {
        let mut p = fixtures::poole(n, 4, 20, reserves, 100);
        p.central_bank.policy_rate_bp = 100.0;
        p.central_bank.deposit_rate_bp = 0.0;
        p.central_bank.lending_rate_bp = 200.0;
        p.central_bank.fine_tuning.forecast_error_sd = Money(100 * n as i64 / 2);
        p.central_bank.framework = Framework::Quota {
            quotas: Allocation::ProRata {
                total: Money(quota * n as i64),
            },
        };
        let m = mean(&rates(&simulate(&p, 4)));
        assert!(
            (m - near).abs() < 1.0,
            "R={reserves}: mean {m} bp, expected near {near} bp"
        );
    }
}

fn floor_with_non_banks(reverse_repo: Option<f64>) -> Params {
    let n = 30u32;
    // Abundant reserves: 60 000 per bank, far beyond any payment or late shock, so no bank
    // needs to borrow for itself.
    let mut p = fixtures::poole(n, 4, 20, 60_000, 100);
    p.central_bank.framework = Framework::Floor;
    p.central_bank.policy_rate_bp = 25.0;
    p.central_bank.deposit_rate_bp = 25.0; // interest on reserves
    p.central_bank.lending_rate_bp = 75.0;
    p.behaviour.balance_sheet_cost_bp = 10.0; // at 1% of size (10 000) borrowed
    p.non_banks = Some(NonBankParams {
        lenders: 5,
        cash: Money(300_000), // 10 000 = 1% of size per bank
        idle_rate_bp: 0.0,
        reverse_repo: reverse_repo.map(|rate_bp| ReverseRepoParams {
            rate_bp,
            cap_per_lender: Money(1_000_000),
        }),
    });
    p
}

/// The leaky floor (US 2008-15): non-banks without the deposit facility lend their cash to
/// banks, who take it only at a spread below interest on reserves that covers their rising
/// balance-sheet cost. Absorbing 1% of size each at 10 bp per 1% gives r = 25 - 10 = 15 bp,
/// below the floor; tolerance 0.5 bp (late-shock uncertainty and rounding move it by far
/// less). An ON RRP at x = 20 bp is a better outside option than lending below it: banks'
/// demand at 20 bp (0.5% of size each) is less than the cash, so the rate is x (tolerance
/// 0.5 bp) and the rest of the cash goes to the facility.
#[test]
fn non_banks_make_the_floor_leak_and_a_reverse_repo_plugs_it() {
    let leaky = simulate(&floor_with_non_banks(None), 3);
    let m = mean(&rates(&leaky));
    assert!(
        (m - 15.0).abs() < 0.5,
        "rate {m} bp, expected about 15 (below the 25 bp floor)"
    );
    let lent: i64 = leaky
        .iter()
        .flat_map(|r| &r.days)
        .map(|d| d.nonbank_lending.0)
        .sum();
    assert!(lent > 0, "non-banks must be the lenders");

    let plugged = simulate(&floor_with_non_banks(Some(20.0)), 3);
    let m = mean(&rates(&plugged));
    assert!(
        (m - 20.0).abs() < 0.5,
        "rate {m} bp, expected about the ON RRP rate 20"
    );
    let placed: i64 = plugged
        .iter()
        .flat_map(|r| &r.days)
        .map(|d| d.reverse_repo_use.0)
        .sum();
    assert!(placed > 0, "non-banks must use the facility");
}

/// Reserve requirements with averaging and no penalty before the last day (MODEL.md
/// section 3; Poole 1968, Hamilton 1996): holding a unit today saves one on the last day, so
/// the rate is a martingale — its expectation is flat across the period — and the supply
/// shocks of the whole period meet an inelastic demand only on the last day, where the
/// variance peaks. Tolerances: the mean on every earlier day within 2 bp of the period's
/// overall mean; the last day's variance above every other day's.
#[test]
fn averaging_flattens_the_expected_rate_and_the_last_day_is_volatile() {
    let n = 30u32;
    let mut p = fixtures::poole(n, 4, 40, 0, 100);
    p.central_bank.reserve_requirement = Some(ReserveRequirementParams {
        ratio: 0.01, // 1% of deposits ≈ 8 000 per bank: 80 late-shock sds
        maintenance_days: 10,
        averaging: true,
        enforced: true,
        remuneration_rate_bp: 100.0,
        penalty_rate_bp: 250.0,
    });
    p.central_bank.policy_rate_bp = 100.0;
    p.central_bank.deposit_rate_bp = 0.0;
    p.central_bank.lending_rate_bp = 200.0;
    p.central_bank.fine_tuning.forecast_error_sd = Money(100 * n as i64);
    let runs = simulate(&p, 12);
    let mut by_day: Vec<Vec<f64>> = vec![Vec::new(); 10];
    for run in &runs {
        for d in &run.days {
            assert!(d.reserves_required > Money::ZERO);
            if let Some(r) = d.overnight_rate_bp {
                by_day[(d.maintenance_day - 1) as usize].push(r);
            }
        }
    }
    let all: Vec<f64> = by_day.iter().flatten().copied().collect();
    let overall = mean(&all);
    let var = |xs: &[f64]| {
        let m = mean(xs);
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
    };
    for (d, xs) in by_day.iter().enumerate().take(9) {
        assert!(
            (mean(xs) - overall).abs() < 2.0,
            "day {}: mean {} vs {overall}",
            d + 1,
            mean(xs)
        );
    }
    let last = var(&by_day[9]);
    for (d, xs) in by_day.iter().enumerate().take(9) {
        assert!(
            var(xs) < last,
            "day {} variance {} ≥ last day's {last}",
            d + 1,
            var(xs)
        );
    }
    assert!(
        (overall - 100.0).abs() < 5.0,
        "symmetric corridor: mean {overall} near 100"
    );
}
