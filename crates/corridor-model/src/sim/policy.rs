//! The central bank's balance-sheet policy within the day step (MODEL.md section 5):
//! temporary operations (the main operation and fine-tuning), outright operations (asset
//! purchases, POMO, runoff and reinvestment), coupons, and the operations' records.
//!
//! Every operation is a set of balanced postings on both sides; each one's effect on
//! reserves is recorded, and when invariant checks are on the effect is verified against
//! the banks' reserves before and after.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::Simulation;
use crate::calendar::BusinessDay;
use crate::money::{Money, interest, split_pro_rata};
use crate::operations::{Bid, Direction, OpenOperation, Position, allot_variable_rate};
use crate::params::Allotment;
use crate::records::OperationRecord;
use crate::remuneration::QuantileCache;
use crate::securities::{OutrightKind, PendingTrade, maturity_index};

/// Whether `bd` is one of the `per_month` operation days of its month, spread evenly over
/// the month's business days; returns the operation's 0-based number within the month and
/// the number of operations this month.
pub(super) fn operation_slot(bd: &BusinessDay, per_month: u32) -> Option<(u32, u32)> {
    let days = bd.business_days_in_month.max(1);
    let ops = per_month.clamp(1, days);
    // Operation j falls on the first business day at or after j × days / ops (0-based).
    let k = bd.business_day_of_month.saturating_sub(1);
    let slot = |j: u32| (j as u64 * days as u64).div_ceil(ops as u64) as u32;
    let j = ((k as u64 * ops as u64) / days as u64) as u32;
    // Position k holds operation j exactly when slot(j) == k (slots are distinct).
    [j, j + 1]
        .into_iter()
        .find(|&j| j < ops && slot(j) == k)
        .map(|j| (j, ops))
}

impl Simulation {
    /// The morning's securities business before anything else moves reserves: coupons on
    /// the month's first business day, the central bank's maturing holdings (reinvested or
    /// run off), and outright trades settling today.
    pub(super) fn securities_morning(&mut self, bd: &BusinessDay) {
        let today = bd.index;
        if bd.business_day_of_month == 1 || today == 0 {
            self.securities.runoff_this_month.fill(Money::ZERO);
        }
        if today > 0 && bd.business_day_of_month == 1 {
            self.pay_coupons(bd);
        }
        for class in 0..self.securities.classes() {
            let maturing = self.securities.take_maturing(class, today);
            if maturing != Money::ZERO {
                self.redeem(bd, class, maturing);
            }
        }
        self.settle_due_trades(bd);
    }

    /// Coupons for the month just ended, paid from the government's account. The central
    /// bank remits what it receives to the government the same day, as central banks remit
    /// their earnings; the government refinances what it paid private holders by issuing
    /// them more of the same class. Net: private holdings (and banks' equity) grow by the
    /// coupon, reserves do not move.
    fn pay_coupons(&mut self, bd: &BusinessDay) {
        let days = bd.date.0 - self.last_coupon_date.0;
        self.last_coupon_date = bd.date;
        let yf = self.params.calendar.day_count.year_fraction(days);
        let classes = self.securities.classes();
        for (c, class) in self.params.securities.iter().enumerate() {
            if class.coupon_rate_bp == 0.0 {
                continue;
            }
            for (i, bank) in self.banks.iter_mut().enumerate() {
                let held = self.securities.bank_holdings[i * classes + c];
                let coupon = interest(held, class.coupon_rate_bp, yf);
                if coupon != Money::ZERO {
                    self.securities.bank_holdings[i * classes + c] += coupon;
                    bank.securities += coupon;
                    bank.equity += coupon;
                }
            }
            let inv = &mut self.securities.investor_holdings[c];
            *inv += interest(*inv, class.coupon_rate_bp, yf);
        }
    }

