//! Balance-sheet policy (MODEL.md sections 2 and 5) against accounting and theory: every
//! operation moves reserves by exactly its amount and the central bank's balance sheet
//! balances every day; QE drives the rate down the Poole curve to the floor and QT back up
//! it; POMO holds reserves near target while currency grows; full allotment lets banks'
//! own demand set the supply.

use corridor_model::fixtures;
use corridor_model::normal::cdf;
use corridor_model::params::{
    Allotment, Framework, MainOperationParams, Params, PomoParams, Pricing, SecurityClass,
    SizeDistribution,
};
use corridor_model::{DayRecord, Money, Population, RecordOptions, RunRecords, Simulation};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One run with every invariant (and every operation's effect on reserves) checked daily.
fn run_checked(params: &Params, seed: u64) -> RunRecords {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let population = Population::draw(params, &mut rng);
    let mut sim = Simulation::new(params, &population);
    let mut out = RunRecords::default();
    sim.check_invariants().unwrap_or_else(|v| panic!("{v}"));
    while !sim.is_finished() {
        sim.step(&mut rng, RecordOptions::default(), &mut out);
        sim.check_invariants().unwrap_or_else(|v| panic!("{v}"));
    }
    out
}

/// The central bank's balance sheet as recorded: assets minus liabilities and capital.
fn cb_gap(d: &DayRecord) -> Money {
    d.cb_securities + d.cb_repo_lending + d.cb_lending_facility
        - (d.cb_reserves
            + d.cb_term_deposits
            + d.cb_currency
            + d.cb_government
            + d.cb_other_liabilities
            + d.cb_capital)
}

fn classes(bill_days: u32, bond_days: u32, investors: i64, coupon: f64) -> Vec<SecurityClass> {
    vec![
        SecurityClass {
            name: "bills".into(),
            maturity_days: bill_days,
            coupon_rate_bp: 0.0,
            haircut: 0.01,
            bank_share: 0.5,
            investor_holdings: Money(investors),
            central_bank_share: 0.4,
        },
        SecurityClass {
            name: "bonds".into(),
            maturity_days: bond_days,
            coupon_rate_bp: coupon,
            haircut: 0.05,
            bank_share: 0.5,
            investor_holdings: Money(investors / 2),
            central_bank_share: 0.6,
        },
    ]
}

fn policy_scenario() -> impl Strategy<Value = (Params, u64)> {
    (
        (
            4u32..30,
            30u32..90,
            0usize..3,
            -1_000i64..3_000,
            any::<u64>(),
        ),
        (
            5u32..120,
            20u32..400,
            0i64..2_000_000,
            0.0f64..500.0,
            -20_000i64..60_000,
            -10_000i64..30_000,
        ),
        (
            any::<bool>(),
            proptest::option::of(0i64..20_000),
            proptest::option::of(0i64..20_000),
            1u32..23,
            0.0f64..1.0,
            0u32..3,
        ),
        (
            0usize..4,
            1u32..6,
            1u32..15,
            any::<bool>(),
            0i64..20_000,
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c, d)| {
            let (banks, days, start, reserves_per_bank, seed) = a;
            let (bill_days, bond_days, investors, coupon, qe_bills, qe_bonds) = b;
            let (reinvest, cap_bills, cap_bonds, ops, nonbank_share, settlement) = c;
            let (mode, interval, tenor, ft_on, forecast_sd, growth) = d;
            let mut p = fixtures::poole(banks, 4, days, reserves_per_bank, 2_000);
            p.calendar.start =
                corridor_model::Date::from_ymd(2020, 1 + start as u32 * 4, 13).expect("valid date");
            p.banks.size_distribution = SizeDistribution::LogNormal { sigma: 1.0 };
            p.central_bank.policy_rate_bp = -10.0;
            p.central_bank.deposit_rate_bp = -50.0;
            p.central_bank.lending_rate_bp = 40.0;
            p.central_bank.fine_tuning.enabled = ft_on;
            p.central_bank.fine_tuning.forecast_error_sd = Money(forecast_sd);
            p.central_bank.fine_tuning.rate_offset_bp = 5.0;
            p.behaviour.precautionary_buffer_sd = 0.5;
            p.autonomous.currency.initial = Money(500_000 * banks as i64);
            p.autonomous.currency.annual_growth = if growth { 0.3 } else { -0.1 };
            p.autonomous.currency.noise_sd = Money(10_000);
            p.autonomous.government.initial = Money(100_000);
            p.autonomous.government.noise_sd = Money(20_000);
            p.autonomous.government.persistence = 0.5;
            p.securities = classes(bill_days, bond_days, investors, coupon);
            let bs = &mut p.central_bank.balance_sheet;
            bs.monthly_purchases = vec![Money(qe_bills), Money(qe_bonds)];
            bs.operations_per_month = ops;
            bs.nonbank_share = nonbank_share;
            bs.reinvest = reinvest;
            bs.runoff_caps = vec![cap_bills.map(Money), cap_bonds.map(Money)];
            bs.settlement_days = settlement;
            if mode == 3 {
                bs.pomo = Some(PomoParams {
                    class: 0,
                    operations_per_month: ops,
                    max_operation: Money(30_000),
                    min_operation: Money(100),
                });
            }
            p.central_bank.main_operation = match mode {
                1 => Some(MainOperationParams {
                    interval_days: interval,
                    tenor_days: tenor,
                    allotment: Allotment::FixedRateFullAllotment,
                }),
                2 => Some(MainOperationParams {
                    interval_days: interval,
                    tenor_days: tenor,
                    allotment: Allotment::VariableRate {
                        pricing: if growth {
                            Pricing::Multiple
                        } else {
                            Pricing::Uniform
                        },
                        bid_tick_bp: 1.0,
                        bid_levels: 8,
                    },
                }),
                _ => None,
            };
            (p, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random programmes, runoff caps, POMO, main operations of both kinds, settlement lags
    /// and coupons: `check_invariants` verifies each operation's effect on reserves as it
    /// happens and every identity each day; the recorded balance sheet balances; each
    /// day's reserves move by exactly its operations' recorded effects plus the other
    /// recorded flows' effects, which are accounted for separately by the simulation.
    #[test]
    fn every_operation_moves_reserves_by_its_amount((params, seed) in policy_scenario()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let population = Population::draw(&params, &mut rng);
        let mut sim = Simulation::new(&params, &population);
        let mut out = RunRecords::default();
        prop_assert!(sim.check_invariants().is_ok());
        while !sim.is_finished() {
            sim.step(&mut rng, RecordOptions::default(), &mut out);
            if let Err(v) = sim.check_invariants() {
                prop_assert!(false, "{v}");
            }
        }
        for d in &out.days {
            prop_assert_eq!(cb_gap(d), Money::ZERO, "day {}", d.day);
        }
        for op in &out.operations {
            prop_assert!(op.amount >= Money::ZERO);
            let sign = match op.operation {
                "fine_tuning_repo" | "main_repo" | "purchase" | "pomo_purchase" => 1,
                "fine_tuning_deposit" | "main_deposit" | "sale" | "pomo_sale" | "redemption" => -1,
                "reinvestment" => 0,
                other => { prop_assert!(false, "unknown operation {other}"); 0 }
            };
            prop_assert_eq!(op.reserve_effect, Money(sign * op.amount.0), "{:?}", op);
        }
        // Holdings recorded by class never go negative.
        for s in &out.securities {
            prop_assert!(s.banks >= Money::ZERO && s.investors >= Money::ZERO, "{:?}", s);
        }
    }
}

const N: u32 = 50;
const SD: i64 = 100;
const R_D: f64 = 0.0;
const R_L: f64 = 200.0;

/// One bank's actual late-shock sd: the shocks are netted into transfers.
fn s() -> f64 {
    SD as f64 * (1.0 - 1.0 / N as f64).sqrt()
}

fn poole_rate(reserves_total: Money) -> f64 {
    R_D + (R_L - R_D) * cdf(-(reserves_total.as_f64() / N as f64) / s())
}

/// Poole's identical banks with no autonomous factors and no fine-tuning: reserves move
/// only through the balance-sheet policy (and the small interest flows it causes).
fn poole_without_fine_tuning(reserves_per_bank: i64, days: u32) -> Params {
    let mut p = fixtures::poole(N, 10, days, reserves_per_bank, SD);
    p.central_bank.policy_rate_bp = 100.0;
    p.central_bank.deposit_rate_bp = R_D;
    p.central_bank.lending_rate_bp = R_L;
    p.central_bank.framework = Framework::Floor;
    p.central_bank.fine_tuning.enabled = false;
    p
}

/// Every day's clearing rate sits on the analytic curve at that day's reserves. Banks are
/// identical, so the clearing rate depends on aggregate reserves alone and must match to
/// the solver's precision (1e-6 bp, as in the Poole test).
fn assert_on_curve(out: &RunRecords) {
    for d in &out.days {
        let rate = d
            .overnight_rate_bp
            .expect("identical banks trade every day");
        let expected = poole_rate(d.reserves_total);
        assert!(
            (rate - expected).abs() < 1e-6,
            "day {}: rate {rate} bp at R/N = {:.1}, curve {expected} bp",
            d.day,
            d.reserves_total.as_f64() / N as f64
        );
    }
}

fn mean_rate(days: &[DayRecord]) -> f64 {
    days.iter().filter_map(|d| d.overnight_rate_bp).sum::<f64>() / days.len() as f64
}

/// QE from scarce reserves (R = -2 s per bank): 4 000 a month of bonds, bought from banks
/// (no investors here), lifts reserves by 80 per bank a month, through the steep part of
/// the curve into the flat part, where the rate converges to the floor.
#[test]
fn quantitative_easing_drives_the_rate_down_the_curve_to_the_floor() {
    let mut p = poole_without_fine_tuning(-2 * SD, 160);
    p.central_bank.balance_sheet.monthly_purchases = vec![Money::ZERO, Money(4_000), Money::ZERO];
    let out = run_checked(&p, 11);
    assert_on_curve(&out);
    let first = &out.days[..10];
    let last = &out.days[out.days.len() - 10..];
    let r_first = first[0].reserves_total.as_f64() / N as f64;
    let r_last = last[9].reserves_total.as_f64() / N as f64;
    assert!(r_first < -1.5 * s(), "starts scarce: R/N = {r_first}");
    assert!(r_last > 3.5 * s(), "ends abundant: R/N = {r_last}");
    assert!(mean_rate(first) > 180.0, "scarce: {}", mean_rate(first));
    assert!(
        mean_rate(last) < R_D + 0.1,
        "at the floor: {}",
        mean_rate(last)
    );
    // The pace: 20 equal operations a month of 200 each, so any calendar month strictly
    // inside the run settles exactly 4 000 (its first settlement is the previous month's
    // last trade, T+1).
    let mut by_month = std::collections::BTreeMap::new();
    for o in out.operations.iter().filter(|o| o.operation == "purchase") {
        let (y, m, _) = o.date.ymd();
        *by_month.entry((y, m)).or_insert(Money::ZERO) += o.amount;
        assert_eq!(o.amount, Money(200));
    }
    let inner: Vec<Money> = by_month.values().copied().skip(1).collect();
    assert!(inner.len() >= 5);
    for settled in &inner[..inner.len() - 1] {
        assert_eq!(*settled, Money(4_000));
    }
}

/// QT from abundant reserves (R = +4 s per bank), the whole portfolio in bonds maturing
/// evenly over 120 days (about 5 000 a month): with reinvestment on and a runoff cap of
/// 3 000 a month, exactly the cap runs off each month (the rest is reinvested) and
/// reserves fall by it, until they reach the steep part of the curve and the rate rises
/// off the floor, on the curve every day.
#[test]
fn quantitative_tightening_raises_the_rate_once_reserves_are_scarce() {
    let mut p = poole_without_fine_tuning(4 * SD, 150);
    let mut bonds = SecurityClass::defaults()[1].clone();
    bonds.maturity_days = 120;
    bonds.central_bank_share = 1.0;
    bonds.bank_share = 1.0;
    p.securities = vec![bonds];
    let bs = &mut p.central_bank.balance_sheet;
    *bs = corridor_model::params::BalanceSheetPolicy::passive(1);
    bs.runoff_caps = vec![Some(Money(3_000))];
    let out = run_checked(&p, 12);
    assert_on_curve(&out);
    let mut by_month = std::collections::BTreeMap::new();
    for o in out
        .operations
        .iter()
        .filter(|o| o.operation == "redemption")
    {
        let (y, m, _) = o.date.ymd();
        *by_month.entry((y, m)).or_insert(Money::ZERO) += o.amount;
    }
    let mut reinvested = std::collections::BTreeMap::new();
    for o in out
        .operations
        .iter()
        .filter(|o| o.operation == "reinvestment")
    {
        let (y, m, _) = o.date.ymd();
        *reinvested.entry((y, m)).or_insert(Money::ZERO) += o.amount;
    }
    let months: Vec<((i32, u32), Money)> = by_month.into_iter().collect();
    assert!(months.len() >= 6, "{months:?}");
    // While the first ladder matures (about 5 000 a month) the cap binds and the rest is
    // reinvested; later only the reinvested lots mature (about 2 000 a month), under the
    // cap: all of it runs off and nothing is reinvested. Never more than the cap.
    for (month, runoff) in &months[..4] {
        assert_eq!(*runoff, Money(3_000), "{month:?}: {months:?}");
        assert!(reinvested.get(month).is_some_and(|r| *r > Money::ZERO));
    }
    for (month, runoff) in &months {
        assert!(*runoff <= Money(3_000), "{month:?}: {months:?}");
        if *runoff < Money(3_000) {
            assert_eq!(reinvested.get(month), None, "{month:?}");
        }
    }
    let first = &out.days[..10];
    let last = &out.days[out.days.len() - 10..];
    assert!(
        mean_rate(first) < R_D + 0.2,
        "starts at the floor: {}",
        mean_rate(first)
    );
    let r_last = last[9].reserves_total.as_f64() / N as f64;
    assert!(r_last < 0.7 * s(), "ends near scarcity: R/N = {r_last}");
    assert!(
        mean_rate(last) > R_D + 40.0,
        "off the floor: {}",
        mean_rate(last)
    );
    // Without the cap nothing is reinvested: all 20 000 runs off within 120 days, and the
    // rate goes to the lending rate.
    let mut all_off = p.clone();
    all_off.central_bank.balance_sheet.reinvest = false;
    let off = run_checked(&all_off, 12);
    assert_on_curve(&off);
    assert!(off.operations.iter().all(|o| o.operation != "reinvestment"));
    // Reserves run down to about zero (the policy rate, at R = 0); at most the interest
    // the lending facility charges is left to drain them below.
    let tail = &off.days[off.days.len() - 10..];
    assert!(tail[9].reserves_total.as_f64() / (N as f64) < 0.1 * s());
    assert!(mean_rate(tail) > 95.0, "{}", mean_rate(tail));
}

/// POMO on bills holds reserves near target while currency grows 10% a year (about 25 000
/// over the 250 days, 5 per bank a day against a late-shock sd of 100): 20 operations a
/// month, each closing the gap between the target and reserves forecast for settlement.
/// Reports the band achieved; without POMO reserves drift 250 per bank below target.
#[test]
fn pomo_keeps_reserves_within_a_band_while_currency_grows() {
    let mut p = poole_without_fine_tuning(0, 250);
    let currency = 250_000;
    p.autonomous.currency.initial = Money(currency);
    p.autonomous.currency.annual_growth = 0.10;
    p.autonomous.currency.noise_sd = Money(200);
    p.central_bank.reserve_target = Money::ZERO;
    let bs = &mut p.central_bank.balance_sheet;
    bs.pomo = Some(PomoParams {
        class: 0,
        operations_per_month: 20,
        max_operation: Money(5_000),
        min_operation: Money(50),
    });
    let band = |out: &RunRecords| {
        let per_bank: Vec<f64> = out
            .days
            .iter()
            .map(|d| (d.reserves_total - d.reserves_target).as_f64() / N as f64)
            .collect();
        let lo = per_bank.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = per_bank.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    let out = run_checked(&p, 13);
    let (lo, hi) = band(&out);
    println!(
        "POMO: reserves per bank stayed within [{lo:.1}, {hi:.1}] of target (late-shock sd {SD})"
    );
    let bought: Money = out
        .operations
        .iter()
        .filter(|o| o.operation == "pomo_purchase")
        .map(|o| o.amount)
        .sum();
    println!(
        "POMO bought {bought} over the year; currency grew by {}",
        out.days.last().unwrap().cb_currency - Money(currency)
    );
    assert!(lo > -20.0 && hi < 20.0, "band [{lo}, {hi}]");
    assert!(
        bought > Money(20_000),
        "POMO must have bought the currency growth: {bought}"
    );
    let mut without = p.clone();
    without.central_bank.balance_sheet.pomo = None;
    let (lo_without, _) = band(&run_checked(&without, 13));
    println!("without POMO: reserves fell to {lo_without:.1} per bank below target");
    assert!(
        lo_without < -200.0,
        "the test needs a drift to correct: {lo_without}"
    );
}

/// Fixed-rate full allotment: every bid at the policy rate is filled, so banks' own demand
/// sets the supply. With a precautionary buffer of one late-shock sd and banks relying on
/// the interbank market to redistribute reserves, bids add up to the system's demand at
/// the policy rate: about 1 s per bank of reserves, and the rate stays at the policy rate
/// (a symmetric corridor). When banks bid for their own shortfalls instead (a fragmented
/// market, the euro area from October 2008), the surpluses of the others are not netted:
/// supply far exceeds demand and the rate falls to the deposit rate. A variable-rate
/// auction of the benchmark amount (reserves at target, 0) leaves banks short of their
/// buffer: the rate is the curve's at R = -1 s, 200 Φ(1) = 168 bp.
#[test]
fn full_allotment_lets_banks_demand_set_reserve_supply() {
    let mut p = poole_without_fine_tuning(-3 * SD, 60);
    p.central_bank.framework = Framework::Corridor;
    p.central_bank.reserve_target = Money::ZERO;
    p.behaviour.precautionary_buffer_sd = 1.0;
    p.central_bank.main_operation = Some(MainOperationParams {
        interval_days: 5,
        tenor_days: 7,
        allotment: Allotment::FixedRateFullAllotment,
    });
    let excess = |days: &[DayRecord]| {
        days.iter().map(|d| d.reserves_total.as_f64()).sum::<f64>() / days.len() as f64 / N as f64
    };
    let full = run_checked(&p, 14);
    let ops: Vec<_> = full
        .operations
        .iter()
        .filter(|o| o.operation == "main_repo")
        .collect();
    assert_eq!(ops.len(), 12, "weekly over 60 business days");
    assert!(
        ops.iter()
            .all(|o| o.rate_bp == Some(100.0) && o.counterparties <= N)
    );
    let later = &full.days[10..];
    let (excess_full, rate_full) = (excess(later), mean_rate(later));

    let mut fragmented = p.clone();
    fragmented.behaviour.market_reliance = 0.0;
    let frag = run_checked(&fragmented, 14);
    let (excess_frag, rate_frag) = (excess(&frag.days[10..]), mean_rate(&frag.days[10..]));

    let mut auction = p.clone();
    auction.central_bank.main_operation = Some(MainOperationParams {
        interval_days: 5,
        tenor_days: 7,
        allotment: Allotment::VariableRate {
            pricing: Pricing::Multiple,
            bid_tick_bp: 1.0,
            bid_levels: 10,
        },
    });
    let var = run_checked(&auction, 14);
    let (excess_var, rate_var) = (excess(&var.days[10..]), mean_rate(&var.days[10..]));
    println!(
        "full allotment: excess {excess_full:.1} per bank, rate {rate_full:.2} bp; \
         fragmented: {excess_frag:.1}, {rate_frag:.2} bp; variable rate: {excess_var:.1}, \
         {rate_var:.2} bp"
    );
    assert!(
        (excess_full - s()).abs() < 0.1 * s(),
        "excess {excess_full}, buffer {}",
        s()
    );
    assert!((rate_full - 100.0).abs() < 5.0, "rate {rate_full}");
    assert!(excess_frag > 5.0 * s(), "fragmented excess {excess_frag}");
    assert!(rate_frag < R_D + 5.0, "fragmented rate {rate_frag}");
    assert!(excess_var.abs() < 0.1 * s(), "auction excess {excess_var}");
    assert!(
        (rate_var - 200.0 * cdf(1.0)).abs() < 8.0,
        "auction rate {rate_var}"
    );
    for o in var
        .operations
        .iter()
        .filter(|o| o.operation.starts_with("main_"))
    {
        assert!(o.marginal_rate_bp.is_some());
    }
}
