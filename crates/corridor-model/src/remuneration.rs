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

    /// Tiers in order of `from`; a tier of zero width (the next starts where it starts) is
    /// dropped, so a zero quota or an empty exempt allowance leaves no trace.
    pub fn from_tiers(tiers: Vec<Tier>) -> Remuneration {
        let mut kept: Vec<Tier> = Vec::with_capacity(tiers.len());
        for (k, tier) in tiers.iter().enumerate() {
            let next = tiers.get(k + 1).map(|t| t.from);
            if next.is_some_and(|n| n <= tier.from) {
                continue;
            }
            kept.push(tier.clone());
        }
        Remuneration { tiers: kept }
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
        let mut mv = MarginalValue {
            below: perceived_lending_cost_bp,
            steps: Vec::with_capacity(self.tiers.len()),
        };
        self.push_steps(&mut mv.steps, 0.0, perceived_lending_cost_bp);
        mv
    }

    /// Appends the tiers as marginal-value steps starting at balance `from` (where the
    /// excess begins), each worth at most `cap` and at most the step before: a schedule must
    /// not rise, since a tier paying more than the one below it is worth no more at the
    /// margin than that one.
    pub fn push_steps(&self, steps: &mut Vec<(f64, f64)>, from: f64, cap: f64) {
        let mut prev = cap;
        for tier in &self.tiers {
            prev = tier.rate_bp.min(prev);
            steps.push((from + tier.from.as_f64(), prev));
        }
    }
}

/// A non-increasing step function of the end-of-day balance `b`: `below` for `b` under the
/// first threshold, then `steps[k].1` from threshold `steps[k].0` on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarginalValue {
    pub below: f64,
    pub steps: Vec<(f64, f64)>,
}

/// The expected marginal value at a planned balance and how it changes there (per unit of
/// balance): [`MarginalValue::expected_with_slope`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExpectedValue {
    pub value: f64,
    pub slope: f64,
    pub curvature: f64,
    pub third: f64,
}

/// Planned balances beyond this are "unbounded": the rate is outside the schedule's range.
pub const UNBOUNDED: f64 = 1e18;

/// Steps further apart than this many shock sds are solved one at a time in closed form:
/// the neglected neighbour contributes less than Φ(-6) ≈ 1e-9 of its rate gap.
const SEPARATION_SDS: f64 = 12.0;

const QUANTILE_CACHE_ENTRIES: usize = 8;

/// Normal quantiles already computed, keyed by the rate and the pair of values bracketing
/// it. Banks share rate pairs (they face the same facility and tier rates), so one clearing
/// evaluation needs a handful of quantiles, not one per bank.
#[derive(Clone, Debug, Default)]
pub struct QuantileCache {
    entries: Vec<(f64, f64, f64, f64)>,
    /// (rate, hi, lo, z, φ(z)) for demand with its slope ([`MarginalValue::separated_demand`]).
    with_density: Vec<(f64, f64, f64, f64, f64)>,
    /// When set, a schedule whose steps are too close for the closed form returns its
    /// one-step estimate instead of solving exactly: the call market locates the clearing
    /// rate this way, cheaply, before polishing it with exact demand.
    pub(crate) estimate_only: bool,
    /// Whether an estimate stood in for an exact solve since this was last reset.
    pub(crate) approximated: bool,
}

