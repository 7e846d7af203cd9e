//! The OTC market end to end, on the shipped OTC scenarios.

mod common;

use common::*;
use corridor_model::{RecordOptions, RunRecords};

/// Day-0 records (with trades) of `runs` runs of `file` with `sets` applied.
fn first_days(file: &str, sets: &[&str], runs: u32) -> Vec<RunRecords> {
    let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    sets.push("calendar.business_days=1".into());
    let options = RecordOptions {
        banks: false,
        trades: true,
    };
    simulate(&scenario(file, &sets), runs, 5, options)
}

/// Volume-weighted rate of the day's trades agreed in `round`, if any.
fn round_rate(records: &RunRecords, round: u32) -> Option<f64> {
    let (mut volume, mut interest) = (0.0, 0.0);
    for t in records.trades.iter().filter(|t| t.round == round) {
        volume += t.amount.as_f64();
        interest += t.amount.as_f64() * t.rate_bp;
    }
    (volume > 0.0).then(|| interest / volume)
}

/// On the first day the banks' positions before the market are the same whatever the
/// mechanism (the market is the first thing that differs), so the call market's clearing
/// rate on the same scenario and seed is the frictionless benchmark for each run. As the
/// contact rate grows, the OTC volume-weighted rate must approach it and the 1st-99th
/// percentile range must shrink.
///
/// Two parts, because the scenario's foresight (1) builds some of that convergence in:
/// before the last round a bank's outside option is π r̂ + (1 - π) × its own value, r̂ *is*
/// the call market's clearing rate, and at 3.2 calls a round π is 1 to machine precision,
/// so those trades price at r̂ whatever search and bargaining did (measured: gap and range
/// exactly 0.000 bp at 3.2).
///
/// * The whole day, with foresight (the statement). Monotone-ish: each step may not
///   exceed the previous one by more than 10% (plus 0.01 bp), which allows for sampling
///   noise in a small sample of runs while still failing if more contacts stopped helping.
///   Level: at 3.2 calls per bank and round the mean gap must be below 0.5% of the corridor
///   width (0.75 bp of 150 bp) and the range below 1% of it (1.5 bp).
/// * The last round, without foresight: the check that fails if search or bargaining is
///   wrong. In round K nobody anticipates anything (π = 0 for any foresight), so each rate
///   is the Nash bargain between the two banks' own mean values of the reserves traded, and
///   those approach the call rate only if search and the amounts agreed have brought
///   every bank's position to where the frictionless market would put it. Measured
///   (2026-11-23): mean gap 15.7, 11.0, 1.63, 0.19 bp at 0.05, 0.2, 0.8, 3.2 calls. Each
///   step must cut the gap by 10% at least, the last must be under 0.5 bp and at most a
///   twentieth of the first, and at least half of the runs must trade in round K (or the
///   level says nothing). Foresight only prices: the last round's rates must be the same,
///   bit for bit, with foresight 1 and 0.
///
/// Without foresight the whole day's rate does not converge (early meetings of a
/// deep-deficit and a large-surplus bank price half-way between their values; measured gap
/// 4.4-6.9 bp and range about 149 bp at every contact rate here, see docs/model.md, "Why
/// foresight"), so there is no whole-day check at foresight 0: the model does not claim it.
#[test]
fn more_contacts_bring_the_rate_to_the_call_market_and_shrink_dispersion() {
    let file = "emid_electronic.toml";
    let runs = 16;
    let rounds = 10; // market.rounds in the scenario
    let call: Vec<f64> = first_days(file, &["market.mechanism=call"], runs)
        .iter()
        .map(|r| r.days[0].overnight_rate_bp.expect("the call market trades"))
        .collect();
    let width = 175.0 - 25.0;
    let mut previous: Option<(f64, f64, f64)> = None;
    let mut seen = Vec::new();
    for contact_rate in [0.05, 0.2, 0.8, 3.2] {
        let set = format!("market.contact_rate={contact_rate}");
        let random = "market.matching=\"random\"";
        let otc = first_days(file, &[&set, random], runs);
        let myopic = first_days(file, &[&set, random, "market.foresight=0"], runs);
        let (mut gap, mut range, mut last_gap, mut last_runs) = (0.0, 0.0, 0.0, 0);
        for ((r, m), call_rate) in otc.iter().zip(&myopic).zip(&call) {
            let d = &r.days[0];
            gap += (d.overnight_rate_bp.expect("the OTC market trades") - call_rate).abs();
            range += d.rate_p99_bp.unwrap() - d.rate_p01_bp.unwrap();
            let last = round_rate(m, rounds);
            assert_eq!(
                last,
                round_rate(r, rounds),
                "foresight changed last-round rates"
            );
            if let Some(rate) = last {
                last_gap += (rate - call_rate).abs();
                last_runs += 1;
            }
        }
        let (gap, range) = (gap / runs as f64, range / runs as f64);
        assert!(
            2 * last_runs >= runs,
            "only {last_runs} runs traded in round {rounds}"
        );
        let last_gap = last_gap / last_runs as f64;
        seen.push((contact_rate, gap, range, last_gap));
        if let Some((g, r, l)) = previous {
            assert!(gap <= 1.1 * g + 0.01, "gap grew: {seen:?}");
            assert!(range <= 1.1 * r + 0.01, "dispersion grew: {seen:?}");
            assert!(
                last_gap <= 0.9 * l,
                "last-round gap did not shrink: {seen:?}"
            );
        }
        previous = Some((gap, range, last_gap));
    }
    let (_, first_gap, first_range, first_last) = seen[0];
    let (_, gap, range, last_gap) = seen[seen.len() - 1];
    assert!(gap < 0.005 * width, "{seen:?}");
    assert!(range < 0.01 * width, "{seen:?}");
    assert!(last_gap < 0.5 && 20.0 * last_gap <= first_last, "{seen:?}");
    // The sequence must span real frictions, or the test shows nothing.
    assert!(
        first_gap > 5.0 * gap && first_range > 10.0 * range,
        "{seen:?}"
    );
    println!(
        "contact rate, mean |OTC - call| bp, mean p99 - p1 bp, \
         mean |last round (no foresight) - call| bp: {seen:?}"
    );
}

