//! Interbank market mechanisms behind one interface.
//!
//! A mechanism sees each bank's position and beliefs (a [`Participant`]) and returns
//! overnight loans. It never sees the answer: the rate and the volume emerge from banks'
//! demand schedules. The call market and the over-the-counter market live here; an order
//! book would be a further variant of [`Market`].

mod call;
mod otc;

pub use call::{Clearing, clear_call_market};
pub use otc::{Network, OtcMarket, mean_expected};

use rand::Rng;

use crate::money::Money;
use crate::remuneration::MarginalValue;

/// What a bank brings to the market: its position and what it believes about the rest of
/// the day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Participant {
    /// Expected end-of-day balance without trading: reserves now, minus queued outgoing,
    /// plus queued incoming payments.
    pub position: Money,
    /// The standard deviation the bank believes its late shock has.
    pub perceived_sd: f64,
    /// Extra balance the bank holds as a precaution.
    pub buffer: f64,
    /// Marginal balance-sheet cost of borrowing, in annual bp per unit borrowed: borrowing q
    /// costs `borrowing_cost_per_unit × q` at the margin. The participant borrows while its
    /// reserves are worth more than rate + that cost, lends while they are worth less than
    /// the rate, and stays put in between.
    pub borrowing_cost_per_unit: f64,
    /// Index of the participant's marginal-value schedule in the slice passed with them.
    pub schedule: u32,
}

impl Participant {
    /// Desired net borrowing at `rate`.
    #[inline]
    pub fn demand(
        &self,
        rate: f64,
        schedule: &MarginalValue,
        cache: &mut crate::remuneration::QuantileCache,
    ) -> f64 {
        let position = self.position.as_f64();
        let mut at = |r: f64| {
            schedule.planned_balance_cached(r, self.perceived_sd, cache) + self.buffer - position
        };
        let lend_or_stay = at(rate);
        let k = self.borrowing_cost_per_unit;
        if k <= 0.0 || lend_or_stay <= 0.0 {
            return lend_or_stay;
        }
        // Borrow q where planned(rate + k q) - position = q: the left side falls in q and
        // the right rises, so h(q) = planned(rate + k q) - position - q has one root, with
        // h(0) > 0 and h < 0 where the cost exceeds the highest value.
        let hi = ((schedule.highest() - rate) / k).max(0.0);
        let mut h = |q: f64| at(rate + k * q) - q;
        let (h_lo, h_hi) = (h(0.0), h(hi));
        if h_hi >= 0.0 {
            return hi;
        }
        call::brent(&mut h, 0.0, h_lo, hi, h_hi)
    }
}

/// An overnight interbank loan agreed today, repaid with interest next business day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loan {
    pub lender: u32,
    pub borrower: u32,
    pub amount: Money,
    pub rate_bp: f64,
    /// The trading round it was agreed in: 1..=rounds in the OTC market, 0 in the call
    /// market (which has a single auction).
    pub round: u32,
}

/// The market mechanism a scenario chose. An enum rather than a trait object: the set is
/// closed, and static dispatch keeps the day loop free of virtual calls.
///
/// A market may keep state from day to day (OTC relationships), so `trade` takes `&mut self`;
/// the call market keeps none and draws no random numbers.
#[derive(Clone, Debug)]
pub enum Market {
    Call,
    Otc(Box<OtcMarket>),
}

impl Market {
    /// Runs today's session; appends the loans made to `loans`. `in_session` holds late
    /// payments that arrive between OTC rounds (one transfer per bank for each gap, round by
    /// round; empty when none). Every random draw comes from `rng`, in a fixed order.
    pub fn trade<R: Rng + ?Sized>(
        &mut self,
        participants: &[Participant],
        schedules: &[MarginalValue],
        in_session: &[Money],
        loans: &mut Vec<Loan>,
        scratch: &mut MarketScratch,
        rng: &mut R,
    ) {
        match self {
            Market::Call => {
                let clearing = clear_call_market(participants, schedules, scratch);
                call::allocate(&clearing, participants, schedules, loans, scratch);
            }
            Market::Otc(otc) => otc.trade(participants, schedules, in_session, loans, scratch, rng),
        }
    }
}

/// Reusable buffers so that a day allocates nothing once warmed up.
#[derive(Clone, Debug, Default)]
pub struct MarketScratch {
    pub(crate) desired: Vec<f64>,
    pub(crate) ranges: Vec<(f64, f64)>,
    pub(crate) values: Vec<f64>,
    pub(crate) quantiles: crate::remuneration::QuantileCache,
    /// The joint solve's last iterate per participant, and the rate it cleared at (`None`
    /// when the rate came from the search, or before any clearing).
    pub(crate) planned: Vec<call::Planned>,
    pub(crate) planned_at: Option<f64>,
    pub(crate) lend: Vec<(u32, f64)>,
    pub(crate) borrow: Vec<(u32, f64)>,
    pub(crate) weights: Vec<f64>,
    pub(crate) split: Vec<Money>,
}
