//! Lenders without access to the deposit facility (government-sponsored enterprises, money
//! funds). They keep cash in accounts at the central bank that earn `idle_rate_bp` (usually
//! nothing), lend it overnight to banks at any rate above their outside option, and may
//! place it at an overnight reverse repo facility when one is open to them.

use crate::money::Money;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NonBanks {
    /// Each lender's account balance at the central bank.
    pub cash: Vec<Money>,
    /// Each lender's overnight loans to banks outstanding.
    pub lent: Vec<Money>,
    /// Each lender's overnight reverse repo with the central bank outstanding.
    pub reverse_repo: Vec<Money>,
}

impl NonBanks {
    pub fn new(lenders: u32, cash: Money) -> NonBanks {
        let n = lenders as usize;
        let mut split = Vec::new();
        crate::money::split_pro_rata(cash, &vec![1.0; n], &mut split);
        NonBanks {
            cash: split,
            lent: vec![Money::ZERO; n],
            reverse_repo: vec![Money::ZERO; n],
        }
    }

    pub fn len(&self) -> usize {
        self.cash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cash.is_empty()
    }
}
