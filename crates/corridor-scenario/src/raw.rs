//! The scenario file as written: serde structs that only check shape (known keys, TOML types)
//! and fill defaults. [`crate::validate`] turns them into `corridor_model::Params`.
//!
//! Keys the user must give are `Option`s so that their absence can be reported with the key's
//! name; every other key has its documented default here. The same structs serialise the
//! resolved scenario, so a default lives in exactly one place.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawScenario {
    pub scenario: RawMeta,
    pub run: RawRun,
    pub money: RawMoney,
    pub calendar: RawCalendar,
    pub banks: RawBanks,
    pub payments: RawPayments,
    pub intraday: RawIntraday,
    pub late_shock: RawLateShock,
    pub behaviour: RawBehaviour,
    pub central_bank: RawCentralBank,
    pub autonomous: RawAutonomous,
    pub market: RawMarket,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_banks: Option<RawNonBanks>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<RawTimelineEvent>,
    /// `[[securities]]`; absent: the model's default classes, written back when resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub securities: Option<Vec<RawSecurityClass>>,
}

/// One `[[securities]]` class.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSecurityClass {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maturity_days: Option<i64>,
    pub coupon_rate_bp: f64,
    pub haircut: f64,
    pub bank_share: f64,
    pub investor_holdings: f64,
    pub central_bank_share: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub description: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRun {
    pub runs: i64,
    pub seed: i64,
    pub record_banks: bool,
    pub record_trades: bool,
}

