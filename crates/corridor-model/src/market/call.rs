//! The call market (Poole 1968): every bank submits a demand schedule, one rate clears all.
//!
//! A participant's demand at rate r is the end-of-day balance at which its expected marginal
//! value of reserves equals r (`MarginalValue::planned_balance`), plus its precautionary
//! buffer, minus its current position. Aggregate net demand is non-increasing in r; the
//! clearing rate is its root on the open interval between the lowest and highest marginal
//! values, found by Brent's method (inverse quadratic interpolation safeguarded by
//! bisection), which needs about a dozen evaluations where bisection needs sixty.
//!
//! Tolerance: the root is bracketed to 1e-12 bp (relative to the rate's magnitude, with a
//! floor of 1e-12 bp), far below anything reported. Trades are then rounded to whole minor
//! units and the long side is scaled down to the short side exactly, so lent equals
//! borrowed to the unit.
//!
//! Indifference: where a schedule is flat (a quota band, a requirement being averaged) a
//! bank is indifferent across a whole range of balances at the clearing rate. Banks then
//! trade as little as possible: each stays put if its range contains its position, and only
//! what the market needs to clear is taken from those with room, in proportion to it.

use super::{Loan, MarketScratch, Participant};
use crate::money::{Money, split_pro_rata};
use crate::remuneration::{ExpectedValue, MarginalValue, QuantileCache};

/// Half-width (bp) of the rate band used to measure a bank's range of indifference.
const INDIFFERENCE_BP: f64 = 1e-7;

/// The outcome of clearing, before trades are rounded and matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clearing {
    pub rate_bp: f64,
    /// Aggregate net demand at the clearing rate (≈ 0 unless demand jumps there).
    pub excess_demand: f64,
}

/// Finds the rate at which aggregate planned balances equal aggregate positions.
///
/// Tiered schedules (several steps, some closer than the closed form allows) are cleared by
/// the joint solve ([`clear_jointly`]); everything else, and any market the joint solve
/// declines, by the rate search ([`clear_by_search`]). Both return a root of exact demand
/// to the same tolerance.
pub fn clear_call_market(
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) -> Clearing {
    if participants.is_empty() {
        return Clearing {
            rate_bp: f64::NAN,
            excess_demand: 0.0,
        };
    }
    scratch.planned_at = None;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut several_steps = false;
    for p in participants {
        let s = &schedules[p.schedule as usize];
        lo = lo.min(s.lowest());
        hi = hi.max(s.highest());
        several_steps |= s.steps.len() > 1;
    }
    if several_steps && let Some(clearing) = clear_jointly(participants, schedules, scratch) {
        return clearing;
    }
    clear_by_search(participants, schedules, scratch, lo, hi)
}

/// The rate search, for markets the joint solve leaves alone (schedules inverted in closed
/// form, demand that is not smooth, a rate on a flat stretch), on the rates (lo, hi).
///
/// Banks whose schedules have steps too close for the closed form need an exact solve at
/// every rate tried. So the rate is first located with their one-step estimates (cheap),
/// then polished with exact demand inside a small bracket around it; if the bracket does not
/// hold the exact root, the exact search runs over the whole interval. Either way the rate
/// returned is a root of exact demand.
pub(crate) fn clear_by_search(
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
    lo: f64,
    hi: f64,
) -> Clearing {
    if hi <= lo {
        let excess = net_demand(lo, participants, schedules, scratch);
        return Clearing {
            rate_bp: lo,
            excess_demand: excess,
        };
    }
    // Just inside the open interval, where demand is finite or at least signed.
    let span = hi - lo;
    let (a, b) = (lo + 1e-12 * span, hi - 1e-12 * span);

    scratch.quantiles.estimate_only = true;
    scratch.quantiles.approximated = false;
    let located = locate(participants, schedules, scratch, a, b);
    scratch.quantiles.estimate_only = false;
    if !scratch.quantiles.approximated {
        return located.clearing;
    }
    let mut f = |r: f64| net_demand(r, participants, schedules, scratch);
    if located.at_step_value {
        let v = located.clearing.rate_bp;
        let (above, below) = (f(v + INDIFFERENCE_BP), f(v - INDIFFERENCE_BP));
        if above <= 0.0 && below >= 0.0 {
            return Clearing {
                rate_bp: v,
                excess_demand: 0.5 * (above + below),
            };
        }
        // The exact root lies on one side of the value: search only there.
        let (a, b) = if above > 0.0 {
            (v + INDIFFERENCE_BP, b)
        } else {
            (a, v - INDIFFERENCE_BP)
        };
        locate(participants, schedules, scratch, a, b).clearing
    } else {
        // One exact bracket around the estimate. If it misses (steps so close that the
        // estimate is off), its two exact values still narrow the search, since demand
        // falls with the rate.
        let r = located.clearing.rate_bp;
        let width = 1e-6 * span;
        let (ra, rb) = ((r - width).max(a), (r + width).min(b));
        let (fa, fb) = (f(ra), f(rb));
        if fa >= 0.0 && fb <= 0.0 {
            let rate = if fa == 0.0 {
                ra
            } else if fb == 0.0 {
                rb
            } else {
                brent(&mut f, ra, fa, rb, fb)
            };
            return Clearing {
                rate_bp: rate,
                excess_demand: f(rate),
            };
        }
        let (a, b) = if fa < 0.0 { (a, ra) } else { (rb, b) };
        locate(participants, schedules, scratch, a, b).clearing
    }
}

