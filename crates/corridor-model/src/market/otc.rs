//! The over-the-counter market: bilateral search and Nash bargaining over a session of
//! rounds, in the style of Afonso and Lagos (2015, "Trade dynamics in the market for federal
//! funds"), on a network of credit lines.
//!
//! Each round, every bank away from its target (a zero end-of-day balance plus its
//! precautionary buffer) calls counterparties: `contact_rate` of them in expectation,
//! chosen uniformly among its network neighbours or, with relationship matching, first among
//! past partners in proportion to relationship strength. Two banks that meet value a marginal
//! unit of reserves at their reservation values: the expected marginal value of ending the
//! day at their current position, from the same [`MarginalValue`] schedule the call market
//! uses (so a remuneration framework changes OTC rates only through behaviour). The bank
//! that values reserves more borrows
//!
//! * the amount that equalises the two marginal values (when both are flat over the range,
//!   e.g. deposit rate = lending rate, the banks square their positions instead), capped by
//!   the lender's unused credit line to the borrower;
//! * at the Nash-bargaining rate between the two banks' continuation values
//!   `ρ = π r̂ + (1 - π) C`: `C_L` is the lender's mean marginal value over the reserves it
//!   gives up, `C_B` the borrower's over those it gains (exact integrals of the schedule);
//!   `π_i = foresight × (1 - exp(-m_i (K - k)))` is the chance that bank i meets someone
//!   again in the K - k rounds left, with `m_i = c (1 + reach_i)` its expected meetings per
//!   round: the c calls it makes plus the calls it receives, `reach_i = Σ_j 1/degree_j` over
//!   its neighbours j (1 in a complete network; large for a core bank that many small banks
//!   call, small for a periphery bank). `r̂` is the value banks anticipate for reserves
//!   traded later: the rate at which the session's aggregate position would clear without
//!   frictions, which every bank can work out from public information (aggregate reserves,
//!   the facility rates). The rate is
//!   `r = ρ_L + θ (ρ_B - ρ_L)`, θ the lender's bargaining power: the lender gains θ of the
//!   surplus, the borrower 1 - θ. In the last round π = 0: outside options are the
//!   standing facilities alone.
//!
//! Without foresight (`foresight = 0`) early trades between a deep-deficit and a
//! large-surplus bank price between their own values however many other banks each could
//! call, and the session never approaches the frictionless market; with it, more contacts
//! move continuation values toward `r̂`, as in Afonso and Lagos's frictionless limit. The
//! rate is still only the trades' own: the volume-weighted mean and its dispersion come
//! from bilateral bargains at positions the search process produced. What is left
//! unmatched goes to the standing facilities at the close.
//!
//! Cost: O(banks × contact_rate) per round (plus O(partners) per relationship draw, and
//! O(the lender's loans today) for the rare trade whose lender's total lending today could
//! break the line); no N × N matrix is ever built. Memory layout matters as much as the
//! operation count once the banks outgrow the caches (calls land on random banks): the
//! network is flat arrays, and a bank's session state is one cache line.

use std::sync::Arc;

use rand::{Rng, RngExt};

use super::{Loan, MarketScratch, Participant, clear_call_market};
use crate::money::Money;
use crate::normal::{cdf, pdf};
use crate::params::{Matching, NetworkKind, NetworkParams, OtcParams};
use crate::remuneration::MarginalValue;

/// Relationship strengths below this are forgotten (keeps partner lists short).
const RELATIONSHIP_FLOOR: f64 = 1e-3;
/// Largest credit line, in minor units: far below `i64::MAX` so sums cannot overflow.
const MAX_LINE: f64 = 1e18;

/// Who may call whom and who lends how much to whom. Built once per batch (it is part of the
/// banking system, like bank sizes) and shared by every run.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    complete: bool,
    /// Every bank's line as a borrower from any lender it is linked to, unless `link_lines`
    /// says otherwise (credit limit multiple × size).
    line_to: Vec<Money>,
    /// Sparse networks, in compressed-row form: bank i's counterparties (either direction
    /// of a line) are `counterparties[first_link[i]..first_link[i + 1]]`, sorted. Flat
    /// arrays rather than a list per bank because a call lands on a random bank: one read
    /// instead of a list header and the list, which is what made 10 000 banks cache-bound.
    first_link: Vec<u32>,
    counterparties: Vec<u32>,
    /// Aligned with `counterparties`: (the bank's line to the counterparty, the
    /// counterparty's line to it). Empty when every link carries the borrower's `line_to`
    /// both ways (generated networks), which keeps the array a call reads four bytes a link.
    link_lines: Vec<(Money, Money)>,
    /// Per bank: expected meetings per call each bank makes, 1 for its own call (if it has
    /// anyone to call) plus `Σ_j 1/degree_j` over its neighbours j, the calls it receives.
    meetings_per_call: Vec<f64>,
}

