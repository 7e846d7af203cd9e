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
use crate::remuneration::{ExpectedValue, MarginalValue};

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

/// Iterations of the joint solve before it hands over to the rate search. From the
/// moment-matched start it needs 3 to 5 on the benchmark's tiered markets.
const JOINT_ITERATIONS: usize = 16;

/// Largest move of a planned balance in one joint iteration, in shock sds: a tangent taken
/// where the expected value is nearly flat points far beyond the answer.
const STEP_CAP_SDS: f64 = 2.0;

/// Beyond this |curvature term / linear term| the second-order inverse is no better than the
/// tangent (it would even turn back), so the step is a capped tangent step.
const SECOND_ORDER_LIMIT: f64 = 0.1;

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
        }
    }

    /// The move to demand at `rate` by the second-order inverse, its derivative in the rate,
    /// and an estimate of its error (twice the next term of the series). Far from this
    /// iterate, where the expansion fails, a tangent step capped at `cap`, with an infinite
    /// error.
    #[inline]
    fn step(&self, rate: f64, cap: f64) -> (f64, f64, f64) {
        let u = (rate - self.expected.value) * self.inv_slope;
        let bend = self.bend * u;
        if bend.abs() <= SECOND_ORDER_LIMIT {
            let error = 2.0 * (self.cubic * u * u * u).abs();
            (u - bend * u, (1.0 - 2.0 * bend) * self.inv_slope, error)
        } else if u.abs() < cap {
            (u, self.inv_slope, f64::INFINITY)
        } else {
            (cap.copysign(u), 0.0, f64::INFINITY)
        }
    }
}

/// Clears a market of smooth demands (every participant uncertain about its balance and
/// without a borrowing cost) by solving for the rate and all planned balances at once:
/// each iteration evaluates every schedule once, at the participant's current balance, and
/// moves the rate and every balance along their second-order expansions so that the
/// balances add up to the supply (Chebyshev's method, third order, on the joint system). A
/// rate search would need an exact per-bank solve at every rate it tries, which is where
/// tiered schemes spent their time.
///
/// Accuracy: each balance is exactly demand at its own expected value, so while the
/// balances add up to the supply the clearing rate lies between the lowest and the highest
/// of those values (demand falls with the rate), and that bracket shrinks with every
/// iteration. The solve stops when the expansions' estimated error is below 1e-10 of a
/// shock sd for every balance (the exact per-bank solve stops at 1e-9) and below the rate
/// search's tolerance for the rate. Returns `None`, leaving the answer to the rate search,
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
    // centres, chosen so that the balances add up to the supply.
    let planned = &mut scratch.planned;
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
        // The spread waits in `bend` until z is known.
        planned.push(Planned {
            balance: centre,
            bend: spread,
            ..Planned::default()
        });
    }
    let z = (sum_centre - supply) / sum_spread;
    for st in planned.iter_mut() {
        st.balance -= st.bend * z;
    }

    for _ in 0..JOINT_ITERATIONS {
        let (mut lowest_value, mut highest_value) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut weight, mut weighted, mut total) = (0.0, 0.0, 0.0);
        for (p, st) in participants.iter().zip(planned.iter_mut()) {
            let e = schedules[p.schedule as usize].expected_with_slope(st.balance, p.perceived_sd);
            // A slope of zero is a balance where the schedule is flat to double precision.
            if e.slope.is_nan() || e.slope >= 0.0 {
                return None;
            }
            *st = Planned::new(st.balance, e);
            lowest_value = lowest_value.min(e.value);
            highest_value = highest_value.max(e.value);
            weight += st.inv_slope;
            weighted += e.value * st.inv_slope;
            total += st.balance;
        }
        let shortfall = supply - total;
        // The tangents' rate, Σ (rate - v_i) / slope_i = shortfall, then the rate at which
        // the participants' steps add up to the shortfall.
        let tangent = ((shortfall + weighted) / weight).clamp(lowest_value, highest_value);
        let rate = joint_rate(
            tangent,
            shortfall,
            participants,
            planned,
            lowest_value,
            highest_value,
        );
        if !(rate > lo && rate < hi) {
            return None;
        }
        // Settled when every balance's estimated error is below 1e-10 sd and the rate's
        // (those errors over the aggregate slope) below the rate search's tolerance.
        let mut settled = true;
        let mut balance_error = 0.0;
        for (p, st) in participants.iter().zip(planned.iter()) {
            let (_, _, error) = st.step(rate, STEP_CAP_SDS * p.perceived_sd);
            settled &= error <= 1e-10 * p.perceived_sd.max(1.0);
            balance_error += error;
        }
        if settled && balance_error <= 1e-13 * rate.abs().max(1.0) * weight.abs() {
            scratch.planned_at = Some(rate);
            let excess: f64 = planned.iter().map(|st| st.balance).sum::<f64>() - supply
                + participants
                    .iter()
                    .zip(planned.iter())
                    .map(|(p, st)| st.step(rate, STEP_CAP_SDS * p.perceived_sd).0)
                    .sum::<f64>();
            return Some(Clearing {
                rate_bp: rate,
                excess_demand: excess,
            });
        }
        for (p, st) in participants.iter().zip(planned.iter_mut()) {
            st.balance += st.step(rate, STEP_CAP_SDS * p.perceived_sd).0;
        }
    }
    None
}

/// The rate at which the participants' steps ([`Planned::step`]) add up to `shortfall`:
/// safeguarded Newton on that falling sum within the bracket, from the tangents' rate. The
/// sum is smooth once every participant is near its answer (then two or three steps reach
/// the rate to 1e-14 relative); earlier, capped tangent steps make it piecewise, and a
/// rough rate is all the next iteration needs.
fn joint_rate(
    tangent: f64,
    shortfall: f64,
    participants: &[Participant],
    planned: &[Planned],
    mut lo: f64,
    mut hi: f64,
) -> f64 {
    let mut rate = tangent;
    for _ in 0..12 {
        let (mut sum, mut slope) = (0.0, 0.0);
        for (p, st) in participants.iter().zip(planned) {
            let (step, d, _) = st.step(rate, STEP_CAP_SDS * p.perceived_sd);
            sum += step;
            slope += d;
        }
        let residual = shortfall - sum;
        if residual > 0.0 {
            hi = rate;
        } else if residual < 0.0 {
            lo = rate;
        } else {
            return rate;
        }
        let newton = residual / slope;
        let next = rate + newton;
        if newton.abs() <= 1e-14 * rate.abs().max(1.0) {
            return next;
        }
        rate = if next > lo && next < hi {
            next
        } else {
            0.5 * (lo + hi)
        };
    }
    rate
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
            let near = if joint {
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
}