/// Iterations of the joint solve before it hands over to the rate search. The benchmark's
/// tiered markets need one to three evaluations per bank.
const JOINT_ITERATIONS: usize = 16;

/// Largest move of a planned balance in one joint iteration, in shock sds: a tangent taken
/// where the expected value is nearly flat points far beyond the answer.
const STEP_CAP_SDS: f64 = 2.0;

/// Beyond this |curvature term / linear term| the second-order inverse is no longer a
/// guide (past 1/2 it would even turn back), so the curvature term is held at this limit.
const SECOND_ORDER_LIMIT: f64 = 0.3;

/// One participant's iterate in the joint solve: a planned balance and the expected
/// marginal value there. `balance` is exactly the participant's demand at rate
/// `expected.value`; demand at a nearby rate follows from the slope and curvature.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Planned {
    balance: f64,
    expected: ExpectedValue,
    /// 1 / slope, curvature / (2 slope) and the cubic coefficient: the inverse expansion is
    /// b(r) = balance + u - bend u² + cubic u³ + …, u = (r - value) / slope.
    inv_slope: f64,
    bend: f64,
    cubic: f64,
    /// Whether the expansion is not accurate enough at the latest rate, so the balance
    /// must move and be evaluated again.
    stale: bool,
    /// A separated schedule: demand in closed form at every rate, `balance` the latest.
    closed_form: bool,
}

impl Planned {
    fn new(balance: f64, expected: ExpectedValue) -> Planned {
        let inv_slope = 1.0 / expected.slope;
        let bend = 0.5 * expected.curvature * inv_slope;
        Planned {
            balance,
            expected,
            inv_slope,
            bend,
            cubic: 2.0 * bend * bend - expected.third * inv_slope / 6.0,
            stale: false,
            closed_form: false,
        }
    }

    /// The move to demand at `rate` by the second-order inverse, its derivative in the rate,
    /// and an estimate of its error (twice the next term of the series). Far from this
    /// iterate, where the expansion fails, the curvature term is held at its limit and the
    /// move capped at `cap`, with an infinite error: the move stays continuous and rising
    /// in the rate, so the balances can always be made to add up to the supply.
    #[inline]
    fn step(&self, rate: f64, cap: f64) -> (f64, f64, f64) {
        let u = (rate - self.expected.value) * self.inv_slope;
        let bend = self.bend * u;
        let (step, slope, error) = if bend.abs() <= SECOND_ORDER_LIMIT {
            let error = 2.0 * (self.cubic * u * u * u).abs();
            (u - bend * u, (1.0 - 2.0 * bend) * self.inv_slope, error)
        } else {
            let held = SECOND_ORDER_LIMIT.copysign(bend);
            (u - held * u, (1.0 - held) * self.inv_slope, f64::INFINITY)
        };
        if step.abs() <= cap {
            (step, slope, error)
        } else {
            (cap.copysign(step), 0.0, f64::INFINITY)
        }
    }
}