impl Network {
    /// Builds the network the parameters describe for banks of the given sizes (largest
    /// first). Only a core-periphery network draws random numbers.
    pub fn build<R: Rng + ?Sized>(params: &NetworkParams, sizes: &[f64], rng: &mut R) -> Network {
        let n = sizes.len();
        let line = |b: usize| {
            Money::from_f64_rounded((params.credit_limit_multiple * sizes[b]).min(MAX_LINE))
        };
        let mut net = Network {
            complete: false,
            line_to: (0..n).map(line).collect(),
            first_link: vec![0],
            counterparties: Vec::new(),
            link_lines: Vec::new(),
            meetings_per_call: vec![if n > 1 { 2.0 } else { 0.0 }; n],
        };
        // Each lender's lines, (borrower, limit); turned into contacts below.
        let mut lines: Vec<Vec<(u32, Money)>> = vec![Vec::new(); n];
        match &params.kind {
            NetworkKind::Complete => {
                net.complete = true;
                return net;
            }
            NetworkKind::CorePeriphery {
                core_size,
                core_density,
                core_periphery_density,
                periphery_density,
            } => {
                let c = (*core_size as usize).min(n);
                let mut link = |i: usize, j: usize| {
                    lines[i].push((j as u32, line(j)));
                    lines[j].push((i as u32, line(i)));
                };
                // Core block and periphery block: pairs i < j within each, row by row.
                for (start, end, p) in [(0, c, *core_density), (c, n, *periphery_density)] {
                    let m = (end - start) as u64;
                    let (mut row, mut row_first) = (0u64, 0u64);
                    bernoulli_indices(rng, p, m * m.saturating_sub(1) / 2, |idx| {
                        while idx >= row_first + (m - 1 - row) {
                            row_first += m - 1 - row;
                            row += 1;
                        }
                        let j = row + 1 + (idx - row_first);
                        link(start + row as usize, start + j as usize);
                    });
                }
                let periphery = (n - c) as u64;
                bernoulli_indices(rng, *core_periphery_density, c as u64 * periphery, |idx| {
                    link((idx / periphery) as usize, c + (idx % periphery) as usize);
                });
            }
            NetworkKind::EdgeList(edges) => {
                for e in edges {
                    let (l, b) = (e.lender as usize, e.borrower as usize);
                    if l < n && b < n && l != b {
                        lines[l].push((e.borrower, e.limit.unwrap_or_else(|| line(b))));
                    }
                }
            }
        }
        let mut contacts: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (l, lines) in lines.iter_mut().enumerate() {
            // A repeated edge keeps its first limit.
            lines.sort_by_key(|x| x.0);
            lines.dedup_by_key(|x| x.0);
            for &(b, _) in lines.iter() {
                contacts[l].push(b);
                contacts[b as usize].push(l as u32);
            }
        }
        for c in &mut contacts {
            c.sort_unstable();
            c.dedup();
        }
        let find = |lines: &[(u32, Money)], b: u32| {
            lines
                .binary_search_by_key(&b, |x| x.0)
                .map_or(Money::ZERO, |k| lines[k].1)
        };
        net.first_link.reserve(n);
        for (i, list) in contacts.iter().enumerate() {
            net.counterparties.extend_from_slice(list);
            net.link_lines.extend(
                list.iter()
                    .map(|&j| (find(&lines[i], j), find(&lines[j as usize], i as u32))),
            );
            let end = u32::try_from(net.counterparties.len())
                .expect("a network has fewer than 2^32 links (that would need 100 GB)");
            net.first_link.push(end);
            let reach: f64 = list
                .iter()
                .map(|&j| 1.0 / contacts[j as usize].len() as f64)
                .sum();
            let own = if list.is_empty() || n < 2 { 0.0 } else { 1.0 };
            net.meetings_per_call[i] = own + reach;
        }
        let default_lines = contacts.iter().enumerate().all(|(i, list)| {
            let first = net.first_link[i] as usize;
            list.iter()
                .zip(&net.link_lines[first..])
                .all(|(&j, &lines)| lines == (net.line_to[j as usize], net.line_to[i]))
        });
        if default_lines {
            net.link_lines = Vec::new();
        }
        net
    }

    /// Range of bank `bank`'s links in `counterparties` (a sparse network).
    fn link_range(&self, bank: u32) -> std::ops::Range<usize> {
        let i = bank as usize;
        self.first_link[i] as usize..self.first_link[i + 1] as usize
    }