impl QuantileCache {
    /// Forgets the quantiles (they belong to one rate); keeps the mode flags.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.with_density.clear();
    }

    /// The quantile and the normal density there.
    #[inline]
    fn z_and_density(&mut self, rate: f64, hi: f64, lo: f64) -> (f64, f64) {
        for &(r, h, l, z, d) in &self.with_density {
            if r == rate && h == hi && l == lo {
                return (z, d);
            }
        }
        let z = self.z(rate, hi, lo);
        let d = crate::normal::pdf(z);
        if self.with_density.len() < QUANTILE_CACHE_ENTRIES {
            self.with_density.push((rate, hi, lo, z, d));
        }
        (z, d)
    }

    #[inline]
    fn z(&mut self, rate: f64, hi: f64, lo: f64) -> f64 {
        for &(r, h, l, z) in &self.entries {
            if r == rate && h == hi && l == lo {
                return z;
            }
        }
        let p = ((rate - lo) / (hi - lo)).clamp(0.0, 1.0);
        let z = crate::normal::inverse_cdf(p);
        // Shared rates are few; bank-specific ones (a borrowing cost makes each bank try its
        // own rates) would only lengthen the scan, so the cache stays small.
        if self.entries.len() < QUANTILE_CACHE_ENTRIES {
            self.entries.push((rate, hi, lo, z));
        }
        z
    }
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

    /// Value of step `m`: `below` for 0, then the steps' values.
    #[inline]
    fn value(&self, m: usize) -> f64 {
        if m == 0 {
            self.below
        } else {
            self.steps[m - 1].1
        }
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

    /// [`Self::expected`] at `y` (sd > 0) with its first three derivatives in `y`, in
    /// one pass over the steps: the call market's joint Newton solve moves every bank's
    /// planned balance and the rate together, and needs exactly these at each iterate.
    #[inline]
    pub fn expected_with_slope(&self, y: f64, sd: f64) -> ExpectedValue {
        let inv_sd = 1.0 / sd;
        let mut prev = self.below;
        let mut value = self.lowest();
        let (mut slope, mut curvature, mut third) = (0.0, 0.0, 0.0);
        for &(k, v) in &self.steps {
            let gap = prev - v;
            prev = v;
            let x = (k - y) * inv_sd;
            let (cdf, pdf) = crate::normal::cdf_pdf(x);
            value += gap * cdf;
            // d/dy Φ((k - y)/sd) = -φ(x)/sd, d²/dy² = -x φ(x)/sd², d³/dy³ = -(x² - 1) φ(x)/sd³.
            let weighted = gap * pdf;
            slope -= weighted;
            curvature -= weighted * x;
            third -= weighted * (x * x - 1.0);
        }
        let inv_sd2 = inv_sd * inv_sd;
        ExpectedValue {
            value,
            slope: slope * inv_sd,
            curvature: curvature * inv_sd2,
            third: third * inv_sd2 * inv_sd,
        }
    }

    /// The planned balance `y` at which the expected marginal value equals `rate_bp`: the
    /// bank's demand for end-of-day reserves at that rate. Outside the schedule's range the
    /// answer is ±[`UNBOUNDED`]. Inside a flat stretch (the rate equals an inner step's
    /// value exactly) the bank is indifferent across the stretch; its middle is returned.
    pub fn planned_balance(&self, rate_bp: f64, sd: f64) -> f64 {
        self.planned_balance_cached(rate_bp, sd, &mut QuantileCache::default())
    }

    /// [`Self::planned_balance`] with quantiles shared through `cache` (cleared by the
    /// caller whenever the rate changes).
    pub fn planned_balance_cached(&self, rate_bp: f64, sd: f64, cache: &mut QuantileCache) -> f64 {
        let k = self.steps.len();
        if k == 0 || rate_bp >= self.below {
            return -UNBOUNDED;
        }
        if rate_bp <= self.lowest() {
            return UNBOUNDED;
        }
        // The step m (1-based) with value(m) <= rate < value(m - 1).
        let mut m = 1;
        while m < k && self.value(m) > rate_bp {
            m += 1;
        }
        let threshold = self.steps[m - 1].0;
        if self.value(m) == rate_bp {
            // Exactly on an inner value: anywhere between this step and the next will do.
            return 0.5 * (threshold + self.steps[m].0);
        }
        if sd <= 0.0 {
            return threshold;
        }
        let z = cache.z(rate_bp, self.value(m - 1), self.value(m));
        // Stay inside this step's half of the flat stretches on either side.
        let floor = if m >= 2 {
            0.5 * (self.steps[m - 2].0 + threshold)
        } else {
            f64::NEG_INFINITY
        };
        let ceiling = if m < k {
            0.5 * (threshold + self.steps[m].0)
        } else {
            f64::INFINITY
        };
        let estimate = (threshold - sd * z).clamp(floor, ceiling);
        if self.is_separated(sd) {
            estimate
        } else if cache.estimate_only {
            cache.approximated = true;
            estimate
        } else {
            // The one-step estimate is a close start: Newton then needs few steps.
            self.solve_exactly(rate_bp, sd, estimate)
        }
    }

    /// Demand at `rate_bp` of a separated schedule ([`Self::is_separated`]; sd > 0, the rate
    /// strictly inside the schedule's range) in closed form, and its derivative in the rate:
    /// what the call market's joint solve needs of the banks it need not iterate on.
    pub fn separated_demand(&self, rate_bp: f64, sd: f64, cache: &mut QuantileCache) -> (f64, f64) {
        debug_assert!(self.is_separated(sd) && sd > 0.0);
        let k = self.steps.len();
        let mut m = 1;
        while m < k && self.value(m) > rate_bp {
            m += 1;
        }
        let threshold = self.steps[m - 1].0;
        if self.value(m) == rate_bp {
            // On an inner value the bank is indifferent across the flat stretch.
            return (0.5 * (threshold + self.steps[m].0), 0.0);
        }
        let (hi, lo) = (self.value(m - 1), self.value(m));
        let (z, density) = cache.z_and_density(rate_bp, hi, lo);
        let floor = if m >= 2 {
            0.5 * (self.steps[m - 2].0 + threshold)
        } else {
            f64::NEG_INFINITY
        };
        let ceiling = if m < k {
            0.5 * (threshold + self.steps[m].0)
        } else {
            f64::INFINITY
        };
        let balance = threshold - sd * z;
        if balance <= floor || balance >= ceiling {
            (balance.clamp(floor, ceiling), 0.0)
        } else {
            // z = Φ⁻¹((r - lo) / (hi - lo)), so dz/dr = 1 / (φ(z) (hi - lo)).
            (balance, -sd / (density * (hi - lo)))
        }
    }

    /// Whether every step is far enough from the next, against a shock of this sd, for
    /// demand to be inverted one step at a time in closed form.
    #[inline]
    pub fn is_separated(&self, sd: f64) -> bool {
        self.steps
            .windows(2)
            .all(|w| w[1].0 - w[0].0 >= SEPARATION_SDS * sd)
    }

    /// Safeguarded Newton on the exact expected value, for steps closer together than the
    /// shock's spread (then several steps shape demand at once).
    fn solve_exactly(&self, rate_bp: f64, sd: f64, start: f64) -> f64 {
        let first = self.steps[0].0;
        let last = self.steps[self.steps.len() - 1].0;
        let (mut lo, mut hi) = (first - 40.0 * sd, last + 40.0 * sd);
        let tolerance = 1e-9 * sd.max(1.0);
        let mut y = start.clamp(lo, hi);
        for _ in 0..100 {
            // Value and slope in one pass: d/dy E = -Σ (v_{j-1} - v_j) φ((k_j - y)/sd) / sd.
            let mut value = self.lowest() - rate_bp;
            let mut slope = 0.0;
            let mut prev = self.below;
            for &(k, v) in &self.steps {
                let x = (k - y) / sd;
                value += (prev - v) * crate::normal::cdf(x);
                slope -= (prev - v) * crate::normal::pdf(x) / sd;
                prev = v;
            }
            if value > 0.0 {
                lo = y;
            } else {
                hi = y;
            }
            let newton = if slope < 0.0 {
                y - value / slope
            } else {
                f64::NAN
            };
            let next = if newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - y).abs() <= tolerance || hi - lo <= tolerance {
                return next;
            }
            y = next;
        }
        y
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
    fn exact_solver_agrees_with_closed_form() {
        let mv = Remuneration::corridor(25.0).marginal_value(175.0);
        for r in [30.0, 100.0, 170.0] {
            let closed = mv.planned_balance(r, 500.0);
            let exact = mv.solve_exactly(r, 500.0, 0.0);
            // The exact solver stops within 1e-9 sd: far below a minor unit.
            assert!(
                (closed - exact).abs() < 1e-6 * 500.0,
                "r={r}: {closed} vs {exact}"
            );
        }
    }

    #[test]
    fn tiered_demand_inverts_expected_value_in_both_regimes() {
        // Quota-like schedule: LF 200 below 0, policy 100 up to the quota, 0 above it.
        for quota in [50.0, 100_000.0] {
            let mv = MarginalValue {
                below: 200.0,
                steps: vec![(0.0, 100.0), (quota, 0.0)],
            };
            for r in [1.0, 50.0, 99.0, 101.0, 150.0, 199.0] {
                let y = mv.planned_balance(r, 100.0);
                let back = mv.expected(y, 100.0);
                // Closed form (separated) is exact to ~1e-9 of the rate gap; Newton to 1e-9 sd.
                assert!(
                    (back - r).abs() < 1e-6,
                    "quota {quota}, r={r}: y={y} gives {back}"
                );
            }
        }
    }

    #[test]
    fn flat_stretches_and_out_of_range_rates_are_handled() {
        let mv = MarginalValue {
            below: 200.0,
            steps: vec![(0.0, 100.0), (10_000.0, 0.0)],
        };
        assert_eq!(mv.planned_balance(100.0, 10.0), 5_000.0);
        assert_eq!(mv.planned_balance(250.0, 10.0), -UNBOUNDED);
        assert_eq!(mv.planned_balance(-1.0, 10.0), UNBOUNDED);
        // Without uncertainty the bank plans exactly the threshold of its step.
        assert_eq!(mv.planned_balance(150.0, 0.0), 0.0);
        assert_eq!(mv.planned_balance(50.0, 0.0), 10_000.0);
    }

    #[test]
    fn schedules_never_rise_and_start_where_the_excess_starts() {
        // A tier paying more than the one below it (50 after 10) is worth only 10 at the
        // margin, and nothing is worth more than the cap.
        let rem = Remuneration::from_tiers(vec![
            Tier {
                from: Money(0),
                rate_bp: 10.0,
            },
            Tier {
                from: Money(100),
                rate_bp: 50.0,
            },
            Tier {
                from: Money(300),
                rate_bp: -20.0,
            },
        ]);
        let mut steps = Vec::new();
        rem.push_steps(&mut steps, 1_000.0, 40.0);
        assert_eq!(
            steps,
            vec![(1_000.0, 10.0), (1_100.0, 10.0), (1_300.0, -20.0)]
        );
        let capped = Remuneration::corridor(90.0).marginal_value(75.0);
        assert_eq!(capped.steps, vec![(0.0, 75.0)]);
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
