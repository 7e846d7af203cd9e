//! MODEL.md section 8, corridor cases: rate near the policy rate with reserves at target;
//! a stigma cost lets the rate exceed the lending rate where theory says it should.

mod common;

use common::*;
use corridor_model::RecordOptions;
use corridor_model::normal::{cdf, inverse_cdf};

/// corridor_symmetric: reserves fine-tuned to zero with symmetric forecast errors. The
/// expected rate is the policy rate (75 bp); tolerance 3 bp ("within a few basis points"),
/// and the Monte Carlo standard error is checked to be far smaller than that.
#[test]
fn reserves_at_target_keep_the_rate_near_the_policy_rate() {
    let sc = scenario(
        "corridor_symmetric.toml",
        &["calendar.business_days=60".into()],
    );
    let runs = simulate(&sc, 24, 11, RecordOptions::default());
    let rates = overnight_rates(&runs);
    let (mean, se) = mean_and_se(&rates);
    assert!(rates.len() > 24 * 55, "the market trades on most days");
    assert!(se < 1.0, "standard error {se} too large for a 3 bp check");
    assert!(
        (mean - 75.0).abs() < 3.0,
        "mean overnight rate {mean:.2} bp, policy 75 bp"
    );
    // Every day's rate stays inside the corridor: no stigma here.
    assert!(rates.iter().all(|r| (0.0..=150.0).contains(r)));
}

/// Poole benchmark with a 50 bp stigma on the lending facility: banks behave as if the
/// ceiling were r_l + 50, so the rate is r_d + (r_l + 50 - r_d) Phi(-R/s), above r_l once
/// R < R* = -s Phi^-1((r_l - r_d) / (r_l + 50 - r_d)) (about -0.84 s here). Without stigma
/// the rate never exceeds r_l.
#[test]
fn stigma_lifts_the_rate_above_the_lending_rate_below_a_threshold() {
    let s = 100.0 * (1.0f64 - 0.01).sqrt();
    let threshold = -s * inverse_cdf(200.0 / 250.0);
    for r in [-250i64, -150, -100, -40, 0] {
        let sets = |stigma: f64| {
            vec![
                format!("central_bank.reserve_target_per_bank={r}"),
                format!("behaviour.stigma_bp={stigma}"),
                "calendar.business_days=20".to_string(),
            ]
        };
        let with = overnight_rates(&simulate(
            &scenario("poole_benchmark.toml", &sets(50.0)),
            2,
            3,
            RecordOptions::default(),
        ));
        let without = overnight_rates(&simulate(
            &scenario("poole_benchmark.toml", &sets(0.0)),
            2,
            3,
            RecordOptions::default(),
        ));
        let (mean_with, _) = mean_and_se(&with);
        let expected = 250.0 * cdf(-(r as f64) / s);
        assert!(
            (mean_with - expected).abs() < 1e-6,
            "R={r}: {mean_with} vs {expected}"
        );
        assert!(without.iter().all(|&x| x <= 200.0));
        assert_eq!(
            mean_with > 200.0,
            (r as f64) < threshold,
            "R={r}, threshold {threshold:.1}"
        );
    }
}
