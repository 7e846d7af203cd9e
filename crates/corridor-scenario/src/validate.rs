//! Raw scenario → validated `Params`, once, at the boundary.
//!
//! Every check names the full key, the bad value and what is allowed; [`Locator`] adds the
//! file and line (or `(from --set)`).

use std::fmt;

use corridor_model::params::{
    Allocation, Allotment, AutonomousParams, BalanceSheetPolicy, BankParams, BehaviourParams,
    CalendarParams, CentralBankParams, CurrencyParams, FineTuningParams, Framework,
    GovernmentEvent, GovernmentParams, IntradayParams, LateShockParams, MainOperationParams,
    MarketMechanism, MarketParams, Matching, MonthlyGovernmentFlow, NetworkKind, NetworkParams,
    NonBankParams, OtcParams, PaymentParams, PolicyEvent, PomoParams, Pricing,
    ReserveRequirementParams, ReverseRepoParams, SecurityClass, SizeDistribution, SizeGroup,
};
use corridor_model::{Date, DayCount, Money, Params};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::error::{ErrorKind, ScenarioError};
use crate::raw::{
    DEFAULT_BARGAINING_POWER, DEFAULT_CONTACT_RATE, DEFAULT_FORESIGHT, DEFAULT_LATE_PAYMENT_SHARE,
    DEFAULT_MATCHING, DEFAULT_ROUNDS, DateText, RawAllocation, RawBalanceSheet, RawFramework,
    RawFrameworkTable, RawMainOperation, RawNetwork, RawNonBanks, RawReserveRequirement,
    RawScenario, RawSecurityClass,
};
use crate::source::{KeyPath, Locator};

/// Largest number of banks and of business days a scenario may ask for.
pub(crate) const MAX_BANKS: i64 = 100_000;
pub(crate) const MAX_BUSINESS_DAYS: i64 = 100_000;
pub(crate) const MAX_PERIODS: i64 = 10_000;
/// Bound on the absolute value of every rate, in basis points (1000%).
pub(crate) const MAX_RATE_BP: f64 = 100_000.0;
/// `banks.count × banks.mean_size` must stay below `i64::MAX / BALANCE_SHEET_HEADROOM` minor
/// units, so that sums of balance sheets cannot overflow in the model.
pub(crate) const BALANCE_SHEET_HEADROOM: i64 = 8;
pub(crate) const MAX_MAINTENANCE_DAYS: i64 = 250;
pub(crate) const MAX_NON_BANK_LENDERS: i64 = 10_000;

/// Everything a validated scenario holds besides the raw form.
pub(crate) struct Validated {
    pub params: Params,
    pub name: String,
    pub description: String,
    pub runs: u32,
    pub seed: u64,
    pub record_banks: bool,
    pub record_trades: bool,
    pub money_unit: String,
}

/// A value shown in an error, formatted the way TOML would write it.
enum Shown<'a> {
    Num(f64),
    Int(i64),
    Str(&'a str),
    Nums(&'a [f64]),
    /// Written as is (a table or a summary of a long array).
    Raw(&'a str),
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Num(x) => fmt_num(*x, f),
            Shown::Int(i) => write!(f, "{i}"),
            Shown::Str(s) => write!(f, "{s:?}"),
            Shown::Raw(s) => f.write_str(s),
            Shown::Nums(xs) => {
                f.write_str("[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt_num(*x, f)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// `-100`, `0.15`, `1e300`, `nan`, `inf` (Rust's `Display` would print 1e300 in full).
pub(crate) fn fmt_num(x: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if x.is_nan() {
        f.write_str("nan")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else if x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-6) {
        write!(f, "{x:e}")
    } else {
        write!(f, "{x}")
    }
}

struct Num(f64);
impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_num(self.0, f)
    }
}

/// An allowed interval for a real number; `None` bounds are unbounded.
#[derive(Clone, Copy)]
struct Bounds {
    lo: Option<(f64, bool)>,
    hi: Option<(f64, bool)>,
}

impl Bounds {
    /// [lo, hi]
    const fn closed(lo: f64, hi: f64) -> Bounds {
        Bounds {
            lo: Some((lo, true)),
            hi: Some((hi, true)),
        }
    }
    /// (lo, hi)
    const fn open(lo: f64, hi: f64) -> Bounds {
        Bounds {
            lo: Some((lo, false)),
            hi: Some((hi, false)),
        }
    }
    /// [lo, hi)
    const fn closed_open(lo: f64, hi: f64) -> Bounds {
        Bounds {
            lo: Some((lo, true)),
            hi: Some((hi, false)),
        }
    }
    /// (lo, hi]
    const fn open_closed(lo: f64, hi: f64) -> Bounds {
        Bounds {
            lo: Some((lo, false)),
            hi: Some((hi, true)),
        }
    }
    /// >= lo
    const fn at_least(lo: f64) -> Bounds {
        Bounds {
            lo: Some((lo, true)),
            hi: None,
        }
    }
    /// > lo
    const fn above(lo: f64) -> Bounds {
        Bounds {
            lo: Some((lo, false)),
            hi: None,
        }
    }
    const ANY: Bounds = Bounds { lo: None, hi: None };

    fn contains(self, x: f64) -> bool {
        let lo_ok = match self.lo {
            None => true,
            Some((lo, true)) => x >= lo,
            Some((lo, false)) => x > lo,
        };
        let hi_ok = match self.hi {
            None => true,
            Some((hi, true)) => x <= hi,
            Some((hi, false)) => x < hi,
        };
        lo_ok && hi_ok
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.lo, self.hi) {
            (None, None) => Ok(()),
            (Some((lo, inc)), None) => write!(f, " {} {}", if inc { ">=" } else { ">" }, Num(lo)),
            (None, Some((hi, inc))) => write!(f, " {} {}", if inc { "<=" } else { "<" }, Num(hi)),
            (Some((lo, li)), Some((hi, hi_inc))) => write!(
                f,
                " in {}{}, {}{}",
                if li { "[" } else { "(" },
                Num(lo),
                Num(hi),
                if hi_inc { "]" } else { ")" }
            ),
        }
    }
}

struct Checker<'a> {
    loc: &'a Locator<'a>,
    scale: f64,
}

impl Checker<'_> {
    fn invalid(&self, key: &KeyPath, value: Shown<'_>, what: impl fmt::Display) -> ScenarioError {
        self.loc.error(
            ErrorKind::InvalidValue,
            key,
            format!("{key} = {value}: {what}"),
        )
    }

    fn missing(&self, key: &KeyPath, what: &str) -> ScenarioError {
        self.loc.error(
            ErrorKind::MissingKey,
            key,
            format!("missing required key `{key}`: expected {what}"),
        )
    }

    fn required<T>(&self, key: &KeyPath, v: Option<T>, what: &str) -> Result<T, ScenarioError> {
        v.ok_or_else(|| self.missing(key, what))
    }

    /// A finite real number within `b`.
    fn real(&self, key: &KeyPath, x: f64, b: Bounds) -> Result<f64, ScenarioError> {
        if !x.is_finite() {
            return Err(self.invalid(
                key,
                Shown::Num(x),
                format_args!("expected a finite number{b}"),
            ));
        }
        if !b.contains(x) {
            return Err(self.invalid(key, Shown::Num(x), format_args!("expected a number{b}")));
        }
        Ok(x)
    }

    /// A rate in basis points: finite, |rate| <= MAX_RATE_BP, plus `b`.
    fn rate(&self, key: &KeyPath, x: f64, b: Bounds) -> Result<f64, ScenarioError> {
        let x = self.real(key, x, b)?;
        if x.abs() > MAX_RATE_BP {
            return Err(self.invalid(
                key,
                Shown::Num(x),
                format_args!(
                    "expected a rate in basis points between -{0} and {0}",
                    Num(MAX_RATE_BP)
                ),
            ));
        }
        Ok(x)
    }

    /// An amount in scenario units within `b`, converted to minor units with `money.scale`.
    fn amount(&self, key: &KeyPath, x: f64, b: Bounds) -> Result<Money, ScenarioError> {
        if !x.is_finite() {
            return Err(self.invalid(
                key,
                Shown::Num(x),
                format_args!("expected a finite amount{b}"),
            ));
        }
        if !b.contains(x) {
            return Err(self.invalid(key, Shown::Num(x), format_args!("expected an amount{b}")));
        }
        self.to_minor(key, x)
    }

    fn to_minor(&self, key: &KeyPath, x: f64) -> Result<Money, ScenarioError> {
        // 2^63: the first f64 that does not fit in an i64.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        let minor = (x * self.scale).round();
        if !(-LIMIT..LIMIT).contains(&minor) {
            return Err(self.invalid(
                key,
                Shown::Num(x),
                format_args!(
                    "amount × money.scale ({}) = {} minor units does not fit in 64 bits \
                     (the limit is about ±9.2e18 minor units)",
                    Num(self.scale),
                    Num(x * self.scale)
                ),
            ));
        }
        Ok(Money(minor as i64))
    }

    /// An integer in `lo..=hi`; `what` describes the range for the message.
    fn int(
        &self,
        key: &KeyPath,
        v: i64,
        lo: i64,
        hi: i64,
        what: &str,
    ) -> Result<i64, ScenarioError> {
        if v < lo || v > hi {
            return Err(self.invalid(key, Shown::Int(v), format_args!("expected {what}")));
        }
        Ok(v)
    }

    fn choice<T: Copy>(
        &self,
        key: &KeyPath,
        v: &str,
        options: &[(&str, T)],
        note: &str,
    ) -> Result<T, ScenarioError> {
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v) {
            return Ok(*t);
        }
        let list: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
        Err(self.invalid(
            key,
            Shown::Str(v),
            format_args!("expected one of {}{note}", list.join(", ")),
        ))
    }

    fn date(&self, key: &KeyPath, d: &DateText) -> Result<Date, ScenarioError> {
        Date::parse(&d.0)
            .filter(|_| is_ymd_shape(&d.0))
            .ok_or_else(|| {
                self.invalid(
                    key,
                    Shown::Str(&d.0),
                    "expected an existing calendar date written YYYY-MM-DD",
                )
            })
    }
}

