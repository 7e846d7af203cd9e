//! Raw scenario → validated `Params`, once, at the boundary.
//!
//! Every check names the full key, the bad value and what is allowed; [`Locator`] adds the
//! file and line (or `(from --set)`).

use std::fmt;

use corridor_model::params::{
    AutonomousParams, BankParams, BehaviourParams, CalendarParams, CentralBankParams,
    CurrencyParams, FineTuningParams, Framework, GovernmentEvent, GovernmentParams, IntradayParams,
    LateShockParams, MarketMechanism, MarketParams, Matching, MonthlyGovernmentFlow, NetworkKind,
    NetworkParams, OtcParams, PaymentParams, SizeDistribution,
};
use corridor_model::{Date, DayCount, Money, Params};

use crate::error::{ErrorKind, ScenarioError};
use crate::raw::{
    DEFAULT_BARGAINING_POWER, DEFAULT_CONTACT_RATE, DEFAULT_FORESIGHT, DEFAULT_LATE_PAYMENT_SHARE,
    DEFAULT_MATCHING, DEFAULT_ROUNDS, DateText, RawNetwork, RawScenario,
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
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Num(x) => fmt_num(*x, f),
            Shown::Int(i) => write!(f, "{i}"),
            Shown::Str(s) => write!(f, "{s:?}"),
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
        perceived_shock_scale: c.real(
            &k("behaviour.perceived_shock_scale"),
            b.perceived_shock_scale,
            Bounds::above(0.0),
        )?,
    };

    let central_bank = central_bank(&c, raw, count)?;
    let autonomous = autonomous(&c, raw)?;

    let market = market(&c, raw, count)?;

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
) -> Result<CentralBankParams, ScenarioError> {
    let k = KeyPath::dotted;
    let cb = &mut raw.central_bank;
    let framework = c
        .choice(
            &k("central_bank.framework"),
            &cb.framework,
            &[("corridor", ())],
            " (the only framework implemented so far)",
        )
        .map(|()| Framework::Corridor)?;

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

    Ok(CentralBankParams {
        framework,
        policy_rate_bp: policy,
        deposit_rate_bp: deposit,
        lending_rate_bp: lending,
        reserve_target,
        fine_tuning,
    })
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