/// Clears a market of smooth demands (every participant uncertain about its balance and
/// without a borrowing cost) by solving for the rate and all planned balances at once:
/// each iteration evaluates a participant's schedule once, at its current balance, and
/// moves the rate and every balance along their second-order expansions so that the
/// balances add up to the supply (Chebyshev's method, third order, on the joint system). A
/// rate search would need an exact per-bank solve at every rate it tries, which is where
/// tiered schemes spent their time. Participants whose schedules are separated are not
/// iterated: their demand is in closed form at every rate tried. Only participants whose
/// expansion is not yet accurate at the latest rate are evaluated again.
///
/// Accuracy: each evaluated balance is exactly demand at its own expected value, and demand
/// near it follows from the expansion with an error estimated by the series' next term. The
/// solve stops when that estimate is below 1e-10 of a shock sd for every balance (the exact
/// per-bank solve stops at 1e-9) and, summed over the balances and carried to the rate
/// through the aggregate slope, below the rate search's tolerance (1e-12 of the rate). Returns `None`, leaving the answer to the rate search,
/// where demand is not smooth (a participant without uncertainty or with a borrowing cost),
/// or where the iteration does not settle (a rate on a flat stretch or at the edge of the
/// schedules' range).
fn clear_jointly(
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) -> Option<Clearing> {
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut supply = 0.0;
    let mut separated = true;
    for p in participants {
        let s = &schedules[p.schedule as usize];
        if p.perceived_sd.is_nan() || p.perceived_sd <= 0.0 || p.borrowing_cost_per_unit > 0.0 {
            return None;
        }
        lo = lo.max(s.lowest());
        hi = hi.min(s.highest());
        separated &= s.is_separated(p.perceived_sd);
        supply += p.position.as_f64() - p.buffer;
    }
    // Separated schedules are inverted in closed form, a quantile per rate pair shared by
    // all banks: the rate search over those is cheaper than any iteration here.
    if separated || lo >= hi {
        return None;
    }

    // Start: each schedule as one normal step with the mean and spread of its steps
    // (weighted by their value gaps), all at a common standardised distance z from their
    // centres, chosen so that the balances add up to the supply. Participants with
    // separated schedules need no start: their demand at any rate is in closed form.
    let MarketScratch {
        planned, quantiles, ..
    } = scratch;
    planned.clear();
    let (mut sum_centre, mut sum_spread) = (0.0, 0.0);
    for p in participants {
        let s = &schedules[p.schedule as usize];
        let total = s.highest() - s.lowest();
        let (mut centre, mut prev) = (0.0, s.highest());
        for &(k, v) in &s.steps {
            centre += (prev - v) * k;
            prev = v;
        }
        centre /= total;
        let (mut variance, mut prev) = (0.0, s.highest());
        for &(k, v) in &s.steps {
            variance += (prev - v) * (k - centre) * (k - centre);
            prev = v;
        }
        let spread = (p.perceived_sd * p.perceived_sd + variance / total).sqrt();
        sum_centre += centre;
        sum_spread += spread;
        let closed_form = s.is_separated(p.perceived_sd);
        // The spread waits in `bend` until z is known.
        planned.push(Planned {
            balance: centre,
            bend: spread,
            stale: !closed_form,
            closed_form,
            ..Planned::default()
        });
    }
    let z = (sum_centre - supply) / sum_spread;
    for st in planned.iter_mut() {
        st.balance -= st.bend * z;
    }

    // Each iteration re-evaluates only the participants whose expansion is not accurate
    // enough at the latest rate ("stale"; at first, all but the closed-form ones), at the
    // balance it points to.
    let mut rate = f64::NAN;
    let (inside_lo, inside_hi) = (lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo));
    for iteration in 0..JOINT_ITERATIONS {
        let (mut lowest_value, mut highest_value) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut weight, mut weighted, mut total) = (0.0, 0.0, 0.0);
        let mut any_closed_form = false;
        for (p, st) in participants.iter().zip(planned.iter_mut()) {
            if st.closed_form {
                // Linear in the rate about the last one tried (nothing yet at first).
                any_closed_form = true;
                total += st.balance;
                weight += st.inv_slope;
                weighted += st.expected.value * st.inv_slope;
                continue;
            }
            if st.stale {
                let s = &schedules[p.schedule as usize];
                let balance = if rate.is_nan() {
                    st.balance
                } else {
                    let (step, _, error) = st.step(rate, STEP_CAP_SDS * p.perceived_sd);
                    if error.is_finite() || iteration > 1 {
                        st.balance + step
                    } else {
                        // Too far from the start for the expansion: the one-step closed
                        // form at the first rate is the better guess (once: where it is
                        // poor, repeating it could cycle).
                        quantiles.estimate_only = true;
                        let estimate = s.planned_balance_cached(rate, p.perceived_sd, quantiles);
                        quantiles.estimate_only = false;
                        estimate
                    }
                };
                let e = s.expected_with_slope(balance, p.perceived_sd);
                // A slope of zero is a balance where the schedule is flat to double precision.
                if e.slope.is_nan() || e.slope >= 0.0 {
                    return None;
                }
                *st = Planned::new(balance, e);
            }
            let value = st.expected.value;
            lowest_value = lowest_value.min(value);
            highest_value = highest_value.max(value);
            weight += st.inv_slope;
            weighted += value * st.inv_slope;
            total += st.balance;
        }
        // Start looking for the rate at the tangents' rate, Σ (rate - v_i) / slope_i =
        // supply - Σ b_i. While the balances add up to the supply and all are iterated, the
        // clearing rate is certified to lie within the values.
        let shortfall = supply - total;
        let mut start = (shortfall + weighted) / weight;
        if !any_closed_form && shortfall.abs() <= 1e-12 * total.abs().max(1.0) {
            start = start.clamp(lowest_value, highest_value);
        }
        let solved = joint_rate(
            start.clamp(inside_lo, inside_hi),
            supply,
            (participants, schedules),
            planned,
            quantiles,
            (inside_lo, inside_hi),
        );
        rate = solved.rate;
        if !(rate > lo && rate < hi) {
            return None;
        }
        // Settled when every balance's estimated error is below 1e-10 sd and the rate's
        // (those errors and any shortfall left, over the aggregate slope) below the rate
        // search's tolerance, 1e-12 of the rate. Otherwise the balances too far off for
        // either are stale.
        let budget = 1e-12 * rate.abs().max(1.0) * solved.slope.abs();
        let mut settled = solved.all_within;
        if settled && solved.error_sum + solved.residual.abs() > budget {
            settled = false;
            let share = 0.5 * budget / participants.len() as f64;
            for (p, st) in participants.iter().zip(planned.iter_mut()) {
                st.stale =
                    !st.closed_form && st.step(rate, STEP_CAP_SDS * p.perceived_sd).2 > share;
            }
        }
        if settled {
            scratch.planned_at = Some(rate);
            return Some(Clearing {
                rate_bp: rate,
                // Planned balances less the supply.
                excess_demand: -solved.residual,
            });
        }
    }
    None
}

