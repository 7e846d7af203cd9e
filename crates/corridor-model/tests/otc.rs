//! The OTC market as properties of whole simulated days: MODEL.md section 7 (every identity,
//! interbank claims netting to zero) plus what the market itself promises: no trade breaks a
//! credit line, every rate lies between the lowest and highest marginal value of reserves,
//! rounds are numbered 1..=K, and the day's statistics agree with its trades.

use std::collections::HashMap;

use corridor_model::fixtures;
use corridor_model::params::{
    CreditLine, MarketMechanism, Matching, NetworkKind, Params, SizeDistribution,
};
use corridor_model::{Money, Population, RecordOptions, RunRecords, Simulation};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn run(params: &Params, seed: u64) -> (Population, RunRecords) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let population = Population::draw(params, &mut rng);
    let mut sim = Simulation::new(params, &population);
    let mut out = RunRecords::default();
    let options = RecordOptions {
        banks: true,
        trades: true,
    };
    assert!(sim.check_invariants().is_ok());
    while !sim.is_finished() {
        sim.step(&mut rng, options, &mut out);
        if let Err(v) = sim.check_invariants() {
            panic!("{v}");
        }
        assert!(sim.banks().iter().all(|b| b.reserves >= Money::ZERO));
    }
    (population, out)
}

fn network(kind: usize, banks: u32) -> NetworkKind {
    match kind {
        0 => NetworkKind::Complete,
        1 => NetworkKind::CorePeriphery {
            core_size: (banks / 4).max(1),
            core_density: 1.0,
            core_periphery_density: 0.3,
            periphery_density: 0.05,
        },
        _ => NetworkKind::EdgeList(
            (0..banks)
                .flat_map(|i| {
                    // A ring both ways, one line with an explicit (small) limit.
                    let j = (i + 1) % banks;
                    [
                        CreditLine {
                            lender: i,
                            borrower: j,
                            limit: Some(Money(3_000)),
                        },
                        CreditLine {
                            lender: j,
                            borrower: i,
                            limit: None,
                        },
                    ]
                })
                .collect(),
        ),
    }
}

