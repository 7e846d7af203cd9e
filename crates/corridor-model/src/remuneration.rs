//! What a unit of end-of-day reserves is worth to a bank, and what it actually earns.
//!
//! Banks never see "the framework"; they see a step function: the marginal value of one more
//! unit of reserves at each end-of-day balance. Below zero a unit saves a lending-facility
//! loan (its rate plus the bank's stigma cost); above zero it earns whatever the
//! remuneration tiers pay. Every market mechanism builds demand from this function, so a
//! framework can change the overnight rate only through banks' behaviour.

use crate::money::{Money, interest};

/// One remuneration tier: balances from `from` up to the next tier's `from` earn `rate_bp`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    pub from: Money,
    pub rate_bp: f64,
}

/// How a bank's positive end-of-day balance is remunerated, tier by tier.
#[derive(Clone, Debug, PartialEq)]
pub struct Remuneration {
    tiers: Vec<Tier>,
}

impl Remuneration {
    /// The corridor: every positive balance earns the deposit facility rate.
    pub fn corridor(deposit_rate_bp: f64) -> Remuneration {
        Remuneration {
            tiers: vec![Tier {
                from: Money::ZERO,
                rate_bp: deposit_rate_bp,
            }],
        }
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Interest earned (negative: paid) tonight on a non-negative end-of-day balance.
    /// Rounded once, so the bank's credit and the central bank's debit are the same integer.
    pub fn interest(&self, balance: Money, year_fraction: f64) -> Money {
        debug_assert!(balance >= Money::ZERO);
        if self.tiers.len() == 1 {
            return interest(balance, self.tiers[0].rate_bp, year_fraction);
        }
        let mut total = 0.0;
        for (k, tier) in self.tiers.iter().enumerate() {
            let upper = self
                .tiers
                .get(k + 1)
                .map_or(balance, |t| t.from.min(balance));
            let amount = (upper - tier.from).positive_part();
            total += amount.as_f64() * tier.rate_bp * 1e-4 * year_fraction;
        }
        Money::from_f64_rounded(total)
    }

    /// The bank's marginal value of end-of-day reserves, given its perceived cost of the
    /// lending facility (`lending_rate_bp + stigma_bp`).
    pub fn marginal_value(&self, perceived_lending_cost_bp: f64) -> MarginalValue {
        MarginalValue {
            below: perceived_lending_cost_bp,
            steps: self
                .tiers
                .iter()
                .map(|t| (t.from.as_f64(), t.rate_bp))
                .collect(),
        }
    }
}

/// A non-increasing step function of the end-of-day balance `b`: `below` for `b` under the
/// first threshold, then `steps[k].1` from threshold `steps[k].0` on.
#[derive(Clone, Debug, PartialEq)]
pub struct MarginalValue {
    pub below: f64,
    pub steps: Vec<(f64, f64)>,
}

impl MarginalValue {
    /// The highest marginal value: at rates above it every bank wants to lend without limit.
    pub fn highest(&self) -> f64 {
        self.below
    }

    /// The lowest marginal value: at rates under it every bank wants to borrow without limit.
    pub fn lowest(&self) -> f64 {
        self.steps.last().map_or(self.below, |s| s.1)
    }

    /// Expected marginal value of ending at `y + ε`, ε ~ N(0, sd²):
    /// `v_K + Σ_j (v_{j-1} - v_j) Φ((k_j - y) / sd)`.
    pub fn expected(&self, y: f64, sd: f64) -> f64 {
        let mut prev = self.below;
        let mut value = self.lowest();
        for &(k, v) in &self.steps {
            value += (prev - v) * prob_below(k - y, sd);
            prev = v;
        }
        value
    }

    /// The planned balance `y` at which the expected marginal value equals `rate_bp`: the
    /// bank's demand for end-of-day reserves at that rate. Defined for rates strictly
    /// between `lowest()` and `highest()`.
    pub fn planned_balance(&self, rate_bp: f64, sd: f64) -> f64 {
        if self.steps.len() == 1 {
            let (k, v1) = self.steps[0];
            let p = ((rate_bp - v1) / (self.below - v1)).clamp(0.0, 1.0);
            return k - sd * crate::normal::inverse_cdf(p);
        }
        self.planned_balance_general(rate_bp, sd)
    }

    fn planned_balance_general(&self, rate_bp: f64, sd: f64) -> f64 {
        // expected() is non-increasing in y; bracket and bisect (tiered schemes, issue 3).
        let k_lo = self.steps.first().map_or(0.0, |s| s.0);
        let k_hi = self.steps.last().map_or(0.0, |s| s.0);
        let span = 40.0 * sd.max(1.0);
        let (mut lo, mut hi) = (k_lo - span, k_hi + span);
        if sd == 0.0 {
            // Deterministic balance: the bank plans to sit exactly on the threshold whose
            // neighbouring values straddle the rate.
            let mut prev = self.below;
            for &(k, v) in &self.steps {
                if rate_bp < prev && rate_bp > v {
                    return k;
                }
                prev = v;
            }
            return if rate_bp >= self.below { lo } else { hi };
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.expected(mid, sd) > rate_bp {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

/// P(ε < x) for ε ~ N(0, sd²), with the deterministic limit at sd = 0.
#[inline]
fn prob_below(x: f64, sd: f64) -> f64 {
    if sd > 0.0 {
        crate::normal::cdf(x / sd)
    } else if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corridor_demand_inverts_expected_value() {
        let mv = Remuneration::corridor(-75.0).marginal_value(75.0);
        for r in [-74.0, -30.0, 0.0, 12.5, 74.9] {
            let y = mv.planned_balance(r, 1000.0);
            assert!((mv.expected(y, 1000.0) - r).abs() < 1e-9, "r={r}");
        }
        // Symmetric corridor: at the midpoint a bank plans a zero balance.
        assert!(mv.planned_balance(0.0, 1000.0).abs() < 1e-9);
    }

    #[test]
    fn general_solver_agrees_with_closed_form() {
        let mv = Remuneration::corridor(25.0).marginal_value(175.0);
        for r in [30.0, 100.0, 170.0] {
            let closed = mv.planned_balance(r, 500.0);
            let general = mv.planned_balance_general(r, 500.0);
            assert!(
                (closed - general).abs() < 1e-6,
                "r={r}: {closed} vs {general}"
            );
        }
    }

    #[test]
    fn tiered_interest_pays_each_tier_its_rate() {
        let rem = Remuneration {
            tiers: vec![
                Tier {
                    from: Money(0),
                    rate_bp: 0.0,
                },
                Tier {
                    from: Money(1000),
                    rate_bp: -50.0,
                },
            ],
        };
        // 1000 at 0 and 9000 at -0.5% for a full year: -45.
        assert_eq!(rem.interest(Money(10_000), 1.0), Money(-45));
        assert_eq!(rem.interest(Money(800), 1.0), Money(0));
    }
}