    /// The central bank's holdings of `class` maturing today: reinvested at the government's
    /// auction (a rollover: no reserves move), or run off up to this month's cap. Runoff is
    /// paid from the government's account, which the government refills by issuing to the
    /// public, so reserves fall by the runoff.
    fn redeem(&mut self, bd: &BusinessDay, class: usize, maturing: Money) {
        let policy = &self.regime.balance_sheet;
        // A negative portfolio (a test system whose reserves exceed every balancing item)
        // simply rolls over.
        let runoff = if maturing < Money::ZERO {
            Money::ZERO
        } else if !policy.reinvest {
            maturing
        } else {
            match policy.runoff_caps.get(class).copied().flatten() {
                Some(cap) => {
                    let room = (cap - self.securities.runoff_this_month[class]).positive_part();
                    maturing.min(room)
                }
                None => Money::ZERO,
            }
        };
        let reinvested = maturing - runoff;
        if reinvested != Money::ZERO {
            let maturity = maturity_index(
                &self.calendar,
                bd.date,
                self.params.securities[class].maturity_days,
            );
            self.securities.add_lot(class, maturity, reinvested);
            self.record_checked(bd, "reinvestment", class, reinvested, Money::ZERO, None, 0);
        }
        if runoff > Money::ZERO {
            self.securities.runoff_this_month[class] += runoff;
            let before = self.checking.then(|| self.total_reserves());
            self.central_bank.securities -= runoff;
            // Government pays the central bank, then refills its account from the public.
            let drained = self.public_buys(class, runoff);
            debug_assert_eq!(drained, runoff);
            self.central_bank.reserves -= runoff;
            self.reserve_flows -= runoff;
            let n = self.split.iter().filter(|x| **x > Money::ZERO).count() as u32;
            self.record_checked(bd, "redemption", class, runoff, -runoff, before, n);
        }
    }

    /// The public buys `amount` of `class` (from the government or the central bank): the
    /// non-bank share through deposits at banks in proportion to size, the rest by banks in
    /// proportion to size. Debits banks' reserves (and deposits for investors); the caller
    /// posts the central bank's side. Leaves each bank's total payment in `self.split`.
    fn public_buys(&mut self, class: usize, amount: Money) -> Money {
        let share = self.regime.balance_sheet.nonbank_share;
        let by_investors = Money::from_f64_rounded(amount.as_f64() * share).min(amount);
        let by_banks = amount - by_investors;
        let classes = self.securities.classes();
        let mut paid = std::mem::take(&mut self.split);
        let mut part = std::mem::take(&mut self.split_extra);
        split_pro_rata(by_banks, &self.size_weights, &mut paid);
        for (i, bank) in self.banks.iter_mut().enumerate() {
            let x = paid[i];
            bank.reserves -= x;
            bank.securities += x;
            self.securities.bank_holdings[i * classes + class] += x;
        }
        split_pro_rata(by_investors, &self.size_weights, &mut part);
        for (i, bank) in self.banks.iter_mut().enumerate() {
            let x = part[i];
            bank.reserves -= x;
            bank.deposits -= x;
            paid[i] += x;
        }
        self.securities.investor_holdings[class] += by_investors;
        self.split = paid;
        self.split_extra = part;
        amount
    }

    /// Settles an outright trade: the central bank buys from (or sells to) the public.
    fn settle_outright(&mut self, bd: &BusinessDay, trade: &PendingTrade) {
        let class = trade.class;
        let before = self.checking.then(|| self.total_reserves());
        let (name, amount, effect) = if trade.amount > Money::ZERO {
            let bought = self.public_sells(class, trade.amount);
            if bought == Money::ZERO {
                return;
            }
            let maturity = maturity_index(
                &self.calendar,
                bd.date,
                self.params.securities[class].maturity_days,
            );
            self.securities.add_lot(class, maturity, bought);
            self.central_bank.securities += bought;
            self.central_bank.reserves += bought;
            self.reserve_flows += bought;
            let name = match trade.kind {
                OutrightKind::Programme => "purchase",
                OutrightKind::Pomo => "pomo_purchase",
            };
            (name, bought, bought)
        } else {
            let sold = self.securities.take_for_sale(class, -trade.amount);
            if sold == Money::ZERO {
                return;
            }
            self.central_bank.securities -= sold;
            self.public_buys(class, sold);
            self.central_bank.reserves -= sold;
            self.reserve_flows -= sold;
            let name = match trade.kind {
                OutrightKind::Programme => "sale",
                OutrightKind::Pomo => "pomo_sale",
            };
            (name, sold, -sold)
        };
        let n = self.split.iter().filter(|x| **x != Money::ZERO).count() as u32;
        self.record_checked(bd, name, class, amount, effect, before, n);
    }