/// `YYYY-MM-DD` exactly (Date::parse alone would accept `2015-1-2` and surrounding blanks).
fn is_ymd_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Validates `raw` into model parameters. `default_name` is used when `[scenario].name` is
/// absent. Fills `raw` in place with the defaults that depend on other keys (the name and the
/// reserve target), so that it serialises as the fully resolved scenario.
pub(crate) fn validate(
    raw: &mut RawScenario,
    loc: &Locator<'_>,
    default_name: &str,
) -> Result<Validated, ScenarioError> {
    let k = KeyPath::dotted;
    let mut c = Checker { loc, scale: 1.0 };

    // [scenario]
    let name = raw
        .scenario
        .name
        .get_or_insert_with(|| default_name.to_owned())
        .clone();
    let description = raw.scenario.description.clone();

    // [run]
    let runs = c.int(
        &k("run.runs"),
        raw.run.runs,
        1,
        u32::MAX.into(),
        &format!("a positive integer (1 to {})", u32::MAX),
    )? as u32;
    let seed = c.int(
        &k("run.seed"),
        raw.run.seed,
        0,
        i64::MAX,
        &format!("a non-negative integer (0 to {})", i64::MAX),
    )? as u64;

    // [money]
    let money_unit = c.required(
        &k("money.minor_unit"),
        raw.money.minor_unit.clone(),
        "a name for the unit of every money column, e.g. \"SEK\" or \"EUR cents\"",
    )?;
    if money_unit.trim().is_empty() {
        return Err(c.invalid(
            &k("money.minor_unit"),
            Shown::Str(&money_unit),
            "expected a non-empty name for the unit, e.g. \"SEK\" or \"EUR cents\"",
        ));
    }
    c.scale = c.real(&k("money.scale"), raw.money.scale, Bounds::above(0.0))?;

    // [calendar]
    let calendar = CalendarParams {
        start: c.date(&k("calendar.start"), &raw.calendar.start)?,
        business_days: c.int(
            &k("calendar.business_days"),
            raw.calendar.business_days,
            1,
            MAX_BUSINESS_DAYS,
            &format!("a positive integer (1 to {MAX_BUSINESS_DAYS})"),
        )? as u32,
        day_count: c.choice(
            &k("calendar.day_count"),
            &raw.calendar.day_count,
            &[("ACT/360", DayCount::Act360), ("ACT/365", DayCount::Act365)],
            "",
        )?,
    };

    // [banks]
    let count_what = format!("a positive integer (1 to {MAX_BANKS})");
    let count = c.required(&k("banks.count"), raw.banks.count, &count_what)?;
    let count = c.int(&k("banks.count"), count, 1, MAX_BANKS, &count_what)?;
    let mean_size_x = c.required(&k("banks.mean_size"), raw.banks.mean_size, "an amount > 0")?;
    let mean_size = c.amount(&k("banks.mean_size"), mean_size_x, Bounds::above(0.0))?;
    if mean_size.0 < 1 {
        return Err(c.invalid(
            &k("banks.mean_size"),
            Shown::Num(mean_size_x),
            format_args!(
                "rounds to 0 minor units at money.scale = {}; expected at least one minor unit",
                Num(c.scale)
            ),
        ));
    }
    let sheet_limit = i64::MAX / BALANCE_SHEET_HEADROOM;
    if mean_size
        .0
        .checked_mul(count)
        .is_none_or(|total| total > sheet_limit)
    {
        return Err(c.invalid(
            &k("banks.mean_size"),
            Shown::Num(mean_size_x),
            format_args!(
                "banks.count × banks.mean_size = {count} × {} minor units is too large; \
                 expected at most {sheet_limit} minor units in total",
                mean_size.0
            ),
        ));
    }
    let size_distribution = size_distribution(&c, raw)?;
    let banks = BankParams {
        count: count as u32,
        size_distribution,
        mean_size,
        securities_share: c.real(
            &k("banks.securities_share"),
            raw.banks.securities_share,
            Bounds::closed(0.0, 1.0),
        )?,
        capital_ratio: c.real(
            &k("banks.capital_ratio"),
            raw.banks.capital_ratio,
            Bounds::closed_open(0.0, 1.0),
        )?,
    };

    // [payments]
    let p = &raw.payments;
    let payments = PaymentParams {
        periods: c.int(
            &k("payments.periods"),
            p.periods,
            1,
            MAX_PERIODS,
            &format!("a positive integer (1 to {MAX_PERIODS})"),
        )? as u32,
        per_bank_per_period: c.real(
            &k("payments.per_bank_per_period"),
            p.per_bank_per_period,
            Bounds::at_least(0.0),
        )?,
        mean_amount: c.amount(
            &k("payments.mean_amount"),
            p.mean_amount,
            Bounds::at_least(0.0),
        )?,
        amount_cv: c.real(&k("payments.amount_cv"), p.amount_cv, Bounds::at_least(0.0))?,
        deposit_reversion: c.real(
            &k("payments.deposit_reversion"),
            p.deposit_reversion,
            Bounds::closed(0.0, 1.0),
        )?,
    };

    // [intraday]
    let intraday = IntradayParams {
        collateral_share: c.real(
            &k("intraday.collateral_share"),
            raw.intraday.collateral_share,
            Bounds::at_least(0.0),
        )?,
        overdraft_fee_bp: c.rate(
            &k("intraday.overdraft_fee_bp"),
            raw.intraday.overdraft_fee_bp,
            Bounds::at_least(0.0),
        )?,
    };

    // [late_shock]
    let sd = c.required(&k("late_shock.sd"), raw.late_shock.sd, "an amount >= 0")?;
    let late_shock = LateShockParams {
        sd: c.amount(&k("late_shock.sd"), sd, Bounds::at_least(0.0))?,
        size_elasticity: c.real(
            &k("late_shock.size_elasticity"),
            raw.late_shock.size_elasticity,
            Bounds::closed(0.0, 2.0),
        )?,
    };

    // [behaviour]
    let b = &raw.behaviour;
    let behaviour = BehaviourParams {
        stigma_bp: c.rate(
            &k("behaviour.stigma_bp"),
            b.stigma_bp,
            Bounds::at_least(0.0),
        )?,
        precautionary_buffer_sd: c.real(
            &k("behaviour.precautionary_buffer_sd"),
            b.precautionary_buffer_sd,
            Bounds::closed(-10.0, 10.0),
        )?,
        market_reliance: c.real(
            &k("behaviour.market_reliance"),
            b.market_reliance,
            Bounds::closed(0.0, 1.0),
        )?,
        perceived_shock_scale: c.real(
            &k("behaviour.perceived_shock_scale"),
            b.perceived_shock_scale,
            Bounds::above(0.0),
        )?,
        balance_sheet_cost_bp: c.rate(
            &k("behaviour.balance_sheet_cost_bp"),
            b.balance_sheet_cost_bp,
            Bounds::at_least(0.0),
        )?,
    };

    let securities = securities(&c, raw)?;
    let class_names: Vec<&str> = securities.iter().map(|s| s.name.as_str()).collect();
    let central_bank = central_bank(&c, raw, count, &class_names)?;
    let autonomous = autonomous(&c, raw)?;
    let non_banks = non_banks(&c, raw.non_banks.as_ref())?;

    let market = market(&c, raw, count)?;
    if matches!(market.mechanism, MarketMechanism::Otc(_)) && non_banks.is_some() {
        return Err(c.invalid(
            &k("market.mechanism"),
            Shown::Str("otc"),
            "non-bank lenders ([non_banks]) trade only in the call market for now: the OTC \
             market's credit network covers banks only; use market.mechanism = \"call\" or \
             remove [non_banks]",
        ));
    }

    Ok(Validated {
        params: Params {
            calendar,
            banks,
            payments,
            intraday,
            late_shock,
            behaviour,
            central_bank,
            autonomous,
            market,
            non_banks,
            // Filled by `timeline` once the base scenario is known to be valid.
            policy_timeline: Vec::new(),
            securities,
        },
        name,
        description,
        runs,
        seed,
        record_banks: raw.run.record_banks,
        record_trades: raw.run.record_trades,
        money_unit,
    })
}