/// What [`joint_rate`] found: the rate, the supply its balances leave unplaced, the slope of
/// aggregate demand there, the sum of the balances' estimated errors, and whether each is
/// within 1e-10 sd (those that are not are marked stale).
struct JointRate {
    rate: f64,
    residual: f64,
    slope: f64,
    error_sum: f64,
    all_within: bool,
}

/// The rate at which the participants' planned balances add up to `supply` (the iterated
/// ones by their expansions, [`Planned::step`], the rest in closed form), and what is left
/// over (zero but for rounding, unless the capped steps cannot reach it): safeguarded
/// Newton on that continuous, falling sum within `range`, from `start`. Once every
/// participant is near its answer the sum is smooth and two or three passes reach the rate
/// to 1e-14 relative. The last pass also marks which participants are stale.
fn joint_rate(
    start: f64,
    supply: f64,
    (participants, schedules): (&[Participant], &[MarginalValue]),
    planned: &mut [Planned],
    quantiles: &mut QuantileCache,
    (mut lo, mut hi): (f64, f64),
) -> JointRate {
    let mut found = JointRate {
        rate: start,
        residual: f64::INFINITY,
        slope: 0.0,
        error_sum: 0.0,
        all_within: false,
    };
    for _ in 0..100 {
        let rate = found.rate;
        quantiles.clear();
        let (mut sum, mut slope, mut error_sum, mut all_within) = (0.0, 0.0, 0.0, true);
        for (p, st) in participants.iter().zip(planned.iter_mut()) {
            if st.closed_form {
                let (balance, d) = schedules[p.schedule as usize].separated_demand(
                    rate,
                    p.perceived_sd,
                    quantiles,
                );
                (st.balance, st.expected.value, st.inv_slope) = (balance, rate, d);
                sum += balance;
                slope += d;
                continue;
            }
            let (step, d, error) = st.step(rate, STEP_CAP_SDS * p.perceived_sd);
            sum += st.balance + step;
            slope += d;
            error_sum += error;
            st.stale = error > 1e-10 * p.perceived_sd.max(1.0);
            all_within &= !st.stale;
        }
        let residual = supply - sum;
        found.residual = residual;
        found.slope = slope;
        found.error_sum = error_sum;
        found.all_within = all_within;
        if residual > 0.0 {
            hi = rate;
        } else if residual < 0.0 {
            lo = rate;
        } else {
            break;
        }
        let newton = residual / slope;
        if newton.abs() <= 1e-14 * rate.abs().max(1.0) {
            found.rate = rate + newton;
            break;
        }
        let next = rate + newton;
        found.rate = if next > lo && next < hi {
            next
        } else {
            0.5 * (lo + hi)
        };
        if hi - lo <= 1e-15 * found.rate.abs().max(1.0) {
            break;
        }
    }
    found
}

