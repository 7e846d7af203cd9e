//! What a simulated day leaves behind: plain rows the output layer turns into tables.
//!
//! The model never formats or writes these; `corridor-output` maps each field to a column
//! of the same name (documented in `docs/output.md`).

use crate::calendar::Date;
use crate::money::Money;

/// One row of `daily.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct DayRecord {
    pub day: u32,
    pub date: Date,
    /// Volume-weighted mean rate of the day's interbank loans; `None` without trades.
    pub overnight_rate_bp: Option<f64>,
    pub volume: Money,
    pub trade_count: u32,
    pub policy_rate_bp: f64,
    pub deposit_rate_bp: f64,
    pub lending_rate_bp: f64,
    /// Aggregate reserve balances at the close, after the late shock and before the
    /// standing facilities: the day's reserve supply.
    pub reserves_total: Money,
    /// The central bank's target for the day: its excess-reserve target plus what banks
    /// need tonight for their requirements.
    pub reserves_target: Money,
    /// Overnight credit the lending facility extended at the end of the day.
    pub lending_facility_use: Money,
    /// End-of-day balances above what counted toward requirements, remunerated by the
    /// framework's tiers (the deposit facility rate under a corridor or floor).
    pub deposit_facility_use: Money,
    /// The day's fine-tuning operation: positive provides reserves, negative absorbs them.
    pub fine_tuning_amount: Money,
    /// The day's effect of autonomous factors on reserves (negative drains).
    pub autonomous_factors: Money,
    /// Largest aggregate intraday overdraft seen at the end of a settlement period.
    pub intraday_credit_peak: Money,
    /// Value of customer payments that had to wait in a queue for liquidity.
    pub queued_payments: Money,
    /// Aggregate minimum reserve requirement in force (0 without requirements).
    pub reserves_required: Money,
    /// Position in the maintenance period, 1-based (0 without requirements).
    pub maintenance_day: u32,
    /// Lent by non-bank lenders in the interbank market today.
    pub nonbank_lending: Money,
    /// Placed by non-banks at the overnight reverse repo facility tonight.
    pub reverse_repo_use: Money,
    /// Volume-weighted percentiles of the day's loan rates (the smallest rate at which the
    /// cumulative volume of loans sorted by rate reaches 1%, 25%, 75%, 99% of the day's
    /// volume), as published for the effective federal funds rate; `None` without trades.
    pub rate_p01_bp: Option<f64>,
    pub rate_p25_bp: Option<f64>,
    pub rate_p75_bp: Option<f64>,
    pub rate_p99_bp: Option<f64>,
    /// Lenders (banks and non-banks) that lent, and banks that borrowed, at least once today.
    pub active_lenders: u32,
    pub active_borrowers: u32,
    /// Share of the day's volume lent by the five largest lenders of the day; `None`
    /// without trades.
    pub top5_lender_share: Option<f64>,
    /// The central bank's balance sheet at the close. Assets: securities (all classes; by
    /// class in `securities.parquet`), repos with banks, lending-facility loans.
    pub cb_securities: Money,
    pub cb_repo_lending: Money,
    pub cb_lending_facility: Money,
    /// Liabilities: banks' reserves, banks' term deposits, currency in circulation, the
    /// government's account, other (non-banks' accounts and reverse repos), and capital.
    pub cb_reserves: Money,
    pub cb_term_deposits: Money,
    pub cb_currency: Money,
    pub cb_government: Money,
    pub cb_other_liabilities: Money,
    pub cb_capital: Money,
}

/// One row of `operations.parquet`: a central-bank operation that settled today.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationRecord {
    pub day: u32,
    pub date: Date,
    /// `fine_tuning_repo`, `fine_tuning_deposit`, `main_repo`, `main_deposit`, `purchase`,
    /// `sale`, `pomo_purchase`, `pomo_sale`, `redemption` (runoff) or `reinvestment`.
    pub operation: &'static str,
    /// The security class of an outright operation; empty for temporary operations.
    pub class: String,
    /// Size of the operation (non-negative).
    pub amount: Money,
    /// What it did to banks' reserves: positive adds, negative drains.
    pub reserve_effect: Money,
    /// Volume-weighted rate of a temporary operation; `None` for outright ones.
    pub rate_bp: Option<f64>,
    /// The marginal rate of a variable-rate auction; `None` otherwise.
    pub marginal_rate_bp: Option<f64>,
    /// Banks that took part (non-bank investors count once, as their banks).
    pub counterparties: u32,
}

/// One row of `securities.parquet`: holdings of one class at the close.
#[derive(Clone, Debug, PartialEq)]
pub struct SecuritiesRecord {
    pub day: u32,
    pub class: String,
    pub central_bank: Money,
    pub banks: Money,
    pub investors: Money,
}

/// One row of `banks.parquet`: a bank's end-of-day balance sheet.
#[derive(Clone, Debug, PartialEq)]
pub struct BankDayRecord {
    pub day: u32,
    pub bank: u32,
    pub reserves: Money,
    pub securities: Money,
    pub loans: Money,
    pub interbank_lent: Money,
    pub cb_term_deposit: Money,
    pub deposits: Money,
    pub interbank_borrowed: Money,
    pub lending_facility: Money,
    pub cb_repo: Money,
    pub equity: Money,
    /// Balance above what counted toward the requirement tonight, remunerated by the tiers.
    pub deposit_facility: Money,
    /// The bank's minimum reserve requirement in force (0 without requirements).
    pub required_reserves: Money,
    /// Volume-weighted mean rate of the bank's interbank borrowing (lending) today; `None`
    /// when it borrowed (lent) nothing.
    pub avg_borrowing_rate_bp: Option<f64>,
    pub avg_lending_rate_bp: Option<f64>,
}

/// One row of `trades.parquet`: an overnight interbank loan. Lenders numbered from the
/// bank count up are non-bank lenders.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeRecord {
    pub day: u32,
    pub lender: u32,
    pub borrower: u32,
    pub amount: Money,
    pub rate_bp: f64,
    /// The trading round of the session (0 in the call market, 1..=rounds in the OTC market).
    pub round: u32,
}

/// Which optional per-bank and per-trade rows a run should keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    pub banks: bool,
    pub trades: bool,
}

/// Everything one Monte Carlo run produced, in day order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecords {
    pub run: u32,
    pub days: Vec<DayRecord>,
    pub banks: Vec<BankDayRecord>,
    pub trades: Vec<TradeRecord>,
    pub operations: Vec<OperationRecord>,
    pub securities: Vec<SecuritiesRecord>,
}

impl RunRecords {
    /// Drops every row, keeping the buffers: a caller stepping a simulation for its cost
    /// (a benchmark) keeps memory flat.
    pub fn clear_rows(&mut self) {
        self.days.clear();
        self.banks.clear();
        self.trades.clear();
        self.operations.clear();
        self.securities.clear();
    }
}
