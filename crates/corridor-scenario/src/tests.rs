//! Scenario parsing tests. Line numbers are checked against the literal TOML in each test:
//! every literal starts with its line 1 right after the opening quote.

use corridor_model::params::{
    Allotment, BalanceSheetPolicy, Framework, MarketMechanism, Pricing, SecurityClass,
    SizeDistribution,
};
use corridor_model::{Date, DayCount, Money};

use crate::{ErrorKind, Scenario, ScenarioError, load, parse};

const FILE: &str = "scenarios/x.toml";

fn ok(text: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    parse(FILE, text, &sets).unwrap_or_else(|e| panic!("rejected: {e}"))
}

fn err(text: &str, sets: &[&str]) -> ScenarioError {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match parse(FILE, text, &sets) {
        Ok(_) => panic!("accepted, expected an error"),
        Err(e) => e,
    }
}

/// Checks every part of an error: kind, file, line, key and the exact message.
#[track_caller]
fn check(
    e: &ScenarioError,
    kind: ErrorKind,
    line: Option<usize>,
    key: Option<&str>,
    display: &str,
) {
    assert_eq!(e.to_string(), display);
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.file(), FILE, "{e}");
    assert_eq!(e.line(), line, "{e}");
    assert_eq!(e.key(), key, "{e}");
}

/// The required keys only (lines 1-14).
const MINIMAL: &str = r#"[money]
minor_unit = "SEK"

[banks]
count = 4
mean_size = 1000

[late_shock]
sd = 10

