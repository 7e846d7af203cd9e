//! Exact money: every amount is an integer count of the scenario's minor unit.
//!
//! Floating point never holds a balance. Rates are `f64` basis points, and the only place
//! a rate meets money is [`interest`], which rounds once, to the nearest minor unit, so that
//! the payer's debit and the receiver's credit are the same integer.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount in the scenario's minor unit (see `money.minor_unit` in the scenario).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    #[inline]
    pub fn minor_units(self) -> i64 {
        self.0
    }

    #[inline]
    pub fn as_f64(self) -> f64 {
        self.0 as f64
    }

    /// Rounds a real amount to the nearest minor unit, half away from zero.
    ///
    /// Adds ±0.5 and truncates instead of calling `f64::round`, which is a libm call on
    /// the payment hot path (8% of a day in a profile). The two differ only for the one
    /// value just below 0.5 in magnitude; either way a single integer is posted to both
    /// sides, so exactness does not depend on it.
    #[inline]
    pub fn from_f64_rounded(x: f64) -> Money {
        debug_assert!(x.is_finite(), "non-finite amount {x}");
        Money((x + 0.5f64.copysign(x)) as i64)
    }

    #[inline]
    pub fn positive_part(self) -> Money {
        Money(self.0.max(0))
    }

    #[inline]
    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    pub fn negative_part(self) -> Money {
        Money((-self.0).max(0))
    }
}

impl Add for Money {
    type Output = Money;
    #[inline]
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}
impl Sub for Money {
    type Output = Money;
    #[inline]
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}
impl AddAssign for Money {
    #[inline]
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}
impl SubAssign for Money {
    #[inline]
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}
impl Neg for Money {
    type Output = Money;
    #[inline]
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Interest on `principal` at `rate_bp` (annual, basis points) for `year_fraction` of a year.
///
/// Rounded once to the nearest minor unit; negative rates give negative interest (the
/// lender pays). Both legs of the posting use this one integer, so rounding creates nothing.
#[inline]
pub fn interest(principal: Money, rate_bp: f64, year_fraction: f64) -> Money {
    Money::from_f64_rounded(principal.as_f64() * rate_bp * 1e-4 * year_fraction)
}

/// Splits `total` into integer parts proportional to `weights` that add up to `total` exactly
/// (largest-remainder method; ties go to the lower index, so the split is deterministic).
///
/// Used wherever an aggregate flow (an autonomous factor, a central-bank operation allotted
/// pro rata) must be spread across banks without creating or losing a minor unit.
pub fn split_pro_rata(total: Money, weights: &[f64], out: &mut Vec<Money>) {
    out.clear();
    let n = weights.len();
    if n == 0 {
        return;
    }
    if total == Money::ZERO {
        out.resize(n, Money::ZERO);
        return;
    }
    let weight_sum: f64 = weights.iter().sum();
    if weight_sum <= 0.0 || !weight_sum.is_finite() {
        // Degenerate weights: everything to the first bank keeps the total exact.
        out.resize(n, Money::ZERO);
        out[0] = total;
        return;
    }
    let sign = if total.0 < 0 { -1 } else { 1 };
    let magnitude = total.0.unsigned_abs() as f64;
    let mut assigned: i64 = 0;
    let mut remainders: Vec<(f64, usize)> = Vec::with_capacity(n);
    for (i, w) in weights.iter().enumerate() {
        let exact = magnitude * (w / weight_sum);
        let floor = exact.floor();
        assigned += floor as i64;
        out.push(Money(floor as i64));
        remainders.push((exact - floor, i));
    }
    let mut left = total.0.unsigned_abs() as i64 - assigned;
    // Larger remainder first, then lower index: a total order, so the units left over go
    // to one well-defined set of parts.
    let order = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if left > 0 && (left as usize) < n {
        // Only which parts get a unit matters, not their order: selecting them is O(n)
        // where sorting all the remainders was O(n log n).
        let l = left as usize;
        remainders.select_nth_unstable_by(l - 1, order);
        for r in &remainders[..l] {
            out[r.1].0 += 1;
        }
        left = 0;
    }
    if left != 0 {
        remainders.sort_by(order);
        let mut k = 0;
        while left > 0 {
            out[remainders[k % n].1].0 += 1;
            left -= 1;
            k += 1;
        }
        while left < 0 {
            // Floating error could overshoot by a unit on huge totals; take it back.
            let idx = remainders[n - 1 - (k % n)].1;
            out[idx].0 -= 1;
            left += 1;
            k += 1;
        }
    }
    if sign < 0 {
        for m in out.iter_mut() {
            m.0 = -m.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest-remainder split by sorting every remainder, as it was written first.
    fn split_by_sorting(total: i64, weights: &[f64]) -> Vec<i64> {
        let sum: f64 = weights.iter().sum();
        let mag = total.unsigned_abs() as f64;
        let mut out: Vec<i64> = weights
            .iter()
            .map(|w| (mag * (w / sum)).floor() as i64)
            .collect();
        let mut rem: Vec<(f64, usize)> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| (mag * (w / sum) - (mag * (w / sum)).floor(), i))
            .collect();
        rem.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let left = total.abs() - out.iter().sum::<i64>();
        for k in 0..left as usize {
            out[rem[k % weights.len()].1] += 1;
        }
        out.iter().map(|x| x * total.signum()).collect()
    }

    /// Selecting the parts that get the units left over gives exactly the sorted split,
    /// ties in remainder included (equal weights make many).
    #[test]
    fn selection_agrees_with_sorting() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut out = Vec::new();
        for case in 0..2_000 {
            let n = 1 + (next() % 60) as usize;
            let weights: Vec<f64> = (0..n)
                .map(|_| {
                    if case % 3 == 0 {
                        1.0
                    } else {
                        (next() % 1000) as f64 + 0.5
                    }
                })
                .collect();
            let total = (next() % 100_000) as i64 - 50_000;
            split_pro_rata(Money(total), &weights, &mut out);
            let got: Vec<i64> = out.iter().map(|m| m.0).collect();
            assert_eq!(got, split_by_sorting(total, &weights), "case {case}");
        }
    }

    #[test]
    fn split_is_exact_and_proportional() {
        let mut out = Vec::new();
        for total in [-1_000_003_i64, -7, 0, 1, 10, 999_999_999_999] {
            split_pro_rata(Money(total), &[1.0, 2.0, 3.0, 0.5], &mut out);
            assert_eq!(out.iter().map(|m| m.0).sum::<i64>(), total);
            let exact = total as f64 * 2.0 / 6.5;
            assert!((out[1].0 as f64 - exact).abs() <= 1.0);
        }
    }

    #[test]
    fn interest_rounds_half_away_and_handles_negative_rates() {
        assert_eq!(interest(Money(1_000_000), 100.0, 1.0), Money(10_000));
        assert_eq!(interest(Money(1_000_000), -50.0, 0.5), Money(-2_500));
        assert_eq!(interest(Money(360), 10_000.0, 1.0 / 720.0), Money(1)); // 0.5 rounds up
    }
}