    /// The public sells up to `amount` of `class` to the central bank: the non-bank share
    /// from investors (their banks get the deposit and the reserves, in proportion to
    /// size), the rest from banks in proportion to their holdings. If one side holds too
    /// little the other sells more; the total is capped by what the public holds. Credits
    /// banks' reserves; leaves each bank's receipt in `self.split`. Returns the amount sold.
    fn public_sells(&mut self, class: usize, amount: Money) -> Money {
        let share = self.regime.balance_sheet.nonbank_share;
        let investors_hold = self.securities.investor_holdings[class];
        let banks_hold = self.securities.banks_total(class);
        let amount = amount.min(investors_hold + banks_hold);
        let mut from_investors = Money::from_f64_rounded(amount.as_f64() * share).min(amount);
        let mut from_banks = amount - from_investors;
        if from_banks > banks_hold {
            from_investors += from_banks - banks_hold;
            from_banks = banks_hold;
        }
        if from_investors > investors_hold {
            from_banks += from_investors - investors_hold;
            from_investors = investors_hold;
        }
        let classes = self.securities.classes();
        let mut received = std::mem::take(&mut self.split);
        let mut part = std::mem::take(&mut self.split_extra);
        // Banks sell in proportion to their holdings: each share is at most the holding.
        let weights = &mut self.weights_scratch;
        weights.clear();
        weights.extend(
            (0..self.banks.len())
                .map(|i| self.securities.bank_holdings[i * classes + class].as_f64()),
        );
        split_pro_rata(from_banks, weights, &mut received);
        for (i, bank) in self.banks.iter_mut().enumerate() {
            let x = received[i];
            bank.reserves += x;
            bank.securities -= x;
            self.securities.bank_holdings[i * classes + class] -= x;
        }
        split_pro_rata(from_investors, &self.size_weights, &mut part);
        for (i, bank) in self.banks.iter_mut().enumerate() {
            let x = part[i];
            bank.reserves += x;
            bank.deposits += x;
            received[i] += x;
        }
        self.securities.investor_holdings[class] -= from_investors;
        self.split = received;
        self.split_extra = part;
        amount
    }

    /// Today's outright trades, settling `settlement_days` business days later (today if
    /// zero): the programme's share of the month's pace on its operation days, and POMO
    /// sized to the gap between `target` and reserves forecast for the settlement day.
    pub(super) fn outright_trades(&mut self, bd: &BusinessDay, target: Money, forecast: Money) {
        let policy = &self.regime.balance_sheet;
        let settles = bd.index + policy.settlement_days;
        if let Some((j, ops)) = operation_slot(bd, policy.operations_per_month) {
            for (class, &monthly) in policy.monthly_purchases.iter().enumerate() {
                if monthly == Money::ZERO {
                    continue;
                }
                // The month's pace in `ops` near-equal parts; this is part j.
                let base = monthly.0 / ops as i64;
                let extra = (monthly.0 % ops as i64).unsigned_abs() as u32;
                let amount = Money(base + if j < extra { monthly.0.signum() } else { 0 });
                self.securities.pending.push(PendingTrade {
                    settles,
                    class,
                    amount,
                    kind: OutrightKind::Programme,
                });
            }
        }
        if let Some(pomo) = &policy.pomo
            && operation_slot(bd, pomo.operations_per_month).is_some()
        {
            let pending: Money = self.securities.pending.iter().map(|t| t.amount).sum();
            let gap = target - (self.central_bank.reserves + forecast + pending);
            if gap.0.abs() >= pomo.min_operation.0.max(1) {
                let amount = Money(gap.0.clamp(-pomo.max_operation.0, pomo.max_operation.0));
                self.securities.pending.push(PendingTrade {
                    settles,
                    class: pomo.class,
                    amount,
                    kind: OutrightKind::Pomo,
                });
            }
        }
        if policy.settlement_days == 0 {
            self.settle_due_trades(bd);
        }
    }

