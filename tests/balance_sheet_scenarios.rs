//! The balance-sheet scenarios do what their headers say: programmes run at their paces and
//! start, stop and taper on their dates, caps bind, full allotment prices at the MRO rate
//! and leaves the rate between the deposit and MRO rates. Every run checks every invariant
//! (and every operation's effect on reserves) every day.

mod common;

use std::collections::BTreeMap;

use common::*;
use corridor_model::{Money, RecordOptions, RunRecords};

/// Money per (year, month) of one kind of operation (and class, if given), by settlement.
fn monthly(run: &RunRecords, operation: &str, class: Option<&str>) -> BTreeMap<(i32, u32), Money> {
    let mut by_month = BTreeMap::new();
    for o in &run.operations {
        if o.operation == operation && class.is_none_or(|c| o.class == c) {
            let (y, m, _) = o.date.ymd();
            *by_month.entry((y, m)).or_insert(Money::ZERO) += o.amount;
        }
    }
    by_month
}

const BN: i64 = 1_000; // the scenarios count USD or EUR million

trait OnDate {
    /// Whether the record's day falls on or after the date (year, month, day).
    fn date_is_after(&self, run: &RunRecords, ymd: (i32, u32, u32)) -> bool;
}

impl OnDate for corridor_model::SecuritiesRecord {
    fn date_is_after(&self, run: &RunRecords, ymd: (i32, u32, u32)) -> bool {
        run.days[self.day as usize].date.ymd() >= ymd
    }
}

/// POMO 2011: 110 bn a month in 20 operations of 5.5 bn, T+1; between 13 Jan and 9 Feb
/// 2011 the settled purchases add up to about 110 bn (the New York Fed bought about 111 bn).
#[test]
fn pomo_2011_buys_twenty_operations_a_month() {
    let sc = scenario("us_pomo_2011.toml", &[]);
    let runs = simulate(&sc, 2, 7, RecordOptions::default());
    for run in &runs {
        let purchases: Vec<_> = run
            .operations
            .iter()
            .filter(|o| o.operation == "purchase")
            .collect();
        assert!(
            purchases
                .iter()
                .all(|o| o.amount == Money(5_500) && o.class == "treasuries")
        );
        let feb = purchases.iter().filter(|o| o.date.ymd().1 == 2).count();
        assert_eq!(feb, 20, "February's operations");
        let window: Money = purchases
            .iter()
            .filter(|o| {
                let (_, m, d) = o.date.ymd();
                (m == 1 && d >= 13) || (m == 2 && d <= 9)
            })
            .map(|o| o.amount)
            .sum();
        assert!(
            (100 * BN..=121 * BN).contains(&window.0),
            "13 Jan - 9 Feb: {window}"
        );
        // Each settled purchase is on the central bank's books the same day.
        let first = &run.days[0];
        let last = run.days.last().unwrap();
        let bought: Money = purchases.iter().map(|o| o.amount).sum();
        assert_eq!(
            last.cb_securities - first.cb_securities,
            bought - first_day(run)
        );
        assert!(last.reserves_total > first.reserves_total + Money(200 * BN));
    }
}

/// Purchases settled on the first day (none: trades settle T+1).
fn first_day(run: &RunRecords) -> Money {
    run.operations
        .iter()
        .filter(|o| o.day == 0 && o.operation == "purchase")
        .map(|o| o.amount)
        .sum()
}

/// QT 2022: Treasuries run off exactly at the cap, 30 bn in Jul and Aug 2022 and 60 bn from
/// Sep 2022 (maturities exceed the caps); MBS paydowns stay under their cap.
#[test]
fn qt_2022_runs_off_at_the_caps() {
    let sc = scenario("us_qt_2022.toml", &["calendar.business_days=190".into()]);
    let runs = simulate(&sc, 1, 3, RecordOptions::default());
    let run = &runs[0];
    let treasuries = monthly(run, "redemption", Some("treasuries"));
    for month in [(2022, 7), (2022, 8)] {
        assert_eq!(treasuries[&month], Money(30 * BN), "{month:?}");
    }
    for month in [(2022, 9), (2022, 10), (2022, 11), (2022, 12), (2023, 1)] {
        assert_eq!(treasuries[&month], Money(60 * BN), "{month:?}");
    }
    for (month, mbs) in monthly(run, "redemption", Some("mbs")) {
        assert!(mbs < Money(35 * BN), "{month:?}: {mbs}");
    }
    let (first, last) = (&run.days[0], run.days.last().unwrap());
    assert!(last.cb_securities < first.cb_securities - Money(400 * BN));
    assert!(last.reserves_total < first.reserves_total - Money(300 * BN));
}