[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
"#;

/// Every key, none at its default.
const FULL: &str = r#"# A scenario that sets every key.
[scenario]
name = "full"
description = "Every key \"set\", none at its default"

[run]
runs = 7
seed = 9223372036854775807
record_banks = true
record_trades = true

[money]
minor_unit = "SEK"
scale = 1_000_000

[calendar]
start = 2015-01-05
business_days = 60
day_count = "ACT/365"

[banks]
count = 30
size_distribution = { kind = "pareto", alpha = 1.8 }
mean_size = 50_000.5
securities_share = 0.25
capital_ratio = 0.1

[payments]
periods = 12
per_bank_per_period = 3.5
mean_amount = 12.25
amount_cv = 0.5
deposit_reversion = 0.3

[intraday]
collateral_share = 0.07
overdraft_fee_bp = 36

[late_shock]
sd = 1.5
size_elasticity = 1.0

[behaviour]
stigma_bp = 20
precautionary_buffer_sd = 0.5
perceived_shock_scale = 1.2
balance_sheet_cost_bp = 7.5

[central_bank]
framework = "corridor"
policy_rate_bp = -10
deposit_rate_bp = -85
lending_rate_bp = 65
reserve_target_per_bank = 0.1

[central_bank.fine_tuning]
enabled = false
rate_offset_bp = 10
forecast_error_sd = 2000
min_amount = 0.5

[autonomous.currency]
initial = 80_000
annual_growth = 0.30000000000000004
weekday_effect = [0.01, -0.002, 0, 0, 0.004]
month_end_effect = 0.006
noise_sd = 150

[autonomous.government]
initial = 15_000
persistence = 0.85
noise_sd = 1_500
monthly = [{ business_day = 12, amount = 200.0 }, { business_day = 1, amount = -0.25 }]

[[autonomous.government.events]]
date = "2015-03-17"
amount = 500.0

[[autonomous.government.events]]
date = 2015-02-02
amount = -1.75

[market]
mechanism = "call"

[central_bank.reserve_requirement]
ratio = 0.02
maintenance_days = 10
averaging = false
enforced = false
remuneration_rate_bp = -10
penalty_rate_bp = 100

[non_banks]
lenders = 4
cash = 250.5
idle_rate_bp = -20

[non_banks.reverse_repo]
rate_bp = -15
cap_per_lender = 12.25

[[timeline]]
date = "2015-02-18"
set = { "central_bank.policy_rate_bp" = -25, "non_banks.reverse_repo.rate_bp" = -30 }
"#;

#[test]
fn full_scenario_is_read_exactly() {
    let s = ok(FULL, &[]);
    let p = s.params();
    assert_eq!(s.name(), "full");
    assert_eq!(s.description(), "Every key \"set\", none at its default");
    assert_eq!(s.default_runs(), 7);
    assert_eq!(s.default_seed(), i64::MAX as u64);
    assert!(s.record_options().banks && s.record_options().trades);
    assert_eq!(s.money_unit(), "SEK");

    assert_eq!(p.calendar.start, Date::from_ymd(2015, 1, 5).unwrap());
    assert_eq!(p.calendar.business_days, 60);
    assert_eq!(p.calendar.day_count, DayCount::Act365);

    assert_eq!(p.banks.count, 30);
    assert_eq!(
        p.banks.size_distribution,
        SizeDistribution::Pareto { alpha: 1.8 }
    );
    assert_eq!(p.banks.mean_size, Money(50_000_500_000));
    assert_eq!(p.banks.securities_share, 0.25);
    assert_eq!(p.banks.capital_ratio, 0.1);

    assert_eq!(p.payments.periods, 12);
    assert_eq!(p.payments.per_bank_per_period, 3.5);
    assert_eq!(p.payments.mean_amount, Money(12_250_000));
    assert_eq!(p.payments.amount_cv, 0.5);
    assert_eq!(p.payments.deposit_reversion, 0.3);
    assert_eq!(p.intraday.collateral_share, 0.07);
    assert_eq!(p.intraday.overdraft_fee_bp, 36.0);
    assert_eq!(p.late_shock.sd, Money(1_500_000));
    assert_eq!(p.late_shock.size_elasticity, 1.0);
    assert_eq!(p.behaviour.stigma_bp, 20.0);
    assert_eq!(p.behaviour.precautionary_buffer_sd, 0.5);
    assert_eq!(p.behaviour.perceived_shock_scale, 1.2);

    let cb = &p.central_bank;
    assert_eq!(cb.framework, Framework::Corridor);
    assert_eq!(
        (cb.deposit_rate_bp, cb.policy_rate_bp, cb.lending_rate_bp),
        (-85.0, -10.0, 65.0)
    );
    // 0.1 per bank × 1e6 × 30 banks.
    assert_eq!(cb.reserve_target, Money(3_000_000));
    assert!(!cb.fine_tuning.enabled);
    assert_eq!(cb.fine_tuning.rate_offset_bp, 10.0);
    assert_eq!(cb.fine_tuning.forecast_error_sd, Money(2_000_000_000));
    assert_eq!(cb.fine_tuning.min_amount, Money(500_000));

    let cur = &p.autonomous.currency;
    assert_eq!(cur.initial, Money(80_000_000_000));
    assert_eq!(cur.annual_growth, 0.30000000000000004);
    assert_eq!(cur.weekday_effect, [0.01, -0.002, 0.0, 0.0, 0.004]);
    assert_eq!(cur.month_end_effect, 0.006);
    assert_eq!(cur.noise_sd, Money(150_000_000));

    let gov = &p.autonomous.government;
    assert_eq!(gov.initial, Money(15_000_000_000));
    assert_eq!(gov.persistence, 0.85);
    assert_eq!(gov.noise_sd, Money(1_500_000_000));
    // Sorted by date.
    assert_eq!(gov.events.len(), 2);
    assert_eq!(gov.events[0].date, Date::from_ymd(2015, 2, 2).unwrap());
    assert_eq!(gov.events[0].amount, Money(-1_750_000));
    assert_eq!(gov.events[1].date, Date::from_ymd(2015, 3, 17).unwrap());
    assert_eq!(gov.events[1].amount, Money(500_000_000));
    assert_eq!(gov.monthly.len(), 2);
    assert_eq!(gov.monthly[0].business_day_of_month, 12);
    assert_eq!(gov.monthly[0].amount, Money(200_000_000));
    assert_eq!(gov.monthly[1].business_day_of_month, 1);
    assert_eq!(gov.monthly[1].amount, Money(-250_000));
    assert_eq!(p.market.mechanism, MarketMechanism::Call);

    assert_eq!(p.behaviour.balance_sheet_cost_bp, 7.5);
    let rr = cb.reserve_requirement.as_ref().expect("a requirement");
    assert_eq!((rr.ratio, rr.maintenance_days), (0.02, 10));
    assert!(!rr.averaging && !rr.enforced);
    assert_eq!(
        (rr.remuneration_rate_bp, rr.penalty_rate_bp),
        (-10.0, 100.0)
    );
    let nb = p.non_banks.as_ref().expect("non-banks");
    assert_eq!(
        (nb.lenders, nb.cash, nb.idle_rate_bp),
        (4, Money(250_500_000), -20.0)
    );
    let rrp = nb.reverse_repo.as_ref().expect("a reverse repo facility");
    assert_eq!(
        (rrp.rate_bp, rrp.cap_per_lender),
        (-15.0, Money(12_250_000))
    );
    assert_eq!(p.policy_timeline.len(), 1);
    let ev = &p.policy_timeline[0];
    assert_eq!(ev.date, Date::from_ymd(2015, 2, 18).unwrap());
    assert_eq!(ev.central_bank.policy_rate_bp, -25.0);
    assert_eq!(ev.central_bank.deposit_rate_bp, -85.0);
    assert_eq!(ev.central_bank.reserve_requirement, cb.reserve_requirement);
    assert_eq!(
        ev.non_banks
            .as_ref()
            .unwrap()
            .reverse_repo
            .as_ref()
            .unwrap()
            .rate_bp,
        -30.0
    );
}

#[track_caller]
fn assert_same_scenario(a: &Scenario, b: &Scenario) {
    assert_eq!(a.params(), b.params());
    assert_eq!(a.name(), b.name());
    assert_eq!(a.description(), b.description());
    assert_eq!(a.default_runs(), b.default_runs());
    assert_eq!(a.default_seed(), b.default_seed());
    assert_eq!(a.record_options(), b.record_options());
    assert_eq!(a.money_unit(), b.money_unit());
}

#[test]
fn resolved_toml_round_trips() {
    for (text, sets) in [
        (FULL, &[][..]),
        (MINIMAL, &[][..]),
        (
            MINIMAL,
            &[
                "banks.count=9",
                "central_bank.reserve_target_per_bank=-2.5",
                "money.scale=0.01",
            ][..],
        ),
        (TIMELINE, &[][..]),
        (
            MINIMAL,
            &[
                "central_bank.framework.kind=three_tier",
                "central_bank.framework.basic={ kind = \"size_groups\", groups = [{ min_size = 0, amount = 3 }] }",
                "central_bank.framework.basic_rate_bp=10",
                "central_bank.framework.macro_add_on={ kind = \"explicit\", amounts = [1, 2, 3, 4] }",
                "behaviour.balance_sheet_cost_bp=12",
            ][..],
        ),
    ] {
        let first = ok(text, sets);
        let resolved = first.resolved_toml();
        // A different file name: the name must come from the resolved text itself.
        let second = parse("elsewhere/other.toml", &resolved, &[])
            .unwrap_or_else(|e| panic!("resolved TOML rejected: {e}\n{resolved}"));
        assert_same_scenario(&first, &second);
        assert_eq!(second.resolved_toml(), resolved, "resolving is idempotent");
    }
}

#[test]
fn resolved_toml_writes_every_key() {
    let resolved = ok(MINIMAL, &[]).resolved_toml();
    for key in [
        "name = \"x\"",
        "runs = 100",
        "seed = 1",
        "scale = 1.0",
        "start = \"2014-01-02\"",
        "day_count = \"ACT/360\"",
        "kind = \"identical\"",
        "deposit_reversion = 0.2",
        "size_elasticity = 0.5",
        "reserve_target = 0.0",
        "weekday_effect = [0.0, 0.0, 0.0, 0.0, 0.0]",
        "mechanism = \"call\"",
    ] {
        assert!(resolved.contains(key), "missing {key:?} in\n{resolved}");
    }
}

#[test]
fn defaults_fill_in() {
    let s = ok(MINIMAL, &[]);
    let p = s.params();
    assert_eq!(s.name(), "x", "file stem");
    assert_eq!(s.description(), "");
    assert_eq!(s.default_runs(), 100);
    assert_eq!(s.default_seed(), 1);
    assert!(!s.record_options().banks && !s.record_options().trades);

    assert_eq!(p.calendar.start, Date::from_ymd(2014, 1, 2).unwrap());
    assert_eq!(p.calendar.business_days, 250);
    assert_eq!(p.calendar.day_count, DayCount::Act360);
    assert_eq!(p.banks.size_distribution, SizeDistribution::Identical);
    assert_eq!(p.banks.mean_size, Money(1000));
    assert_eq!(p.banks.securities_share, 0.15);
    assert_eq!(p.banks.capital_ratio, 0.08);
    assert_eq!(p.payments.periods, 10);
    assert_eq!(p.payments.per_bank_per_period, 5.0);
    assert_eq!(p.payments.mean_amount, Money(10));
    assert_eq!(p.payments.amount_cv, 1.0);
    assert_eq!(p.payments.deposit_reversion, 0.2);
    assert_eq!(p.intraday.collateral_share, 0.05);
    assert_eq!(p.intraday.overdraft_fee_bp, 0.0);
    assert_eq!(p.late_shock.size_elasticity, 0.5);
    assert_eq!(p.behaviour.stigma_bp, 0.0);
    assert_eq!(p.behaviour.precautionary_buffer_sd, 0.0);
    assert_eq!(p.behaviour.perceived_shock_scale, 1.0);
    assert_eq!(p.central_bank.framework, Framework::Corridor);
    assert_eq!(p.central_bank.reserve_target, Money::ZERO);
    let ft = &p.central_bank.fine_tuning;
    assert!(ft.enabled);
    assert_eq!(
        (ft.rate_offset_bp, ft.forecast_error_sd, ft.min_amount),
        (0.0, Money::ZERO, Money::ZERO)
    );
    let cur = &p.autonomous.currency;
    assert_eq!(
        (cur.initial, cur.annual_growth, cur.month_end_effect),
        (Money::ZERO, 0.0, 0.0)
    );
    assert_eq!(cur.weekday_effect, [0.0; 5]);
    assert_eq!(cur.noise_sd, Money::ZERO);
    let gov = &p.autonomous.government;
    assert_eq!(
        (gov.initial, gov.persistence, gov.noise_sd),
        (Money::ZERO, 0.0, Money::ZERO)
    );
    assert!(gov.events.is_empty() && gov.monthly.is_empty());
    assert_eq!(p.market.mechanism, MarketMechanism::Call);
}

#[test]
fn amounts_are_scaled_to_minor_units() {
    let text = r#"[money]
minor_unit = "SEK"
scale = 1e6
[banks]
count = 3
mean_size = 2
[late_shock]
sd = 1.5
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = 0
lending_rate_bp = 0
reserve_target_per_bank = 0.25
"#;
    let s = ok(text, &[]);
    assert_eq!(s.params().late_shock.sd, Money(1_500_000));
    assert_eq!(s.params().banks.mean_size, Money(2_000_000));
    // Per bank × banks.count, computed in integers.
    assert_eq!(s.params().central_bank.reserve_target, Money(750_000));
    // 2.5 minor units round half away from zero.
    let s = ok(text, &["money.scale=1", "late_shock.sd=2.5"]);
    assert_eq!(s.params().late_shock.sd, Money(3));
}

#[test]
fn amount_overflow_and_non_finite_amounts_are_rejected() {
    let text = r#"[money]
minor_unit = "SEK"
scale = 1e6
[banks]
count = 3
mean_size = 2
[late_shock]
sd = 1e13
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = 0
lending_rate_bp = 0
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(8),
        Some("late_shock.sd"),
        "scenarios/x.toml:8: late_shock.sd = 10000000000000: amount × money.scale (1000000) = \
         1e19 minor units does not fit in 64 bits (the limit is about ±9.2e18 minor units)",
    );
    let e = err(&text.replace("sd = 1e13", "sd = inf"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(8),
        Some("late_shock.sd"),
        "scenarios/x.toml:8: late_shock.sd = inf: expected a finite amount >= 0",
    );
    let e = err(&text.replace("mean_size = 2", "mean_size = 1e-7"), &[]);
    assert_eq!(e.key(), Some("banks.mean_size"));
    assert_eq!(e.line(), Some(6));
    assert!(e.message().contains("rounds to 0 minor units"), "{e}");
}

#[test]
fn unknown_key_in_nested_table() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = 4
mean_size = 1000
[late_shock]
sd = 10
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75

[central_bank.fine_tuning]
enabled = true
min_amonut = 5
"#;
    check(
        &err(text, &[]),
        ErrorKind::UnknownKey,
        Some(15),
        Some("central_bank.fine_tuning.min_amonut"),
        "scenarios/x.toml:15: unknown key `central_bank.fine_tuning.min_amonut`; \
         allowed keys: enabled, rate_offset_bp, forecast_error_sd, min_amount",
    );
}

#[test]
fn unknown_key_inside_an_array_of_inline_tables() {
    let text = format!(
        "{MINIMAL}\n[autonomous.government]\nmonthly = [\n  {{ business_day = 12, amount = 1 }},\n  {{ business_dy = 3, amount = 1 }},\n]\n"
    );
    // MINIMAL is lines 1-14, then a blank line, the header (16), `monthly = [` (17).
    check(
        &err(&text, &[]),
        ErrorKind::UnknownKey,
        Some(19),
        Some("autonomous.government.monthly[1].business_dy"),
        "scenarios/x.toml:19: unknown key `autonomous.government.monthly[1].business_dy`; \
         allowed keys: business_day, amount",
    );
}

#[test]
fn unknown_top_level_table() {
    let text = format!("{MINIMAL}[bank]\ncount = 3\n");
    check(
        &err(&text, &[]),
        ErrorKind::UnknownKey,
        Some(15),
        Some("bank"),
        "scenarios/x.toml:15: unknown key `bank`; allowed keys: scenario, run, money, calendar, \
         banks, payments, intraday, late_shock, behaviour, central_bank, autonomous, market, \
         non_banks, timeline, securities",
    );
}