/// Largest number of OTC trading rounds.
pub(crate) const MAX_ROUNDS: i64 = 1_000;
/// Largest OTC contact rate (calls per bank and round).
pub(crate) const MAX_CONTACT_RATE: f64 = 100.0;

fn market(
    c: &Checker<'_>,
    raw: &mut RawScenario,
    count: i64,
) -> Result<MarketParams, ScenarioError> {
    let k = KeyPath::dotted;
    let m = &mut raw.market;
    let otc = c.choice(
        &k("market.mechanism"),
        &m.mechanism,
        &[("call", false), ("otc", true)],
        "",
    )?;
    if !otc {
        // The OTC keys are left as written and not read: switching a scenario's mechanism
        // with `--set market.mechanism=call` compares the two markets on the same banks.
        return Ok(MarketParams {
            mechanism: MarketMechanism::Call,
        });
    }
    // Write the defaults back, so that the resolved scenario shows them.
    let rounds = *m.rounds.get_or_insert(DEFAULT_ROUNDS);
    let contact_rate = *m.contact_rate.get_or_insert(DEFAULT_CONTACT_RATE);
    let bargaining_power = *m.bargaining_power.get_or_insert(DEFAULT_BARGAINING_POWER);
    let foresight = *m.foresight.get_or_insert(DEFAULT_FORESIGHT);
    let late_payment_share = *m
        .late_payment_share
        .get_or_insert(DEFAULT_LATE_PAYMENT_SHARE);
    let matching = m
        .matching
        .get_or_insert_with(|| DEFAULT_MATCHING.to_owned())
        .clone();
    let rounds_what = format!("a positive integer (1 to {MAX_ROUNDS})");
    let params = OtcParams {
        rounds: c.int(&k("market.rounds"), rounds, 1, MAX_ROUNDS, &rounds_what)? as u32,
        contact_rate: c.real(
            &k("market.contact_rate"),
            contact_rate,
            Bounds::closed(0.0, MAX_CONTACT_RATE),
        )?,
        bargaining_power: c.real(
            &k("market.bargaining_power"),
            bargaining_power,
            Bounds::closed(0.0, 1.0),
        )?,
        foresight: c.real(&k("market.foresight"), foresight, Bounds::closed(0.0, 1.0))?,
        late_payment_share: c.real(
            &k("market.late_payment_share"),
            late_payment_share,
            Bounds::closed_open(0.0, 1.0),
        )?,
        matching: c.choice(
            &k("market.matching"),
            &matching,
            &[
                ("random", Matching::Random),
                ("relationship", Matching::Relationship),
            ],
            "",
        )?,
        network: network(c, m.network.get_or_insert_with(RawNetwork::default), count)?,
    };
    if params.late_payment_share > 0.0 && params.rounds < 2 {
        return Err(c.invalid(
            &k("market.late_payment_share"),
            Shown::Num(params.late_payment_share),
            format_args!(
                "late payments arrive between rounds, so a positive share needs \
                 market.rounds >= 2 (market.rounds = {})",
                params.rounds
            ),
        ));
    }
    Ok(MarketParams {
        mechanism: MarketMechanism::Otc(params),
    })
}

fn network(
    c: &Checker<'_>,
    net: &mut RawNetwork,
    count: i64,
) -> Result<NetworkParams, ScenarioError> {
    let base = KeyPath::dotted("market.network");
    #[derive(Clone, Copy)]
    enum Kind {
        Complete,
        CorePeriphery,
        EdgeList,
    }
    let kind = c.choice(
        &base.key("kind"),
        &net.kind,
        &[
            ("complete", Kind::Complete),
            ("core_periphery", Kind::CorePeriphery),
            ("edge_list", Kind::EdgeList),
        ],
        "",
    )?;
    let not_allowed = |key: &str, value: Shown<'_>, allowed: &str| {
        Err(c.invalid(
            &base.key(key),
            value,
            format_args!(
                "not allowed with kind = {:?}; allowed keys for this kind: {allowed}",
                net.kind
            ),
        ))
    };
    let core_keys = [
        ("core_density", net.core_density),
        ("core_periphery_density", net.core_periphery_density),
        ("periphery_density", net.periphery_density),
    ];
    if !matches!(kind, Kind::CorePeriphery) {
        let allowed = if matches!(kind, Kind::EdgeList) {
            "kind, path, credit_limit_multiple, relationship_learning_rate"
        } else {
            "kind, credit_limit_multiple, relationship_learning_rate"
        };
        if let Some(x) = net.core_size {
            return not_allowed("core_size", Shown::Int(x), allowed);
        }
        for (key, x) in core_keys {
            if let Some(x) = x {
                return not_allowed(key, Shown::Num(x), allowed);
            }
        }
    }
    if !matches!(kind, Kind::EdgeList)
        && let Some(p) = &net.path
    {
        let allowed = if matches!(kind, Kind::CorePeriphery) {
            "kind, core_size, core_density, core_periphery_density, periphery_density, \
             credit_limit_multiple, relationship_learning_rate"
        } else {
            "kind, credit_limit_multiple, relationship_learning_rate"
        };
        return not_allowed("path", Shown::Str(p), allowed);
    }
    let credit_limit_multiple = c.real(
        &base.key("credit_limit_multiple"),
        net.credit_limit_multiple,
        Bounds::closed(0.0, 1_000.0),
    )?;
    let relationship_learning_rate = c.real(
        &base.key("relationship_learning_rate"),
        net.relationship_learning_rate,
        Bounds::closed(0.0, 1.0),
    )?;
    let kind = match kind {
        Kind::Complete => NetworkKind::Complete,
        Kind::CorePeriphery => {
            let key = base.key("core_size");
            let what = format!("an integer from 1 to banks.count ({count})");
            let core_size = c.required(&key, net.core_size, &what)?;
            let core_size = c.int(&key, core_size, 1, count, &what)? as u32;
            let mut density = [0.0; 3];
            for (slot, (name, x)) in density.iter_mut().zip(core_keys) {
                let key = base.key(name);
                let x = c.required(&key, x, "a probability in [0, 1]")?;
                *slot = c.real(&key, x, Bounds::closed(0.0, 1.0))?;
            }
            NetworkKind::CorePeriphery {
                core_size,
                core_density: density[0],
                core_periphery_density: density[1],
                periphery_density: density[2],
            }
        }
        Kind::EdgeList => {
            let key = base.key("path");
            let given = c.required(
                &key,
                net.path.clone(),
                "the path of a CSV file of credit lines (lender,borrower[,limit]), \
                 relative to the scenario file",
            )?;
            let dir = std::path::Path::new(c.loc.file())
                .parent()
                .unwrap_or(std::path::Path::new(""));
            let joined = dir.join(&given);
            let resolved = std::fs::canonicalize(&joined).unwrap_or(joined);
            // The resolved scenario names the file wherever it is read from.
            net.path = Some(resolved.display().to_string());
            NetworkKind::EdgeList(crate::edges::load(&resolved, count as u32, c.scale)?)
        }
    };
    Ok(NetworkParams {
        kind,
        credit_limit_multiple,
        relationship_learning_rate,
    })
}

