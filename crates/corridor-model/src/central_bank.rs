//! The central bank's balance sheet.
//!
//! Reserves are its liability; every flow of reserves between it and a bank is posted on
//! both sheets. Identity: securities + repo lending + lending facility
//! = reserves + term deposits + currency + government account + non-banks' accounts +
//! reverse repos with non-banks + capital.

use crate::money::Money;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CentralBank {
    // Assets.
    pub securities: Money,
    pub repo_lending: Money,
    pub lending_facility: Money,
    // Liabilities and capital.
    pub reserves: Money,
    pub term_deposits: Money,
    pub currency: Money,
    pub government: Money,
    /// Accounts of non-bank lenders (not reserves: they cannot use the deposit facility).
    pub non_bank_accounts: Money,
    /// Overnight reverse repos with non-banks.
    pub reverse_repos: Money,
    pub capital: Money,
}

impl CentralBank {
    pub fn assets(&self) -> Money {
        self.securities + self.repo_lending + self.lending_facility
    }

    pub fn liabilities_and_capital(&self) -> Money {
        self.reserves
            + self.term_deposits
            + self.currency
            + self.government
            + self.non_bank_accounts
            + self.reverse_repos
            + self.capital
    }
}