#[test]
fn wrong_type() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = 4
mean_size = 1000
[late_shock]
size_elasticity = 0.5
sd = "abc"
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
"#;
    check(
        &err(text, &[]),
        ErrorKind::WrongType,
        Some(8),
        Some("late_shock.sd"),
        r#"scenarios/x.toml:8: late_shock.sd: expected a number, found a string "abc""#,
    );
    let e = err(
        &text
            .replace("count = 4", "count = 4.5")
            .replace("\"abc\"", "1"),
        &[],
    );
    check(
        &e,
        ErrorKind::WrongType,
        Some(4),
        Some("banks.count"),
        "scenarios/x.toml:4: banks.count: expected an integer, found a float 4.5",
    );
    let e = err(
        &text
            .replace("\"abc\"", "1")
            .replace("minor_unit = \"SEK\"", "minor_unit = 5"),
        &[],
    );
    check(
        &e,
        ErrorKind::WrongType,
        Some(2),
        Some("money.minor_unit"),
        "scenarios/x.toml:2: money.minor_unit: expected a string, found an integer 5",
    );
    let e = err(&text.replace("\"abc\"", "2014-01-01"), &[]);
    check(
        &e,
        ErrorKind::WrongType,
        Some(8),
        Some("late_shock.sd"),
        "scenarios/x.toml:8: late_shock.sd: expected a number, found a date/time 2014-01-01",
    );
}

#[test]
fn negative_count() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = -5
mean_size = 1000
[late_shock]
sd = 10
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(4),
        Some("banks.count"),
        "scenarios/x.toml:4: banks.count = -5: expected a positive integer (1 to 100000)",
    );
    let e = err(&text.replace("count = -5", "count = 4\nperiods = 3"), &[]);
    assert_eq!(e.key(), Some("banks.periods"));
    let e = err(
        &format!(
            "{}[run]\nruns = 0\n",
            text.replace("count = -5", "count = 4")
        ),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(13),
        Some("run.runs"),
        "scenarios/x.toml:13: run.runs = 0: expected a positive integer (1 to 4294967295)",
    );
}

#[test]
fn lending_rate_below_deposit_rate() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = 4
mean_size = 1000
[late_shock]
sd = 10

[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = -100
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(12),
        Some("central_bank.lending_rate_bp"),
        "scenarios/x.toml:12: central_bank.lending_rate_bp = -100: \
         must be >= central_bank.deposit_rate_bp (-75)",
    );
    // The policy rate must lie in the corridor too.
    let e = err(
        &text
            .replace("lending_rate_bp = -100", "lending_rate_bp = 75")
            .replace("policy_rate_bp = 0", "policy_rate_bp = -80"),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(11),
        Some("central_bank.deposit_rate_bp"),
        "scenarios/x.toml:11: central_bank.deposit_rate_bp = -75: \
         must be <= central_bank.policy_rate_bp (-80)",
    );
    let e = err(
        &text.replace("lending_rate_bp = -100", "lending_rate_bp = -10"),
        &[],
    );
    assert_eq!(e.key(), Some("central_bank.lending_rate_bp"));
    assert!(
        e.message()
            .ends_with("must be >= central_bank.policy_rate_bp (0)"),
        "{e}"
    );
    // Negative rates are fine.
    let s = ok(
        &text
            .replace("lending_rate_bp = -100", "lending_rate_bp = 0")
            .replace("policy_rate_bp = 0", "policy_rate_bp = -50"),
        &[],
    );
    assert_eq!(s.params().central_bank.policy_rate_bp, -50.0);
}

#[test]
fn share_outside_unit_interval() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = 4
mean_size = 1000
securities_share = 1.5
[late_shock]
sd = 10
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(6),
        Some("banks.securities_share"),
        "scenarios/x.toml:6: banks.securities_share = 1.5: expected a number in [0, 1]",
    );
    let e = err(
        &text.replace("securities_share = 1.5", "capital_ratio = 1"),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(6),
        Some("banks.capital_ratio"),
        "scenarios/x.toml:6: banks.capital_ratio = 1: expected a number in [0, 1)",
    );
    let e = err(
        &text.replace("securities_share = 1.5", "securities_share = nan"),
        &[],
    );
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:6: banks.securities_share = nan: expected a finite number in [0, 1]"
    );
}

#[test]
fn bad_dates() {
    let text = r#"[money]
minor_unit = "SEK"
[calendar]
start = "2015-02-30"
[banks]
count = 4
mean_size = 1000
[late_shock]
sd = 10
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
[[autonomous.government.events]]
date = "2015-03-17"
amount = 1
[[autonomous.government.events]]
date = "2015-3-17"
amount = 1
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(4),
        Some("calendar.start"),
        r#"scenarios/x.toml:4: calendar.start = "2015-02-30": expected an existing calendar date written YYYY-MM-DD"#,
    );
    let fixed = text.replace("2015-02-30", "2015-02-27");
    check(
        &err(&fixed, &[]),
        ErrorKind::InvalidValue,
        Some(18),
        Some("autonomous.government.events[1].date"),
        r#"scenarios/x.toml:18: autonomous.government.events[1].date = "2015-3-17": expected an existing calendar date written YYYY-MM-DD"#,
    );
    // A bare TOML date that does not exist is a syntax error; the key is still named.
    let e = err(&text.replace("\"2015-02-30\"", "2015-02-30"), &[]);
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.line(), Some(4));
    assert_eq!(e.key(), Some("calendar.start"));
    assert!(
        e.to_string()
            .starts_with("scenarios/x.toml:4: calendar.start: invalid TOML:"),
        "{e}"
    );
}