fn size_distribution(
    c: &Checker<'_>,
    raw: &RawScenario,
) -> Result<SizeDistribution, ScenarioError> {
    let base = KeyPath::dotted("banks.size_distribution");
    let d = &raw.banks.size_distribution;
    #[derive(Clone, Copy)]
    enum Kind {
        Identical,
        LogNormal,
        Pareto,
    }
    let kind = c.choice(
        &base.key("kind"),
        &d.kind,
        &[
            ("identical", Kind::Identical),
            ("lognormal", Kind::LogNormal),
            ("pareto", Kind::Pareto),
        ],
        "",
    )?;
    let not_allowed = |key: &str, x: f64, allowed: &str| {
        c.invalid(
            &base.key(key),
            Shown::Num(x),
            format_args!(
                "not allowed with kind = {:?}; allowed keys for this kind: {allowed}",
                d.kind
            ),
        )
    };
    match kind {
        Kind::Identical => {
            if let Some(s) = d.sigma {
                return Err(not_allowed("sigma", s, "kind"));
            }
            if let Some(a) = d.alpha {
                return Err(not_allowed("alpha", a, "kind"));
            }
            Ok(SizeDistribution::Identical)
        }
        Kind::LogNormal => {
            if let Some(a) = d.alpha {
                return Err(not_allowed("alpha", a, "kind, sigma"));
            }
            let key = base.key("sigma");
            let sigma = c.required(&key, d.sigma, "a number in (0, 5] for kind = \"lognormal\"")?;
            let sigma = c.real(&key, sigma, Bounds::open_closed(0.0, 5.0))?;
            Ok(SizeDistribution::LogNormal { sigma })
        }
        Kind::Pareto => {
            if let Some(s) = d.sigma {
                return Err(not_allowed("sigma", s, "kind, alpha"));
            }
            let key = base.key("alpha");
            let alpha = c.required(&key, d.alpha, "a number in (1, 10] for kind = \"pareto\"")?;
            let alpha = c.real(&key, alpha, Bounds::open_closed(1.0, 10.0))?;
            Ok(SizeDistribution::Pareto { alpha })
        }
    }
}

fn central_bank(
    c: &Checker<'_>,
    raw: &mut RawScenario,
    count: i64,
    classes: &[&str],
) -> Result<CentralBankParams, ScenarioError> {
    let k = KeyPath::dotted;
    let cb = &mut raw.central_bank;
    let rate_what =
        "a rate in basis points (finite, between -100000 and 100000; negative rates are allowed)";
    let policy_key = k("central_bank.policy_rate_bp");
    let deposit_key = k("central_bank.deposit_rate_bp");
    let lending_key = k("central_bank.lending_rate_bp");
    let policy = c.required(&policy_key, cb.policy_rate_bp, rate_what)?;
    let policy = c.rate(&policy_key, policy, Bounds::ANY)?;
    let deposit = c.required(&deposit_key, cb.deposit_rate_bp, rate_what)?;
    let deposit = c.rate(&deposit_key, deposit, Bounds::ANY)?;
    let lending = c.required(&lending_key, cb.lending_rate_bp, rate_what)?;
    let lending = c.rate(&lending_key, lending, Bounds::ANY)?;
    if lending < deposit {
        return Err(c.invalid(
            &lending_key,
            Shown::Num(lending),
            format_args!("must be >= {deposit_key} ({})", Num(deposit)),
        ));
    }
    if deposit > policy {
        return Err(c.invalid(
            &deposit_key,
            Shown::Num(deposit),
            format_args!("must be <= {policy_key} ({})", Num(policy)),
        ));
    }
    if lending < policy {
        return Err(c.invalid(
            &lending_key,
            Shown::Num(lending),
            format_args!("must be >= {policy_key} ({})", Num(policy)),
        ));
    }

    let reserve_requirement = reserve_requirement(c, cb.reserve_requirement.as_ref())?;
    let framework = framework(
        c,
        &mut cb.framework,
        count,
        Corridor { deposit, lending },
        reserve_requirement.is_some(),
    )?;

    let total_key = k("central_bank.reserve_target");
    let per_bank_key = k("central_bank.reserve_target_per_bank");
    let reserve_target = match (cb.reserve_target, cb.reserve_target_per_bank) {
        (Some(total), Some(per_bank)) => {
            return Err(c.invalid(
                &per_bank_key,
                Shown::Num(per_bank),
                format_args!(
                    "give either {total_key} or {per_bank_key}, not both \
                     ({total_key} = {} is also set)",
                    Num(total)
                ),
            ));
        }
        (Some(total), None) => c.amount(&total_key, total, Bounds::ANY)?,
        (None, Some(per_bank)) => {
            let per = c.amount(&per_bank_key, per_bank, Bounds::ANY)?;
            per.0.checked_mul(count).map(Money).ok_or_else(|| {
                c.invalid(
                    &per_bank_key,
                    Shown::Num(per_bank),
                    format_args!("× banks.count ({count}) does not fit in 64 bits of minor units"),
                )
            })?
        }
        (None, None) => {
            cb.reserve_target = Some(0.0);
            Money::ZERO
        }
    };

    let ft = &cb.fine_tuning;
    let fine_tuning = FineTuningParams {
        enabled: ft.enabled,
        rate_offset_bp: c.rate(
            &k("central_bank.fine_tuning.rate_offset_bp"),
            ft.rate_offset_bp,
            Bounds::at_least(0.0),
        )?,
        forecast_error_sd: c.amount(
            &k("central_bank.fine_tuning.forecast_error_sd"),
            ft.forecast_error_sd,
            Bounds::at_least(0.0),
        )?,
        min_amount: c.amount(
            &k("central_bank.fine_tuning.min_amount"),
            ft.min_amount,
            Bounds::at_least(0.0),
        )?,
    };

    let main_operation = main_operation(c, cb.main_operation.as_ref())?;
    let balance_sheet = balance_sheet(c, &cb.balance_sheet, classes)?;

    Ok(CentralBankParams {
        framework,
        reserve_requirement,
        policy_rate_bp: policy,
        deposit_rate_bp: deposit,
        lending_rate_bp: lending,
        reserve_target,
        fine_tuning,
        main_operation,
        balance_sheet,
    })
}

/// Longest maturity of a security class (100 years).
const MAX_MATURITY_DAYS: i64 = 36_500;
/// Most security classes.
const MAX_SECURITY_CLASSES: usize = 16;

/// `[[securities]]`: the classes, or the model's defaults (written back so that the
/// resolved scenario shows them).
fn securities(c: &Checker<'_>, raw: &mut RawScenario) -> Result<Vec<SecurityClass>, ScenarioError> {
    let list = raw.securities.get_or_insert_with(|| {
        SecurityClass::defaults()
            .into_iter()
            .map(|d| RawSecurityClass {
                name: Some(d.name),
                maturity_days: Some(d.maturity_days.into()),
                coupon_rate_bp: d.coupon_rate_bp,
                haircut: d.haircut,
                bank_share: d.bank_share,
                investor_holdings: d.investor_holdings.as_f64() / c.scale,
                central_bank_share: d.central_bank_share,
            })
            .collect()
    });
    let base = KeyPath::dotted("securities");
    if list.is_empty() || list.len() > MAX_SECURITY_CLASSES {
        return Err(c.invalid(
            &base,
            Shown::Int(list.len() as i64),
            format_args!("expected 1 to {MAX_SECURITY_CLASSES} [[securities]] classes"),
        ));
    }
    let mut out: Vec<SecurityClass> = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let at = base.index(i);
        let name_key = at.key("name");
        let name = c.required(&name_key, r.name.clone(), "a name such as \"bills\"")?;
        if name.trim().is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            return Err(c.invalid(
                &name_key,
                Shown::Str(&name),
                "expected a non-empty name of letters, digits and underscores",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(c.invalid(&name_key, Shown::Str(&name), "names a class twice"));
        }
        let mat_key = at.key("maturity_days");
        let mat_what = format!("an integer from 1 to {MAX_MATURITY_DAYS} (calendar days)");
        let maturity = c.required(&mat_key, r.maturity_days, &mat_what)?;
        out.push(SecurityClass {
            name,
            maturity_days: c.int(&mat_key, maturity, 1, MAX_MATURITY_DAYS, &mat_what)? as u32,
            coupon_rate_bp: c.rate(&at.key("coupon_rate_bp"), r.coupon_rate_bp, Bounds::ANY)?,
            haircut: c.real(&at.key("haircut"), r.haircut, Bounds::closed_open(0.0, 1.0))?,
            bank_share: c.real(
                &at.key("bank_share"),
                r.bank_share,
                Bounds::closed(0.0, 1.0),
            )?,
            investor_holdings: c.amount(
                &at.key("investor_holdings"),
                r.investor_holdings,
                Bounds::at_least(0.0),
            )?,
            central_bank_share: c.real(
                &at.key("central_bank_share"),
                r.central_bank_share,
                Bounds::closed(0.0, 1.0),
            )?,
        });
    }
    for (field, get) in [
        (
            "bank_share",
            (|s: &SecurityClass| s.bank_share) as fn(&SecurityClass) -> f64,
        ),
        ("central_bank_share", |s: &SecurityClass| {
            s.central_bank_share
        }),
    ] {
        let sum: f64 = out.iter().map(get).sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(c.invalid(
                &base.index(out.len() - 1).key(field),
                Shown::Num(get(&out[out.len() - 1])),
                format_args!(
                    "the classes' {field} values add up to {}; they must add up to 1",
                    Num(sum)
                ),
            ));
        }
    }
    Ok(out)
}

