//! MODEL.md section 7 as a property: for random scenarios (every mechanism switched on in
//! random measure, negative rates included) every accounting identity holds after every
//! day: each balance sheet balances, banks' reserves equal the central bank's reserve
//! liability, its balance sheet balances, interbank claims net to zero, and total reserves
//! change only by central-bank operations and autonomous factors.

use corridor_model::fixtures;
use corridor_model::params::{
    Allocation, Framework, NonBankParams, Params, PolicyEvent, ReserveRequirementParams,
    ReverseRepoParams, SizeDistribution,
};
use corridor_model::{Money, Population, RecordOptions, RunRecords, Simulation};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn scenario() -> impl Strategy<Value = (Params, u64)> {
    (
        (1u32..25, 1u32..12, 2u32..25, 0usize..3, 0.1f64..2.5),
        (
            0.0f64..6.0,
            0i64..50_000,
            0.0f64..0.2,
            0.0f64..200.0,
            0.0f64..1.0,
        ),
        (
            -600.0f64..600.0,
            0.0f64..300.0,
            0.0f64..300.0,
            0.0f64..100.0,
        ),
        (
            any::<bool>(),
            0i64..40_000,
            0.0f64..30.0,
            -2.0f64..3.0,
            0.5f64..2.0,
        ),
        (
            0i64..200_000_000,
            0i64..50_000_000,
            0.0f64..1.0,
            any::<u64>(),
        ),
        (0usize..7, 0usize..3, 0usize..3, 0.0f64..20.0, any::<bool>()),
    )
        .prop_map(|(a, b, c, d, e, f)| {
            let (banks, periods, days, dist, shape) = a;
            let (per_bank, reserves_per_bank, collateral, fee, reversion) = b;
            let (policy, down, up, stigma) = c;
            let (ft_on, forecast_sd, offset, buffer, perceived) = d;
            let (currency, government, persistence, seed) = e;
            let (framework, requirement, non_banks, cost, regime_change) = f;
            let mut p = fixtures::poole(banks, periods, days, reserves_per_bank, 20_000);
            p.banks.size_distribution = match dist {
                0 => SizeDistribution::Identical,
                1 => SizeDistribution::LogNormal { sigma: shape },
                _ => SizeDistribution::Pareto { alpha: 1.0 + shape },
            };
            p.payments.per_bank_per_period = per_bank;
            p.payments.deposit_reversion = reversion;
            p.intraday.collateral_share = collateral;
            p.intraday.overdraft_fee_bp = fee;
            p.central_bank.policy_rate_bp = policy;
            p.central_bank.deposit_rate_bp = policy - down;
            p.central_bank.lending_rate_bp = policy + up;
            p.behaviour.stigma_bp = stigma;
            p.behaviour.precautionary_buffer_sd = buffer;
            p.behaviour.perceived_shock_scale = perceived;
            p.central_bank.fine_tuning.enabled = ft_on;
            p.central_bank.fine_tuning.forecast_error_sd = Money(forecast_sd);
            p.central_bank.fine_tuning.rate_offset_bp = offset;
            p.autonomous.currency.initial = Money(currency);
            p.autonomous.currency.annual_growth = 0.1;
            p.autonomous.currency.weekday_effect = [0.01, 0.0, -0.005, 0.0, 0.02];
            p.autonomous.currency.month_end_effect = 0.03;
            p.autonomous.currency.noise_sd = Money(currency / 1000);
            p.autonomous.government.initial = Money(government);
            p.autonomous.government.persistence = persistence;
            p.autonomous.government.noise_sd = Money(government / 100);
            let total = Money(reserves_per_bank * banks as i64 + 1);
            let (deposit, lending) = (
                p.central_bank.deposit_rate_bp,
                p.central_bank.lending_rate_bp,
            );
            p.central_bank.framework = match framework {
                0 => Framework::Corridor,
                1 => Framework::Floor,
                2 => Framework::Quota {
                    quotas: Allocation::ProRata { total },
                },
                3 => Framework::CurrentAccountLimits {
                    limits: Allocation::ProRata { total },
                    current_account_rate_bp: 0.5 * (deposit + lending),
                },
                4 => Framework::ExemptionThreshold {
                    multiple: 20.0,
                    fixed_amount: Money(1_000),
                    exempt_rate_bp: lending.min(0.0f64.max(deposit)),
                },
                5 => Framework::TwoTier {
                    multiple: 6.0,
                    exempt_rate_bp: deposit.max(0.0).min(lending),
                },
                _ => Framework::ThreeTier {
                    basic: Allocation::ProRata { total },
                    basic_rate_bp: lending,
                    macro_add_on: Allocation::ProRata { total },
                    macro_rate_bp: 0.5 * (deposit + lending),
                },
            };
            if requirement > 0 || framework == 5 {
                p.central_bank.reserve_requirement = Some(ReserveRequirementParams {
                    ratio: 0.01,
                    maintenance_days: 1 + (days % 7),
                    averaging: requirement == 1,
                    enforced: requirement != 0 || framework != 4,
                    remuneration_rate_bp: policy,
                    penalty_rate_bp: 250.0,
                });
            }
            p.behaviour.balance_sheet_cost_bp = cost;
            if non_banks > 0 {
                p.non_banks = Some(NonBankParams {
                    lenders: 3,
                    cash: Money(7_000_001),
                    idle_rate_bp: deposit - 5.0,
                    reverse_repo: (non_banks == 2).then_some(ReverseRepoParams {
                        rate_bp: deposit,
                        cap_per_lender: Money(1_000_000),
                    }),
                });
            }
            if regime_change {
                let mut next = p.central_bank.clone();
                next.policy_rate_bp -= 25.0;
                next.deposit_rate_bp -= 25.0;
                next.lending_rate_bp -= 25.0;
                next.reserve_target = Money(next.reserve_target.0 * 2);
                let date = p.calendar.start.add_days(3 + (days as i32 / 2));
                p.policy_timeline.push(PolicyEvent {
                    date,
                    central_bank: next,
                    non_banks: p.non_banks.clone(),
                });
            }
            (p, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_identity_holds_every_day((params, seed) in scenario()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let population = Population::draw(&params, &mut rng);
        let mut sim = Simulation::new(&params, &population);
        let mut out = RunRecords::default();
        let options = RecordOptions { banks: true, trades: true };
        prop_assert!(sim.check_invariants().is_ok());
        while !sim.is_finished() {
            sim.step(&mut rng, options, &mut out);
            if let Err(v) = sim.check_invariants() {
                prop_assert!(false, "{v}");
            }
            // After the standing facilities, no bank ends a day overdrawn.
            prop_assert!(sim.banks().iter().all(|b| b.reserves >= Money::ZERO));
        }
        // Trades recorded equal the volume reported, day by day.
        for d in &out.days {
            let traded: Money = out.trades.iter().filter(|t| t.day == d.day).map(|t| t.amount).sum();
            prop_assert_eq!(traded, d.volume);
            prop_assert_eq!(d.overnight_rate_bp.is_some(), d.volume > Money::ZERO);
        }
    }
}
