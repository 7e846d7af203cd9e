//! The call market (Poole 1968): every bank submits a demand schedule, one rate clears all.
//!
//! A bank's demand at rate r is the end-of-day balance at which its expected marginal value
//! of reserves equals r (see `MarginalValue::planned_balance`), plus its precautionary
//! buffer, minus its current position. Aggregate net demand is non-increasing in r; the
//! clearing rate is found by bisection on the open interval between the lowest and highest
//! marginal values, where demand is finite.
//!
//! Tolerance: bisection runs until the bracket can no longer be halved in f64 (about 1e-13
//! bp at usual rates), so the clearing rate is the root of aggregate net demand to machine
//! precision; trades are then rounded to whole minor units and the long side is scaled down
//! to the short side exactly, so lent equals borrowed to the unit.

use super::{Loan, MarketScratch, Participant};
use crate::money::{Money, split_pro_rata};
use crate::remuneration::MarginalValue;

/// The outcome of clearing, before trades are rounded and matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clearing {
    pub rate_bp: f64,
    /// Aggregate net demand at the clearing rate (≈ 0 unless demand is degenerate, e.g.
    /// without late-shock uncertainty).
    pub excess_demand: f64,
}

/// Finds the rate at which aggregate planned balances equal aggregate positions and leaves
/// each bank's desired net borrowing in `scratch.desired`.
pub fn clear_call_market(
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) -> Clearing {
    let n = participants.len();
    scratch.desired.clear();
    scratch.desired.resize(n, 0.0);
    if n == 0 {
        return Clearing {
            rate_bp: f64::NAN,
            excess_demand: 0.0,
        };
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in schedules {
        lo = lo.min(s.lowest());
        hi = hi.max(s.highest());
    }
    let mut rate = 0.5 * (lo + hi);
    let mut excess = net_demand(rate, participants, schedules, scratch);
    if hi > lo {
        let (mut a, mut b) = (lo, hi);
        // f64 bisection terminates: the midpoint eventually equals an endpoint.
        for _ in 0..2000 {
            if excess > 0.0 {
                a = rate;
            } else if excess < 0.0 {
                b = rate;
            } else {
                break;
            }
            let mid = 0.5 * (a + b);
            if mid <= a || mid >= b {
                break;
            }
            rate = mid;
            excess = net_demand(rate, participants, schedules, scratch);
        }
    }
    Clearing {
        rate_bp: rate,
        excess_demand: excess,
    }
}

/// Aggregate desired net borrowing at `rate`; fills `scratch.desired` per bank.
fn net_demand(
    rate: f64,
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) -> f64 {
    // Banks share a handful of schedules; for single-step schedules the normal quantile is
    // the same for every bank on it, so compute it once per schedule.
    scratch.inverse.clear();
    for s in schedules {
        let z = if s.steps.len() == 1 {
            let (_, v1) = s.steps[0];
            let p = ((rate - v1) / (s.below - v1)).clamp(0.0, 1.0);
            crate::normal::inverse_cdf(p)
        } else {
            f64::NAN
        };
        scratch.inverse.push(z);
    }
    let mut total = 0.0;
    for (i, p) in participants.iter().enumerate() {
        let schedule = &schedules[p.schedule as usize];
        let z = scratch.inverse[p.schedule as usize];
        let planned = if z.is_nan() {
            schedule.planned_balance(rate, p.perceived_sd)
        } else if p.perceived_sd > 0.0 {
            schedule.steps[0].0 - p.perceived_sd * z
        } else {
            schedule.steps[0].0
        };
        let want = planned + p.buffer - p.position.as_f64();
        scratch.desired[i] = want;
        total += want;
    }
    total
}

/// Turns desired net borrowing into whole-unit bilateral loans at the clearing rate.
///
/// Lenders and borrowers are each taken in bank order and matched greedily, so the loans
/// are a deterministic function of the desired amounts. The long side is scaled down to the
/// short side (largest remainders), so every unit lent is borrowed.
pub(crate) fn allocate(
    clearing: &Clearing,
    n: usize,
    loans: &mut Vec<Loan>,
    scratch: &mut MarketScratch,
) {
    if n < 2 || !clearing.rate_bp.is_finite() {
        return;
    }
    scratch.lend.clear();
    scratch.borrow.clear();
    for (i, &d) in scratch.desired.iter().enumerate() {
        let units = d.round();
        if units > 0.0 {
            scratch.borrow.push((i as u32, units));
        } else if units < 0.0 {
            scratch.lend.push((i as u32, -units));
        }
    }
    let lent: f64 = scratch.lend.iter().map(|x| x.1).sum();
    let borrowed: f64 = scratch.borrow.iter().map(|x| x.1).sum();
    let volume = Money::from_f64_rounded(lent.min(borrowed));
    if volume <= Money::ZERO {
        return;
    }
    let MarketScratch {
        lend,
        borrow,
        weights,
        split,
        ..
    } = scratch;
    let mut lenders = Vec::new();
    let mut borrowers = Vec::new();
    for (side, out) in [(&*lend, &mut lenders), (&*borrow, &mut borrowers)] {
        weights.clear();
        weights.extend(side.iter().map(|x| x.1));
        split_pro_rata(volume, weights, split);
        out.extend(
            side.iter()
                .zip(split.iter())
                .filter(|(_, m)| m.0 > 0)
                .map(|(x, m)| (x.0, *m)),
        );
    }
    let (mut li, mut bi) = (0, 0);
    while li < lenders.len() && bi < borrowers.len() {
        let amount = lenders[li].1.min(borrowers[bi].1);
        loans.push(Loan {
            lender: lenders[li].0,
            borrower: borrowers[bi].0,
            amount,
            rate_bp: clearing.rate_bp,
            round: 0,
        });
        lenders[li].1 -= amount;
        borrowers[bi].1 -= amount;
        if lenders[li].1 == Money::ZERO {
            li += 1;
        }
        if borrowers[bi].1 == Money::ZERO {
            bi += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remuneration::Remuneration;

    fn corridor() -> Vec<MarginalValue> {
        vec![Remuneration::corridor(-75.0).marginal_value(75.0)]
    }

    fn participant(position: i64, sd: f64) -> Participant {
        Participant {
            position: Money(position),
            perceived_sd: sd,
            buffer: 0.0,
            schedule: 0,
        }
    }

    fn trade(ps: &[Participant], schedules: &[MarginalValue]) -> (Clearing, Vec<Loan>) {
        let mut scratch = MarketScratch::default();
        let c = clear_call_market(ps, schedules, &mut scratch);
        let mut loans = Vec::new();
        allocate(&c, ps.len(), &mut loans, &mut scratch);
        (c, loans)
    }

    #[test]
    fn identical_banks_clear_on_the_poole_curve() {
        // Two banks, average position R = 500, sd 1000: r = r_d + (r_l - r_d) Φ(-R/s).
        let ps = [participant(1500, 1000.0), participant(-500, 1000.0)];
        let (c, loans) = trade(&ps, &corridor());
        let expected = -75.0 + 150.0 * crate::normal::cdf(-0.5);
        assert!(
            (c.rate_bp - expected).abs() < 1e-9,
            "{} vs {expected}",
            c.rate_bp
        );
        assert_eq!(loans.len(), 1);
        assert_eq!(loans[0].amount, Money(1000));
        assert_eq!((loans[0].lender, loans[0].borrower), (0, 1));
    }

    #[test]
    fn everyone_on_one_side_still_clears_without_nan() {
        // All banks long: the rate falls toward the deposit rate, nobody trades.
        let ps = [
            participant(1_000_000_000, 10.0),
            participant(1_000_000_000, 10.0),
        ];
        let (c, loans) = trade(&ps, &corridor());
        assert!(c.rate_bp.is_finite() && c.rate_bp >= -75.0 && c.rate_bp < -74.0);
        assert!(loans.is_empty());
    }

    #[test]
    fn single_bank_and_no_uncertainty_are_robust() {
        let (c, loans) = trade(&[participant(42, 100.0)], &corridor());
        assert!(c.rate_bp.is_finite());
        assert!(loans.is_empty());
        // Without uncertainty demand is flat: the short side trades at a facility rate.
        let (c, loans) = trade(&[participant(100, 0.0), participant(-40, 0.0)], &corridor());
        assert!(c.rate_bp.is_finite());
        let lent: i64 = loans.iter().map(|l| l.amount.0).sum();
        assert_eq!(lent, 40);
    }

    #[test]
    fn extreme_and_negative_rates_clear() {
        let schedules = vec![Remuneration::corridor(-90_000.0).marginal_value(90_000.0)];
        let ps = [
            participant(5, 3.0),
            participant(-2, 3.0),
            participant(0, 7.0),
        ];
        let (c, _) = trade(&ps, &schedules);
        assert!(c.rate_bp > -90_000.0 && c.rate_bp < 90_000.0);
        assert!(c.excess_demand.abs() < 1e-6);
    }

    #[test]
    fn stigma_lifts_the_rate_above_the_lending_rate() {
        // Scarce reserves and a 50 bp stigma: banks pay more than the facility rate.
        let schedules = vec![Remuneration::corridor(-75.0).marginal_value(75.0 + 50.0)];
        let ps = [participant(-3000, 1000.0), participant(1000, 1000.0)];
        let (c, loans) = trade(&ps, &schedules);
        assert!(c.rate_bp > 75.0, "{}", c.rate_bp);
        assert!(!loans.is_empty());
    }
}
