//! MODEL.md section 8, the four negative-rate cases, each from its own scenario. The rate
//! is compared with the rates in force on each day (the scenarios' timelines move them), so
//! a test holds through the episode, not just on average.

mod common;

use common::*;
use corridor_model::{RecordOptions, RunRecords};

/// Mean of (overnight rate − the chosen reference rate in force that day) over the days
/// `keep` selects, and the number of such days.
fn mean_gap(
    runs: &[RunRecords],
    reference: impl Fn(&corridor_model::DayRecord) -> f64,
    keep: impl Fn(&corridor_model::DayRecord) -> bool,
) -> (f64, usize) {
    let gaps: Vec<f64> = runs
        .iter()
        .flat_map(|r| &r.days)
        .filter(|d| keep(d))
        .filter_map(|d| d.overnight_rate_bp.map(|r| r - reference(d)))
        .collect();
    (
        gaps.iter().sum::<f64>() / gaps.len().max(1) as f64,
        gaps.len(),
    )
}

/// Sweden 2015: a negative repo rate with daily fine-tuning that leaves no excess reserves.
/// The rate must be negative and near the repo rate: within 3 bp on average (the corridor is
/// ±75 bp; forecast errors and fine-tuning at ±10 bp move the rate by a few bp).
#[test]
fn negative_policy_rate_without_excess_keeps_the_rate_near_policy() {
    let runs = simulate(
        &scenario("sweden_2015.toml", &[]),
        8,
        1,
        RecordOptions::default(),
    );
    let (gap, n) = mean_gap(&runs, |d| d.policy_rate_bp, |d| d.policy_rate_bp < 0.0);
    assert!(n > 100, "negative-rate days traded: {n}");
    assert!(gap.abs() < 3.0, "rate − repo rate = {gap:.2} bp on average");
    let (level, _) = mean_gap(&runs, |_| 0.0, |d| d.policy_rate_bp < 0.0);
    assert!(level < 0.0, "the rate must be negative: {level:.2} bp");
}

/// Euro area 2014-15: positive MRO, negative deposit facility rate, and excess liquidity
/// rising with the TLTROs and asset purchases. Once excess liquidity is large (from April
/// 2015) the rate must sit within 2 bp of the deposit rate — negative although the MRO rate
/// is positive.
#[test]
fn negative_deposit_rate_with_excess_reserves_pulls_the_rate_to_it() {
    let runs = simulate(
        &scenario("euro_area_2014_negative.toml", &[]),
        6,
        1,
        RecordOptions::default(),
    );
    let april_2015 = corridor_model::Date::parse("2015-04-15").unwrap();
    let (gap, n) = mean_gap(&runs, |d| d.deposit_rate_bp, |d| d.date >= april_2015);
    assert!(n > 100);
    assert!(
        (0.0..2.0).contains(&gap),
        "rate − deposit rate = {gap:.2} bp"
    );
    assert!(
        runs.iter()
            .flat_map(|r| &r.days)
            .filter(|d| d.date >= april_2015)
            .all(|d| d.policy_rate_bp > 0.0)
    );
    let (level, _) = mean_gap(&runs, |_| 0.0, |d| d.date >= april_2015);
    assert!(level < 0.0, "rate {level:.2} bp must be negative");
}

/// The same positive MRO and negative deposit rate (June 2014) with neutral liquidity: no
/// excess reserves. The rate stays near the positive MRO rate — within 5 bp on average,
/// because banks hold a precautionary margin over their requirements against the late shock —
/// and far above the negative deposit rate.
#[test]
fn negative_deposit_rate_without_excess_leaves_the_rate_near_positive_policy() {
    let runs = simulate(
        &scenario("euro_area_2014_neutral_liquidity.toml", &[]),
        6,
        1,
        RecordOptions::default(),
    );
    let (gap, n) = mean_gap(&runs, |d| d.policy_rate_bp, |_| true);
    assert!(n > 300);
    assert!(gap.abs() < 5.0, "rate − MRO = {gap:.2} bp");
    let (above_floor, _) = mean_gap(&runs, |d| d.deposit_rate_bp, |_| true);
    assert!(
        above_floor > 20.0,
        "rate only {above_floor:.2} bp above the deposit rate"
    );
}

/// Switzerland 2015: a negative rate on sight deposits above the exemption threshold, with
/// deposits far above the thresholds, and a negative policy target. The rate must sit
/// within 3 bp of the -0.75% rate charged above the threshold.
#[test]
fn negative_policy_and_deposit_rates_with_excess_give_the_deposit_rate() {
    let runs = simulate(
        &scenario("switzerland_2015.toml", &[]),
        6,
        1,
        RecordOptions::default(),
    );
    let (gap, n) = mean_gap(
        &runs,
        |d| d.deposit_rate_bp,
        |d| d.deposit_rate_bp < 0.0 && d.policy_rate_bp < 0.0,
    );
    assert!(n > 100);
    assert!(gap.abs() < 3.0, "rate − deposit rate = {gap:.2} bp");
}