fn scenario() -> impl Strategy<Value = (Params, u64)> {
    (
        (2u32..30, 1u32..8, 1u32..12, 0usize..3, 0.0f64..3.0),
        (
            0.0f64..1.0,
            0.0f64..1.0,
            any::<bool>(),
            0.0f64..0.05,
            0.0f64..1.0,
        ),
        (
            -300.0f64..300.0,
            0.0f64..150.0,
            0.0f64..150.0,
            0.0f64..50.0,
            -20_000i64..20_000,
        ),
        (any::<bool>(), any::<u64>(), 0.0f64..0.9),
    )
        .prop_map(|(a, b, c, d)| {
            let (banks, rounds, days, net, contact_rate) = a;
            let (theta, foresight, relationship, credit, learning) = b;
            let (policy, down, up, stigma, reserves_per_bank) = c;
            let (lognormal, seed, late_share) = d;
            let mut p = fixtures::busy_corridor(banks, days);
            p.central_bank.reserve_target = Money(reserves_per_bank * banks as i64);
            if !lognormal {
                p.banks.size_distribution = SizeDistribution::Pareto { alpha: 1.5 };
            }
            p.central_bank.policy_rate_bp = policy;
            p.central_bank.deposit_rate_bp = policy - down;
            p.central_bank.lending_rate_bp = policy + up;
            p.behaviour.stigma_bp = stigma;
            let mut p = fixtures::with_otc(p, rounds, contact_rate, network(net, banks));
            if let MarketMechanism::Otc(otc) = &mut p.market.mechanism {
                otc.bargaining_power = theta;
                otc.foresight = foresight;
                otc.matching = if relationship {
                    Matching::Relationship
                } else {
                    Matching::Random
                };
                // Up to 5% of the borrower's size: binds often at these shock sizes.
                otc.network.credit_limit_multiple = credit;
                otc.network.relationship_learning_rate = learning;
                // Late payments between rounds need two rounds or more.
                otc.late_payment_share = if rounds >= 2 { late_share } else { 0.0 };
            }
            (p, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn otc_days_keep_identities_credit_lines_and_rate_bounds((params, seed) in scenario()) {
        let (population, out) = run(&params, seed);
        let network = population.network.as_ref().expect("an OTC population has a network");
        let MarketMechanism::Otc(otc) = &params.market.mechanism else { unreachable!() };
        let cb = &params.central_bank;
        // Marginal values lie between the deposit rate and the perceived lending cost, and a
        // rate is a weighted mean of them: 1e-9 bp allows for floating-point rounding only.
        let (lo, hi) = (cb.deposit_rate_bp - 1e-9, cb.lending_rate_bp + params.behaviour.stigma_bp + 1e-9);
        let mut used: HashMap<(u32, u32, u32), Money> = HashMap::new();
        for t in &out.trades {
            prop_assert!(t.rate_bp >= lo && t.rate_bp <= hi, "rate {} outside [{lo}, {hi}]", t.rate_bp);
            prop_assert!(t.round >= 1 && t.round <= otc.rounds);
            prop_assert!(t.amount > Money::ZERO && t.lender != t.borrower);
            *used.entry((t.day, t.lender, t.borrower)).or_default() += t.amount;
        }
        for (&(day, l, b), &amount) in &used {
            let line = network.credit_line(l, b);
            prop_assert!(amount <= line, "day {day}: {l} lent {amount} to {b}, line {line}");
        }
        for d in &out.days {
            let trades: Vec<_> = out.trades.iter().filter(|t| t.day == d.day).collect();
            let volume: Money = trades.iter().map(|t| t.amount).sum();
            prop_assert_eq!(volume, d.volume);
            prop_assert_eq!(trades.len() as u32, d.trade_count);
            let mut lenders: Vec<u32> = trades.iter().map(|t| t.lender).collect();
            let mut borrowers: Vec<u32> = trades.iter().map(|t| t.borrower).collect();
            lenders.sort_unstable();
            lenders.dedup();
            borrowers.sort_unstable();
            borrowers.dedup();
            prop_assert_eq!(lenders.len() as u32, d.active_lenders);
            prop_assert_eq!(borrowers.len() as u32, d.active_borrowers);
            match (d.rate_p01_bp, d.rate_p25_bp, d.rate_p75_bp, d.rate_p99_bp) {
                (Some(p1), Some(p25), Some(p75), Some(p99)) => {
                    let min = trades.iter().map(|t| t.rate_bp).fold(f64::INFINITY, f64::min);
                    let max = trades.iter().map(|t| t.rate_bp).fold(f64::NEG_INFINITY, f64::max);
                    prop_assert!(min <= p1 && p1 <= p25 && p25 <= p75 && p75 <= p99 && p99 <= max);
                    let share = d.top5_lender_share.unwrap();
                    prop_assert!(share > 0.0 && share <= 1.0 + 1e-12);
                    if lenders.len() <= 5 {
                        prop_assert!((share - 1.0).abs() < 1e-12);
                    }
                }
                (None, None, None, None) => {
                    prop_assert_eq!(volume, Money::ZERO);
                    prop_assert!(d.top5_lender_share.is_none());
                }
                other => prop_assert!(false, "percentiles partly missing: {other:?}"),
            }
        }
        // Per-bank averages: present exactly for banks that traded, inside the day's range.
        for b in &out.banks {
            let lent = out.trades.iter().any(|t| t.day == b.day && t.lender == b.bank);
            let borrowed = out.trades.iter().any(|t| t.day == b.day && t.borrower == b.bank);
            prop_assert_eq!(b.avg_lending_rate_bp.is_some(), lent);
            prop_assert_eq!(b.avg_borrowing_rate_bp.is_some(), borrowed);
            for r in [b.avg_lending_rate_bp, b.avg_borrowing_rate_bp].into_iter().flatten() {
                prop_assert!(r >= lo && r <= hi);
            }
        }
    }
}

/// With the deposit rate equal to the lending rate (no stigma), a reserve is worth that rate
/// at every balance, so both banks' values — and every bargain between them — are that rate.
/// Tolerance 1e-9 bp: the rate is a convex combination of equal numbers, exact up to
/// floating-point rounding. The test also checks that banks did trade (they square their
/// positions when indifferent), or it would prove nothing.
#[test]
fn equal_facility_rates_price_every_trade_at_that_rate() {
    for (net, seed) in [(0usize, 1u64), (1, 2), (2, 3)] {
        let mut p = fixtures::busy_corridor(40, 15);
        p.behaviour.stigma_bp = 0.0;
        p.central_bank.policy_rate_bp = 30.0;
        p.central_bank.deposit_rate_bp = 30.0;
        p.central_bank.lending_rate_bp = 30.0;
        let p = fixtures::with_otc(p, 5, 1.0, network(net, 40));
        let (_, out) = run(&p, seed);
        assert!(out.trades.len() > 100, "only {} trades", out.trades.len());
        for t in &out.trades {
            assert!((t.rate_bp - 30.0).abs() < 1e-9, "trade at {} bp", t.rate_bp);
        }
    }
}

/// Same scenario, same seed, same thread: the OTC market is a deterministic function of its
/// random stream, relationships included.
#[test]
fn otc_runs_repeat_exactly() {
    let mut p = fixtures::with_otc(fixtures::busy_corridor(30, 20), 6, 0.7, network(1, 30));
    if let MarketMechanism::Otc(otc) = &mut p.market.mechanism {
        otc.matching = Matching::Relationship;
    }
    let (_, a) = run(&p, 11);
    let (_, b) = run(&p, 11);
    assert!(!a.trades.is_empty());
    assert_eq!(a, b);
    let (_, c) = run(&p, 12);
    assert_ne!(a.trades, c.trades);
}

/// Share of a run's trades (after the first day) between two banks that had traded with
/// each other on an earlier day.
fn repeat_share(out: &RunRecords) -> f64 {
    let mut seen = std::collections::HashSet::new();
    let (mut repeats, mut total) = (0usize, 0usize);
    for day in 0..out.days.len() as u32 {
        let today: Vec<(u32, u32)> = out
            .trades
            .iter()
            .filter(|t| t.day == day)
            .map(|t| (t.lender.min(t.borrower), t.lender.max(t.borrower)))
            .collect();
        if day > 0 {
            total += today.len();
            repeats += today.iter().filter(|p| seen.contains(*p)).count();
        }
        seen.extend(today);
    }
    repeats as f64 / total.max(1) as f64
}

/// With relationship matching a bank calls a past partner with probability Σw / (1 + Σw),
/// and strengths build up with repeated trades, so far more of its trades are with banks it
/// traded with before than under random matching on the same banks and shocks. The margin
/// (at least 0.2 higher share, and random below 0.5) is wide against run-to-run noise
/// (four seeds, thousands of trades each), yet any failure of relationships to form or to
/// steer calls would break it.
#[test]
fn relationships_bring_banks_back_to_past_partners() {
    let share = |matching: Matching| {
        let mut p = fixtures::with_otc(
            fixtures::busy_corridor(200, 15),
            5,
            0.5,
            NetworkKind::Complete,
        );
        if let MarketMechanism::Otc(otc) = &mut p.market.mechanism {
            otc.matching = matching;
            otc.network.relationship_learning_rate = 0.3;
        }
        (1..=4)
            .map(|seed| repeat_share(&run(&p, seed).1))
            .sum::<f64>()
            / 4.0
    };
    let random = share(Matching::Random);
    let relationship = share(Matching::Relationship);
    println!("repeat-partner share: random {random:.3}, relationship {relationship:.3}");
    assert!(
        random < 0.5,
        "random matching already repeats partners: {random}"
    );
    assert!(relationship > random + 0.2, "{relationship} vs {random}");
}

/// Share of the day's volume traded in the second half of the session's rounds.
fn late_volume_share(out: &RunRecords, rounds: u32) -> f64 {
    let late: i64 = out
        .trades
        .iter()
        .filter(|t| t.round > rounds / 2)
        .map(|t| t.amount.0)
        .sum();
    let all: i64 = out.trades.iter().map(|t| t.amount.0).sum();
    late as f64 / all.max(1) as f64
}

/// Late payments between rounds keep creating imbalances while the market is open, so more
/// of the volume trades late in the session than when all late payments come after the
/// close. Contacts are frequent (2 calls per bank and round), so without interleaving the
/// morning's imbalances are settled in the first rounds. Same banks and seeds; the margin
/// (a late share at least 1.5 times as high) is wide against the noise of thousands of
/// trades per run, and the control must leave the second half a minority.
#[test]
fn late_payments_between_rounds_move_trading_late() {
    let late_share = |share: f64| {
        let mut p = fixtures::with_otc(
            fixtures::busy_corridor(80, 20),
            10,
            2.0,
            NetworkKind::Complete,
        );
        if let MarketMechanism::Otc(otc) = &mut p.market.mechanism {
            otc.late_payment_share = share;
        }
        (1..=3)
            .map(|seed| late_volume_share(&run(&p, seed).1, 10))
            .sum::<f64>()
            / 3.0
    };
    let after_close = late_share(0.0);
    let between_rounds = late_share(0.8);
    println!("volume in rounds 6-10: {after_close:.3} without, {between_rounds:.3} with");
    assert!(after_close < 0.5, "{after_close}");
    assert!(
        between_rounds > 1.5 * after_close,
        "{between_rounds} vs {after_close}"
    );
}