/// In the core-periphery fed funds scenario, periphery banks reach fewer counterparties, so
/// their continuation values stay closer to their own facility-based values and they pay
/// more when they borrow. Measured per run-day as the difference between the volume-weighted
/// borrowing rates (from banks.parquet's `avg_borrowing_rate_bp`, weighted by the day's
/// `interbank_borrowed`) of periphery and core banks. Tolerance: the mean difference must be
/// positive by more than four standard errors over run-days (days are nearly independent:
/// positions revert and reserves are re-steered daily), so chance alone would almost never
/// pass it. The call market on the same banks is the control: one rate for all, so the
/// difference there must be zero up to rounding (1e-9 bp).
#[test]
fn periphery_banks_pay_more_than_core_banks() {
    let core = 25; // market.network.core_size in the scenario: the 25 largest banks
    let differences = |sets: &[&str]| {
        let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        sets.push("calendar.business_days=30".into());
        let sc = scenario("us_fed_funds_2006.toml", &sets);
        let options = RecordOptions {
            banks: true,
            trades: false,
        };
        let mut out = Vec::new();
        for run in simulate(&sc, 4, 3, options) {
            let mut sums = [[0.0f64; 2]; 30];
            let mut volumes = [[0.0f64; 2]; 30];
            for b in &run.banks {
                if let Some(rate) = b.avg_borrowing_rate_bp {
                    let group = usize::from(b.bank as usize >= core);
                    let v = b.interbank_borrowed.as_f64();
                    sums[b.day as usize][group] += rate * v;
                    volumes[b.day as usize][group] += v;
                }
            }
            for (s, v) in sums.iter().zip(&volumes) {
                if v[0] > 0.0 && v[1] > 0.0 {
                    out.push(s[1] / v[1] - s[0] / v[0]);
                }
            }
        }
        out
    };
    let otc = differences(&[]);
    assert!(
        otc.len() >= 100,
        "core and periphery both borrowed on {} run-days",
        otc.len()
    );
    let (mean, se) = mean_and_se(&otc);
    assert!(mean > 4.0 * se, "periphery - core: {mean:.3} ± {se:.3} bp");
    println!("periphery pays {mean:.2} ± {se:.2} bp more than the core");
    let call = differences(&["market.mechanism=call"]);
    assert!(call.iter().all(|d| d.abs() < 1e-9), "{call:?}");
}

/// Determinism with the OTC market's extra state (relationships, the shared network): a
/// batch's records are the same on one thread and on two, and run k alone equals run k of
/// the batch.
#[test]
fn otc_batches_do_not_depend_on_thread_count() {
    use corridor_runner::{population, simulate_run};
    let sc = scenario(
        "emid_electronic.toml",
        &[
            "calendar.business_days=3".into(),
            "banks.count=30".into(),
            "market.contact_rate=0.3".into(),
        ],
    );
    let options = RecordOptions {
        banks: true,
        trades: true,
    };
    let collect = |threads| simulate_on(&sc, 66, 8, options, Some(threads), true); // > 1 chunk
    let one = collect(1);
    assert_eq!(one, collect(2));
    let pop = population(sc.params(), 8);
    let alone = simulate_run(sc.params(), &pop, 8, 65, options, false).unwrap();
    assert_eq!(alone, one[65]);
    assert!(one[0].trades.iter().any(|t| t.round > 1));
}