impl Default for RawRun {
    fn default() -> Self {
        RawRun {
            runs: 100,
            seed: 1,
            record_banks: false,
            record_trades: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawMoney {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor_unit: Option<String>,
    pub scale: f64,
}

impl Default for RawMoney {
    fn default() -> Self {
        RawMoney {
            minor_unit: None,
            scale: 1.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCalendar {
    pub start: DateText,
    pub business_days: i64,
    pub day_count: String,
}

impl Default for RawCalendar {
    fn default() -> Self {
        RawCalendar {
            start: DateText("2014-01-02".to_owned()),
            business_days: 250,
            day_count: "ACT/360".to_owned(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBanks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    pub size_distribution: RawSizeDistribution,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_size: Option<f64>,
    pub securities_share: f64,
    pub capital_ratio: f64,
}

impl Default for RawBanks {
    fn default() -> Self {
        RawBanks {
            count: None,
            mean_size: None,
            securities_share: 0.15,
            capital_ratio: 0.08,
            size_distribution: RawSizeDistribution::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSizeDistribution {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

impl Default for RawSizeDistribution {
    fn default() -> Self {
        RawSizeDistribution {
            kind: "identical".to_owned(),
            sigma: None,
            alpha: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawPayments {
    pub periods: i64,
    pub per_bank_per_period: f64,
    pub mean_amount: f64,
    pub amount_cv: f64,
    pub deposit_reversion: f64,
}

impl Default for RawPayments {
    fn default() -> Self {
        RawPayments {
            periods: 10,
            per_bank_per_period: 5.0,
            mean_amount: 10.0,
            amount_cv: 1.0,
            deposit_reversion: 0.2,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawIntraday {
    pub collateral_share: f64,
    pub overdraft_fee_bp: f64,
}

impl Default for RawIntraday {
    fn default() -> Self {
        RawIntraday {
            collateral_share: 0.05,
            overdraft_fee_bp: 0.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawLateShock {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    pub size_elasticity: f64,
}

impl Default for RawLateShock {
    fn default() -> Self {
        RawLateShock {
            sd: None,
            size_elasticity: 0.5,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBehaviour {
    pub stigma_bp: f64,
    pub precautionary_buffer_sd: f64,
    pub perceived_shock_scale: f64,
    pub balance_sheet_cost_bp: f64,
    pub market_reliance: f64,
}

impl Default for RawBehaviour {
    fn default() -> Self {
        RawBehaviour {
            stigma_bp: 0.0,
            precautionary_buffer_sd: 0.0,
            perceived_shock_scale: 1.0,
            balance_sheet_cost_bp: 0.0,
            market_reliance: 1.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCentralBank {
    pub framework: RawFramework,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposit_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lending_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_target: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_target_per_bank: Option<f64>,
    pub fine_tuning: RawFineTuning,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_requirement: Option<RawReserveRequirement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_operation: Option<RawMainOperation>,
    pub balance_sheet: RawBalanceSheet,
}

/// `[central_bank.main_operation]`: the regular temporary operation.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawMainOperation {
    pub interval_days: i64,
    pub tenor_days: i64,
    pub allotment: String,
    pub pricing: String,
    pub bid_tick_bp: f64,
    pub bid_levels: i64,
}

impl Default for RawMainOperation {
    fn default() -> Self {
        RawMainOperation {
            interval_days: 5,
            tenor_days: 7,
            allotment: "variable_rate".to_owned(),
            pricing: "multiple".to_owned(),
            bid_tick_bp: 1.0,
            bid_levels: 10,
        }
    }
}

/// `[central_bank.balance_sheet]`: outright operations.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBalanceSheet {
    /// Monthly pace by class name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub purchases: BTreeMap<String, f64>,
    pub operations_per_month: i64,
    pub nonbank_share: f64,
    pub reinvest: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub runoff_caps: BTreeMap<String, f64>,
    pub settlement_days: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pomo: Option<RawPomo>,
}

impl Default for RawBalanceSheet {
    fn default() -> Self {
        RawBalanceSheet {
            purchases: BTreeMap::new(),
            operations_per_month: 20,
            nonbank_share: 0.5,
            reinvest: true,
            runoff_caps: BTreeMap::new(),
            settlement_days: 1,
            pomo: None,
        }
    }
}

/// `[central_bank.balance_sheet.pomo]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawPomo {
    pub class: String,
    pub operations_per_month: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_operation: Option<f64>,
    pub min_operation: f64,
}

impl Default for RawPomo {
    fn default() -> Self {
        RawPomo {
            class: "bills".to_owned(),
            operations_per_month: 20,
            max_operation: None,
            min_operation: 0.0,
        }
    }
}

impl Default for RawCentralBank {
    fn default() -> Self {
        RawCentralBank {
            framework: RawFramework::Name("corridor".to_owned()),
            policy_rate_bp: None,
            deposit_rate_bp: None,
            lending_rate_bp: None,
            reserve_target: None,
            reserve_target_per_bank: None,
            fine_tuning: RawFineTuning::default(),
            reserve_requirement: None,
            main_operation: None,
            balance_sheet: RawBalanceSheet::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawFineTuning {
    pub enabled: bool,
    pub rate_offset_bp: f64,
    pub forecast_error_sd: f64,
    pub min_amount: f64,
}

impl Default for RawFineTuning {
    fn default() -> Self {
        RawFineTuning {
            enabled: true,
            rate_offset_bp: 0.0,
            forecast_error_sd: 0.0,
            min_amount: 0.0,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAutonomous {
    pub currency: RawCurrency,
    pub government: RawGovernment,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCurrency {
    pub initial: f64,
    pub annual_growth: f64,
    pub weekday_effect: Vec<f64>,
    pub month_end_effect: f64,
    pub noise_sd: f64,
}

impl Default for RawCurrency {
    fn default() -> Self {
        RawCurrency {
            initial: 0.0,
            annual_growth: 0.0,
            weekday_effect: vec![0.0; 5],
            month_end_effect: 0.0,
            noise_sd: 0.0,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawGovernment {
    pub initial: f64,
    pub persistence: f64,
    pub noise_sd: f64,
    pub events: Vec<RawEvent>,
    pub monthly: Vec<RawMonthly>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonthly {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

/// `[market]`. The OTC keys are optional so that a call-market scenario can refuse them;
/// validation fills in their defaults when `mechanism = "otc"`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawMarket {
    pub mechanism: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bargaining_power: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foresight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_payment_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<RawNetwork>,
}

impl Default for RawMarket {
    fn default() -> Self {
        RawMarket {
            mechanism: "call".to_owned(),
            rounds: None,
            contact_rate: None,
            bargaining_power: None,
            foresight: None,
            late_payment_share: None,
            matching: None,
            network: None,
        }
    }
}

/// `central_bank.framework`: a name (`"corridor"`, `"floor"`) or a table with `kind` and the
/// kind's parameters. Serialised back in the form it was read.
#[derive(Clone, Debug)]
pub(crate) enum RawFramework {
    Name(String),
    Table(Box<RawFrameworkTable>),
}

impl Serialize for RawFramework {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawFramework::Name(n) => s.serialize_str(n),
            RawFramework::Table(t) => t.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RawFramework {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FrameworkVisitor;

        impl<'de> Visitor<'de> for FrameworkVisitor {
            type Value = RawFramework;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a framework name or a table with `kind`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFramework, E> {
                Ok(RawFramework::Name(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFramework, A::Error> {
                let t = RawFrameworkTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawFramework::Table(Box::new(t)))
            }
        }

        d.deserialize_any(FrameworkVisitor)
    }
}

/// The table form of `central_bank.framework`; which keys a kind takes is checked by the
/// validator (so that the message can name the kind).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawFrameworkTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_account_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_amount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub macro_rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quotas: Option<RawAllocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawAllocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic: Option<RawAllocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub macro_add_on: Option<RawAllocation>,
}

/// A per-bank amount: `{ kind = "pro_rata", total = ... }`, `{ kind = "size_groups",
/// groups = [...] }` or `{ kind = "explicit", amounts = [...] }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAllocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amounts: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<RawSizeGroup>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSizeGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawReserveRequirement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_days: Option<i64>,
    pub averaging: bool,
    pub enforced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remuneration_rate_bp: Option<f64>,
    pub penalty_rate_bp: f64,
}

impl Default for RawReserveRequirement {
    fn default() -> Self {
        RawReserveRequirement {
            ratio: None,
            maintenance_days: None,
            averaging: true,
            enforced: true,
            remuneration_rate_bp: None,
            penalty_rate_bp: 0.0,
        }
    }
}

/// `[market.network]`, the OTC market's credit network.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawNetwork {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_density: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_periphery_density: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periphery_density: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub credit_limit_multiple: f64,
    pub relationship_learning_rate: f64,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            kind: "complete".to_owned(),
            core_size: None,
            core_density: None,
            core_periphery_density: None,
            periphery_density: None,
            path: None,
            credit_limit_multiple: 0.05,
            relationship_learning_rate: 0.2,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawNonBanks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lenders: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
    pub idle_rate_bp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_repo: Option<RawReverseRepo>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawReverseRepo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_bp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_per_lender: Option<f64>,
}

/// One `[[timeline]]` event. `set` maps dotted scenario keys to values, like `--set`; the
/// validator rewrites it with one quoted dotted key per value, so that it serialises back
/// unambiguously.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimelineEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<toml::Table>,
}
/// Defaults of the OTC keys of `[market]`, filled in by validation.
pub(crate) const DEFAULT_ROUNDS: i64 = 10;
pub(crate) const DEFAULT_CONTACT_RATE: f64 = 0.5;
pub(crate) const DEFAULT_BARGAINING_POWER: f64 = 0.5;
pub(crate) const DEFAULT_FORESIGHT: f64 = 1.0;
pub(crate) const DEFAULT_LATE_PAYMENT_SHARE: f64 = 0.0;
pub(crate) const DEFAULT_MATCHING: &str = "random";

/// A date as the user wrote it: a string `"2015-01-02"` or a bare TOML date `2015-01-02`.
/// Checked (and turned into a `Date`) by the validator; serialised as a string.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DateText(pub String);

impl Serialize for DateText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DateVisitor;

        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date (YYYY-MM-DD)")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateText, E> {
                Ok(DateText(v.to_owned()))
            }

            // toml hands a native date to serde as a one-entry map; let its own type read it.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateText, A::Error> {
                let dt =
                    toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(DateText(dt.to_string()))
            }
        }

        d.deserialize_any(DateVisitor)
    }
}