    /// The lines (the bank's to the counterparty, the counterparty's to the bank) of link
    /// `k` between `bank` and `counterparty`.
    fn link_lines(&self, k: usize, bank: u32, counterparty: u32) -> (Money, Money) {
        match self.link_lines.get(k) {
            Some(&lines) => lines,
            None => (
                self.line_to[counterparty as usize],
                self.line_to[bank as usize],
            ),
        }
    }

    /// The lender's credit line to the borrower (zero without one).
    pub fn credit_line(&self, lender: u32, borrower: u32) -> Money {
        if lender == borrower {
            return Money::ZERO;
        }
        if self.complete {
            return self.line_to[borrower as usize];
        }
        let range = self.link_range(lender);
        match self.counterparties[range.clone()].binary_search(&borrower) {
            Ok(k) => self.link_lines(range.start + k, lender, borrower).0,
            Err(_) => Money::ZERO,
        }
    }

    /// The banks `bank` may call, in increasing order, for a sparse network (`None`:
    /// everyone).
    pub fn contacts(&self, bank: u32) -> Option<impl ExactSizeIterator<Item = u32> + '_> {
        (!self.complete).then(|| self.counterparties[self.link_range(bank)].iter().copied())
    }

    /// Expected meetings of `bank` per call each bank makes: 1 for its own call (if it has
    /// anyone to call) plus the calls it receives.
    pub fn meetings_per_call(&self, bank: u32) -> f64 {
        self.meetings_per_call[bank as usize]
    }

    /// Number of banks.
    pub fn len(&self) -> usize {
        self.line_to.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Calls `f` with the indices in `0..count` that pass independent Bernoulli(p) draws, in
/// increasing order, drawing one geometric gap per success: O(successes), not O(count).
fn bernoulli_indices<R: Rng + ?Sized>(rng: &mut R, p: f64, count: u64, mut f: impl FnMut(u64)) {
    if p <= 0.0 || count == 0 {
        return;
    }
    if p >= 1.0 {
        (0..count).for_each(f);
        return;
    }
    let log_q = (1.0 - p).ln();
    // `next` is the first index not yet decided.
    let mut next: u64 = 0;
    loop {
        let u: f64 = rng.random();
        // P(gap = k) = (1-p)^k p: the number of failures before the next success.
        let gap = ((1.0 - u).ln() / log_q).floor();
        if !gap.is_finite() || gap >= (count - next) as f64 {
            return;
        }
        let idx = next + gap as u64;
        f(idx);
        next = idx + 1;
        if next >= count {
            return;
        }
    }
}

/// One run's OTC market: parameters, the shared network, relationships (which persist from
/// day to day) and reusable buffers.
#[derive(Clone, Debug)]
pub struct OtcMarket {
    rounds: u32,
    contact_rate: f64,
    bargaining_power: f64,
    foresight: f64,
    late_payment_share: f64,
    matching: Matching,
    learning_rate: f64,
    network: Arc<Network>,
    /// Per bank: past partners and relationship strength in (0, 1], in first-trade order.
    relationships: Vec<Vec<(u32, f64)>>,
    /// Per bank, this session: everything a meeting reads or writes, in one cache line,
    /// because callers and counterparties come in random order.
    state: Vec<BankState>,
    callers: Vec<u32>,
    /// Per loan of this session (indexed from the session's first): the same lender's
    /// previous loan of the session, or [`NO_LOAN`]. A lender's use of its line to one
    /// borrower is summed along this chain, and only when its total lending today could
    /// break that line; a list per lender would cost a random read and a scan per trade.
    previous_loan: Vec<u32>,
    traded_pairs: Vec<(u32, u32)>,
}

/// End of a lender's chain of loans.
const NO_LOAN: u32 = u32::MAX;

/// A bank during a session: 64 bytes, aligned to a cache line, so that touching a bank in a
/// meeting costs one line.
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct BankState {
    /// Its position now: at the open, plus loans and in-session payments since.
    position: i64,
    /// The standard deviation it believes the whole day's late shock has.
    sd: f64,
    /// Its precautionary buffer.
    buffer: f64,
    /// G(z) at `position` under this round's sd (NaN: not computed yet).
    g: f64,
    /// π, the chance of meeting again, this round (NaN: not computed yet).
    again: f64,
    /// Everything it lent this session: its use of any one line is at most this.
    lent: i64,
    /// Index of its marginal-value schedule.
    schedule: u32,
    /// Its latest loan as lender this session (index from the session's first), or
    /// [`NO_LOAN`].
    last_loan: u32,
    /// Its links in a sparse network: `Network::links[first_link..first_link + link_count]`.
    first_link: u32,
    link_count: u32,
}

// A field added to the session state must not push it past one cache line.
const _: () = assert!(std::mem::size_of::<BankState>() == 64);

impl OtcMarket {
    pub fn new(params: &OtcParams, network: Arc<Network>) -> OtcMarket {
        let n = network.len();
        OtcMarket {
            rounds: params.rounds,
            contact_rate: params.contact_rate,
            bargaining_power: params.bargaining_power,
            foresight: params.foresight,
            late_payment_share: params.late_payment_share,
            matching: params.matching,
            learning_rate: params.network.relationship_learning_rate,
            network,
            relationships: vec![Vec::new(); n],
            state: Vec::with_capacity(n),
            callers: Vec::with_capacity(n),
            previous_loan: Vec::new(),
            traded_pairs: Vec::new(),
        }
    }

    /// Relationship strengths of `bank` with its past partners.
    pub fn relationships(&self, bank: u32) -> &[(u32, f64)] {
        &self.relationships[bank as usize]
    }

    /// Runs one session; appends the loans (with their round, from 1) to `loans`.
    pub fn trade<R: Rng + ?Sized>(
        &mut self,
        participants: &[Participant],
        schedules: &[MarginalValue],
        in_session: &[Money],
        loans: &mut Vec<Loan>,
        scratch: &mut MarketScratch,
        rng: &mut R,
    ) {
        let n = participants.len();
        debug_assert_eq!(
            n,
            self.network.len(),
            "network built for another population"
        );
        let network = &self.network;
        self.state.clear();
        self.state
            .extend(participants.iter().enumerate().map(|(i, p)| {
                let (first_link, link_count) = if network.complete {
                    (0, 0)
                } else {
                    (
                        network.first_link[i],
                        network.first_link[i + 1] - network.first_link[i],
                    )
                };
                BankState {
                    position: p.position.0,
                    sd: p.perceived_sd,
                    buffer: p.buffer,
                    g: f64::NAN,
                    again: f64::NAN,
                    lent: 0,
                    schedule: p.schedule,
                    last_loan: NO_LOAN,
                    first_link,
                    link_count,
                }
            }));
        self.previous_loan.clear();
        self.traded_pairs.clear();
        if n < 2 {
            return;
        }
        // Trades are transfers, so the aggregate position (and with it the anticipated
        // value) is the same all session.
        let anticipated = if self.foresight > 0.0 {
            clear_call_market(participants, schedules, scratch).rate_bp
        } else {
            f64::NAN
        };
        let session_start = loans.len();
        let whole = self.contact_rate.floor() as u32;
        let fraction = self.contact_rate - whole as f64;
        let interleaved = !in_session.is_empty() && self.rounds >= 2;
        for round in 1..=self.rounds {
            let calls_left = self.contact_rate * (self.rounds - round) as f64;
            // Late payments still to come: those between the rounds left, and the close.
            let sd_scale = if interleaved {
                let share = self.late_payment_share;
                let gaps_left = (self.rounds - round) as f64 / (self.rounds - 1) as f64;
                (1.0 - share + share * gaps_left).sqrt()
            } else {
                1.0
            };
            let foresight = if anticipated.is_finite() {
                self.foresight
            } else {
                0.0
            };
            let terms = Terms {
                round,
                sd_scale,
                foresight,
                calls_left,
                anticipated,
                // Every bank of a complete network expects the same meetings per call.
                again_everyone: if self.network.complete {
                    again(foresight, calls_left, self.network.meetings_per_call(0))
                } else {
                    f64::NAN
                },
            };
            // Callers: banks away from their target, in a fresh random order each round.
            self.callers.clear();
            for (i, b) in self.state.iter_mut().enumerate() {
                b.again = f64::NAN;
                if interleaved {
                    // Positions and uncertainty changed since the last round.
                    b.g = f64::NAN;
                }
                let target = target(&schedules[b.schedule as usize], b.buffer);
                if (b.position as f64 - target).abs() >= 1.0 {
                    self.callers.push(i as u32);
                }
            }
            for k in (1..self.callers.len()).rev() {
                let j = rng.random_range(0..=k);
                self.callers.swap(k, j);
            }
            for c in 0..self.callers.len() {
                let caller = self.callers[c];
                let calls = whole + u32::from(fraction > 0.0 && rng.random::<f64>() < fraction);
                for _ in 0..calls {
                    let Some(pick) = self.pick_counterparty(caller, rng) else {
                        break;
                    };
                    self.meet(caller, pick, terms, schedules, loans, session_start);
                }
            }
            // Payments that arrive before the next round.
            if interleaved && round < self.rounds {
                let installment = &in_session[(round as usize - 1) * n..round as usize * n];
                for (b, flow) in self.state.iter_mut().zip(installment) {
                    b.position += flow.0;
                }
            }
        }
        self.update_relationships();
    }

    /// The bank `caller` calls, with the credit lines (caller to it, it to caller) when they
    /// come for free with the pick.
    fn pick_counterparty<R: Rng + ?Sized>(&self, caller: u32, rng: &mut R) -> Option<Pick> {
        if self.matching == Matching::Relationship {
            let partners = &self.relationships[caller as usize];
            let total: f64 = partners.iter().map(|x| x.1).sum();
            if total > 0.0 {
                // A random neighbour has weight 1 against the partners' total strength.
                let mut u = rng.random::<f64>() * (1.0 + total);
                for &(partner, w) in partners {
                    if u < w {
                        return Some((partner, Lines::Search));
                    }
                    u -= w;
                }
            }
        }
        if self.network.complete {
            let n = self.state.len() as u32;
            let j = rng.random_range(0..n - 1);
            return Some((if j >= caller { j + 1 } else { j }, Lines::BorrowersLine));
        }
        let b = &self.state[caller as usize];
        if b.link_count == 0 {
            return None;
        }
        // Same draw as `random_range(0..links.len())` on the caller's list of links.
        let k = rng.random_range(0..b.link_count as usize);
        let k = b.first_link as usize + k;
        let counterparty = self.network.counterparties[k];
        let lines = match self.network.link_lines.get(k) {
            Some(&(out, back)) => Lines::Known(out, back),
            None => Lines::BorrowersLine,
        };
        Some((counterparty, lines))
    }

    /// Two banks meet: they trade if one values reserves more than the other and the
    /// lender has an unused line to the borrower. `loans[session_start..]` are this
    /// session's.
    fn meet(
        &mut self,
        a: u32,
        (b, lines): Pick,
        terms: Terms,
        schedules: &[MarginalValue],
        loans: &mut Vec<Loan>,
        session_start: usize,
    ) {
        let side = |i: u32| {
            let b = &self.state[i as usize];
            Side {
                position: b.position as f64,
                sd: b.sd * terms.sd_scale,
                buffer: b.buffer,
                schedule: &schedules[b.schedule as usize],
            }
        };
        let Some((borrower, amount)) = deal(&side(a), &side(b)) else {
            return;
        };
        let (borrower, lender) = if borrower { (a, b) } else { (b, a) };
        let line = match lines {
            Lines::Known(a_to_b, _) if lender == a => a_to_b,
            Lines::Known(_, b_to_a) => b_to_a,
            Lines::BorrowersLine => self.network.line_to[borrower as usize],
            Lines::Search => self.network.credit_line(lender, borrower),
        };
        // The lender's use of this line is at most all it lent today: when the deal fits
        // under the line even so, the exact use is not needed (same amount either way).
        let lent = Money(self.state[lender as usize].lent);
        let headroom = if amount <= (line - lent).0 as f64 {
            line - lent
        } else {
            line - self.line_used(lender, borrower, &loans[session_start..])
        };
        // Whole units, rounded down (truncation: both are positive here, and it avoids a
        // libm `floor` call on the hot path).
        let q = amount.min(headroom.0 as f64).min(MAX_LINE) as i64 as f64;
        if q < 1.0 {
            return;
        }
        let (l, bo) = (side(lender), side(borrower));
        let lender_cost = self.block_value(lender, &l, -q);
        let borrower_value = self.block_value(borrower, &bo, q);
        let (lender_value, borrower_value) = if terms.foresight > 0.0 && terms.calls_left > 0.0 {
            (
                self.continuation(lender, &terms, lender_cost),
                self.continuation(borrower, &terms, borrower_value),
            )
        } else {
            (lender_cost, borrower_value)
        };
        let rate_bp = lender_value + self.bargaining_power * (borrower_value - lender_value);
        let amount = Money(q as i64);
        let index = u32::try_from(loans.len() - session_start)
            .ok()
            .filter(|&i| i != NO_LOAN)
            .expect("fewer than 2^32 - 1 loans in a session");
        let l = &mut self.state[lender as usize];
        l.position -= amount.0;
        l.lent = l.lent.saturating_add(amount.0);
        self.previous_loan.push(l.last_loan);
        l.last_loan = index;
        self.state[borrower as usize].position += amount.0;
        if self.learning_rate > 0.0 {
            self.traded_pairs
                .push((lender.min(borrower), lender.max(borrower)));
        }
        loans.push(Loan {
            lender,
            borrower,
            amount,
            rate_bp,
            round: terms.round,
        });
    }

    /// What `lender` has lent `borrower` this session, along the lender's chain of loans.
    fn line_used(&self, lender: u32, borrower: u32, session_loans: &[Loan]) -> Money {
        let mut used = Money::ZERO;
        let mut k = self.state[lender as usize].last_loan;
        while k != NO_LOAN {
            let loan = &session_loans[k as usize];
            if loan.borrower == borrower {
                used += loan.amount;
            }
            k = self.previous_loan[k as usize];
        }
        used
    }

    /// Mean marginal value of the block of reserves between the bank's position and its
    /// position plus `change`. For a one-step schedule, `G(z) = zΦ(z) + φ(z)` at the current
    /// position is cached per bank (it was computed as the new end of its previous block),
    /// which halves the special functions per trade; other schedules integrate directly.
    fn block_value(&mut self, bank: u32, side: &Side<'_>, change: f64) -> f64 {
        let schedule = side.schedule;
        let sd = side.sd;
        let (lo, hi) = if change < 0.0 {
            (side.position + change, side.position)
        } else {
            (side.position, side.position + change)
        };
        if schedule.steps.len() != 1 || sd <= 0.0 {
            return side.mean_value(lo, hi);
        }
        let (k, v1) = schedule.steps[0];
        let z = |x: f64| (k + side.buffer - x) / sd;
        let cached = &mut self.state[bank as usize].g;
        let z_now = z(side.position);
        let g_now = if cached.is_nan() { g(z_now) } else { *cached };
        let z_new = z(side.position + change);
        let g_new = g(z_new);
        *cached = g_new;
        let (z_lo, z_hi) = (z(lo), z(hi));
        let prob = if z_lo - z_hi < 1e-6 {
            cdf(0.5 * (z_lo + z_hi))
        } else {
            let (g_lo, g_hi) = if change < 0.0 {
                (g_new, g_now)
            } else {
                (g_now, g_new)
            };
            ((g_lo - g_hi) / (z_lo - z_hi)).clamp(0.0, 1.0)
        };
        v1 + (schedule.below - v1) * prob
    }

    /// The bank's continuation value ρ = π r̂ + (1 - π) `own`, with π cached per bank for
    /// the round.
    fn continuation(&mut self, bank: u32, terms: &Terms, own: f64) -> f64 {
        let again = if terms.again_everyone.is_nan() {
            let b = &mut self.state[bank as usize];
            if b.again.is_nan() {
                let meetings_per_call = self.network.meetings_per_call(bank);
                b.again = again(terms.foresight, terms.calls_left, meetings_per_call);
            }
            b.again
        } else {
            terms.again_everyone
        };
        again * terms.anticipated + (1.0 - again) * own
    }

    /// Strength moves `learning_rate` of the way to 1 for pairs that traded today and to 0
    /// for the others; faint relationships are forgotten.
    fn update_relationships(&mut self) {
        let eta = self.learning_rate;
        if eta <= 0.0 || self.matching != Matching::Relationship {
            return;
        }
        for partners in &mut self.relationships {
            for p in partners.iter_mut() {
                p.1 *= 1.0 - eta;
            }
            partners.retain(|p| p.1 >= RELATIONSHIP_FLOOR);
        }
        self.traded_pairs.sort_unstable();
        self.traded_pairs.dedup();
        for &(i, j) in &self.traded_pairs {
            for (me, other) in [(i, j), (j, i)] {
                let partners = &mut self.relationships[me as usize];
                match partners.iter_mut().find(|p| p.0 == other) {
                    Some(p) => p.1 += eta,
                    None => partners.push((other, eta)),
                }
            }
        }
    }
}

/// A counterparty and how to find the credit lines between it and the caller.
type Pick = (u32, Lines);

/// The credit lines of a meeting.
#[derive(Clone, Copy)]
enum Lines {
    /// Read with the pick: (caller to counterparty, counterparty to caller).
    Known(Money, Money),
    /// Both are linked and the lender's line is the borrower's `Network::line_to`.
    BorrowersLine,
    /// Look them up (a past partner, not drawn from the network).
    Search,
}

/// What a meeting in a given round shares with every other meeting of that round.
#[derive(Clone, Copy)]
struct Terms {
    round: u32,
    /// Banks' perceived late-payment sd this round, as a multiple of the whole day's: less
    /// once some late payments have arrived between rounds.
    sd_scale: f64,
    /// Weight on the anticipated value (0 when there is none).
    foresight: f64,
    /// Calls each bank makes in the rounds after this one.
    calls_left: f64,
    /// r̂: the anticipated value of reserves traded later in the session.
    anticipated: f64,
    /// π for every bank when all expect the same meetings (a complete network), else NaN.
    again_everyone: f64,
}

/// π = foresight × (1 - exp(-m)), the chance of meeting someone again, m = the calls each
/// bank makes in the rounds left × the bank's meetings per call.
fn again(foresight: f64, calls_left: f64, meetings_per_call: f64) -> f64 {
    let meetings = calls_left * meetings_per_call;
    foresight * (1.0 - (-meetings).exp())
}

/// One side of a meeting.
struct Side<'a> {
    position: f64,
    /// The late-shock sd the bank perceives this round.
    sd: f64,
    buffer: f64,
    schedule: &'a MarginalValue,
}

