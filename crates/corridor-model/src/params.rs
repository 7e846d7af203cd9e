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
}

/// How end-of-day reserve balances are remunerated. Issue 3 adds floor, quota and tiers.
#[derive(Clone, Debug, PartialEq)]
pub enum Framework {
    /// Positive balances earn the deposit facility rate; shortfalls are covered by the
    /// lending facility.
    Corridor,
}

impl Framework {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Framework::Corridor => "corridor",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CentralBankParams {
    pub framework: Framework,
    pub policy_rate_bp: f64,
    pub deposit_rate_bp: f64,
    pub lending_rate_bp: f64,
    /// Aggregate reserves the central bank aims for at the end of each day.
    pub reserve_target: Money,
    pub fine_tuning: FineTuningParams,
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