    /// Settles the outright trades due today (and any overdue), in the order agreed.
    fn settle_due_trades(&mut self, bd: &BusinessDay) {
        let today = bd.index;
        let mut due = std::mem::take(&mut self.pending_scratch);
        due.clear();
        self.securities.pending.retain(|t| {
            if t.settles <= today {
                due.push(*t);
                false
            } else {
                true
            }
        });
        for trade in &due {
            self.settle_outright(bd, trade);
        }
        self.pending_scratch = due;
    }

    /// The central bank's forecast of today's autonomous factors, drawn only when an
    /// operation will use it (so scenarios without operations draw nothing).
    pub(super) fn forecast_autonomous<R: Rng + ?Sized>(
        &self,
        autonomous_effect: Money,
        needed: bool,
        rng: &mut R,
    ) -> Money {
        let sd = self.regime.fine_tuning.forecast_error_sd;
        if !needed || sd <= Money::ZERO {
            return autonomous_effect;
        }
        let error: f64 = StandardNormal.sample(rng);
        autonomous_effect + Money::from_f64_rounded(error * sd.as_f64())
    }

    /// Whether the main operation is conducted today.
    pub(super) fn main_operation_today(&self, bd: &BusinessDay) -> bool {
        self.regime
            .main_operation
            .as_ref()
            .is_some_and(|m| bd.index.is_multiple_of(m.interval_days.max(1)))
    }

    /// The main operation: banks bid from their own demand schedules at the operation's
    /// rates (their position counts their share of the published autonomous-factor
    /// forecast), limited by collateral after haircuts; allotted in full at the policy rate
    /// (fixed-rate full allotment) or by variable-rate auction of the amount that puts
    /// forecast reserves at `target`. Returns the amount allotted (negative absorbs).
    pub(super) fn main_operation(
        &mut self,
        bd: &BusinessDay,
        last_night: bool,
        target: Money,
        forecast: Money,
    ) -> Money {
        let Some(main) = self.regime.main_operation.clone() else {
            return Money::ZERO;
        };
        let policy = self.regime.policy_rate_bp;
        let needed = target - (self.central_bank.reserves + forecast);
        let (direction, levels, tick, amount) = match main.allotment {
            Allotment::FixedRateFullAllotment => (Direction::Repo, 1, 0.0, None),
            Allotment::VariableRate {
                bid_tick_bp,
                bid_levels,
                ..
            } => {
                if needed == Money::ZERO {
                    return Money::ZERO;
                }
                let direction = if needed > Money::ZERO {
                    Direction::Repo
                } else {
                    Direction::TermDeposit
                };
                (
                    direction,
                    bid_levels.max(1),
                    bid_tick_bp,
                    Some(needed.abs()),
                )
            }
        };
        // Demand schedules as of now; positions include the bank's share of the forecast,
        // and, as far as banks rely on the interbank market, stand for their share of the
        // system's position rather than their own.
        self.build_participants(bd, last_night);
        let reliance = self.params.behaviour.market_reliance;
        let aggregate: Money = self.participants[..self.banks.len()]
            .iter()
            .map(|p| p.position)
            .sum();
        split_pro_rata(forecast, &self.size_weights, &mut self.split);
        split_pro_rata(
            forecast + aggregate,
            &self.size_weights,
            &mut self.split_extra,
        );
        let mut cache = QuantileCache::default();
        let mut bids = std::mem::take(&mut self.bids_scratch);
        bids.clear();
        let classes = self.securities.classes();
        let n = self.banks.len();
        for i in 0..n {
            let mut p = self.participants[i];
            let own = (p.position + self.split[i]).as_f64();
            let shared = self.split_extra[i].as_f64();
            p.position = Money::from_f64_rounded(reliance * shared + (1.0 - reliance) * own);
            let schedule = &self.schedules[p.schedule as usize];
            // Collateral: holdings after haircuts, less what repos already use.
            let capacity = (0..classes)
                .map(|c| {
                    self.securities.bank_holdings[i * classes + c].as_f64()
                        * (1.0 - self.params.securities[c].haircut)
                })
                .sum::<f64>()
                - self.banks[i].cb_repo.as_f64();
            let want = |rate: f64, cache: &mut QuantileCache| -> f64 {
                let d = p.demand(rate, schedule, cache);
                match direction {
                    Direction::Repo => d.clamp(0.0, capacity.max(0.0)),
                    Direction::TermDeposit => (-d).max(0.0),
                }
            };
            // Cumulative quantities at each level, best rate for the central bank last:
            // repos from the policy rate up, term deposits from the policy rate down.
            let rate_at = |k: u32| match direction {
                Direction::Repo => policy + k as f64 * tick,
                Direction::TermDeposit => policy - k as f64 * tick,
            };
            let mut next = want(rate_at(levels - 1), &mut cache);
            let top = Money::from_f64_rounded(next);
            if top > Money::ZERO {
                bids.push(Bid {
                    bidder: i as u32,
                    rate_bp: rate_at(levels - 1),
                    amount: top,
                });
            }
            let mut cumulative = top;
            for k in (0..levels - 1).rev() {
                let q = want(rate_at(k), &mut cache).max(next);
                next = q;
                let total = Money::from_f64_rounded(q);
                let bid = total - cumulative;
                if bid > Money::ZERO {
                    bids.push(Bid {
                        bidder: i as u32,
                        rate_bp: rate_at(k),
                        amount: bid,
                    });
                    cumulative = total;
                }
            }
        }
        let result = match (main.allotment, amount) {
            (Allotment::VariableRate { pricing, .. }, Some(amount)) => {
                allot_variable_rate(&mut bids, amount, direction, pricing)
            }
            _ => crate::operations::AuctionResult {
                positions: bids
                    .iter()
                    .map(|b| Position {
                        bank: b.bidder,
                        amount: b.amount,
                        rate_bp: policy,
                    })
                    .collect(),
                marginal_rate_bp: None,
            },
        };
        self.bids_scratch = bids;
        let allotted = result.allotted();
        if allotted == Money::ZERO {
            return Money::ZERO;
        }
        let end = bd.date.add_days(main.tenor_days.max(1) as i32);
        let maturity = self
            .calendar
            .index_on_or_after(end)
            .unwrap_or(crate::securities::AFTER_RUN);
        let days = match self.calendar.days().get(maturity as usize) {
            Some(d) => d.date.0 - bd.date.0,
            None => end.0 - bd.date.0,
        };
        let yf = self.params.calendar.day_count.year_fraction(days);
        let name = match direction {
            Direction::Repo => "main_repo",
            Direction::TermDeposit => "main_deposit",
        };
        self.open_operation(bd, name, direction, result, maturity, yf)
    }

