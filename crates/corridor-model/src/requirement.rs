//! Minimum reserve requirements with (or without) averaging over a maintenance period.
//!
//! Holdings are counted in unit-days: a balance held over a weekend counts three days, as
//! in the euro area and US rules. A bank's balance counts toward its requirement until the
//! period's requirement is met; what is above that is excess, remunerated by the framework's
//! tiers. At the end of the period counted holdings earn the requirement's rate and any
//! shortfall pays the penalty rate.

use crate::bank::Bank;
use crate::calendar::BusinessDay;
use crate::money::{Money, interest};
use crate::params::ReserveRequirementParams;

#[derive(Clone, Debug)]
pub struct RequirementBook {
    pub params: ReserveRequirementParams,
    /// Each bank's requirement in force (ratio × deposits at the period's start).
    pub required: Vec<Money>,
    /// Unit-days counted toward the requirement in the current averaging window.
    held: Vec<i64>,
    /// First business day of the current maintenance period.
    period_start: u32,
    /// Business days in the current averaging window, and the calendar days it covers.
    window_start: u32,
    window_days: u32,
    window_calendar_days: i64,
}

impl RequirementBook {
    pub fn new(params: ReserveRequirementParams, banks: usize) -> RequirementBook {
        RequirementBook {
            params,
            required: vec![Money::ZERO; banks],
            held: vec![0; banks],
            period_start: 0,
            window_start: 0,
            window_days: 0,
            window_calendar_days: 0,
        }
    }

    /// Called every morning: starts a new maintenance period (requirements reset from
    /// deposits) or averaging window when one begins today. `days` are the calendar's
    /// business days; `force_new_period` restarts the period (a regime change). Returns
    /// whether a new maintenance period (with new requirements) began.
    pub fn begin_day(
        &mut self,
        today: u32,
        days: &[BusinessDay],
        banks: &[Bank],
        force_new_period: bool,
    ) -> bool {
        let m = self.params.maintenance_days.max(1);
        let new_period = force_new_period || today == 0 || today >= self.period_start + m;
        if new_period {
            self.period_start = today;
            for (rr, bank) in self.required.iter_mut().zip(banks) {
                *rr = Money::from_f64_rounded(self.params.ratio * bank.deposits.as_f64());
            }
        }
        let new_window = new_period || !self.params.averaging;
        if new_window {
            let len = if self.params.averaging {
                m.min(days.len() as u32 - today)
            } else {
                1
            };
            self.window_start = today;
            self.window_days = len;
            self.window_calendar_days = days[today as usize..(today + len) as usize]
                .iter()
                .map(|d| d.overnight_days as i64)
                .sum();
            self.held.iter_mut().for_each(|h| *h = 0);
        }
        new_period
    }

    /// 1-based position of `today` in the maintenance period.
    pub fn maintenance_day(&self, today: u32) -> u32 {
        today - self.period_start + 1
    }

    /// Whether tonight closes the averaging window (every night without averaging).
    pub fn is_last_night(&self, today: u32) -> bool {
        today + 1 >= self.window_start + self.window_days
    }

    /// Unit-days bank `i` still needs in this window.
    fn need(&self, i: usize) -> i64 {
        (self.required[i].0 * self.window_calendar_days - self.held[i]).max(0)
    }

    /// The balance bank `i` would need tonight to complete its requirement (0 if met).
    pub fn need_tonight(&self, i: usize, overnight_days: i32) -> Money {
        let od = overnight_days.max(1) as i64;
        let need = self.need(i);
        Money((need + od - 1) / od)
    }

    /// Counts tonight's end-of-day `balance` toward the requirement; returns the part of
    /// the balance that counted (the rest is excess).
    pub fn count(&mut self, i: usize, balance: Money, overnight_days: i32) -> Money {
        let counted = balance
            .positive_part()
            .min(self.need_tonight(i, overnight_days));
        let od = overnight_days.max(1) as i64;
        self.held[i] =
            (self.held[i] + counted.0 * od).min(self.required[i].0 * self.window_calendar_days);
        counted
    }

    /// At the window's end: the remuneration of counted holdings and the penalty on the
    /// shortfall, for bank `i` (both as amounts the bank receives; the penalty is negative).
    pub fn settle(&self, i: usize, basis_days: f64) -> (Money, Money) {
        let remuneration = interest(
            Money(self.held[i]),
            self.params.remuneration_rate_bp,
            1.0 / basis_days,
        );
        let penalty = if self.params.enforced {
            -interest(
                Money(self.need(i)),
                self.params.penalty_rate_bp,
                1.0 / basis_days,
            )
        } else {
            Money::ZERO
        };
        (remuneration, penalty)
    }
}