/// The index of class `name`, or an error listing the classes.
fn class_index(
    c: &Checker<'_>,
    key: &KeyPath,
    name: &str,
    classes: &[&str],
) -> Result<usize, ScenarioError> {
    classes.iter().position(|n| *n == name).ok_or_else(|| {
        c.invalid(
            key,
            Shown::Str(name),
            format_args!(
                "no such security class; the scenario's classes ([[securities]]) are {}",
                classes
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Largest number of bid rates per bank in a variable-rate auction.
const MAX_BID_LEVELS: i64 = 100;

fn main_operation(
    c: &Checker<'_>,
    m: Option<&RawMainOperation>,
) -> Result<Option<MainOperationParams>, ScenarioError> {
    let Some(m) = m else { return Ok(None) };
    let base = KeyPath::dotted("central_bank.main_operation");
    let allotment_key = base.key("allotment");
    let variable = c.choice(
        &allotment_key,
        &m.allotment,
        &[("fixed_rate", false), ("variable_rate", true)],
        " (fixed_rate: full allotment at the policy rate)",
    )?;
    let allotment = if variable {
        let levels_what = format!("an integer from 1 to {MAX_BID_LEVELS}");
        Allotment::VariableRate {
            pricing: c.choice(
                &base.key("pricing"),
                &m.pricing,
                &[
                    ("multiple", Pricing::Multiple),
                    ("uniform", Pricing::Uniform),
                ],
                "",
            )?,
            bid_tick_bp: c.rate(&base.key("bid_tick_bp"), m.bid_tick_bp, Bounds::above(0.0))?,
            bid_levels: c.int(
                &base.key("bid_levels"),
                m.bid_levels,
                1,
                MAX_BID_LEVELS,
                &levels_what,
            )? as u32,
        }
    } else {
        Allotment::FixedRateFullAllotment
    };
    Ok(Some(MainOperationParams {
        interval_days: c.int(
            &base.key("interval_days"),
            m.interval_days,
            1,
            MAX_BUSINESS_DAYS,
            "a positive number of business days",
        )? as u32,
        tenor_days: c.int(
            &base.key("tenor_days"),
            m.tenor_days,
            1,
            MAX_MATURITY_DAYS,
            &format!("an integer from 1 to {MAX_MATURITY_DAYS} (calendar days)"),
        )? as u32,
        allotment,
    }))
}

/// Most outright operations a month.
const MAX_OPERATIONS_PER_MONTH: i64 = 23;

fn balance_sheet(
    c: &Checker<'_>,
    b: &RawBalanceSheet,
    classes: &[&str],
) -> Result<BalanceSheetPolicy, ScenarioError> {
    let base = KeyPath::dotted("central_bank.balance_sheet");
    let mut policy = BalanceSheetPolicy::passive(classes.len());
    for (name, &pace) in &b.purchases {
        let key = base.key("purchases").key(name);
        let class = class_index(c, &key, name, classes)?;
        policy.monthly_purchases[class] = c.amount(&key, pace, Bounds::ANY)?;
    }
    for (name, &cap) in &b.runoff_caps {
        let key = base.key("runoff_caps").key(name);
        let class = class_index(c, &key, name, classes)?;
        policy.runoff_caps[class] = Some(c.amount(&key, cap, Bounds::at_least(0.0))?);
    }
    let ops_what = format!("an integer from 1 to {MAX_OPERATIONS_PER_MONTH}");
    policy.operations_per_month = c.int(
        &base.key("operations_per_month"),
        b.operations_per_month,
        1,
        MAX_OPERATIONS_PER_MONTH,
        &ops_what,
    )? as u32;
    policy.nonbank_share = c.real(
        &base.key("nonbank_share"),
        b.nonbank_share,
        Bounds::closed(0.0, 1.0),
    )?;
    policy.reinvest = b.reinvest;
    policy.settlement_days = c.int(
        &base.key("settlement_days"),
        b.settlement_days,
        0,
        10,
        "an integer from 0 to 10 (business days from trade to settlement)",
    )? as u32;
    if let Some(p) = &b.pomo {
        let pomo = base.key("pomo");
        let max_key = pomo.key("max_operation");
        let max = c.required(
            &max_key,
            p.max_operation,
            "an amount > 0 (the largest single operation)",
        )?;
        policy.pomo = Some(PomoParams {
            class: class_index(c, &pomo.key("class"), &p.class, classes)?,
            operations_per_month: c.int(
                &pomo.key("operations_per_month"),
                p.operations_per_month,
                1,
                MAX_OPERATIONS_PER_MONTH,
                &ops_what,
            )? as u32,
            max_operation: c.amount(&max_key, max, Bounds::above(0.0))?,
            min_operation: c.amount(
                &pomo.key("min_operation"),
                p.min_operation,
                Bounds::at_least(0.0),
            )?,
        });
    }
    Ok(policy)
}

/// The facility rates that bound every tier rate.
#[derive(Clone, Copy)]
struct Corridor {
    deposit: f64,
    lending: f64,
}

/// Every framework kind, in the order the docs list them.
const FRAMEWORK_KINDS: &str = "\"corridor\", \"floor\", \"quota\", \"current_account_limits\", \
                               \"exemption_threshold\", \"two_tier\", \"three_tier\"";

fn framework(
    c: &Checker<'_>,
    fw: &mut RawFramework,
    count: i64,
    corridor: Corridor,
    has_requirement: bool,
) -> Result<Framework, ScenarioError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Corridor,
        Floor,
        Quota,
        CurrentAccountLimits,
        ExemptionThreshold,
        TwoTier,
        ThreeTier,
    }
    const KINDS: [(&str, Kind); 7] = [
        ("corridor", Kind::Corridor),
        ("floor", Kind::Floor),
        ("quota", Kind::Quota),
        ("current_account_limits", Kind::CurrentAccountLimits),
        ("exemption_threshold", Kind::ExemptionThreshold),
        ("two_tier", Kind::TwoTier),
        ("three_tier", Kind::ThreeTier),
    ];
    let base = KeyPath::dotted("central_bank.framework");
    let t = match fw {
        RawFramework::Name(name) => {
            let kind = KINDS.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
            return match kind {
                Some(Kind::Corridor) => Ok(Framework::Corridor),
                Some(Kind::Floor) => Ok(Framework::Floor),
                Some(_) => Err(c.invalid(
                    &base,
                    Shown::Str(name),
                    format_args!(
                        "this framework takes parameters; write it as a table \
                         [central_bank.framework] with kind = {name:?} and its keys \
                         (see docs/scenarios.md)"
                    ),
                )),
                None => Err(c.invalid(
                    &base,
                    Shown::Str(name),
                    format_args!(
                        "expected \"corridor\" or \"floor\", or a table with kind = one of \
                         {FRAMEWORK_KINDS}"
                    ),
                )),
            };
        }
        RawFramework::Table(t) => t,
    };
    let kind_key = base.key("kind");
    let kind_name = c.required(
        &kind_key,
        t.kind.clone(),
        &format!("one of {FRAMEWORK_KINDS}"),
    )?;
    let kind = c.choice(&kind_key, &kind_name, &KINDS, "")?;

    let allowed: &[&str] = match kind {
        Kind::Corridor | Kind::Floor => &[],
        Kind::Quota => &["quotas"],
        Kind::CurrentAccountLimits => &["limits", "current_account_rate_bp"],
        Kind::ExemptionThreshold => &["multiple", "fixed_amount", "exempt_rate_bp"],
        Kind::TwoTier => &["multiple", "exempt_rate_bp"],
        Kind::ThreeTier => &["basic", "basic_rate_bp", "macro_add_on", "macro_rate_bp"],
    };
    let fmt_opt = |x: Option<f64>| x.map(|x| Num(x).to_string());
    let table = |a: &Option<RawAllocation>| a.as_ref().map(|_| "{ ... }".to_owned());
    let present = [
        ("quotas", table(&t.quotas)),
        ("limits", table(&t.limits)),
        (
            "current_account_rate_bp",
            fmt_opt(t.current_account_rate_bp),
        ),
        ("multiple", fmt_opt(t.multiple)),
        ("fixed_amount", fmt_opt(t.fixed_amount)),
        ("exempt_rate_bp", fmt_opt(t.exempt_rate_bp)),
        ("basic", table(&t.basic)),
        ("basic_rate_bp", fmt_opt(t.basic_rate_bp)),
        ("macro_add_on", table(&t.macro_add_on)),
        ("macro_rate_bp", fmt_opt(t.macro_rate_bp)),
    ];
    for (name, value) in &present {
        if let Some(value) = value
            && !allowed.contains(name)
        {
            let list = if allowed.is_empty() {
                "kind".to_owned()
            } else {
                format!("kind, {}", allowed.join(", "))
            };
            return Err(c.invalid(
                &base.key(name),
                Shown::Raw(value),
                format_args!(
                    "not allowed with kind = {kind_name:?}; allowed keys for this kind: {list}"
                ),
            ));
        }
    }

    let t: &mut RawFrameworkTable = t;
    Ok(match kind {
        Kind::Corridor => Framework::Corridor,
        Kind::Floor => Framework::Floor,
        Kind::Quota => Framework::Quota {
            quotas: allocation(c, &base.key("quotas"), t.quotas.as_ref(), count)?,
        },
        Kind::CurrentAccountLimits => {
            let limits = allocation(c, &base.key("limits"), t.limits.as_ref(), count)?;
            let rate = *t.current_account_rate_bp.get_or_insert(0.0);
            Framework::CurrentAccountLimits {
                limits,
                current_account_rate_bp: tier_rate(
                    c,
                    &base.key("current_account_rate_bp"),
                    rate,
                    corridor,
                )?,
            }
        }
        Kind::ExemptionThreshold => {
            let multiple = multiple(c, &base.key("multiple"), t.multiple, &kind_name)?;
            let fixed = *t.fixed_amount.get_or_insert(0.0);
            let fixed_amount = c.amount(&base.key("fixed_amount"), fixed, Bounds::at_least(0.0))?;
            let rate = *t.exempt_rate_bp.get_or_insert(0.0);
            Framework::ExemptionThreshold {
                multiple,
                fixed_amount,
                exempt_rate_bp: tier_rate(c, &base.key("exempt_rate_bp"), rate, corridor)?,
            }
        }
        Kind::TwoTier => {
            if !has_requirement {
                return Err(c.invalid(
                    &kind_key,
                    Shown::Str(&kind_name),
                    "needs a [central_bank.reserve_requirement] table: the exempt tier is \
                     central_bank.framework.multiple × each bank's minimum reserves, and \
                     without a requirement that is a multiple of nothing",
                ));
            }
            let multiple = multiple(c, &base.key("multiple"), t.multiple, &kind_name)?;
            let rate = *t.exempt_rate_bp.get_or_insert(0.0);
            Framework::TwoTier {
                multiple,
                exempt_rate_bp: tier_rate(c, &base.key("exempt_rate_bp"), rate, corridor)?,
            }
        }
        Kind::ThreeTier => {
            let basic = allocation(c, &base.key("basic"), t.basic.as_ref(), count)?;
            let basic_key = base.key("basic_rate_bp");
            let basic_rate = c.required(
                &basic_key,
                t.basic_rate_bp,
                "a rate in basis points for kind = \"three_tier\"",
            )?;
            let basic_rate = tier_rate(c, &basic_key, basic_rate, corridor)?;
            let macro_add_on =
                allocation(c, &base.key("macro_add_on"), t.macro_add_on.as_ref(), count)?;
            let macro_key = base.key("macro_rate_bp");
            let macro_rate = *t.macro_rate_bp.get_or_insert(0.0);
            let macro_rate = tier_rate(c, &macro_key, macro_rate, corridor)?;
            if macro_rate > basic_rate {
                return Err(c.invalid(
                    &macro_key,
                    Shown::Num(macro_rate),
                    format_args!(
                        "must be <= {basic_key} ({}): tier rates may not rise with the \
                         balance (lending >= basic >= macro add-on >= deposit)",
                        Num(basic_rate)
                    ),
                ));
            }
            Framework::ThreeTier {
                basic,
                basic_rate_bp: basic_rate,
                macro_add_on,
                macro_rate_bp: macro_rate,
            }
        }
    })
}

/// A tier's rate: a rate between the deposit and the lending rate, so that the marginal
/// value of reserves never rises with the balance.
fn tier_rate(
    c: &Checker<'_>,
    key: &KeyPath,
    x: f64,
    corridor: Corridor,
) -> Result<f64, ScenarioError> {
    let x = c.rate(key, x, Bounds::ANY)?;
    if x < corridor.deposit || x > corridor.lending {
        return Err(c.invalid(
            key,
            Shown::Num(x),
            format_args!(
                "must lie between central_bank.deposit_rate_bp ({}) and \
                 central_bank.lending_rate_bp ({}): the marginal value of reserves may not \
                 rise with the balance",
                Num(corridor.deposit),
                Num(corridor.lending)
            ),
        ));
    }
    Ok(x)
}

fn multiple(
    c: &Checker<'_>,
    key: &KeyPath,
    x: Option<f64>,
    kind: &str,
) -> Result<f64, ScenarioError> {
    let x = c.required(
        key,
        x,
        &format!("a number >= 0 (× minimum reserves) for kind = {kind:?}"),
    )?;
    c.real(key, x, Bounds::at_least(0.0))
}

const ALLOCATION_WHAT: &str = "a table { kind = \"pro_rata\", total = ... }, \
     { kind = \"size_groups\", groups = [{ min_size = ..., amount = ... }, ...] } or \
     { kind = \"explicit\", amounts = [...] }";

fn allocation(
    c: &Checker<'_>,
    base: &KeyPath,
    a: Option<&RawAllocation>,
    count: i64,
) -> Result<Allocation, ScenarioError> {
    #[derive(Clone, Copy)]
    enum Kind {
        ProRata,
        SizeGroups,
        Explicit,
    }
    let a = c.required(base, a, ALLOCATION_WHAT)?;
    let kind_key = base.key("kind");
    let kind_name = c.required(
        &kind_key,
        a.kind.clone(),
        "one of \"pro_rata\", \"size_groups\", \"explicit\"",
    )?;
    let kind = c.choice(
        &kind_key,
        &kind_name,
        &[
            ("pro_rata", Kind::ProRata),
            ("size_groups", Kind::SizeGroups),
            ("explicit", Kind::Explicit),
        ],
        "",
    )?;
    let allowed = match kind {
        Kind::ProRata => "total",
        Kind::SizeGroups => "groups",
        Kind::Explicit => "amounts",
    };
    let total = a.total.map(|x| Num(x).to_string());
    let present = [
        ("total", total),
        ("groups", a.groups.as_ref().map(|_| "[...]".to_owned())),
        ("amounts", a.amounts.as_ref().map(|_| "[...]".to_owned())),
    ];
    for (name, value) in &present {
        if let Some(value) = value
            && *name != allowed
        {
            return Err(c.invalid(
                &base.key(name),
                Shown::Raw(value),
                format_args!(
                    "not allowed with kind = {kind_name:?}; allowed keys for this kind: \
                     kind, {allowed}"
                ),
            ));
        }
    }
    match kind {
        Kind::ProRata => {
            let key = base.key("total");
            let total = c.required(&key, a.total, "an amount >= 0 for kind = \"pro_rata\"")?;
            Ok(Allocation::ProRata {
                total: c.amount(&key, total, Bounds::at_least(0.0))?,
            })
        }
        Kind::SizeGroups => {
            let key = base.key("groups");
            let what = "a non-empty array of { min_size = ..., amount = ... } for \
                        kind = \"size_groups\"";
            let raw_groups = c.required(&key, a.groups.as_ref(), what)?;
            if raw_groups.is_empty() {
                return Err(c.invalid(&key, Shown::Raw("[]"), format_args!("expected {what}")));
            }
            let mut groups: Vec<SizeGroup> = Vec::with_capacity(raw_groups.len());
            for (i, g) in raw_groups.iter().enumerate() {
                let at = key.index(i);
                let min_key = at.key("min_size");
                let min_x = c.required(&min_key, g.min_size, "an amount >= 0")?;
                let min_size = c.amount(&min_key, min_x, Bounds::at_least(0.0))?;
                let amount_key = at.key("amount");
                let amount = c.required(&amount_key, g.amount, "an amount >= 0")?;
                let amount = c.amount(&amount_key, amount, Bounds::at_least(0.0))?;
                if let Some(j) = groups.iter().position(|g| g.min_size == min_size) {
                    return Err(c.invalid(
                        &min_key,
                        Shown::Num(min_x),
                        format_args!(
                            "the same min_size as {}; each group needs a distinct min_size",
                            key.index(j)
                        ),
                    ));
                }
                groups.push(SizeGroup { min_size, amount });
            }
            Ok(Allocation::SizeGroups { groups })
        }
        Kind::Explicit => {
            let key = base.key("amounts");
            let what = format!(
                "an array of {count} amounts >= 0, one per bank, largest bank first, for \
                 kind = \"explicit\""
            );
            let xs = c.required(&key, a.amounts.as_ref(), &what)?;
            if xs.len() as i64 != count {
                let summary = format!("[{} amounts]", xs.len());
                let shown = if xs.len() <= 8 {
                    Shown::Nums(xs)
                } else {
                    Shown::Raw(&summary)
                };
                return Err(c.invalid(
                    &key,
                    shown,
                    format_args!(
                        "expected exactly {count} amounts (banks.count), one per bank, largest \
                         bank first; found {}",
                        xs.len()
                    ),
                ));
            }
            let amounts = xs
                .iter()
                .enumerate()
                .map(|(i, &x)| c.amount(&key.index(i), x, Bounds::at_least(0.0)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Allocation::Explicit { amounts })
        }
    }
}

fn reserve_requirement(
    c: &Checker<'_>,
    r: Option<&RawReserveRequirement>,
) -> Result<Option<ReserveRequirementParams>, ScenarioError> {
    let Some(r) = r else { return Ok(None) };
    let base = KeyPath::dotted("central_bank.reserve_requirement");
    let ratio_key = base.key("ratio");
    let ratio = c.required(
        &ratio_key,
        r.ratio,
        "a number in [0, 1] (0.01 = 1% of deposits)",
    )?;
    let days_key = base.key("maintenance_days");
    let days_what = format!("an integer from 1 to {MAX_MAINTENANCE_DAYS} (business days)");
    let days = c.required(&days_key, r.maintenance_days, &days_what)?;
    let rem_key = base.key("remuneration_rate_bp");
    let rem = c.required(
        &rem_key,
        r.remuneration_rate_bp,
        "a rate in basis points earned on required holdings",
    )?;
    Ok(Some(ReserveRequirementParams {
        ratio: c.real(&ratio_key, ratio, Bounds::closed(0.0, 1.0))?,
        maintenance_days: c.int(&days_key, days, 1, MAX_MAINTENANCE_DAYS, &days_what)? as u32,
        averaging: r.averaging,
        enforced: r.enforced,
        remuneration_rate_bp: c.rate(&rem_key, rem, Bounds::ANY)?,
        penalty_rate_bp: c.rate(
            &base.key("penalty_rate_bp"),
            r.penalty_rate_bp,
            Bounds::at_least(0.0),
        )?,
    }))
}

fn non_banks(
    c: &Checker<'_>,
    n: Option<&RawNonBanks>,
) -> Result<Option<NonBankParams>, ScenarioError> {
    let Some(n) = n else { return Ok(None) };
    let base = KeyPath::dotted("non_banks");
    let lenders_key = base.key("lenders");
    let lenders_what = format!("an integer from 1 to {MAX_NON_BANK_LENDERS}");
    let lenders = c.required(&lenders_key, n.lenders, &lenders_what)?;
    let cash_key = base.key("cash");
    let cash = c.required(
        &cash_key,
        n.cash,
        "an amount >= 0 (the lenders' cash together)",
    )?;
    let reverse_repo = match &n.reverse_repo {
        None => None,
        Some(rr) => {
            let rr_base = base.key("reverse_repo");
            let rate_key = rr_base.key("rate_bp");
            let rate = c.required(&rate_key, rr.rate_bp, "a rate in basis points")?;
            let cap_key = rr_base.key("cap_per_lender");
            let cap = c.required(&cap_key, rr.cap_per_lender, "an amount >= 0")?;
            Some(ReverseRepoParams {
                rate_bp: c.rate(&rate_key, rate, Bounds::ANY)?,
                cap_per_lender: c.amount(&cap_key, cap, Bounds::at_least(0.0))?,
            })
        }
    };
    Ok(Some(NonBankParams {
        lenders: c.int(
            &lenders_key,
            lenders,
            1,
            MAX_NON_BANK_LENDERS,
            &lenders_what,
        )? as u32,
        cash: c.amount(&cash_key, cash, Bounds::at_least(0.0))?,
        idle_rate_bp: c.rate(&base.key("idle_rate_bp"), n.idle_rate_bp, Bounds::ANY)?,
        reverse_repo,
    }))
}

/// Whether a `[[timeline]]` event may set `key`: the central bank's parameters and the
/// non-banks' facility terms, not the structure of the economy.
fn timeline_may_set(key: &[String]) -> bool {
    match key {
        [first, _, ..] if first == "central_bank" => true,
        [a, b] if a == "non_banks" && b == "idle_rate_bp" => true,
        [a, b, ..] if a == "non_banks" && b == "reverse_repo" => true,
        _ => false,
    }
}

/// Applies the `[[timeline]]` events of `raw` cumulatively to `merged` (the file with
/// `--set` overrides applied) through the `--set` machinery, validates each resulting
/// scenario in full and returns the policy in force from each event's date. Rewrites each
/// event's `set` in `raw` with one quoted dotted key per value, so that the resolved
/// scenario reads back the same.
pub(crate) fn timeline(
    raw: &mut RawScenario,
    merged: &str,
    loc: &Locator<'_>,
    default_name: &str,
    base: &Params,
) -> Result<Vec<PolicyEvent>, ScenarioError> {
    if raw.timeline.is_empty() {
        return Ok(Vec::new());
    }
    let c = Checker { loc, scale: 1.0 };
    let merged_doc: DocumentMut = merged
        .parse()
        .expect("the merged scenario was already parsed once");
    let tables: Vec<Option<&dyn TableLike>> = match merged_doc.get("timeline") {
        Some(Item::ArrayOfTables(a)) => a.iter().map(|t| Some(t as &dyn TableLike)).collect(),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
            .collect(),
        _ => Vec::new(),
    };
    let mut work = merged_doc.clone();
    work.remove("timeline");

    let timeline_key = KeyPath::dotted("timeline");
    let mut events: Vec<PolicyEvent> = Vec::with_capacity(raw.timeline.len());
    // Every value set so far: (scenario key, line where it is written).
    let mut written: Vec<(String, Option<usize>)> = Vec::new();
    for (i, ev) in raw.timeline.iter_mut().enumerate() {
        let at = timeline_key.index(i);
        let date_key = at.key("date");
        let date_text = c.required(&date_key, ev.date.as_ref(), "a date YYYY-MM-DD")?;
        let date = c.date(&date_key, date_text)?;
        match events.last() {
            Some(prev) if date <= prev.date => {
                return Err(c.invalid(
                    &date_key,
                    Shown::Str(&date_text.0),
                    format_args!(
                        "must be after {} ({}): timeline events must be in strictly \
                         increasing date order",
                        timeline_key.index(i - 1).key("date"),
                        prev.date
                    ),
                ));
            }
            None if date < base.calendar.start => {
                return Err(c.invalid(
                    &date_key,
                    Shown::Str(&date_text.0),
                    format_args!(
                        "must be on or after calendar.start ({}): an event before the \
                         simulation starts would never apply; change the base scenario instead",
                        base.calendar.start
                    ),
                ));
            }
            _ => {}
        }
        let label = format!("{at} ({date})");
        let set_key = at.key("set");
        let set_table = tables
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| t.get("set"))
            .and_then(Item::as_table_like);
        let set_what = "a table of dotted scenario keys and values, e.g. \
                        { \"central_bank.deposit_rate_bp\" = -20 }";
        let set_table = c.required(&set_key, set_table, set_what)?;
        let mut entries = crate::source::set_entries(set_table, &set_key);
        // A fixed order, whatever the order in the file (the resolved scenario writes the
        // keys sorted): a whole table is set before keys inside it.
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let sets = |name: &str| {
            entries
                .iter()
                .find(|e| matches!(e.key.as_slice(), [a, b] if a == "central_bank" && b == name))
        };
        if let (Some(total), Some(per_bank)) =
            (sets("reserve_target"), sets("reserve_target_per_bank"))
        {
            let shown = per_bank.value.to_string();
            return Err(c
                .invalid(
                    &set_key.key("central_bank.reserve_target_per_bank"),
                    Shown::Raw(shown.trim()),
                    format_args!(
                        "give either central_bank.reserve_target or \
                         central_bank.reserve_target_per_bank in one event, not both \
                         (central_bank.reserve_target = {} is also set)",
                        total.value.to_string().trim()
                    ),
                )
                .at_line(loc.nearest_line(&per_bank.written_at)));
        }
        let event_line = loc.nearest_line(&set_key);
        let mut resolved_set = toml::Table::new();
        for e in &entries {
            let dotted = e.key.join(".");
            if !timeline_may_set(&e.key) {
                let shown = e.value.to_string();
                return Err(c
                    .invalid(
                        &set_key.key(&dotted),
                        Shown::Raw(shown.trim()),
                        format_args!(
                            "a timeline cannot change {dotted}; it may change keys under \
                             central_bank (rates, framework, reserve_requirement, \
                             reserve_target, fine_tuning), non_banks.idle_rate_bp and \
                             non_banks.reverse_repo"
                        ),
                    )
                    .at_line(loc.nearest_line(&e.written_at)));
            }
            crate::source::set_value(&mut work, &e.key, e.value.clone()).map_err(|msg| {
                loc.error(
                    ErrorKind::InvalidValue,
                    &e.written_at,
                    format!("{label}: {}: {msg}", set_key.key(&dotted)),
                )
            })?;
            // The two forms of the reserve target exclude each other: setting one in an
            // event replaces the other.
            let other = match e.key.as_slice() {
                [a, b] if a == "central_bank" && b == "reserve_target" => {
                    Some("reserve_target_per_bank")
                }
                [a, b] if a == "central_bank" && b == "reserve_target_per_bank" => {
                    Some("reserve_target")
                }
                _ => None,
            };
            if let Some(other) = other {
                crate::source::remove_value(
                    &mut work,
                    &["central_bank".to_owned(), other.to_owned()],
                );
            }
            written.push((dotted.clone(), loc.nearest_line(&e.written_at)));
            let value: toml::Table = toml::from_str(&format!("v = {}", e.value))
                .expect("a value toml_edit parsed is valid TOML");
            resolved_set.insert(dotted, value["v"].clone());
        }
        ev.set = Some(resolved_set);

        // Blame the line that wrote the offending key, else the event itself.
        let relocate = |e: ScenarioError| {
            let line = e
                .key()
                .and_then(|key| {
                    written
                        .iter()
                        .rev()
                        .find(|(w, _)| {
                            key == w
                                || key
                                    .strip_prefix(w.as_str())
                                    .is_some_and(|rest| rest.starts_with(['.', '[']))
                        })
                        .map(|(_, line)| *line)
                })
                .unwrap_or(event_line);
            e.in_timeline_event(&label, line)
        };
        let text = work.to_string();
        let mut ev_raw: RawScenario =
            toml::from_str(&text).map_err(|e| relocate(crate::serde_error(loc, &text, &e)))?;
        let v = validate(&mut ev_raw, loc, default_name).map_err(relocate)?;
        events.push(PolicyEvent {
            date,
            central_bank: v.params.central_bank,
            non_banks: v.params.non_banks,
        });
    }
    Ok(events)
}

fn autonomous(c: &Checker<'_>, raw: &RawScenario) -> Result<AutonomousParams, ScenarioError> {
    let k = KeyPath::dotted;
    let cur = &raw.autonomous.currency;
    let weekday_key = k("autonomous.currency.weekday_effect");
    if cur.weekday_effect.len() != 5 {
        return Err(c.invalid(
            &weekday_key,
            Shown::Nums(&cur.weekday_effect),
            format_args!(
                "expected exactly 5 numbers (Monday to Friday), found {}",
                cur.weekday_effect.len()
            ),
        ));
    }
    let mut weekday_effect = [0.0; 5];
    for (i, (slot, &x)) in weekday_effect
        .iter_mut()
        .zip(&cur.weekday_effect)
        .enumerate()
    {
        *slot = c.real(&weekday_key.index(i), x, Bounds::open(-0.5, 0.5))?;
    }
    let currency = CurrencyParams {
        initial: c.amount(
            &k("autonomous.currency.initial"),
            cur.initial,
            Bounds::at_least(0.0),
        )?,
        annual_growth: c.real(
            &k("autonomous.currency.annual_growth"),
            cur.annual_growth,
            Bounds::open(-1.0, 1.0),
        )?,
        weekday_effect,
        month_end_effect: c.real(
            &k("autonomous.currency.month_end_effect"),
            cur.month_end_effect,
            Bounds::open(-0.5, 0.5),
        )?,
        noise_sd: c.amount(
            &k("autonomous.currency.noise_sd"),
            cur.noise_sd,
            Bounds::at_least(0.0),
        )?,
    };

    let gov = &raw.autonomous.government;
    let events_key = k("autonomous.government.events");
    let mut events = Vec::with_capacity(gov.events.len());
    for (i, e) in gov.events.iter().enumerate() {
        let base = events_key.index(i);
        let date = c.required(&base.key("date"), e.date.as_ref(), "a date YYYY-MM-DD")?;
        let amount = c.required(&base.key("amount"), e.amount, "an amount (may be negative)")?;
        events.push(GovernmentEvent {
            date: c.date(&base.key("date"), date)?,
            amount: c.amount(&base.key("amount"), amount, Bounds::ANY)?,
        });
    }
    // Date order (stable, so same-day events keep file order): the model can walk them once.
    events.sort_by_key(|e| e.date);

    let monthly_key = k("autonomous.government.monthly");
    let mut monthly = Vec::with_capacity(gov.monthly.len());
    for (i, m) in gov.monthly.iter().enumerate() {
        let base = monthly_key.index(i);
        let day_what = "an integer from 1 to 23 (the n-th business day of the month)";
        let day = c.required(&base.key("business_day"), m.business_day, day_what)?;
        let amount = c.required(&base.key("amount"), m.amount, "an amount (may be negative)")?;
        monthly.push(MonthlyGovernmentFlow {
            business_day_of_month: c.int(&base.key("business_day"), day, 1, 23, day_what)? as u32,
            amount: c.amount(&base.key("amount"), amount, Bounds::ANY)?,
        });
    }

    let government = GovernmentParams {
        initial: c.amount(
            &k("autonomous.government.initial"),
            gov.initial,
            Bounds::at_least(0.0),
        )?,
        persistence: c.real(
            &k("autonomous.government.persistence"),
            gov.persistence,
            Bounds::closed(0.0, 1.0),
        )?,
        noise_sd: c.amount(
            &k("autonomous.government.noise_sd"),
            gov.noise_sd,
            Bounds::at_least(0.0),
        )?,
        events,
        monthly,
    };
    Ok(AutonomousParams {
        currency,
        government,
    })
}
