//! Who holds which securities: banks and non-bank investors by class, the central bank by
//! class and maturity.
//!
//! Private holdings are a constant-maturity portfolio: what matures is refinanced by the
//! government with a new issue of the same class bought by the same holder, a gross flow
//! with no effect on reserves, so it is not simulated lot by lot. The central bank's
//! holdings are a maturity ladder, because what it lets mature without reinvesting drains
//! reserves: the government pays it from its account and refills the account by issuing to
//! the public.

use std::collections::BTreeMap;

use crate::calendar::{Calendar, Date};
use crate::money::{Money, split_pro_rata};
use crate::params::SecurityClass;

/// A business-day index past the end of the run.
pub const AFTER_RUN: u32 = u32::MAX;

/// An outright trade agreed and awaiting settlement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PendingTrade {
    /// Business-day index on which it settles.
    pub settles: u32,
    pub class: usize,
    /// Positive: the central bank buys; negative: it sells.
    pub amount: Money,
    pub kind: OutrightKind,
}

/// Why the central bank trades outright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutrightKind {
    /// An asset purchase programme (QE) or programmed sales.
    Programme,
    /// Permanent open market operations aimed at the reserve target.
    Pomo,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecuritiesBook {
    classes: usize,
    /// Banks' holdings, bank-major: `bank_holdings[bank * classes + class]`.
    pub bank_holdings: Vec<Money>,
    pub investor_holdings: Vec<Money>,
    /// The central bank's holdings of each class by maturity (business-day index).
    pub central_bank: Vec<BTreeMap<u32, Money>>,
    /// The ladders' totals, kept as they change (summing a ladder is O(maturities)).
    central_bank_totals: Vec<Money>,
    /// Allowed to run off this month, by class, so far used.
    pub runoff_this_month: Vec<Money>,
    pub pending: Vec<PendingTrade>,
}