/// A located clearing rate, and whether it sits exactly on a schedule's step value.
struct Located {
    clearing: Clearing,
    at_step_value: bool,
}

/// The root of aggregate net demand on (a, b): step values first, then Brent's method.
fn locate(
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
    a: f64,
    b: f64,
) -> Located {
    let done = |rate_bp: f64, excess_demand: f64, at_step_value: bool| Located {
        clearing: Clearing {
            rate_bp,
            excess_demand,
        },
        at_step_value,
    };
    let (fa, fb) = (
        net_demand(a, participants, schedules, scratch),
        net_demand(b, participants, schedules, scratch),
    );
    if fa <= 0.0 {
        return done(a, fa, false);
    }
    if fb >= 0.0 {
        return done(b, fb, false);
    }
    // Demand jumps where the rate crosses a step value of the schedules (a quota band, a
    // tier): test those values first. If demand changes sign across one, it is the clearing
    // rate exactly; otherwise they bracket a stretch where demand is smooth for Brent.
    let values = &mut std::mem::take(&mut scratch.values);
    values.clear();
    for s in schedules {
        values.extend(s.steps.iter().map(|st| st.1).filter(|&v| v > a && v < b));
    }
    values.sort_by(f64::total_cmp);
    values.dedup();
    let (mut a, mut fa, mut b, mut fb) = (a, fa, b, fb);
    let mut f = |r: f64| net_demand(r, participants, schedules, scratch);
    for &v in values.iter() {
        let above = f(v + INDIFFERENCE_BP);
        if above <= 0.0 {
            let below = f(v - INDIFFERENCE_BP);
            if below >= 0.0 {
                scratch.values = std::mem::take(values);
                return done(v, 0.5 * (above + below), true);
            }
            (b, fb) = (v - INDIFFERENCE_BP, below);
            break;
        }
        (a, fa) = (v + INDIFFERENCE_BP, above);
    }
    let rate = brent(&mut f, a, fa, b, fb);
    let excess = f(rate);
    scratch.values = std::mem::take(values);
    done(rate, excess, false)
}