    /// Books an operation's positions on both sheets, records it, and keeps it open until
    /// `maturity`. Returns its effect on reserves.
    pub(super) fn open_operation(
        &mut self,
        bd: &BusinessDay,
        name: &'static str,
        direction: Direction,
        result: crate::operations::AuctionResult,
        maturity: u32,
        year_fraction: f64,
    ) -> Money {
        let before = self.checking.then(|| self.total_reserves());
        let mut total = Money::ZERO;
        let mut weighted = 0.0;
        for p in &result.positions {
            let bank = &mut self.banks[p.bank as usize];
            match direction {
                Direction::Repo => {
                    bank.reserves += p.amount;
                    bank.cb_repo += p.amount;
                }
                Direction::TermDeposit => {
                    bank.reserves -= p.amount;
                    bank.cb_term_deposit += p.amount;
                }
            }
            total += p.amount;
            weighted += p.amount.as_f64() * p.rate_bp;
        }
        let effect = match direction {
            Direction::Repo => {
                self.central_bank.repo_lending += total;
                total
            }
            Direction::TermDeposit => {
                self.central_bank.term_deposits += total;
                -total
            }
        };
        self.central_bank.reserves += effect;
        self.reserve_flows += effect;
        let mut counterparties: Vec<u32> = result.positions.iter().map(|p| p.bank).collect();
        counterparties.sort_unstable();
        counterparties.dedup();
        let record = OperationRecord {
            day: bd.index,
            date: bd.date,
            operation: name,
            class: String::new(),
            amount: total,
            reserve_effect: effect,
            rate_bp: (total > Money::ZERO).then(|| weighted / total.as_f64()),
            marginal_rate_bp: result.marginal_rate_bp,
            counterparties: counterparties.len() as u32,
        };
        self.push_checked(record, before);
        self.open_operations.push(OpenOperation {
            direction,
            maturity,
            year_fraction,
            positions: result.positions,
        });
        effect
    }

