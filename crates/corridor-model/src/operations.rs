//! Temporary operations: bids, the variable-rate auction, and the operations outstanding.
//!
//! A temporary operation lends reserves against collateral (a repo) or borrows them (a term
//! deposit) for a fixed tenor. Each bank's part is a [`Position`] with its own rate, so an
//! operation allotted at several rates (a multiple-rate auction) repays each bank exactly.

use crate::money::Money;
use crate::params::Pricing;

/// One bid in an auction: `amount` at `rate_bp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bid {
    pub bidder: u32,
    pub rate_bp: f64,
    pub amount: Money,
}

/// What an operation gave one bank.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub bank: u32,
    pub amount: Money,
    pub rate_bp: f64,
}

/// Whether an operation adds reserves (a repo: banks borrow) or absorbs them (a term
/// deposit: banks lend to the central bank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Repo,
    TermDeposit,
}

/// An operation outstanding until `maturity` (a business-day index; `u32::MAX`: after the
/// run ends).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenOperation {
    pub direction: Direction,
    pub maturity: u32,
    /// Year fraction from settlement to maturity, for the interest due then.
    pub year_fraction: f64,
    pub positions: Vec<Position>,
}

/// The result of an auction: positions allotted and the marginal rate (`None` when nothing
/// was allotted).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuctionResult {
    pub positions: Vec<Position>,
    pub marginal_rate_bp: Option<f64>,
}

impl AuctionResult {
    pub fn allotted(&self) -> Money {
        self.positions.iter().map(|p| p.amount).sum()
    }
}

/// Allots up to `amount` among `bids`: best rates first (highest for a repo, lowest for a
/// term deposit), bids at the marginal rate pro rata to their amounts, so the total allotted
/// is exactly `amount` when bids suffice and every bid otherwise. Ties in rate are broken by
/// bidder index, so the result does not depend on the bids' order.
pub fn allot_variable_rate(
    bids: &mut [Bid],
    amount: Money,
    direction: Direction,
    pricing: Pricing,
) -> AuctionResult {
    bids.sort_by(|a, b| {
        let by_rate = match direction {
            Direction::Repo => b.rate_bp.total_cmp(&a.rate_bp),
            Direction::TermDeposit => a.rate_bp.total_cmp(&b.rate_bp),
        };
        by_rate.then(a.bidder.cmp(&b.bidder))
    });
    let mut result = AuctionResult::default();
    let mut left = amount.max(Money::ZERO);
    let mut i = 0;
    let mut weights = Vec::new();
    let mut split = Vec::new();
    while i < bids.len() && left > Money::ZERO {
        let rate = bids[i].rate_bp;
        let end = i + bids[i..].iter().take_while(|b| b.rate_bp == rate).count();
        let group = &bids[i..end];
        let at_rate: Money = group.iter().map(|b| b.amount).sum();
        if at_rate <= left {
            for b in group.iter().filter(|b| b.amount > Money::ZERO) {
                result.positions.push(Position {
                    bank: b.bidder,
                    amount: b.amount,
                    rate_bp: rate,
                });
            }
            left -= at_rate;
        } else {
            // The marginal rate: what is left, pro rata. Each share is at most its bid
            // because left < at_rate, and the largest-remainder split keeps the sum exact.
            weights.clear();
            weights.extend(group.iter().map(|b| b.amount.as_f64()));
            crate::money::split_pro_rata(left, &weights, &mut split);
            for (b, part) in group.iter().zip(&split) {
                if *part > Money::ZERO {
                    result.positions.push(Position {
                        bank: b.bidder,
                        amount: *part,
                        rate_bp: rate,
                    });
                }
            }
            left = Money::ZERO;
        }
        result.marginal_rate_bp = Some(rate);
        i = end;
    }
    if pricing == Pricing::Uniform
        && let Some(marginal) = result.marginal_rate_bp
    {
        for p in &mut result.positions {
            p.rate_bp = marginal;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(bidder: u32, rate_bp: f64, amount: i64) -> Bid {
        Bid {
            bidder,
            rate_bp,
            amount: Money(amount),
        }
    }

    /// Worked by hand: 120 to allot. Bank 0 bids 30 at 4.10% and 20 at 4.05%, bank 1 50 at
    /// 4.08%, bank 2 40 at 4.05%. 4.10% and 4.08% are filled (80); 40 is left for the 60
    /// bid at the marginal rate 4.05%, two thirds each: bank 0 gets 40 × 20/60 = 13.33 and
    /// bank 2 40 × 40/60 = 26.67, rounded by largest remainder to 13 and 27.
    #[test]
    fn variable_rate_repo_allots_as_worked_by_hand() {
        let mut bids = vec![
            bid(2, 405.0, 40),
            bid(0, 410.0, 30),
            bid(1, 408.0, 50),
            bid(0, 405.0, 20),
        ];
        let r = allot_variable_rate(&mut bids, Money(120), Direction::Repo, Pricing::Multiple);
        assert_eq!(r.marginal_rate_bp, Some(405.0));
        assert_eq!(
            r.positions,
            vec![
                Position {
                    bank: 0,
                    amount: Money(30),
                    rate_bp: 410.0
                },
                Position {
                    bank: 1,
                    amount: Money(50),
                    rate_bp: 408.0
                },
                Position {
                    bank: 0,
                    amount: Money(13),
                    rate_bp: 405.0
                },
                Position {
                    bank: 2,
                    amount: Money(27),
                    rate_bp: 405.0
                },
            ]
        );
        // Uniform pricing: the same amounts, everyone at 4.05%.
        let r = allot_variable_rate(&mut bids, Money(120), Direction::Repo, Pricing::Uniform);
        assert_eq!(r.allotted(), Money(120));
        assert!(r.positions.iter().all(|p| p.rate_bp == 405.0));
    }

    /// A term-deposit tender takes the cheapest offers first: 70 wanted from offers of 50
    /// at 3.90%, 40 at 3.95% and 10 at 4.00% fills the first and 20 of the second.
    #[test]
    fn variable_rate_deposit_takes_lowest_rates_first() {
        let mut bids = vec![bid(0, 400.0, 10), bid(1, 390.0, 50), bid(2, 395.0, 40)];
        let r = allot_variable_rate(
            &mut bids,
            Money(70),
            Direction::TermDeposit,
            Pricing::Multiple,
        );
        assert_eq!(r.marginal_rate_bp, Some(395.0));
        assert_eq!(
            r.positions,
            vec![
                Position {
                    bank: 1,
                    amount: Money(50),
                    rate_bp: 390.0
                },
                Position {
                    bank: 2,
                    amount: Money(20),
                    rate_bp: 395.0
                },
            ]
        );
    }

    /// Bids short of the amount are all filled; the marginal rate is the last one filled.
    #[test]
    fn undersubscribed_auction_fills_every_bid() {
        let mut bids = vec![bid(0, 410.0, 30), bid(1, 400.0, 5)];
        let r = allot_variable_rate(&mut bids, Money(100), Direction::Repo, Pricing::Multiple);
        assert_eq!(r.allotted(), Money(35));
        assert_eq!(r.marginal_rate_bp, Some(400.0));
    }
}
