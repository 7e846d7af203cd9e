//! A bank's balance sheet in exact money.
//!
//! Every change goes through a posting that moves an asset and a liability (or two assets)
//! by the same integer, so `assets() == liabilities() + equity` holds after every posting;
//! `Simulation::check_invariants` verifies it.

use crate::money::Money;

/// One bank. Balance-sheet fields are public for reading; the simulation posts to them.
#[derive(Clone, Debug, PartialEq)]
pub struct Bank {
    /// Total assets before reserves at the start; scales payments, shocks and collateral.
    pub size: f64,
    /// Intraday overdraft limit (collateral pledged).
    pub collateral: Money,
    /// Standard deviation of this bank's raw late shock, before netting into transfers.
    pub late_shock_raw_sd: f64,
    /// True standard deviation of this bank's late shock (after shocks are made transfers).
    pub late_shock_sd: f64,

    // Assets.
    pub reserves: Money,
    pub securities: Money,
    pub loans: Money,
    pub interbank_lent: Money,
    pub cb_term_deposit: Money,
    // Liabilities and equity.
    pub deposits: Money,
    pub interbank_borrowed: Money,
    pub lending_facility: Money,
    pub cb_repo: Money,
    pub equity: Money,
}

impl Bank {
    pub fn assets(&self) -> Money {
        self.reserves + self.securities + self.loans + self.interbank_lent + self.cb_term_deposit
    }

    pub fn liabilities(&self) -> Money {
        self.deposits + self.interbank_borrowed + self.lending_facility + self.cb_repo
    }

    /// A customer payment or shock: reserves and customer deposits move together.
    #[inline]
    pub fn customer_flow(&mut self, amount: Money) {
        self.reserves += amount;
        self.deposits += amount;
    }

    /// Income (negative: expense) settled in reserves.
    #[inline]
    pub fn income(&mut self, amount: Money) {
        self.reserves += amount;
        self.equity += amount;
    }
}
