//! Validated model parameters.
//!
//! These are plain structs with public fields (rust-analyzer's config style): the scenario
//! crate parses and validates user input once, at the boundary, and only values that passed
//! validation reach here. Every field is documented for users in `docs/scenarios.md`.

use crate::calendar::{Date, DayCount};
use crate::money::Money;

/// Everything one simulation needs besides its random stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub calendar: CalendarParams,
    pub banks: BankParams,
    pub payments: PaymentParams,
    pub intraday: IntradayParams,
    pub late_shock: LateShockParams,
    pub behaviour: BehaviourParams,
    pub central_bank: CentralBankParams,
    pub autonomous: AutonomousParams,
    pub market: MarketParams,
    /// Lenders without access to the deposit facility; `None` if there are none.
    pub non_banks: Option<NonBankParams>,
    /// Dated policy changes, in date order: from each event's date on, its central-bank
    /// parameters (and non-bank facility terms) replace the ones before.
    pub policy_timeline: Vec<PolicyEvent>,
    /// Classes of securities, at least one; balance-sheet policy refers to them by index.
    pub securities: Vec<SecurityClass>,
}

/// A class of securities (bills, government bonds, mortgage-backed securities, ...).
///
/// Holdings of banks, of the non-bank investor sector and of the central bank are kept by
/// class; the central bank's by maturity too, because what matures is what quantitative
/// tightening lets run off.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityClass {
    pub name: String,
    /// Calendar days from issue (or purchase) to maturity. For mortgage-backed securities,
    /// an effective life that stands for prepayments.
    pub maturity_days: u32,
    /// Annual coupon, paid monthly to holders from the government's account.
    pub coupon_rate_bp: f64,
    /// Haircut on this class as collateral for central-bank repos, in [0, 1).
    pub haircut: f64,
    /// Share of banks' securities in this class; the shares of all classes sum to 1.
    pub bank_share: f64,
    /// Held by the non-bank investor sector (pension funds, insurers, money funds) at the
    /// start; their deposits sit at banks.
    pub investor_holdings: Money,
    /// Share of the central bank's initial portfolio in this class; the shares sum to 1.
    pub central_bank_share: f64,
}

impl SecurityClass {
    /// The classes a scenario gets when it names none: three-month bills, ten-year
    /// government bonds and mortgage-backed securities with a seven-year effective life
    /// (prepayments), banks holding 40/40/20 and the central bank 20/80/0. Haircuts follow
    /// the order of the Eurosystem's schedule (bills least, asset-backed most); coupons are
    /// typical of the 2010s (approx.).
    pub fn defaults() -> Vec<SecurityClass> {
        let class = |name: &str, maturity_days, coupon_rate_bp, haircut, bank_share, cb_share| {
            SecurityClass {
                name: name.to_owned(),
                maturity_days,
                coupon_rate_bp,
                haircut,
                bank_share,
                investor_holdings: Money::ZERO,
                central_bank_share: cb_share,
            }
        };
        vec![
            class("bills", 91, 0.0, 0.005, 0.4, 0.2),
            class("bonds", 3_650, 250.0, 0.03, 0.4, 0.8),
            class("mbs", 2_555, 350.0, 0.08, 0.2, 0.0),
        ]
    }
}

/// A change of policy regime on a date: rates, framework, requirement, reserve target,
/// fine-tuning, and the non-banks' facility terms (their number and cash stay fixed).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyEvent {
    pub date: Date,
    pub central_bank: CentralBankParams,
    pub non_banks: Option<NonBankParams>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CalendarParams {
    /// First business day (rolled forward over a weekend).
    pub start: Date,
    /// Number of simulated business days.
    pub business_days: u32,
    pub day_count: DayCount,
}