impl SecuritiesBook {
    /// Banks' securities split across classes by `bank_share`; the central bank's portfolio
    /// by `central_bank_share`, each class spread evenly over its maturities from tomorrow
    /// to `maturity_days` ahead (a ladder bought steadily in the past).
    pub fn new(
        classes: &[SecurityClass],
        bank_securities: &[Money],
        central_bank_total: Money,
        calendar: &Calendar,
        start: Date,
    ) -> SecuritiesBook {
        let k = classes.len();
        let shares: Vec<f64> = classes.iter().map(|c| c.bank_share).collect();
        let mut bank_holdings = Vec::with_capacity(bank_securities.len() * k);
        let mut split = Vec::new();
        for &total in bank_securities {
            split_pro_rata(total, &shares, &mut split);
            bank_holdings.extend_from_slice(&split);
        }
        let cb_shares: Vec<f64> = classes.iter().map(|c| c.central_bank_share).collect();
        let mut cb_split = Vec::new();
        split_pro_rata(central_bank_total, &cb_shares, &mut cb_split);
        let central_bank = classes
            .iter()
            .zip(&cb_split)
            .map(|(class, &total)| ladder(total, class.maturity_days, calendar, start))
            .collect();
        let central_bank_totals = cb_split.clone();
        SecuritiesBook {
            classes: k,
            bank_holdings,
            investor_holdings: classes.iter().map(|c| c.investor_holdings).collect(),
            central_bank,
            central_bank_totals,
            runoff_this_month: vec![Money::ZERO; k],
            pending: Vec::new(),
        }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    #[inline]
    pub fn bank(&self, bank: usize, class: usize) -> Money {
        self.bank_holdings[bank * self.classes + class]
    }

    #[inline]
    pub fn bank_mut(&mut self, bank: usize, class: usize) -> &mut Money {
        &mut self.bank_holdings[bank * self.classes + class]
    }

    pub fn banks_total(&self, class: usize) -> Money {
        self.bank_holdings
            .iter()
            .skip(class)
            .step_by(self.classes)
            .copied()
            .sum()
    }

    pub fn central_bank_total(&self, class: usize) -> Money {
        self.central_bank_totals[class]
    }

    /// Whether each ladder adds up to its running total (for invariant checks).
    pub fn ladders_consistent(&self) -> bool {
        self.central_bank
            .iter()
            .zip(&self.central_bank_totals)
            .all(|(l, t)| l.values().copied().sum::<Money>() == *t)
    }

    /// Adds a lot to the central bank's ladder.
    pub fn add_lot(&mut self, class: usize, maturity: u32, amount: Money) {
        if amount != Money::ZERO {
            *self.central_bank[class].entry(maturity).or_default() += amount;
            self.central_bank_totals[class] += amount;
        }
    }

    /// Removes and returns what matures on or before `day` in `class`.
    pub fn take_maturing(&mut self, class: usize, day: u32) -> Money {
        let ladder = &mut self.central_bank[class];
        let mut total = Money::ZERO;
        while let Some(entry) = ladder.first_entry() {
            if *entry.key() > day {
                break;
            }
            total += entry.remove();
        }
        self.central_bank_totals[class] -= total;
        total
    }

    /// Takes up to `amount` from the central bank's holdings of `class`, nearest maturity
    /// first (what a bills desk sells); returns what it took.
    pub fn take_for_sale(&mut self, class: usize, amount: Money) -> Money {
        let ladder = &mut self.central_bank[class];
        let mut taken = Money::ZERO;
        while taken < amount {
            let Some(mut entry) = ladder.first_entry() else {
                break;
            };
            let want = amount - taken;
            if *entry.get() <= want {
                taken += entry.remove();
            } else {
                *entry.get_mut() -= want;
                taken += want;
            }
        }
        self.central_bank_totals[class] -= taken;
        taken
    }
}

/// The business day a security bought on `date` with `maturity_days` to run matures.
pub fn maturity_index(calendar: &Calendar, date: Date, maturity_days: u32) -> u32 {
    calendar
        .index_on_or_after(date.add_days(maturity_days.max(1) as i32))
        .unwrap_or(AFTER_RUN)
}

/// `total` spread evenly over the calendar days 1..=`maturity_days` after `start`, each
/// day's part maturing on the first business day on or after it.
fn ladder(
    total: Money,
    maturity_days: u32,
    calendar: &Calendar,
    start: Date,
) -> BTreeMap<u32, Money> {
    let m = maturity_days.max(1) as i32;
    let last = start.add_days(m);
    let mut weights = Vec::new();
    let mut indices = Vec::new();
    let mut covered = start;
    for day in calendar.days() {
        if day.date <= start {
            continue;
        }
        let upto = if day.date < last { day.date } else { last };
        weights.push((upto.0 - covered.0) as f64);
        indices.push(day.index);
        covered = upto;
        if upto == last {
            break;
        }
    }
    if covered < last {
        weights.push((last.0 - covered.0) as f64);
        indices.push(AFTER_RUN);
    }
    let mut parts = Vec::new();
    split_pro_rata(total, &weights, &mut parts);
    let mut out = BTreeMap::new();
    for (index, part) in indices.into_iter().zip(parts) {
        if part != Money::ZERO {
            *out.entry(index).or_default() += part;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_spreads_evenly_and_keeps_the_total() {
        let start = Date::parse("2024-01-01").unwrap(); // a Monday
        let cal = Calendar::new(start, 40);
        let l = ladder(Money(9_100), 91, &cal, start);
        assert_eq!(l.values().copied().sum::<Money>(), Money(9_100));
        // Tuesday 2 Jan matures 100 (one calendar day); Monday 8 Jan three (Sat, Sun, Mon).
        assert_eq!(l[&1], Money(100));
        assert_eq!(l[&5], Money(300));
        // 40 business days run to Friday 23 Feb: 53 calendar days after the start; the
        // other 38 mature after the run.
        assert_eq!(l[&AFTER_RUN], Money(3_800));
    }

    #[test]
    fn sales_take_the_nearest_maturities_first() {
        let start = Date::parse("2024-01-01").unwrap();
        let cal = Calendar::new(start, 40);
        let class = SecurityClass {
            name: "bills".into(),
            maturity_days: 10,
            coupon_rate_bp: 0.0,
            haircut: 0.0,
            bank_share: 1.0,
            investor_holdings: Money::ZERO,
            central_bank_share: 1.0,
        };
        let mut book = SecuritiesBook::new(&[class], &[Money(50)], Money(1_000), &cal, start);
        assert_eq!(book.take_for_sale(0, Money(150)), Money(150));
        assert_eq!(book.central_bank[0].get(&1), None);
        assert_eq!(book.central_bank_total(0), Money(850));
        // Left on days 2 (50), 3, 4 (100 each) and 5 (Monday: 300); then 6, 7, 8.
        assert_eq!(book.take_maturing(0, 5), Money(550));
        assert_eq!(book.take_for_sale(0, Money(10_000)), Money(300));
    }
}