/// QE 2008-14 through Apr 2010: QE1's paces from the timeline (83 bn of MBS and 13 bn of
/// agency debt a month from January 2009, 50 bn of Treasuries from 25 March to September),
/// and the emergency facilities running off throughout.
#[test]
fn qe1_buys_at_its_paces_on_its_dates() {
    let sc = scenario(
        "us_qe_2008_2014.toml",
        &["calendar.business_days=340".into()],
    );
    let runs = simulate(&sc, 1, 5, RecordOptions::default());
    let run = &runs[0];
    let mbs = monthly(run, "purchase", Some("mbs"));
    let treasuries = monthly(run, "purchase", Some("treasuries"));
    // Whole months inside the programme: every operation of the month settles in it but the
    // last, which settles on the next month's first day, and the previous month's last
    // settles in it: the month's total is the pace.
    for month in [(2009, 3), (2009, 6), (2009, 11), (2010, 2)] {
        assert_eq!(mbs[&month], Money(83 * BN), "MBS {month:?}");
    }
    for month in [(2009, 5), (2009, 8)] {
        assert_eq!(treasuries[&month], Money(50 * BN), "Treasuries {month:?}");
    }
    assert_eq!(
        treasuries.get(&(2009, 12)),
        None,
        "Treasury purchases stop in October"
    );
    assert!(mbs.get(&(2010, 5)).is_none_or(|m| *m == Money::ZERO));
    // The facilities (about 1.4 tn, maturing evenly over 300 days) are never reinvested:
    // they run off month by month and are gone by November 2009.
    let facilities = monthly(run, "redemption", Some("facilities"));
    let repaid: Money = facilities.values().copied().sum();
    assert!(repaid > Money(1_400 * BN), "{facilities:?}");
    assert!(facilities[&(2009, 5)] > Money(130 * BN), "{facilities:?}");
    let left = run
        .securities
        .iter()
        .filter(|s| s.class == "facilities" && s.date_is_after(run, (2009, 11, 1)))
        .map(|s| s.central_bank);
    assert!(left.clone().count() > 0 && left.into_iter().all(|m| m == Money::ZERO));
}

/// Euro area 2008: weekly full-allotment MROs at the MRO rate; the overnight rate inside
/// the corridor, above the MRO rate on fewer than one day in ten, 5 to 60 bp above the
/// deposit rate on average (EONIA was 10-60 bp above it), with excess reserves.
#[test]
fn euro_area_2008_full_allotment_sits_between_deposit_and_mro_rates() {
    let sc = scenario("euro_area_2008_full_allotment.toml", &[]);
    let runs = simulate(&sc, 4, 9, RecordOptions::default());
    let mut spreads = Vec::new();
    let mut excess = Vec::new();
    let (mut above_mro, mut days) = (0, 0);
    for run in &runs {
        let mros: Vec<_> = run
            .operations
            .iter()
            .filter(|o| o.operation == "main_repo")
            .collect();
        assert_eq!(mros.len(), 37, "weekly over 185 business days");
        for o in &mros {
            let day = &run.days[o.day as usize];
            assert_eq!(o.rate_bp, Some(day.policy_rate_bp));
            assert_eq!(o.marginal_rate_bp, None);
        }
        for d in &run.days[5..] {
            let rate = d.overnight_rate_bp.expect("a rate every day");
            assert!(rate >= d.deposit_rate_bp - 1e-9 && rate <= d.lending_rate_bp + 1e-9);
            above_mro += usize::from(rate > d.policy_rate_bp);
            days += 1;
            spreads.push(rate - d.deposit_rate_bp);
            excess.push((d.reserves_total - d.reserves_required).as_f64());
        }
    }
    // Above the MRO rate only where a maintenance period ends short, as EONIA did.
    assert!(
        above_mro * 10 < days,
        "{above_mro} of {days} days above the MRO rate"
    );
    let (mean, _) = mean_and_se(&spreads);
    assert!(
        (5.0..60.0).contains(&mean),
        "mean spread to the deposit rate {mean} bp"
    );
    let (mean_excess, _) = mean_and_se(&excess);
    assert!(
        mean_excess > 100.0 * BN as f64,
        "excess reserves {mean_excess}"
    );
}

/// US 2020: purchases from 16 March more than double reserves by August; the rate sits
/// below IOER (the leaky floor) once it is cut to 0.10%.
#[test]
fn pandemic_purchases_double_reserves_at_the_floor() {
    let sc = scenario(
        "us_2020_pandemic_purchases.toml",
        &["calendar.business_days=120".into()],
    );
    let runs = simulate(&sc, 1, 2, RecordOptions::default());
    let run = &runs[0];
    let (first, last) = (&run.days[0], run.days.last().unwrap());
    assert!(
        last.reserves_total.as_f64() > 1.6 * first.reserves_total.as_f64(),
        "{} -> {}",
        first.reserves_total,
        last.reserves_total
    );
    for d in run.days.iter().filter(|d| d.date.ymd() >= (2020, 4, 1)) {
        let rate = d.overnight_rate_bp.expect("a rate every day");
        assert!(rate <= d.deposit_rate_bp + 1e-9, "{}: {rate}", d.date);
    }
}