    /// Repays every temporary operation maturing today, each position with interest at its
    /// own rate.
    pub(super) fn settle_operations(&mut self, today: u32) {
        let mut i = 0;
        let mut flows = Money::ZERO;
        while i < self.open_operations.len() {
            if self.open_operations[i].maturity > today {
                i += 1;
                continue;
            }
            // Keep the order of the rest: it fixes the order of postings.
            let op = self.open_operations.remove(i);
            let cb = &mut self.central_bank;
            for p in &op.positions {
                let bank = &mut self.banks[p.bank as usize];
                let owed = interest(p.amount, p.rate_bp, op.year_fraction);
                match op.direction {
                    Direction::Repo => {
                        cb.repo_lending -= p.amount;
                        bank.cb_repo -= p.amount;
                        bank.reserves -= p.amount;
                        bank.income(-owed);
                        cb.capital += owed;
                        flows -= p.amount + owed;
                    }
                    Direction::TermDeposit => {
                        cb.term_deposits -= p.amount;
                        bank.cb_term_deposit -= p.amount;
                        bank.reserves += p.amount;
                        bank.income(owed);
                        cb.capital -= owed;
                        flows += p.amount + owed;
                    }
                }
            }
        }
        self.central_bank.reserves += flows;
        self.reserve_flows += flows;
    }

    pub(super) fn total_reserves(&self) -> Money {
        self.banks.iter().map(|b| b.reserves).sum()
    }

    /// Records an outright operation on `class` (checked against `before`, banks' reserves
    /// before it, when checks are on).
    #[allow(clippy::too_many_arguments)]
    fn record_checked(
        &mut self,
        bd: &BusinessDay,
        operation: &'static str,
        class: usize,
        amount: Money,
        reserve_effect: Money,
        before: Option<Money>,
        counterparties: u32,
    ) {
        let record = OperationRecord {
            day: bd.index,
            date: bd.date,
            operation,
            class: self.params.securities[class].name.clone(),
            amount,
            reserve_effect,
            rate_bp: None,
            marginal_rate_bp: None,
            counterparties,
        };
        self.push_checked(record, before);
    }

    /// Records an operation; with checks on, first verifies that banks' reserves moved by
    /// exactly its recorded effect.
    pub(super) fn push_checked(&mut self, record: OperationRecord, before: Option<Money>) {
        if let Some(before) = before {
            let moved = self.total_reserves() - before;
            if moved != record.reserve_effect && self.operation_error.is_none() {
                self.operation_error = Some(format!(
                    "{} of {} on {} moved reserves by {moved}, recorded {}",
                    record.operation, record.amount, record.date, record.reserve_effect
                ));
            }
        }
        self.operations_today.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, Date};

    /// Spread over a month of 21 business days, 20 operations fall on 20 distinct days,
    /// 5 on every fourth or fifth day, and more operations than days on every day.
    #[test]
    fn operation_days_spread_evenly_over_the_month() {
        let cal = Calendar::new(Date::parse("2024-10-01").unwrap(), 23); // 23 in October
        let count = |per_month| {
            cal.days()
                .iter()
                .filter(|d| operation_slot(d, per_month).is_some())
                .count()
        };
        assert_eq!(cal.days()[0].business_days_in_month, 23);
        assert_eq!(count(20), 20);
        assert_eq!(count(5), 5);
        assert_eq!(count(23), 23);
        assert_eq!(count(40), 23);
        assert_eq!(count(1), 1);
        let numbers: Vec<u32> = cal
            .days()
            .iter()
            .filter_map(|d| operation_slot(d, 5))
            .map(|(j, _)| j)
            .collect();
        assert_eq!(numbers, vec![0, 1, 2, 3, 4]);
    }
}
