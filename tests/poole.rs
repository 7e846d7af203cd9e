//! The analytic Poole curve (MODEL.md section 6) from `scenarios/poole_benchmark.toml`.
//!
//! Identical banks, symmetric late shocks of sd `late_shock.sd` netted into transfers, so one
//! bank's actual sd is s = sd * sqrt(1 - 1/N). The clearing rate at reserves R per bank must
//! be r = r_d + (r_l - r_d) * Phi(-R / s).

mod common;

use common::*;
use corridor_model::RecordOptions;
use corridor_model::normal::cdf;

const N: f64 = 100.0;
const SD: f64 = 100.0;
const R_D: f64 = 0.0;
const R_L: f64 = 200.0;

fn s() -> f64 {
    SD * (1.0 - 1.0 / N).sqrt()
}

fn poole(reserves_per_bank: f64, s_eff: f64) -> f64 {
    R_D + (R_L - R_D) * cdf(-reserves_per_bank / s_eff)
}

fn rates_at(r: i64, extra: &[&str], runs: u32) -> Vec<f64> {
    let mut sets = vec![
        format!("central_bank.reserve_target_per_bank={r}"),
        "calendar.business_days=40".to_string(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let sc = scenario("poole_benchmark.toml", &sets);
    overnight_rates(&simulate(&sc, runs, 7, RecordOptions::default()))
}

/// Seven reserve levels from scarce (R = -2.5 s) to abundant (R = +2.5 s). Reserves are
/// fine-tuned exactly to target every day, so reserve supply carries no noise and every
/// day's clearing rate must sit on the curve to the solver's precision; tolerance 1e-6 bp
/// (integer rounding of positions is the only approximation, far below that).
#[test]
fn clearing_rate_follows_the_poole_curve_at_seven_reserve_levels() {
    for r in [-249i64, -149, -75, 0, 75, 149, 249] {
        let rates = rates_at(r, &[], 4);
        assert_eq!(rates.len(), 4 * 40, "a rate every day at R={r}");
        let expected = poole(r as f64, s());
        for rate in rates {
            assert!(
                (rate - expected).abs() < 1e-6,
                "R={r}: rate {rate} bp, Poole curve {expected} bp"
            );
        }
    }
}

/// With a forecast error of sd f in the central bank's operation, reserve supply per bank is
/// R - e/N with e ~ N(0, f^2), and the expected rate is r_d + (r_l - r_d) Phi(-R / sqrt(s^2 +
/// (f/N)^2)). A genuine Monte Carlo check: the tolerance is four standard errors of the mean
/// over all run-days, from the sample itself.
#[test]
fn forecast_errors_flatten_the_curve_as_theory_says() {
    let f = 10_000.0; // sd of the aggregate supply error: 100 per bank, as large as s
    let s_eff = (s() * s() + (f / N) * (f / N)).sqrt();
    for r in [-149i64, 0, 75, 199] {
        let rates = rates_at(r, &["central_bank.fine_tuning.forecast_error_sd=10000"], 40);
        let (mean, se) = mean_and_se(&rates);
        let expected = poole(r as f64, s_eff);
        let without_noise = poole(r as f64, s());
        assert!(
            (mean - expected).abs() < 4.0 * se + 1e-9,
            "R={r}: mean {mean:.3} ± {se:.3} bp, theory {expected:.3} bp"
        );
        // The noise must matter where the curve bends, or this test proves nothing.
        if r != 0 {
            assert!(
                (without_noise - expected).abs() > 8.0 * se,
                "R={r}: test lacks power"
            );
        }
    }
}
