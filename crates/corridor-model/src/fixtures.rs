//! Small, fully specified parameter sets for tests, benchmarks and examples.
//!
//! Real studies load scenarios from TOML (`corridor-scenario`); these exist so that the
//! model's own tests and benches need no files.

use crate::calendar::{Date, DayCount};
use crate::money::Money;
use crate::params::*;

/// Poole's textbook case: `banks` identical banks, a symmetric corridor of ±`half_width_bp`
/// around 0, no autonomous factors, reserves fixed at `reserves_per_bank` each by daily
/// fine-tuning, late shocks of sd `late_sd` per bank, `periods` intraday periods.
pub fn poole(banks: u32, periods: u32, days: u32, reserves_per_bank: i64, late_sd: i64) -> Params {
    Params {
        calendar: CalendarParams {
            start: Date::from_ymd(2014, 1, 2).expect("valid date"),
            business_days: days,
            day_count: DayCount::Act360,
        },
        banks: BankParams {
            count: banks,
            size_distribution: SizeDistribution::Identical,
            mean_size: Money(1_000_000),
            securities_share: 0.2,
            capital_ratio: 0.08,
        },
        payments: PaymentParams {
            periods,
            per_bank_per_period: 2.0,
            mean_amount: Money(2_000),
            amount_cv: 1.0,
            deposit_reversion: 0.2,
        },
        intraday: IntradayParams {
            collateral_share: 0.05,
            overdraft_fee_bp: 0.0,
        },
        late_shock: LateShockParams {
            sd: Money(late_sd),
            size_elasticity: 0.5,
        },
        behaviour: BehaviourParams {
            stigma_bp: 0.0,
            precautionary_buffer_sd: 0.0,
            perceived_shock_scale: 1.0,
            balance_sheet_cost_bp: 0.0,
            market_reliance: 1.0,
        },
        central_bank: CentralBankParams {
            framework: Framework::Corridor,
            reserve_requirement: None,
            policy_rate_bp: 0.0,
            deposit_rate_bp: -75.0,
            lending_rate_bp: 75.0,
            reserve_target: Money(reserves_per_bank * banks as i64),
            fine_tuning: FineTuningParams {
                enabled: true,
                rate_offset_bp: 0.0,
                forecast_error_sd: Money::ZERO,
                min_amount: Money::ZERO,
            },
            main_operation: None,
            balance_sheet: BalanceSheetPolicy::passive(SecurityClass::defaults().len()),
        },
        autonomous: AutonomousParams {
            currency: CurrencyParams {
                initial: Money::ZERO,
                annual_growth: 0.0,
                weekday_effect: [0.0; 5],
                month_end_effect: 0.0,
                noise_sd: Money::ZERO,
            },
            government: GovernmentParams {
                initial: Money::ZERO,
                persistence: 0.0,
                noise_sd: Money::ZERO,
                events: Vec::new(),
                monthly: Vec::new(),
            },
        },
        market: MarketParams {
            mechanism: MarketMechanism::Call,
        },
        non_banks: None,
        policy_timeline: Vec::new(),
        securities: SecurityClass::defaults(),
    }
}

/// A heterogeneous corridor system with every mechanism switched on: lognormal sizes,
/// autonomous factors with trend, seasonality and tax days, forecast errors, overdraft fees
/// and a stigma cost.
pub fn busy_corridor(banks: u32, days: u32) -> Params {
    let mut p = poole(banks, 10, days, 0, 20_000);
    p.banks.size_distribution = SizeDistribution::LogNormal { sigma: 1.2 };
    p.intraday.overdraft_fee_bp = 50.0;
    p.behaviour.stigma_bp = 10.0;
    p.central_bank.reserve_target = Money(5_000 * banks as i64);
    p.central_bank.fine_tuning.forecast_error_sd = Money(10_000);
    p.central_bank.fine_tuning.rate_offset_bp = 10.0;
    let scale = banks as i64 * 1_000_000;
    p.autonomous.currency = CurrencyParams {
        initial: Money(scale / 10),
        annual_growth: 0.05,
        weekday_effect: [0.002, 0.0, 0.0, 0.0, 0.004],
        month_end_effect: 0.01,
        noise_sd: Money(scale / 5_000),
    };
    p.autonomous.government = GovernmentParams {
        initial: Money(scale / 50),
        persistence: 0.8,
        noise_sd: Money(scale / 10_000),
        events: vec![GovernmentEvent {
            date: Date::from_ymd(2014, 1, 15).expect("valid date"),
            amount: Money(scale / 100),
        }],
        monthly: vec![MonthlyGovernmentFlow {
            business_day_of_month: 10,
            amount: Money(scale / 200),
        }],
    };
    p
}

/// `base` with its market switched to an OTC market of `rounds` rounds and `contact_rate`
/// calls per bank and round, random matching, equal bargaining power, on `network` with
/// credit lines of 10 × the borrower's size (never binding in the fixtures' scale).
pub fn with_otc(mut base: Params, rounds: u32, contact_rate: f64, network: NetworkKind) -> Params {
    base.market.mechanism = MarketMechanism::Otc(OtcParams {
        rounds,
        contact_rate,
        bargaining_power: 0.5,
        foresight: 1.0,
        late_payment_share: 0.0,
        matching: Matching::Random,
        network: NetworkParams {
            kind: network,
            credit_limit_multiple: 10.0,
            relationship_learning_rate: 0.0,
        },
    });
    base
}