#[test]
fn both_reserve_targets() {
    let text = r#"[money]
minor_unit = "SEK"
[banks]
count = 4
mean_size = 1000
[late_shock]
sd = 10
[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
reserve_target = 100
reserve_target_per_bank = 25
"#;
    check(
        &err(text, &[]),
        ErrorKind::InvalidValue,
        Some(13),
        Some("central_bank.reserve_target_per_bank"),
        "scenarios/x.toml:13: central_bank.reserve_target_per_bank = 25: give either \
         central_bank.reserve_target or central_bank.reserve_target_per_bank, not both \
         (central_bank.reserve_target = 100 is also set)",
    );
    // Either one alone is fine, and they mean the same here (4 banks).
    let total = ok(&text.replace("reserve_target_per_bank = 25\n", ""), &[]);
    let per_bank = ok(&text.replace("reserve_target = 100\n", ""), &[]);
    assert_eq!(total.params(), per_bank.params());
}

#[test]
fn missing_required_keys() {
    let text = MINIMAL.replace("mean_size = 1000\n", "");
    check(
        &err(&text, &[]),
        ErrorKind::MissingKey,
        Some(4),
        Some("banks.mean_size"),
        "scenarios/x.toml:4: missing required key `banks.mean_size`: expected an amount > 0",
    );
    let text = MINIMAL.replace("[money]\nminor_unit = \"SEK\"\n", "");
    let e = err(&text, &[]);
    check(
        &e,
        ErrorKind::MissingKey,
        None,
        Some("money.minor_unit"),
        "scenarios/x.toml: missing required key `money.minor_unit`: expected a name for the unit \
         of every money column, e.g. \"SEK\" or \"EUR cents\"",
    );
}

#[test]
fn size_distributions() {
    let with = |d: &str| {
        MINIMAL.replace(
            "count = 4\n",
            &format!("count = 4\nsize_distribution = {d}\n"),
        )
    };
    let s = ok(&with(r#"{ kind = "lognormal", sigma = 1.0 }"#), &[]);
    assert_eq!(
        s.params().banks.size_distribution,
        SizeDistribution::LogNormal { sigma: 1.0 }
    );

    let e = err(&with(r#"{ kind = "pareto", alpha = 1 }"#), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(6),
        Some("banks.size_distribution.alpha"),
        "scenarios/x.toml:6: banks.size_distribution.alpha = 1: expected a number in (1, 10]",
    );
    let e = err(&with(r#"{ kind = "identical", sigma = 1 }"#), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(6),
        Some("banks.size_distribution.sigma"),
        "scenarios/x.toml:6: banks.size_distribution.sigma = 1: not allowed with kind = \
         \"identical\"; allowed keys for this kind: kind",
    );
    let e = err(&with(r#"{ kind = "lognormal" }"#), &[]);
    assert_eq!(
        (e.kind(), e.key()),
        (ErrorKind::MissingKey, Some("banks.size_distribution.sigma"))
    );
    let e = err(&with(r#"{ kind = "normal" }"#), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(6),
        Some("banks.size_distribution.kind"),
        r#"scenarios/x.toml:6: banks.size_distribution.kind = "normal": expected one of "identical", "lognormal", "pareto""#,
    );
}

#[test]
fn framework_names_and_unknown_frameworks() {
    let s = ok(MINIMAL, &[r#"central_bank.framework="floor""#]);
    assert_eq!(s.params().central_bank.framework, Framework::Floor);
    let e = err(MINIMAL, &[r#"central_bank.framework="tiered""#]);
    check(
        &e,
        ErrorKind::InvalidValue,
        None,
        Some("central_bank.framework"),
        r#"scenarios/x.toml (from --set): central_bank.framework = "tiered": expected "corridor" or "floor", or a table with kind = one of "corridor", "floor", "quota", "current_account_limits", "exemption_threshold", "two_tier", "three_tier""#,
    );
    // A framework with parameters cannot be named alone.
    let e = err(MINIMAL, &[r#"central_bank.framework="quota""#]);
    assert_eq!(e.key(), Some("central_bank.framework"));
    assert!(
        e.message().contains("this framework takes parameters"),
        "{e}"
    );
}

#[test]
fn weekday_effect_needs_five_numbers_in_range() {
    let text = format!("{MINIMAL}[autonomous.currency]\nweekday_effect = [0, 0.01]\n");
    let e = err(&text, &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(16),
        Some("autonomous.currency.weekday_effect"),
        "scenarios/x.toml:16: autonomous.currency.weekday_effect = [0, 0.01]: expected exactly 5 \
         numbers (Monday to Friday), found 2",
    );
    let text = format!(
        "{MINIMAL}[autonomous.currency]\nweekday_effect = [\n  0,\n  0.01,\n  0.5,\n  0,\n  0,\n]\n"
    );
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(19),
        Some("autonomous.currency.weekday_effect[2]"),
        "scenarios/x.toml:19: autonomous.currency.weekday_effect[2] = 0.5: expected a number in (-0.5, 0.5)",
    );
}

#[test]
fn set_overrides_values_of_every_type() {
    let s = ok(
        MINIMAL,
        &[
            "banks.count=50",
            "central_bank.framework=\"corridor\"",
            "calendar.start=2015-01-02",
            "money.minor_unit=EUR cents",
            "run.record_trades=true",
            "central_bank.policy_rate_bp = -10",
            "autonomous.currency.weekday_effect=[0, 0.01, 0, 0, 0]",
        ],
    );
    let p = s.params();
    assert_eq!(p.banks.count, 50);
    assert_eq!(p.calendar.start, Date::from_ymd(2015, 1, 2).unwrap());
    assert_eq!(s.money_unit(), "EUR cents");
    assert!(s.record_options().trades);
    assert_eq!(p.central_bank.policy_rate_bp, -10.0);
    assert_eq!(p.autonomous.currency.weekday_effect[1], 0.01);
    assert!(s.resolved_toml().contains("count = 50"));
    // The last --set of a key wins.
    assert_eq!(
        ok(MINIMAL, &["banks.count=5", "banks.count=6"])
            .params()
            .banks
            .count,
        6
    );
}

#[test]
fn set_creates_missing_optional_tables() {
    let s = ok(
        MINIMAL,
        &[
            "central_bank.fine_tuning.enabled=false",
            "autonomous.government.persistence=0.5",
            "banks.size_distribution.kind=lognormal",
            "banks.size_distribution.sigma=0.75",
        ],
    );
    let p = s.params();
    assert!(!p.central_bank.fine_tuning.enabled);
    assert_eq!(p.autonomous.government.persistence, 0.5);
    assert_eq!(
        p.banks.size_distribution,
        SizeDistribution::LogNormal { sigma: 0.75 }
    );
    // A whole table replaced by an inline table.
    let text = format!("{MINIMAL}[banks.size_distribution]\nkind = \"identical\"\n");
    let s = ok(
        &text,
        &[r#"banks.size_distribution={ kind = "pareto", alpha = 1.5 }"#],
    );
    assert_eq!(
        s.params().banks.size_distribution,
        SizeDistribution::Pareto { alpha: 1.5 }
    );
    // Into an existing inline table.
    let text = MINIMAL.replace(
        "count = 4\n",
        "count = 4\nsize_distribution = { kind = \"pareto\", alpha = 2 }\n",
    );
    let s = ok(&text, &["banks.size_distribution.alpha=3"]);
    assert_eq!(
        s.params().banks.size_distribution,
        SizeDistribution::Pareto { alpha: 3.0 }
    );
}

#[test]
fn set_rejects_unknown_keys() {
    let e = err(MINIMAL, &["banks.cuont=5"]);
    check(
        &e,
        ErrorKind::UnknownKey,
        None,
        Some("banks.cuont"),
        "scenarios/x.toml (from --set): unknown key `banks.cuont`; allowed keys: count, \
         size_distribution, mean_size, securities_share, capital_ratio",
    );
    assert!(e.from_set());
    let e = err(MINIMAL, &["nonsense.deep.key=1"]);
    assert_eq!(
        (e.kind(), e.key(), e.from_set()),
        (ErrorKind::UnknownKey, Some("nonsense"), true)
    );
}

#[test]
fn set_reports_invalid_values_as_from_set() {
    let e = err(MINIMAL, &["central_bank.policy_rate_bp=abc"]);
    check(
        &e,
        ErrorKind::WrongType,
        None,
        Some("central_bank.policy_rate_bp"),
        r#"scenarios/x.toml (from --set): central_bank.policy_rate_bp: expected a number, found a string "abc""#,
    );
    assert!(e.from_set());
    let e = err(MINIMAL, &["banks.count=-5"]);
    check(
        &e,
        ErrorKind::InvalidValue,
        None,
        Some("banks.count"),
        "scenarios/x.toml (from --set): banks.count = -5: expected a positive integer (1 to 100000)",
    );
    // A value that was not overridden keeps its line in the file, even though an override
    // added a key (and so a line) above it in the text serde reads.
    let text = format!(
        "[run]\nruns = 3\n{}",
        MINIMAL.replace("count = 4", "count = 0")
    );
    let e = err(&text, &["run.seed=7", "run.record_banks=true"]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(7),
        Some("banks.count"),
        "scenarios/x.toml:7: banks.count = 0: expected a positive integer (1 to 100000)",
    );
    assert!(!e.from_set());
}

#[test]
fn malformed_set_arguments() {
    let e = err(MINIMAL, &["banks.count"]);
    assert_eq!(e.kind(), ErrorKind::BadOverride);
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml (from --set): --set banks.count: expected key.path=value, e.g. --set banks.count=50"
    );
    let e = err(MINIMAL, &["banks.count.x=1"]);
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml (from --set): --set banks.count.x=1: `banks.count` is not a table, so it cannot hold `banks.count.x`"
    );
    let e = err(MINIMAL, &["=1"]);
    assert_eq!(e.kind(), ErrorKind::BadOverride);
}

#[test]
fn syntax_errors_name_the_line() {
    let text = MINIMAL.replace("sd = 10", "sd = = 10");
    let e = err(&text, &[]);
    assert_eq!((e.kind(), e.line()), (ErrorKind::Syntax, Some(9)));
    assert!(e.to_string().starts_with("scenarios/x.toml:9: "), "{e}");
}

#[test]
fn load_reads_files_and_names_unreadable_ones() {
    let dir = std::env::temp_dir().join(format!("corridor-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("from_disk.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let s = load(&path, &["banks.count=7".to_string()]).unwrap();
    assert_eq!(s.name(), "from_disk");
    assert_eq!(s.params().banks.count, 7);

    let missing = dir.join("missing.toml");
    let e = load(&missing, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.file(), missing.display().to_string());
    let os = std::io::Error::from(std::io::ErrorKind::NotFound).kind();
    assert_eq!(os, std::io::ErrorKind::NotFound);
    assert!(e.to_string().starts_with(&format!(
        "{}: cannot read the scenario file: ",
        missing.display()
    )));
    assert!(e.to_string().contains("os error"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shipped_scenarios_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            checked += 1;
            let s = load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
            let again = parse("resolved.toml", &s.resolved_toml(), &[]).unwrap();
            assert_same_scenario(&s, &again);
        }
    }
    assert!(
        checked >= 2,
        "expected the shipped scenarios in {}",
        dir.display()
    );
}

/// MINIMAL (lines 1-14) followed by `extra` from line 15 on.
fn with_extra(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

/// A reserve requirement (lines 15-18) for the frameworks that need one.
const REQUIREMENT: &str = "[central_bank.reserve_requirement]
ratio = 0.01
maintenance_days = 30
remuneration_rate_bp = 5
";

#[test]
fn framework_kinds_parse() {
    use corridor_model::params::{Allocation, SizeGroup};
    let fw = |extra: &str| {
        ok(&with_extra(extra), &[])
            .params()
            .central_bank
            .framework
            .clone()
    };

    assert_eq!(
        fw("[central_bank.framework]\nkind = \"floor\"\n"),
        Framework::Floor
    );
    assert_eq!(
        fw(
            "[central_bank.framework]\nkind = \"quota\"\nquotas = { kind = \"pro_rata\", total = 45.5 }\n"
        ),
        Framework::Quota {
            quotas: Allocation::ProRata { total: Money(46) }
        }
    );
    assert_eq!(
        fw(r#"[central_bank.framework]
kind = "current_account_limits"
current_account_rate_bp = 0
[central_bank.framework.limits]
kind = "size_groups"
groups = [{ min_size = 1000, amount = 30 }, { min_size = 0, amount = 5 }]
"#),
        Framework::CurrentAccountLimits {
            limits: Allocation::SizeGroups {
                groups: vec![
                    SizeGroup {
                        min_size: Money(1000),
                        amount: Money(30)
                    },
                    SizeGroup {
                        min_size: Money(0),
                        amount: Money(5)
                    },
                ]
            },
            current_account_rate_bp: 0.0,
        }
    );
    // Defaults: fixed_amount 0, exempt_rate_bp 0.
    assert_eq!(
        fw("[central_bank.framework]\nkind = \"exemption_threshold\"\nmultiple = 20\n"),
        Framework::ExemptionThreshold {
            multiple: 20.0,
            fixed_amount: Money::ZERO,
            exempt_rate_bp: 0.0
        }
    );
    assert_eq!(
        fw(&format!(
            "{REQUIREMENT}[central_bank.framework]\nkind = \"two_tier\"\nmultiple = 6\nexempt_rate_bp = -10\n"
        )),
        Framework::TwoTier {
            multiple: 6.0,
            exempt_rate_bp: -10.0
        }
    );
    assert_eq!(
        fw(r#"[central_bank.framework]
kind = "three_tier"
basic = { kind = "explicit", amounts = [40, 30, 20.5, 0] }
basic_rate_bp = 10
macro_add_on = { kind = "pro_rata", total = 100 }
"#),
        Framework::ThreeTier {
            basic: Allocation::Explicit {
                amounts: vec![Money(40), Money(30), Money(21), Money(0)]
            },
            basic_rate_bp: 10.0,
            macro_add_on: Allocation::ProRata { total: Money(100) },
            macro_rate_bp: 0.0,
        }
    );
    // The resolved scenario writes the defaults out.
    let resolved = ok(
        &with_extra("[central_bank.framework]\nkind = \"exemption_threshold\"\nmultiple = 20\n"),
        &[],
    )
    .resolved_toml();
    assert!(resolved.contains("fixed_amount = 0.0"), "{resolved}");
    assert!(resolved.contains("exempt_rate_bp = 0.0"), "{resolved}");
}

#[test]
fn reserve_requirement_non_banks_and_balance_sheet_cost() {
    use corridor_model::params::{NonBankParams, ReserveRequirementParams, ReverseRepoParams};
    let s = ok(MINIMAL, &[]);
    assert_eq!(s.params().central_bank.reserve_requirement, None);
    assert_eq!(s.params().non_banks, None);
    assert!(s.params().policy_timeline.is_empty());
    assert_eq!(s.params().behaviour.balance_sheet_cost_bp, 0.0);

    let text = with_extra(&format!(
        "{REQUIREMENT}
[behaviour]
balance_sheet_cost_bp = 12.5

[non_banks]
lenders = 10
cash = 2_000
idle_rate_bp = -5
"
    ));
    let s = ok(&text, &[]);
    let p = s.params();
    assert_eq!(
        p.central_bank.reserve_requirement,
        Some(ReserveRequirementParams {
            ratio: 0.01,
            maintenance_days: 30,
            averaging: true,
            enforced: true,
            remuneration_rate_bp: 5.0,
            penalty_rate_bp: 0.0,
        })
    );
    assert_eq!(p.behaviour.balance_sheet_cost_bp, 12.5);
    assert_eq!(
        p.non_banks,
        Some(NonBankParams {
            lenders: 10,
            cash: Money(2_000),
            idle_rate_bp: -5.0,
            reverse_repo: None,
        })
    );
    let s = ok(
        &text,
        &[
            "non_banks.reverse_repo.rate_bp=5",
            "non_banks.reverse_repo.cap_per_lender=10",
            "central_bank.reserve_requirement.averaging=false",
            "central_bank.reserve_requirement.enforced=false",
            "central_bank.reserve_requirement.penalty_rate_bp=250",
        ],
    );
    let p = s.params();
    assert_eq!(
        p.non_banks.as_ref().unwrap().reverse_repo,
        Some(ReverseRepoParams {
            rate_bp: 5.0,
            cap_per_lender: Money(10)
        })
    );
    let rr = p.central_bank.reserve_requirement.as_ref().unwrap();
    assert!(!rr.averaging && !rr.enforced);
    assert_eq!(rr.penalty_rate_bp, 250.0);

    let e = err(&text, &["central_bank.reserve_requirement.ratio=1.5"]);
    check(
        &e,
        ErrorKind::InvalidValue,
        None,
        Some("central_bank.reserve_requirement.ratio"),
        "scenarios/x.toml (from --set): central_bank.reserve_requirement.ratio = 1.5: \
         expected a number in [0, 1]",
    );
    let e = err(&text.replace("lenders = 10", "lenders = 0"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(24),
        Some("non_banks.lenders"),
        "scenarios/x.toml:24: non_banks.lenders = 0: expected an integer from 1 to 10000",
    );
    let e = err(&text.replace("cash = 2_000\n", ""), &[]);
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (ErrorKind::MissingKey, Some("non_banks.cash"), Some(23))
    );
}

#[test]
fn tier_rates_must_not_rise_with_the_balance() {
    let three = |basic: &str, macro_rate: &str| {
        with_extra(&format!(
            r#"[central_bank.framework]
kind = "three_tier"
basic = {{ kind = "pro_rata", total = 100 }}
basic_rate_bp = {basic}
macro_add_on = {{ kind = "pro_rata", total = 100 }}
macro_rate_bp = {macro_rate}
"#
        ))
    };
    ok(&three("10", "0"), &[]);
    check(
        &err(&three("10", "20"), &[]),
        ErrorKind::InvalidValue,
        Some(20),
        Some("central_bank.framework.macro_rate_bp"),
        "scenarios/x.toml:20: central_bank.framework.macro_rate_bp = 20: must be <= \
         central_bank.framework.basic_rate_bp (10): tier rates may not rise with the balance \
         (lending >= basic >= macro add-on >= deposit)",
    );
    check(
        &err(&three("80", "0"), &[]),
        ErrorKind::InvalidValue,
        Some(18),
        Some("central_bank.framework.basic_rate_bp"),
        "scenarios/x.toml:18: central_bank.framework.basic_rate_bp = 80: must lie between \
         central_bank.deposit_rate_bp (-75) and central_bank.lending_rate_bp (75): the \
         marginal value of reserves may not rise with the balance",
    );
    check(
        &err(&three("10", "-80"), &[]),
        ErrorKind::InvalidValue,
        Some(20),
        Some("central_bank.framework.macro_rate_bp"),
        "scenarios/x.toml:20: central_bank.framework.macro_rate_bp = -80: must lie between \
         central_bank.deposit_rate_bp (-75) and central_bank.lending_rate_bp (75): the \
         marginal value of reserves may not rise with the balance",
    );
    // The current-account rate of Denmark's framework, likewise.
    let e = err(
        &with_extra(
            "[central_bank.framework]\nkind = \"current_account_limits\"\n\
             limits = { kind = \"pro_rata\", total = 37 }\ncurrent_account_rate_bp = 100\n",
        ),
        &[],
    );
    assert_eq!(
        (e.line(), e.key()),
        (
            Some(18),
            Some("central_bank.framework.current_account_rate_bp")
        )
    );
    // A key of another kind is refused, naming the kind.
    let e = err(
        &with_extra(
            "[central_bank.framework]\nkind = \"quota\"\nquotas = { kind = \"pro_rata\", total = 1 }\nmultiple = 6\n",
        ),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(18),
        Some("central_bank.framework.multiple"),
        "scenarios/x.toml:18: central_bank.framework.multiple = 6: not allowed with kind = \
         \"quota\"; allowed keys for this kind: kind, quotas",
    );
}

#[test]
fn allocation_errors() {
    let quota = |alloc: &str| {
        with_extra(&format!(
            "[central_bank.framework]\nkind = \"quota\"\nquotas = {alloc}\n"
        ))
    };
    check(
        &err(&quota(r#"{ kind = "explicit", amounts = [1, 2, 3] }"#), &[]),
        ErrorKind::InvalidValue,
        Some(17),
        Some("central_bank.framework.quotas.amounts"),
        "scenarios/x.toml:17: central_bank.framework.quotas.amounts = [1, 2, 3]: expected \
         exactly 4 amounts (banks.count), one per bank, largest bank first; found 3",
    );
    check(
        &err(
            &quota(r#"{ kind = "explicit", amounts = [1, 2, 3, -4] }"#),
            &[],
        ),
        ErrorKind::InvalidValue,
        Some(17),
        Some("central_bank.framework.quotas.amounts[3]"),
        "scenarios/x.toml:17: central_bank.framework.quotas.amounts[3] = -4: expected an \
         amount >= 0",
    );
    let e = err(
        &quota(
            r#"{ kind = "size_groups", groups = [{ min_size = 10, amount = 1 }, { min_size = 10, amount = 2 }] }"#,
        ),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(17),
        Some("central_bank.framework.quotas.groups[1].min_size"),
        "scenarios/x.toml:17: central_bank.framework.quotas.groups[1].min_size = 10: the same \
         min_size as central_bank.framework.quotas.groups[0]; each group needs a distinct \
         min_size",
    );
    let e = err(&quota(r#"{ kind = "size_groups", groups = [] }"#), &[]);
    assert_eq!(e.key(), Some("central_bank.framework.quotas.groups"));
    let e = err(&quota(r#"{ kind = "pro_rata", amounts = [1] }"#), &[]);
    assert_eq!(e.key(), Some("central_bank.framework.quotas.amounts"));
    assert!(
        e.message().contains("not allowed with kind = \"pro_rata\""),
        "{e}"
    );
    let e = err(
        &with_extra("[central_bank.framework]\nkind = \"quota\"\n"),
        &[],
    );
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (
            ErrorKind::MissingKey,
            Some("central_bank.framework.quotas"),
            Some(15)
        )
    );
    let e = err(&quota(r#"{ kind = "pro_rata", totl = 1 }"#), &[]);
    check(
        &e,
        ErrorKind::UnknownKey,
        Some(17),
        Some("central_bank.framework.quotas.totl"),
        "scenarios/x.toml:17: unknown key `central_bank.framework.quotas.totl`; allowed keys: \
         kind, total, amounts, groups",
    );
}

#[test]
fn two_tier_needs_a_reserve_requirement() {
    let text = with_extra("[central_bank.framework]\nkind = \"two_tier\"\nmultiple = 6\n");
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(16),
        Some("central_bank.framework.kind"),
        "scenarios/x.toml:16: central_bank.framework.kind = \"two_tier\": needs a \
         [central_bank.reserve_requirement] table: the exempt tier is \
         central_bank.framework.multiple × each bank's minimum reserves, and without a \
         requirement that is a multiple of nothing",
    );
    let with_rr = with_extra(&format!(
        "{REQUIREMENT}[central_bank.framework]\nkind = \"two_tier\"\nmultiple = -1\n"
    ));
    check(
        &err(&with_rr, &[]),
        ErrorKind::InvalidValue,
        Some(21),
        Some("central_bank.framework.multiple"),
        "scenarios/x.toml:21: central_bank.framework.multiple = -1: expected a number >= 0",
    );
}

/// MINIMAL with a requirement, non-banks and three dated events, in every way of writing
/// `set` (quoted dotted keys, bare dotted keys, a `[timeline.set]` table).
const TIMELINE: &str = r#"[money]
minor_unit = "SEK"

[banks]
count = 4
mean_size = 1000

[late_shock]
sd = 10

[central_bank]
policy_rate_bp = 0
deposit_rate_bp = -75
lending_rate_bp = 75
[central_bank.reserve_requirement]
ratio = 0.01
maintenance_days = 30
remuneration_rate_bp = 5

[non_banks]
lenders = 3
cash = 500

[[timeline]]
date = "2014-06-11"
set = { "central_bank.deposit_rate_bp" = -10, "central_bank.policy_rate_bp" = 15 }

[[timeline]]
date = 2014-09-10
set = { central_bank.lending_rate_bp = 30, "non_banks.reverse_repo" = { rate_bp = 5, cap_per_lender = 10 } }

[[timeline]]
date = "2014-10-01"
[timeline.set]
"central_bank.framework" = { kind = "two_tier", multiple = 6 }
"central_bank.reserve_target" = 250
"#;

#[test]
fn timeline_events_apply_cumulatively() {
    use corridor_model::params::ReverseRepoParams;
    let s = ok(TIMELINE, &[]);
    let p = s.params();
    // The base scenario is untouched.
    assert_eq!(p.central_bank.deposit_rate_bp, -75.0);
    assert_eq!(p.non_banks.as_ref().unwrap().reverse_repo, None);
    let t = &p.policy_timeline;
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].date, Date::from_ymd(2014, 6, 11).unwrap());
    assert_eq!(t[1].date, Date::from_ymd(2014, 9, 10).unwrap());
    assert_eq!(t[2].date, Date::from_ymd(2014, 10, 1).unwrap());
    let rates = |i: usize| {
        let cb = &t[i].central_bank;
        (cb.deposit_rate_bp, cb.policy_rate_bp, cb.lending_rate_bp)
    };
    assert_eq!(rates(0), (-10.0, 15.0, 75.0));
    // Event 2 keeps event 1's changes; event 3 keeps both.
    assert_eq!(rates(1), (-10.0, 15.0, 30.0));
    assert_eq!(rates(2), (-10.0, 15.0, 30.0));
    assert_eq!(t[0].central_bank.framework, Framework::Corridor);
    assert_eq!(
        t[2].central_bank.framework,
        Framework::TwoTier {
            multiple: 6.0,
            exempt_rate_bp: 0.0
        }
    );
    assert_eq!(t[1].central_bank.reserve_target, Money::ZERO);
    assert_eq!(t[2].central_bank.reserve_target, Money(250));
    assert_eq!(
        t[0].central_bank.reserve_requirement,
        p.central_bank.reserve_requirement
    );
    let rr = Some(ReverseRepoParams {
        rate_bp: 5.0,
        cap_per_lender: Money(10),
    });
    assert_eq!(t[0].non_banks.as_ref().unwrap().reverse_repo, None);
    assert_eq!(t[1].non_banks.as_ref().unwrap().reverse_repo, rr);
    assert_eq!(t[2].non_banks.as_ref().unwrap().reverse_repo, rr);
    assert_eq!(t[2].non_banks.as_ref().unwrap().lenders, 3);

    // --set changes the base before the timeline; an event still overrides it from its date.
    let s = ok(
        TIMELINE,
        &[
            "central_bank.deposit_rate_bp=-50",
            "central_bank.lending_rate_bp=60",
        ],
    );
    let t = &s.params().policy_timeline;
    assert_eq!(s.params().central_bank.deposit_rate_bp, -50.0);
    assert_eq!(t[0].central_bank.deposit_rate_bp, -10.0);
    assert_eq!(t[0].central_bank.lending_rate_bp, 60.0);
    assert_eq!(t[1].central_bank.lending_rate_bp, 30.0);

    // Setting one form of the reserve target replaces the other.
    let text = TIMELINE.replace(
        "\"central_bank.reserve_target\" = 250",
        "\"central_bank.reserve_target_per_bank\" = 10",
    );
    let s = ok(&text, &[]);
    assert_eq!(
        s.params().policy_timeline[2].central_bank.reserve_target,
        Money(40)
    );
    // Both in one event is an error, as in the base scenario.
    let text = TIMELINE.replace(
        "\"central_bank.reserve_target\" = 250",
        "\"central_bank.reserve_target\" = 250\n\"central_bank.reserve_target_per_bank\" = 10",
    );
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(37),
        Some("timeline[2].set.\"central_bank.reserve_target_per_bank\""),
        "scenarios/x.toml:37: timeline[2].set.\"central_bank.reserve_target_per_bank\" = 10: \
         give either central_bank.reserve_target or central_bank.reserve_target_per_bank in \
         one event, not both (central_bank.reserve_target = 250 is also set)",
    );
    // Keys apply in sorted order whatever their order in the file: the whole framework
    // first, then a key inside it.
    let text = TIMELINE.replace(
        "\"central_bank.framework\" = { kind = \"two_tier\", multiple = 6 }",
        "\"central_bank.framework.exempt_rate_bp\" = -5\n\"central_bank.framework\" = { kind = \"two_tier\", multiple = 6 }",
    );
    let s = ok(&text, &[]);
    assert_eq!(
        s.params().policy_timeline[2].central_bank.framework,
        Framework::TwoTier {
            multiple: 6.0,
            exempt_rate_bp: -5.0
        }
    );
}

#[test]
fn timeline_round_trips() {
    for sets in [&[][..], &["central_bank.deposit_rate_bp=-50"][..]] {
        let first = ok(TIMELINE, sets);
        let resolved = first.resolved_toml();
        assert!(
            resolved.contains("\"central_bank.lending_rate_bp\" = 30"),
            "bare dotted keys are written quoted:\n{resolved}"
        );
        let second = parse("elsewhere/other.toml", &resolved, &[])
            .unwrap_or_else(|e| panic!("resolved TOML rejected: {e}\n{resolved}"));
        assert_same_scenario(&first, &second);
        assert_eq!(second.resolved_toml(), resolved, "resolving is idempotent");
    }
}

#[test]
fn timeline_keys_outside_the_policy_are_refused() {
    let text = TIMELINE.replace(
        "\"central_bank.policy_rate_bp\" = 15",
        "\"banks.count\" = 5",
    );
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(26),
        Some("timeline[0].set.\"banks.count\""),
        "scenarios/x.toml:26: timeline[0].set.\"banks.count\" = 5: a timeline cannot change \
         banks.count; it may change keys under central_bank (rates, framework, \
         reserve_requirement, reserve_target, fine_tuning), non_banks.idle_rate_bp and \
         non_banks.reverse_repo",
    );
    // The non-banks' number and cash are fixed too.
    let text = TIMELINE.replace(
        "\"central_bank.reserve_target\" = 250",
        "non_banks.cash = 5",
    );
    let e = err(&text, &[]);
    assert_eq!(
        (e.line(), e.key()),
        (Some(36), Some("timeline[2].set.\"non_banks.cash\""))
    );
}

#[test]
fn timeline_dates_must_increase() {
    let text = TIMELINE.replace("date = 2014-09-10", "date = 2014-06-11");
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(29),
        Some("timeline[1].date"),
        "scenarios/x.toml:29: timeline[1].date = \"2014-06-11\": must be after \
         timeline[0].date (2014-06-11): timeline events must be in strictly increasing date \
         order",
    );
    let text = TIMELINE.replace("date = \"2014-06-11\"", "date = \"2013-12-31\"");
    let e = err(&text, &[]);
    assert_eq!((e.line(), e.key()), (Some(25), Some("timeline[0].date")));
    assert!(
        e.message()
            .contains("must be on or after calendar.start (2014-01-02)"),
        "{e}"
    );
}

#[test]
fn bad_values_inside_a_timeline_event_point_at_the_event() {
    // The event's own value is wrong: its line, the event named.
    let text = TIMELINE.replace(
        "central_bank.lending_rate_bp = 30",
        "central_bank.lending_rate_bp = -50",
    );
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(30),
        Some("central_bank.lending_rate_bp"),
        "scenarios/x.toml:30: timeline[1] (2014-09-10): central_bank.lending_rate_bp = -50: \
         must be >= central_bank.deposit_rate_bp (-10)",
    );
    // A value the event did not write breaks against one it did: still the event's line.
    let text = TIMELINE.replace(
        "\"central_bank.deposit_rate_bp\" = -10",
        "\"central_bank.deposit_rate_bp\" = 20",
    );
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(26),
        Some("central_bank.deposit_rate_bp"),
        "scenarios/x.toml:26: timeline[0] (2014-06-11): central_bank.deposit_rate_bp = 20: \
         must be <= central_bank.policy_rate_bp (15)",
    );
    // Wrong types and unknown keys inside an event.
    let text = TIMELINE.replace(
        "\"central_bank.reserve_target\" = 250",
        "\"central_bank.reserve_target\" = \"lots\"",
    );
    check(
        &err(&text, &[]),
        ErrorKind::WrongType,
        Some(36),
        Some("central_bank.reserve_target"),
        "scenarios/x.toml:36: timeline[2] (2014-10-01): central_bank.reserve_target: expected \
         a number, found a string \"lots\"",
    );
    let text = TIMELINE.replace(
        "\"central_bank.reserve_target\"",
        "\"central_bank.reserve_tagret\"",
    );
    let e = err(&text, &[]);
    assert_eq!(
        (e.kind(), e.line(), e.key()),
        (
            ErrorKind::UnknownKey,
            Some(36),
            Some("central_bank.reserve_tagret")
        )
    );
    // A framework set by an event is validated like one in the base scenario.
    let text = TIMELINE.replace("multiple = 6", "multiple = -6");
    let e = err(&text, &[]);
    assert_eq!(
        (e.line(), e.key()),
        (Some(35), Some("central_bank.framework.multiple"))
    );
    assert!(e.message().starts_with("timeline[2] (2014-10-01): "), "{e}");
}

#[test]
fn timeline_as_an_inline_array_and_a_missing_set() {
    // A top-level array must come before the tables: lines 1-4, then MINIMAL.
    let text = format!(
        "timeline = [\n  {{ date = \"2014-03-03\", set = {{ \"central_bank.reserve_target_per_bank\" = 25 }} }},\n  {{ date = \"2014-04-01\" }},\n]\n{MINIMAL}"
    );
    let e = err(&text, &[]);
    check(
        &e,
        ErrorKind::MissingKey,
        Some(3),
        Some("timeline[1].set"),
        "scenarios/x.toml:3: missing required key `timeline[1].set`: expected a table of \
         dotted scenario keys and values, e.g. { \"central_bank.deposit_rate_bp\" = -20 }",
    );
    let s = ok(&text.replace("  { date = \"2014-04-01\" },\n", ""), &[]);
    let t = &s.params().policy_timeline;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].central_bank.reserve_target, Money(100));
    assert_eq!(s.params().central_bank.reserve_target, Money::ZERO);
}

/// MINIMAL (lines 1-14) plus an OTC market from line 16.
fn otc(extra: &str) -> String {
    format!("{MINIMAL}\n[market]\nmechanism = \"otc\"\n{extra}")
}

#[test]
fn otc_market_keys_are_read_and_defaulted() {
    use corridor_model::params::{Matching, NetworkKind};
    let s = ok(&otc(""), &[]);
    let MarketMechanism::Otc(m) = &s.params().market.mechanism else {
        panic!("not an OTC market")
    };
    assert_eq!((m.rounds, m.contact_rate), (10, 0.5));
    assert_eq!((m.bargaining_power, m.foresight), (0.5, 1.0));
    assert_eq!(m.late_payment_share, 0.0);
    assert_eq!(m.matching, Matching::Random);
    assert_eq!(m.network.kind, NetworkKind::Complete);
    assert_eq!(m.network.credit_limit_multiple, 0.05);
    assert_eq!(m.network.relationship_learning_rate, 0.2);
    // The defaults are written into the resolved scenario, which reads back the same.
    let resolved = s.resolved_toml();
    for key in [
        "rounds = 10",
        "contact_rate = 0.5",
        "matching = \"random\"",
        "kind = \"complete\"",
    ] {
        assert!(resolved.contains(key), "missing {key:?} in\n{resolved}");
    }
    assert_same_scenario(&s, &parse("resolved.toml", &resolved, &[]).unwrap());

    let s = ok(
        &otc(
            "rounds = 4\ncontact_rate = 2.5\nbargaining_power = 0.3\nforesight = 0\n\
             matching = \"relationship\"\n[market.network]\nkind = \"core_periphery\"\n\
             core_size = 2\ncore_density = 1\ncore_periphery_density = 0.5\n\
             periphery_density = 0\ncredit_limit_multiple = 0.2\n\
             relationship_learning_rate = 0.05\n",
        ),
        &[],
    );
    let MarketMechanism::Otc(m) = &s.params().market.mechanism else {
        panic!("not an OTC market")
    };
    assert_eq!(
        (m.rounds, m.contact_rate, m.bargaining_power),
        (4, 2.5, 0.3)
    );
    assert_eq!((m.foresight, m.matching), (0.0, Matching::Relationship));
    assert_eq!(
        m.network.kind,
        NetworkKind::CorePeriphery {
            core_size: 2,
            core_density: 1.0,
            core_periphery_density: 0.5,
            periphery_density: 0.0
        }
    );
    assert_eq!(
        (
            m.network.credit_limit_multiple,
            m.network.relationship_learning_rate
        ),
        (0.2, 0.05)
    );
    // Switching the mechanism leaves the OTC keys unread, so one file serves both markets.
    let call = ok(&otc("rounds = 4\n"), &["market.mechanism=call"]);
    assert_eq!(call.params().market.mechanism, MarketMechanism::Call);
}

#[test]
fn otc_market_values_are_checked() {
    let e = err(&otc("contact_rate = -1\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(18),
        Some("market.contact_rate"),
        "scenarios/x.toml:18: market.contact_rate = -1: expected a number in [0, 100]",
    );
    let e = err(&otc("rounds = 0\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(18),
        Some("market.rounds"),
        "scenarios/x.toml:18: market.rounds = 0: expected a positive integer (1 to 1000)",
    );
    let e = err(&otc("matching = \"gossip\"\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(18),
        Some("market.matching"),
        r#"scenarios/x.toml:18: market.matching = "gossip": expected one of "random", "relationship""#,
    );
    let e = err(&otc(""), &["market.bargaining_power=1.5"]);
    check(
        &e,
        ErrorKind::InvalidValue,
        None,
        Some("market.bargaining_power"),
        "scenarios/x.toml (from --set): market.bargaining_power = 1.5: expected a number in [0, 1]",
    );
    let e = err(&otc("rounds = 1\nlate_payment_share = 0.5\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(19),
        Some("market.late_payment_share"),
        "scenarios/x.toml:19: market.late_payment_share = 0.5: late payments arrive between \
         rounds, so a positive share needs market.rounds >= 2 (market.rounds = 1)",
    );
    let e = err(&otc("late_payment_share = 1\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(18),
        Some("market.late_payment_share"),
        "scenarios/x.toml:18: market.late_payment_share = 1: expected a number in [0, 1)",
    );
    let e = err(MINIMAL, &["market.mechanism=\"auction\""]);
    check(
        &e,
        ErrorKind::InvalidValue,
        None,
        Some("market.mechanism"),
        r#"scenarios/x.toml (from --set): market.mechanism = "auction": expected one of "call", "otc""#,
    );
    // Network keys: per-kind keys, required keys, ranges.
    let net = |body: &str| otc(&format!("[market.network]\n{body}"));
    let e = err(&net("kind = \"complete\"\ncore_size = 2\n"), &[]);
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(20),
        Some("market.network.core_size"),
        "scenarios/x.toml:20: market.network.core_size = 2: not allowed with kind = \"complete\"; \
         allowed keys for this kind: kind, credit_limit_multiple, relationship_learning_rate",
    );
    let e = err(&net("kind = \"core_periphery\"\ncore_size = 2\n"), &[]);
    check(
        &e,
        ErrorKind::MissingKey,
        Some(18),
        Some("market.network.core_density"),
        "scenarios/x.toml:18: missing required key `market.network.core_density`: expected a \
         probability in [0, 1]",
    );
    let e = err(
        &net(
            "kind = \"core_periphery\"\ncore_size = 5\ncore_density = 1\n\
             core_periphery_density = 1\nperiphery_density = 1\n",
        ),
        &[],
    );
    check(
        &e,
        ErrorKind::InvalidValue,
        Some(20),
        Some("market.network.core_size"),
        "scenarios/x.toml:20: market.network.core_size = 5: expected an integer from 1 to \
         banks.count (4)",
    );
    let e = err(&net("kind = \"edge_list\"\n"), &[]);
    assert_eq!(
        (e.kind(), e.key()),
        (ErrorKind::MissingKey, Some("market.network.path"))
    );
    let e = err(&net("credit_limit_multiple = -0.5\n"), &[]);
    assert_eq!(
        (e.kind(), e.line(), e.key()),
        (
            ErrorKind::InvalidValue,
            Some(19),
            Some("market.network.credit_limit_multiple")
        )
    );
}

#[test]
fn edge_lists_load_relative_to_the_scenario_and_name_bad_lines() {
    use corridor_model::params::{CreditLine, NetworkKind};
    let dir = std::env::temp_dir().join(format!("corridor-edges-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("nets")).unwrap();
    let scenario = dir.join("otc.toml");
    std::fs::write(
        &scenario,
        otc("[market.network]\nkind = \"edge_list\"\npath = \"nets/lines.csv\"\n"),
    )
    .unwrap();
    let edges = dir.join("nets/lines.csv");
    std::fs::write(
        &edges,
        "lender,borrower,limit\n# a comment\n0,1\n\n2, 3, 2.5\n",
    )
    .unwrap();
    let s = load(&scenario, &["money.scale=10".into()]).unwrap();
    let MarketMechanism::Otc(m) = &s.params().market.mechanism else {
        panic!("not an OTC market")
    };
    assert_eq!(
        m.network.kind,
        NetworkKind::EdgeList(vec![
            CreditLine {
                lender: 0,
                borrower: 1,
                limit: None
            },
            CreditLine {
                lender: 2,
                borrower: 3,
                limit: Some(Money(25))
            },
        ])
    );
    // The resolved scenario names the file wherever it is read from.
    let again = parse("elsewhere/resolved.toml", &s.resolved_toml(), &[]).unwrap();
    assert_same_scenario(&s, &again);

    let shown = edges.canonicalize().unwrap().display().to_string();
    for (text, line, message) in [
        (
            "0,4\n",
            1,
            "borrower = \"4\": expected a bank index from 0 to 3 (banks.count = 4; 0 is the \
             largest bank)",
        ),
        (
            "1,2\n1,1\n",
            2,
            "lender = borrower = 1: a bank cannot lend to itself",
        ),
        (
            "1,2,-3\n",
            1,
            "limit = \"-3\": expected an amount >= 0 in scenario units (× money.scale must stay below about 9.2e18 minor units)",
        ),
        (
            "1;2\n",
            1,
            "\"1;2\": expected `lender,borrower` or `lender,borrower,limit`, found 1 fields",
        ),
    ] {
        std::fs::write(&edges, text).unwrap();
        let e = load(&scenario, &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
        assert_eq!(e.file(), shown);
        assert_eq!(e.line(), Some(line), "{e}");
        assert_eq!(e.key(), Some("market.network.path"));
        assert_eq!(e.message(), message);
    }
    std::fs::remove_file(&edges).unwrap();
    let e = load(&scenario, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.to_string()
            .contains("cannot read the edge list (market.network.path)"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn otc_market_refuses_non_bank_lenders() {
    let text = format!("{}\n[non_banks]\nlenders = 2\ncash = 10\n", otc(""));
    let e = err(&text, &[]);
    assert_eq!(e.key(), Some("market.mechanism"));
    assert!(
        e.to_string()
            .contains("non-bank lenders ([non_banks]) trade only in the call market"),
        "{e}"
    );
    // The call market takes them.
    ok(
        &format!("{MINIMAL}\n[non_banks]\nlenders = 2\ncash = 10\n"),
        &[],
    );
}

// ---- securities and balance-sheet policy ------------------------------------------------

const SECURITIES: &str = r#"
[[securities]]
name = "bills"
maturity_days = 91
haircut = 0.01
bank_share = 0.25
investor_holdings = 2.5
central_bank_share = 0.5

[[securities]]
name = "bonds"
maturity_days = 3650
coupon_rate_bp = 200
haircut = 0.05
bank_share = 0.75
central_bank_share = 0.5

[central_bank.main_operation]
interval_days = 5
tenor_days = 7
allotment = "variable_rate"
pricing = "uniform"
bid_tick_bp = 0.5
bid_levels = 4

[central_bank.balance_sheet]
purchases = { bonds = 80, bills = -10 }
operations_per_month = 18
nonbank_share = 0.25
runoff_caps = { bonds = 30 }
settlement_days = 2
pomo = { class = "bills", operations_per_month = 4, max_operation = 3 }

[[timeline]]
date = "2015-03-02"
set = { "central_bank.balance_sheet.purchases.bonds" = 40, "central_bank.main_operation.allotment" = "fixed_rate" }
"#;

#[test]
fn securities_operations_and_programmes_are_read() {
    let text = format!("{MINIMAL}{SECURITIES}").replace(
        "[money]\nminor_unit = \"SEK\"",
        "[money]\nminor_unit = \"SEK\"\nscale = 1000",
    );
    let sc = ok(&text, &[]);
    let p = sc.params();
    assert_eq!(p.securities.len(), 2);
    assert_eq!(p.securities[0].investor_holdings, Money(2_500));
    assert_eq!(
        (
            p.securities[1].maturity_days,
            p.securities[1].coupon_rate_bp
        ),
        (3650, 200.0)
    );
    let cb = &p.central_bank;
    let main = cb.main_operation.as_ref().expect("main operation");
    assert_eq!((main.interval_days, main.tenor_days), (5, 7));
    assert_eq!(
        main.allotment,
        Allotment::VariableRate {
            pricing: Pricing::Uniform,
            bid_tick_bp: 0.5,
            bid_levels: 4
        }
    );
    let bs = &cb.balance_sheet;
    assert_eq!(bs.monthly_purchases, vec![Money(-10_000), Money(80_000)]);
    assert_eq!(bs.runoff_caps, vec![None, Some(Money(30_000))]);
    assert_eq!(
        (
            bs.operations_per_month,
            bs.nonbank_share,
            bs.settlement_days
        ),
        (18, 0.25, 2)
    );
    let pomo = bs.pomo.as_ref().expect("pomo");
    assert_eq!((pomo.class, pomo.max_operation), (0, Money(3_000)));
    // The timeline changes one programme's pace and the allotment, nothing else.
    let later = &p.policy_timeline[0].central_bank;
    assert_eq!(
        later.balance_sheet.monthly_purchases,
        vec![Money(-10_000), Money(40_000)]
    );
    assert_eq!(
        later.main_operation.as_ref().unwrap().allotment,
        Allotment::FixedRateFullAllotment
    );
    assert_eq!(later.balance_sheet.runoff_caps, bs.runoff_caps);
}

#[test]
fn default_securities_are_the_models_and_programmes_are_off() {
    let sc = ok(MINIMAL, &[]);
    assert_eq!(sc.params().securities, SecurityClass::defaults());
    assert_eq!(
        sc.params().central_bank.balance_sheet,
        BalanceSheetPolicy::passive(3)
    );
    assert_eq!(sc.params().central_bank.main_operation, None);
    // The resolved scenario shows the default classes.
    let resolved = sc.resolved_toml();
    assert!(
        resolved.contains("[[securities]]\nname = \"bills\""),
        "{resolved}"
    );
}

#[test]
fn a_programme_must_name_a_security_class() {
    let text = format!("{MINIMAL}\n[central_bank.balance_sheet]\npurchases = {{ gold = 5 }}\n");
    check(
        &err(&text, &[]),
        ErrorKind::InvalidValue,
        Some(17),
        Some("central_bank.balance_sheet.purchases.gold"),
        "scenarios/x.toml:17: central_bank.balance_sheet.purchases.gold = \"gold\": no such \
         security class; the scenario's classes ([[securities]]) are \"bills\", \"bonds\", \"mbs\"",
    );
    let e = err(
        MINIMAL,
        &[
            "central_bank.balance_sheet.pomo.class=gold",
            "central_bank.balance_sheet.pomo.max_operation=1",
        ],
    );
    assert!(e.to_string().contains("no such security class"), "{e}");
}

#[test]
fn class_shares_must_add_up_to_one() {
    let text = format!("{MINIMAL}{SECURITIES}").replace("bank_share = 0.75", "bank_share = 0.7");
    let e = err(&text, &[]);
    assert_eq!(e.key(), Some("securities[1].bank_share"), "{e}");
    assert!(
        e.to_string()
            .contains("the classes' bank_share values add up to 0.95; they must add up to 1"),
        "{e}"
    );
    let e = err(MINIMAL, &["central_bank.main_operation.allotment=full"]);
    assert!(
        e.to_string()
            .contains("expected one of \"fixed_rate\", \"variable_rate\""),
        "{e}"
    );
}