/// How bank sizes (total assets before reserves) are spread around their mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SizeDistribution {
    /// Every bank has the mean size: the textbook Poole setting.
    Identical,
    /// Lognormal with log-standard-deviation `sigma`, rescaled to the mean size.
    LogNormal { sigma: f64 },
    /// Pareto with tail index `alpha` (> 1), rescaled to the mean size.
    Pareto { alpha: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct BankParams {
    pub count: u32,
    pub size_distribution: SizeDistribution,
    /// Mean total assets (before reserves) per bank.
    pub mean_size: Money,
    /// Securities as a share of size; the rest of size is customer loans.
    pub securities_share: f64,
    /// Equity as a share of size; deposits fund the rest of the balance sheet.
    pub capital_ratio: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PaymentParams {
    /// Intraday settlement periods per day.
    pub periods: u32,
    /// Mean number of customer payments each bank sends per period; a bank's share of all
    /// payments (as payer and as payee) is proportional to its size.
    pub per_bank_per_period: f64,
    /// Mean payment amount.
    pub mean_amount: Money,
    /// Coefficient of variation of a payment amount (lognormal); 0 makes all amounts equal.
    pub amount_cv: f64,
    /// Share of a bank's deposit gap (deposits against its long-run share of the system's
    /// deposits) that customers close each morning. Without it payment imbalances are a
    /// random walk and interbank volume grows without bound; 0 switches it off.
    pub deposit_reversion: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IntradayParams {
    /// Collateral pledged for intraday credit, as a share of size: the overdraft limit.
    pub collateral_share: f64,
    /// Annual fee (basis points) on intraday overdrafts, charged per period of overdraft.
    pub overdraft_fee_bp: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LateShockParams {
    /// Standard deviation of the late payment shock of a bank of mean size, before the
    /// shocks are made transfers between banks (see `Bank::late_shock_sd`).
    pub sd: Money,
    /// sd scales as (size / mean size)^elasticity: 0.5 for many independent payments, 1 for
    /// shocks proportional to size.
    pub size_elasticity: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BehaviourParams {
    /// Perceived extra cost of borrowing from the lending facility (basis points).
    pub stigma_bp: f64,
    /// Extra reserves held as a precaution, in units of the bank's own late-shock sd.
    pub precautionary_buffer_sd: f64,
    /// Banks' belief about their late-shock sd as a multiple of the true one.
    pub perceived_shock_scale: f64,
    /// Marginal cost (annual bp) of a larger balance sheet (capital, deposit insurance
    /// fees) when a bank has borrowed 1% of its size; it rises in proportion to the amount
    /// borrowed. It is why banks borrowing non-banks' cash to earn interest on reserves pay
    /// less than that rate, by more the more cash there is: the leak in a floor.
    pub balance_sheet_cost_bp: f64,
    /// How far, in [0, 1], banks count on the interbank market to redistribute reserves
    /// when they bid in central-bank operations: 1 bids as if the market will leave each
    /// bank its share of the system's position (bids add up to the system's need); 0 bids
    /// for the bank's own shortfall, which a fragmented market (the euro area from 2008)
    /// does not net, so full allotment then supplies excess reserves.
    pub market_reliance: f64,
}

/// A per-bank amount (a quota, a current-account limit, a tier size).
#[derive(Clone, Debug, PartialEq)]
pub enum Allocation {
    /// A system total split across banks in proportion to size.
    ProRata { total: Money },
    /// Banks whose size is at least `min_size` get `amount` each; a bank takes the group
    /// with the largest `min_size` it reaches (none: zero). Norges Bank sets quotas so.
    SizeGroups { groups: Vec<SizeGroup> },
    /// One amount per bank, largest bank first (the order of `banks.parquet`).
    Explicit { amounts: Vec<Money> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SizeGroup {
    pub min_size: Money,
    pub amount: Money,
}

/// How end-of-day reserve balances are remunerated: the operational framework.
///
/// Each framework becomes, per bank, a list of tiers over the bank's balance in excess of
/// what counts toward its reserve requirement; banks' demand for reserves is built from the
/// marginal value those tiers imply, so a framework moves the rate only through behaviour.
/// `deposit_rate_bp` is always the rate of the last (unbounded) tier.
#[derive(Clone, Debug, PartialEq)]
pub enum Framework {
    /// Positive balances earn the deposit facility rate; the central bank keeps reserves
    /// near zero (or near requirements).
    Corridor,
    /// All reserves earn the deposit (interest-on-reserves) rate; reserves are abundant.
    /// The same remuneration as the corridor: the difference is the reserve supply.
    Floor,
    /// Norway since 2011: balances up to each bank's quota earn the policy rate, above it
    /// the reserve rate (`deposit_rate_bp`).
    Quota { quotas: Allocation },
    /// Denmark: balances up to each bank's current-account limit earn
    /// `current_account_rate_bp`; the excess is placed in certificates of deposit at
    /// `deposit_rate_bp`.
    CurrentAccountLimits {
        limits: Allocation,
        current_account_rate_bp: f64,
    },
    /// Switzerland 2015: balances up to `multiple` × the bank's minimum reserves (or
    /// `fixed_amount` for a bank without a requirement) earn `exempt_rate_bp`; the rest
    /// pays `deposit_rate_bp`.
    ExemptionThreshold {
        multiple: f64,
        fixed_amount: Money,
        exempt_rate_bp: f64,
    },
    /// Euro area 2019: an exempt tier of `multiple` × minimum reserves earns
    /// `exempt_rate_bp`; the rest earns `deposit_rate_bp`.
    TwoTier { multiple: f64, exempt_rate_bp: f64 },
    /// Japan 2016: the basic balance earns `basic_rate_bp`, the macro add-on balance
    /// `macro_rate_bp`, the policy-rate balance above them `deposit_rate_bp`.
    ThreeTier {
        basic: Allocation,
        basic_rate_bp: f64,
        macro_add_on: Allocation,
        macro_rate_bp: f64,
    },
}

impl Framework {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Framework::Corridor => "corridor",
            Framework::Floor => "floor",
            Framework::Quota { .. } => "quota",
            Framework::CurrentAccountLimits { .. } => "current_account_limits",
            Framework::ExemptionThreshold { .. } => "exemption_threshold",
            Framework::TwoTier { .. } => "two_tier",
            Framework::ThreeTier { .. } => "three_tier",
        }
    }
}

/// Minimum reserve requirements: `ratio` × customer deposits, set at the start of each
/// maintenance period.
#[derive(Clone, Debug, PartialEq)]
pub struct ReserveRequirementParams {
    pub ratio: f64,
    /// Business days per maintenance period (US before 2012: 10; euro area: about 30).
    pub maintenance_days: u32,
    /// Whether the requirement is met on average over the period (true) or every day.
    pub averaging: bool,
    /// Whether a shortfall is penalised. Switzerland's threshold uses the requirement
    /// as a yardstick only: `enforced = false` computes it without enforcing it.
    pub enforced: bool,
    /// Rate earned on holdings that count toward the requirement (euro area: the main
    /// refinancing rate; US before 2008: 0).
    pub remuneration_rate_bp: f64,
    /// Annual rate charged on the period's average shortfall, on top of the lost
    /// remuneration.
    pub penalty_rate_bp: f64,
}

/// Lenders with central-bank accounts but no deposit facility (US government-sponsored
/// enterprises, money funds): they lend their cash to banks at any rate above their outside
/// option, which is what lets the rate fall below a floor.
#[derive(Clone, Debug, PartialEq)]
pub struct NonBankParams {
    pub lenders: u32,
    /// Cash the lenders hold together, split evenly; constant over the run.
    pub cash: Money,
    /// Rate their idle cash earns at the central bank (0: unremunerated).
    pub idle_rate_bp: f64,
    /// The overnight reverse repo facility open to them, if any.
    pub reverse_repo: Option<ReverseRepoParams>,
}

/// An overnight reverse repo facility for non-banks (Fed ON RRP from 2013).
#[derive(Clone, Debug, PartialEq)]
pub struct ReverseRepoParams {
    pub rate_bp: f64,
    /// Cap per counterparty (Fed 2013-14: 0.5 bn rising to 30 bn).
    pub cap_per_lender: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CentralBankParams {
    pub framework: Framework,
    pub reserve_requirement: Option<ReserveRequirementParams>,
    pub policy_rate_bp: f64,
    pub deposit_rate_bp: f64,
    pub lending_rate_bp: f64,
    /// Aggregate reserves the central bank aims for at the end of each day, in excess of
    /// what banks need tonight to meet their requirements (all reserves without one).
    pub reserve_target: Money,
    pub fine_tuning: FineTuningParams,
    /// The regular main refinancing operation, if the central bank runs one.
    pub main_operation: Option<MainOperationParams>,
    /// Outright operations: asset purchase programmes, runoff, POMO.
    pub balance_sheet: BalanceSheetPolicy,
}

/// A regular temporary operation (ECB main refinancing operation, weekly): repos when the
/// system needs reserves, term deposits when it has too many.
#[derive(Clone, Debug, PartialEq)]
pub struct MainOperationParams {
    /// Business days between operations (5: weekly without holidays).
    pub interval_days: u32,
    /// Calendar days from settlement to maturity (7: weekly).
    pub tenor_days: u32,
    pub allotment: Allotment,
}

/// How a temporary operation is allotted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Allotment {
    /// Every bid is filled at the policy rate, whatever the central bank's target (the
    /// ECB from October 2008); collateral is the only limit.
    FixedRateFullAllotment,
    /// Banks bid amounts at up to `bid_levels` rates, `bid_tick_bp` apart, from the policy
    /// rate (the minimum bid rate for repos, the maximum for term deposits); the central
    /// bank allots the amount that puts forecast reserves at target, best rates first and
    /// pro rata at the marginal rate.
    VariableRate {
        pricing: Pricing,
        bid_tick_bp: f64,
        bid_levels: u32,
    },
}

/// What a successful bidder pays in a variable-rate auction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// Its own bid rate (the ECB's multiple-rate auctions).
    Multiple,
    /// The marginal rate.
    Uniform,
}

/// Outright operations in securities, all settled `settlement_days` business days after
/// the trade.
#[derive(Clone, Debug, PartialEq)]
pub struct BalanceSheetPolicy {
    /// Purchases per calendar month, by class (index into `Params::securities`); negative
    /// amounts are outright sales. QE is a positive pace, tapering a smaller one.
    pub monthly_purchases: Vec<Money>,
    /// Operations a month over which the monthly purchases are spread, evenly across the
    /// month's business days.
    pub operations_per_month: u32,
    /// Share, in [0, 1], of the central bank's outright trades with the public done with
    /// non-bank investors (whose banks then get both the deposit and the reserves); the
    /// rest is with banks in proportion to their holdings (sales: to their size).
    pub nonbank_share: f64,
    /// Whether maturing holdings are reinvested (subject to `runoff_caps`).
    pub reinvest: bool,
    /// With reinvestment on, the most of each class allowed to mature without reinvestment
    /// per calendar month (quantitative tightening); `None`: no runoff.
    pub runoff_caps: Vec<Option<Money>>,
    pub pomo: Option<PomoParams>,
    /// Business days from trade to settlement (T+1 by default).
    pub settlement_days: u32,
}

impl BalanceSheetPolicy {
    /// No purchases, full reinvestment, no POMO: a constant portfolio.
    pub fn passive(classes: usize) -> BalanceSheetPolicy {
        BalanceSheetPolicy {
            monthly_purchases: vec![Money::ZERO; classes],
            operations_per_month: 20,
            nonbank_share: 0.5,
            reinvest: true,
            runoff_caps: vec![None; classes],
            pomo: None,
            settlement_days: 1,
        }
    }
}

/// Permanent open market operations: outright purchases (and sales) of one class, sized so
/// that reserves stay at the central bank's target as currency grows.
#[derive(Clone, Debug, PartialEq)]
pub struct PomoParams {
    pub class: usize,
    pub operations_per_month: u32,
    /// The largest single operation.
    pub max_operation: Money,
    /// Gaps smaller than this are left alone.
    pub min_operation: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FineTuningParams {
    pub enabled: bool,
    /// Liquidity-providing operations are priced at policy + offset, absorbing ones at
    /// policy - offset (Riksbank 2015: 10 bp).
    pub rate_offset_bp: f64,
    /// Standard deviation of the central bank's error in forecasting the day's autonomous
    /// factors: the source of reserve-supply uncertainty.
    pub forecast_error_sd: Money,
    /// Operations smaller than this are not conducted.
    pub min_amount: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AutonomousParams {
    pub currency: CurrencyParams,
    pub government: GovernmentParams,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CurrencyParams {
    pub initial: Money,
    /// Trend growth per year (0.04 = 4% a year, compounded over 250 business days).
    pub annual_growth: f64,
    /// Multiplicative seasonal factor per weekday, Monday..Friday (0.01 = +1% of the level).
    pub weekday_effect: [f64; 5],
    /// Extra demand for currency on the last business day of a month, as a share of level.
    pub month_end_effect: f64,
    /// Standard deviation of the daily level noise.
    pub noise_sd: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GovernmentParams {
    /// The account's long-run level; it starts there.
    pub initial: Money,
    /// Daily persistence of deviations from the long-run level (0 = none, 1 = permanent).
    pub persistence: f64,
    pub noise_sd: Money,
    /// One-off inflows to the account (taxes, issuance; negative = outflow) on given dates.
    pub events: Vec<GovernmentEvent>,
    /// Inflows repeated every month on its n-th business day.
    pub monthly: Vec<MonthlyGovernmentFlow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GovernmentEvent {
    pub date: Date,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MonthlyGovernmentFlow {
    pub business_day_of_month: u32,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MarketMechanism {
    /// A Walrasian call market with one clearing rate (Poole 1968).
    Call,
    /// Bilateral search and bargaining over a session of rounds (Afonso and Lagos 2015).
    Otc(OtcParams),
}

/// The over-the-counter market: who meets whom, how often, and how they split the gains.
#[derive(Clone, Debug, PartialEq)]
pub struct OtcParams {
    /// Trading rounds in the session.
    pub rounds: u32,
    /// Expected number of counterparties a bank away from its target contacts per round
    /// (the integer part for sure, the fraction with that probability).
    pub contact_rate: f64,
    /// The lender's share of the gains from trade in the Nash bargain, in [0, 1].
    pub bargaining_power: f64,
    /// Weight, in [0, 1], banks put on trading again later in the session when they value
    /// reserves now: 0 makes their outside options the standing facilities alone (myopic),
    /// 1 weights the anticipated clearing value by the chance of another meeting.
    pub foresight: f64,
    /// Share, in [0, 1), of each bank's late-payment variance that arrives during the
    /// session, in equal parts between rounds (after rounds 1 to K - 1); the rest arrives
    /// after the close, as in the call market. Needs K >= 2 when positive.
    pub late_payment_share: f64,
    pub matching: Matching,
    pub network: NetworkParams,
}

/// How a bank picks the counterparty it calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Matching {
    /// Uniformly among its credit-network neighbours (Afonso and Lagos 2015).
    Random,
    /// Past trading partners first, in proportion to relationship strength; otherwise a
    /// random neighbour.
    Relationship,
}

/// The credit network: who may call whom and who lends how much to whom.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkParams {
    pub kind: NetworkKind,
    /// A lender's credit line to a borrower, as a multiple of the borrower's size
    /// (edges of an edge list may give their own limit).
    pub credit_limit_multiple: f64,
    /// Relationship strength moves this share of the way toward 1 on a day two banks
    /// trade, and toward 0 on a day they do not.
    pub relationship_learning_rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NetworkKind {
    /// Every bank has a credit line to every other bank.
    Complete,
    /// The `core_size` largest banks form a core; each pair of banks is linked (both
    /// ways) independently with the density of its block.
    CorePeriphery {
        core_size: u32,
        core_density: f64,
        core_periphery_density: f64,
        periphery_density: f64,
    },
    /// Credit lines read from a file by the scenario crate.
    EdgeList(Vec<CreditLine>),
}

/// A lender's credit line to a borrower (bank indices: 0 is the largest bank).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CreditLine {
    pub lender: u32,
    pub borrower: u32,
    /// `None`: `credit_limit_multiple` × the borrower's size.
    pub limit: Option<Money>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MarketParams {
    pub mechanism: MarketMechanism,
}