impl Side<'_> {
    /// Marginal value of ending the day at `position` (before the late shock).
    fn value(&self, position: f64) -> f64 {
        self.schedule.expected(position - self.buffer, self.sd)
    }

    /// Mean marginal value over end-of-day positions in [lo, hi]: the value per unit of the
    /// block of reserves between them.
    fn mean_value(&self, lo: f64, hi: f64) -> f64 {
        mean_expected(self.schedule, lo - self.buffer, hi - self.buffer, self.sd)
    }
}

/// The bank's target: the first threshold of its schedule (a zero balance in every
/// framework so far) plus its precautionary buffer.
fn target(schedule: &MarginalValue, buffer: f64) -> f64 {
    schedule.steps.first().map_or(0.0, |s| s.0) + buffer
}

/// Whether `a` borrows (`true`) or lends, and how much (before credit limits), when `a` and
/// `b` meet; `None` when there is nothing to gain.
fn deal(a: &Side<'_>, b: &Side<'_>) -> Option<(bool, f64)> {
    let same_single_step = std::ptr::eq(a.schedule, b.schedule) && a.schedule.steps.len() == 1;
    let flat = a.schedule.highest() == a.schedule.lowest()
        && b.schedule.highest() == b.schedule.lowest()
        && a.schedule.highest() == b.schedule.highest();
    let (sa, sb) = (a.sd, b.sd);
    if flat || (same_single_step && sa == 0.0 && sb == 0.0) {
        // No strict gains from trade in marginal values: banks square their positions.
        let need_a = target(a.schedule, a.buffer) - a.position;
        let need_b = target(b.schedule, b.buffer) - b.position;
        return if need_a >= 1.0 && need_b <= -1.0 {
            Some((true, need_a.min(-need_b)))
        } else if need_b >= 1.0 && need_a <= -1.0 {
            Some((false, need_b.min(-need_a)))
        } else {
            None
        };
    }
    if same_single_step {
        // Φ((k + buffer - x)/s) equalised in closed form: a borrows
        // q = (s_b d_a - s_a d_b) / (s_a + s_b), with d = k + buffer - x (its shortfall).
        let k = a.schedule.steps[0].0;
        let d_a = k + a.buffer - a.position;
        let d_b = k + b.buffer - b.position;
        let q = (sb * d_a - sa * d_b) / (sa + sb);
        return if q >= 1.0 {
            Some((true, q))
        } else if q <= -1.0 {
            Some((false, -q))
        } else {
            None
        };
    }
    // General schedules: bisection on the gap between marginal values, which is
    // non-increasing in the amount moved.
    let gap = |q: f64| a.value(a.position + q) - b.value(b.position - q);
    let borrower_a = gap(0.0) > 0.0;
    let (bor, len) = if borrower_a { (a, b) } else { (b, a) };
    let gap = |q: f64| bor.value(bor.position + q) - len.value(len.position - q);
    if gap(1.0) <= 0.0 {
        return None;
    }
    let mut hi = 2.0;
    while gap(hi) > 0.0 && hi < MAX_LINE {
        hi *= 2.0;
    }
    let mut lo = 1.0;
    while hi - lo > 1.0 {
        let mid = (0.5 * (lo + hi)).floor();
        if gap(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((borrower_a, lo))
}

/// Mean of `schedule.expected(y, sd)` over y in [lo, hi], exactly:
/// `v_K + Σ_j (v_{j-1} - v_j) · mean Φ((k_j - y)/sd)`, using ∫Φ(z)dz = zΦ(z) + φ(z).
pub fn mean_expected(schedule: &MarginalValue, lo: f64, hi: f64, sd: f64) -> f64 {
    let mut prev = schedule.below;
    let mut value = schedule.lowest();
    for &(k, v) in &schedule.steps {
        value += (prev - v) * mean_prob_below(k, lo, hi, sd);
        prev = v;
    }
    value
}

/// Mean over y in [lo, hi] of P(y + ε < k), ε ~ N(0, sd²).
fn mean_prob_below(k: f64, lo: f64, hi: f64, sd: f64) -> f64 {
    let width = hi - lo;
    if sd <= 0.0 {
        if width <= 0.0 {
            return if k > lo { 1.0 } else { 0.0 };
        }
        return ((k - lo) / width).clamp(0.0, 1.0);
    }
    let (z_lo, z_hi) = ((k - lo) / sd, (k - hi) / sd);
    if z_lo - z_hi < 1e-6 {
        return cdf(0.5 * (z_lo + z_hi));
    }
    ((g(z_lo) - g(z_hi)) / (z_lo - z_hi)).clamp(0.0, 1.0)
}

/// G(z) = zΦ(z) + φ(z), an antiderivative of Φ.
#[inline]
fn g(z: f64) -> f64 {
    z * cdf(z) + pdf(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{CreditLine, NetworkKind};
    use crate::remuneration::Remuneration;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn mean_expected_matches_numerical_integration() {
        // Midpoint rule with 20 000 steps: error well under 1e-6 bp for these smooth curves.
        let mv = Remuneration::corridor(-75.0).marginal_value(75.0);
        for (lo, hi, sd) in [(-300.0, 500.0, 200.0), (10.0, 10.5, 50.0), (-5.0, 5.0, 1.0)] {
            let steps = 20_000;
            let h = (hi - lo) / steps as f64;
            let numeric: f64 = (0..steps)
                .map(|i| mv.expected(lo + (i as f64 + 0.5) * h, sd))
                .sum::<f64>()
                / steps as f64;
            let exact = mean_expected(&mv, lo, hi, sd);
            assert!((numeric - exact).abs() < 1e-6, "{numeric} vs {exact}");
        }
    }

    #[test]
    fn core_periphery_density_is_as_asked() {
        // 400 banks, core 40: 780 core pairs, 14 400 core-periphery, 64 980 periphery pairs.
        // Link counts are binomial; 5 sd bands make a false failure negligible.
        let params = NetworkParams {
            kind: NetworkKind::CorePeriphery {
                core_size: 40,
                core_density: 0.8,
                core_periphery_density: 0.1,
                periphery_density: 0.01,
            },
            credit_limit_multiple: 0.1,
            relationship_learning_rate: 0.0,
        };
        let sizes = vec![1000.0; 400];
        let net = Network::build(&params, &sizes, &mut ChaCha8Rng::seed_from_u64(3));
        let (mut cc, mut cp, mut pp) = (0u64, 0u64, 0u64);
        for l in 0..400u32 {
            for b in net.contacts(l).unwrap() {
                assert!(net.credit_line(l, b) > Money::ZERO && net.credit_line(b, l).0 > 0);
                if l < b {
                    match (l < 40, b < 40) {
                        (true, true) => cc += 1,
                        (true, false) | (false, true) => cp += 1,
                        _ => pp += 1,
                    }
                }
            }
        }
        for (count, pairs, p) in [
            (cc, 780.0f64, 0.8f64),
            (cp, 14_400.0, 0.1),
            (pp, 64_980.0, 0.01),
        ] {
            let (mean, sd) = (pairs * p, (pairs * p * (1.0 - p)).sqrt());
            assert!(
                (count as f64 - mean).abs() < 5.0 * sd,
                "{count} links, expected {mean} ± {sd}"
            );
        }
    }

    #[test]
    fn edge_lists_are_directed_lines() {
        let params = NetworkParams {
            kind: NetworkKind::EdgeList(vec![
                CreditLine {
                    lender: 0,
                    borrower: 2,
                    limit: Some(Money(7)),
                },
                CreditLine {
                    lender: 1,
                    borrower: 0,
                    limit: None,
                },
            ]),
            credit_limit_multiple: 0.5,
            relationship_learning_rate: 0.0,
        };
        let net = Network::build(
            &params,
            &[100.0, 50.0, 10.0],
            &mut ChaCha8Rng::seed_from_u64(0),
        );
        assert_eq!(net.credit_line(0, 2), Money(7));
        assert_eq!(net.credit_line(2, 0), Money::ZERO);
        assert_eq!(net.credit_line(1, 0), Money(50));
        assert_eq!(net.contacts(0).unwrap().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(net.contacts(2).unwrap().collect::<Vec<_>>(), [0]);
    }
}