/// Brent–Dekker root finding on a bracket with f(a) > 0 > f(b).
pub(crate) fn brent(f: &mut impl FnMut(f64) -> f64, a: f64, fa: f64, b: f64, fb: f64) -> f64 {
    let (mut a, mut fa, mut b, mut fb) = (a, fa, b, fb);
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..300 {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5e-12 * b.abs().max(1.0);
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return b;
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qa = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    b
}

/// Aggregate desired net borrowing at `rate`.
fn net_demand(
    rate: f64,
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) -> f64 {
    scratch.quantiles.clear();
    let mut total = 0.0;
    for p in participants {
        total += p.demand(
            rate,
            &schedules[p.schedule as usize],
            &mut scratch.quantiles,
        );
    }
    total
}

/// Each participant's desired net borrowing at the clearing rate, trading as little as its
/// indifference allows (see the module docs). Fills `scratch.desired`.
fn desired_trades(
    rate: f64,
    participants: &[Participant],
    schedules: &[MarginalValue],
    scratch: &mut MarketScratch,
) {
    let MarketScratch {
        desired,
        ranges,
        quantiles,
        planned,
        planned_at,
        ..
    } = scratch;
    desired.clear();
    ranges.clear();
    let mut total = 0.0;
    // After a joint solve each participant's demand near the rate follows from its last
    // iterate, unless the schedule bends too much there (a nearly flat stretch): then, and
    // after the rate search, demand is solved exactly.
    let joint = *planned_at == Some(rate);
    for (r, sign) in [(rate + INDIFFERENCE_BP, 0), (rate - INDIFFERENCE_BP, 1)] {
        quantiles.clear();
        for (i, p) in participants.iter().enumerate() {
            let near = if joint && !planned[i].closed_form {
                let st = &planned[i];
                let (step, _, error) = st.step(r, STEP_CAP_SDS * p.perceived_sd);
                (error <= 1e-10 * p.perceived_sd.max(1.0))
                    .then(|| st.balance + step + p.buffer - p.position.as_f64())
            } else {
                None
            };
            let want =
                near.unwrap_or_else(|| p.demand(r, &schedules[p.schedule as usize], quantiles));
            if sign == 0 {
                ranges.push((want, want));
            } else {
                ranges[i].1 = want;
            }
        }
    }
    for &(low, high) in ranges.iter() {
        let d = 0.0f64.clamp(low, high.max(low));
        desired.push(d);
        total += d;
    }
    // Clear the remainder with the participants who have room, in proportion to it.
    let room: f64 = ranges
        .iter()
        .zip(desired.iter())
        .map(|(&(low, high), &d)| {
            if total > 0.0 {
                d - low
            } else {
                high.max(low) - d
            }
        })
        .sum();
    if total != 0.0 && room > 0.0 {
        let share = (total.abs() / room).min(1.0);
        for (&(low, high), d) in ranges.iter().zip(desired.iter_mut()) {
            if total > 0.0 {
                *d -= share * (*d - low);
            } else {
                *d += share * (high.max(low) - *d);
            }
        }
    }
}

/// Turns desired net borrowing into whole-unit bilateral loans at the clearing rate.
///
/// Lenders and borrowers are each taken in participant order and matched greedily, so the
/// loans are a deterministic function of the desired amounts. The long side is scaled down
/// to the short side (largest remainders), so every unit lent is borrowed.
pub(crate) fn allocate(
    clearing: &Clearing,
    participants: &[Participant],
    schedules: &[MarginalValue],
    loans: &mut Vec<Loan>,
    scratch: &mut MarketScratch,
) {
    if participants.len() < 2 || !clearing.rate_bp.is_finite() {
        return;
    }
    desired_trades(clearing.rate_bp, participants, schedules, scratch);
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
    use proptest::prelude::*;

    fn corridor() -> Vec<MarginalValue> {
        vec![Remuneration::corridor(-75.0).marginal_value(75.0)]
    }

    fn participant(position: i64, sd: f64) -> Participant {
        Participant {
            position: Money(position),
            perceived_sd: sd,
            buffer: 0.0,
            borrowing_cost_per_unit: 0.0,
            schedule: 0,
        }
    }

    fn trade(ps: &[Participant], schedules: &[MarginalValue]) -> (Clearing, Vec<Loan>) {
        let mut scratch = MarketScratch::default();
        let c = clear_call_market(ps, schedules, &mut scratch);
        let mut loans = Vec::new();
        allocate(&c, ps, schedules, &mut loans, &mut scratch);
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

    /// Demand by bisection on the expected marginal value itself (erfc-based, no Newton, no
    /// expansion): slow, and independent of both solvers.
    fn reference_balance(mv: &MarginalValue, rate: f64, sd: f64) -> f64 {
        let (mut lo, mut hi) = (
            mv.steps[0].0 - 60.0 * sd,
            mv.steps[mv.steps.len() - 1].0 + 60.0 * sd,
        );
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if mv.expected(mid, sd) > rate {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// A tiered market built around a known answer: each bank's no-trade balance is its
    /// exact demand at `rate` (by [`reference_balance`]) plus `noise`, and the noise sums to
    /// zero, so the market clears at `rate` and each bank there wants to trade `-noise`.
    struct Known {
        participants: Vec<Participant>,
        schedules: Vec<MarginalValue>,
        noise: Vec<f64>,
        rate: f64,
    }

    /// Per bank: (log10 sd, first threshold in sds, step spacings in sds, step values as
    /// fractions of the remaining range, noise in sds, position, how far the bank's lowest
    /// value lies above the market's lowest).
    type BankSpec = (f64, f64, Vec<f64>, Vec<f64>, f64, i64, f64);

    fn known_market(banks: &[BankSpec], rate_fraction: f64, lowest: f64) -> Known {
        let below = 200.0;
        let mut schedules = Vec::new();
        let mut sds = Vec::new();
        let mut highest_lowest = f64::NEG_INFINITY;
        for (log_sd, first, spacings, fractions, _, _, offset) in banks {
            let sd = 10f64.powf(*log_sd);
            let lowest = lowest + offset;
            highest_lowest = highest_lowest.max(lowest);
            let mut steps = Vec::new();
            let (mut k, mut prev) = (first * sd, below);
            for (j, f) in fractions.iter().enumerate() {
                // Values fall from `below` to `lowest`, the last step lands on `lowest`.
                let v = if j + 1 == fractions.len() {
                    lowest
                } else {
                    prev - f * (prev - lowest)
                };
                steps.push((k, v));
                prev = v;
                k += spacings[j] * sd;
            }
            schedules.push(MarginalValue { below, steps });
            sds.push(sd);
        }
        // Demand is unbounded below a bank's lowest value, so the market clears above all.
        let rate = highest_lowest + 0.5 + rate_fraction * (below - highest_lowest - 1.0);
        let raw: Vec<f64> = banks.iter().zip(&sds).map(|(b, sd)| b.4 * sd).collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        let noise: Vec<f64> = raw.iter().map(|w| w - mean).collect();
        let participants = banks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let planned = reference_balance(&schedules[i], rate, sds[i]);
                // position - buffer = planned + noise.
                Participant {
                    position: Money(b.5),
                    perceived_sd: sds[i],
                    buffer: b.5 as f64 - planned - noise[i],
                    borrowing_cost_per_unit: 0.0,
                    schedule: i as u32,
                }
            })
            .collect();
        Known {
            participants,
            schedules,
            noise,
            rate,
        }
    }

    fn bank_spec(max_spacing_sds: f64) -> impl Strategy<Value = BankSpec> {
        (1usize..=4).prop_flat_map(move |k| {
            (
                1.0f64..5.0,
                -3.0f64..3.0,
                proptest::collection::vec(0.05f64..max_spacing_sds, k),
                proptest::collection::vec(0.05f64..0.95, k),
                -3.0f64..3.0,
                -1_000_000i64..1_000_000,
                prop_oneof![Just(0.0), 0.0f64..30.0],
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Schedules with steps up to 4 sds apart have no flat stretch, so the joint solve
        /// must take every such market, find the known rate to 1e-9 (relative), and hand
        /// each bank the trade it wants there; the rate search must agree to the 1e-6 bp the
        /// analytic tests demand of it.
        #[test]
        fn joint_solve_finds_the_known_rate_of_random_tiered_markets(
            banks in proptest::collection::vec(bank_spec(4.0), 2..30),
            rate_fraction in 0.0f64..1.0,
            lowest in -100.0f64..100.0,
        ) {
            let m = known_market(&banks, rate_fraction, lowest);
            let mut scratch = MarketScratch::default();
            let joint = clear_jointly(&m.participants, &m.schedules, &mut scratch);
            // Schedules of a single step each are separated: those are the search's.
            let tiered = m.schedules.iter().any(|s| s.steps.len() > 1);
            prop_assert_eq!(joint.is_some(), tiered);
            let Some(joint) = joint else { return Ok(()) };
            prop_assert!(
                (joint.rate_bp - m.rate).abs() <= 1e-9 * m.rate.abs().max(1.0),
                "joint {} vs known {}", joint.rate_bp, m.rate
            );
            desired_trades(joint.rate_bp, &m.participants, &m.schedules, &mut scratch);
            for (i, (&d, p)) in scratch.desired.iter().zip(&m.participants).enumerate() {
                prop_assert!(
                    (d + m.noise[i]).abs() <= 1e-6 * p.perceived_sd,
                    "bank {i}: trades {d}, wants {}", -m.noise[i]
                );
            }
            let total: f64 = scratch.desired.iter().sum();
            let scale: f64 = m.participants.iter().map(|p| p.perceived_sd).sum();
            prop_assert!(total.abs() <= 1e-6 * scale, "net trades {total}");

            let lo = m.schedules.iter().map(|s| s.lowest()).fold(f64::INFINITY, f64::min);
            let hi = m.schedules.iter().map(|s| s.highest()).fold(f64::NEG_INFINITY, f64::max);
            let search = clear_by_search(&m.participants, &m.schedules, &mut scratch, lo, hi);
            prop_assert!(
                (search.rate_bp - joint.rate_bp).abs() <= 1e-6,
                "search {} vs joint {}", search.rate_bp, joint.rate_bp
            );
        }

        /// With steps up to 11 sds apart a bank's schedule has flat stretches and the rate
        /// may fall where demand is nearly flat: the joint solve may decline, but whatever
        /// clears the market (joint or search) finds the known rate to 1e-6 bp, and every
        /// bank whose demand is well defined there gets what it wants.
        #[test]
        fn any_tiered_market_clears_at_its_known_rate(
            banks in proptest::collection::vec(bank_spec(11.0), 2..30),
            rate_fraction in 0.0f64..1.0,
            lowest in -100.0f64..100.0,
        ) {
            let m = known_market(&banks, rate_fraction, lowest);
            let mut scratch = MarketScratch::default();
            let clearing = clear_call_market(&m.participants, &m.schedules, &mut scratch);
            prop_assert!(
                (clearing.rate_bp - m.rate).abs() <= 1e-6,
                "cleared at {} vs known {}", clearing.rate_bp, m.rate
            );
            desired_trades(clearing.rate_bp, &m.participants, &m.schedules, &mut scratch);
            for (i, (&d, p)) in scratch.desired.iter().zip(&m.participants).enumerate() {
                let s = &m.schedules[i];
                let sd = p.perceived_sd;
                let width = reference_balance(s, m.rate - 1e-5, sd)
                    - reference_balance(s, m.rate + 1e-5, sd);
                if width <= 1e-6 * sd {
                    prop_assert!(
                        (d + m.noise[i]).abs() <= 1e-5 * sd,
                        "bank {i}: trades {d}, wants {}", -m.noise[i]
                    );
                }
            }
        }
    }

    #[test]
    fn a_market_inside_a_quota_band_clears_at_the_policy_rate_exactly() {
        // Identical banks, quotas 30 sds wide, supply in the middle of the band: every bank
        // is indifferent across it, the rate is the band's value, and nobody trades beyond
        // what its own position needs (here: nothing, each sits inside its band).
        let sd = 100.0;
        let schedules = vec![MarginalValue {
            below: 200.0,
            steps: vec![(0.0, 100.0), (3_000.0, 0.0)],
        }];
        let ps: Vec<Participant> = [1_400, 1_600, 1_500]
            .iter()
            .map(|&pos| Participant {
                position: Money(pos),
                perceived_sd: sd,
                buffer: 0.0,
                borrowing_cost_per_unit: 0.0,
                schedule: 0,
            })
            .collect();
        let (c, loans) = trade(&ps, &schedules);
        assert_eq!(c.rate_bp, 100.0);
        assert!(loans.is_empty(), "{loans:?}");
    }
}
