//! From a central bank's framework to each bank's remuneration tiers.
//!
//! Tiers are expressed over a bank's *excess* balance: what is left after the part that
//! counts toward its reserve requirement tonight (all of it without a requirement).

use crate::money::{Money, split_pro_rata};
use crate::params::{Allocation, CentralBankParams, Framework};
use crate::remuneration::{Remuneration, Tier};

/// Per-bank amounts of an allocation (quota, limit, tier size), by bank index.
pub fn allocate(allocation: &Allocation, sizes: &[f64]) -> Vec<Money> {
    match allocation {
        Allocation::ProRata { total } => {
            let mut out = Vec::new();
            split_pro_rata(*total, sizes, &mut out);
            out
        }
        Allocation::SizeGroups { groups } => sizes
            .iter()
            .map(|&size| {
                groups
                    .iter()
                    .filter(|g| g.min_size.as_f64() <= size)
                    .max_by_key(|g| g.min_size)
                    .map_or(Money::ZERO, |g| g.amount)
            })
            .collect(),
        Allocation::Explicit { amounts } => {
            let mut out = amounts.clone();
            out.resize(sizes.len(), Money::ZERO);
            out
        }
    }
}

/// Each bank's tiers under `cb`'s framework, given bank sizes and minimum requirements.
pub fn bank_tiers(cb: &CentralBankParams, sizes: &[f64], required: &[Money]) -> Vec<Remuneration> {
    let deposit = cb.deposit_rate_bp;
    let two = |first: Vec<Money>, rate: f64| -> Vec<Remuneration> {
        first
            .into_iter()
            .map(|size| {
                Remuneration::from_tiers(vec![
                    Tier {
                        from: Money::ZERO,
                        rate_bp: rate,
                    },
                    Tier {
                        from: size,
                        rate_bp: deposit,
                    },
                ])
            })
            .collect()
    };
    match &cb.framework {
        Framework::Corridor | Framework::Floor => {
            vec![Remuneration::corridor(deposit); sizes.len()]
        }
        Framework::Quota { quotas } => two(allocate(quotas, sizes), cb.policy_rate_bp),
        Framework::CurrentAccountLimits {
            limits,
            current_account_rate_bp,
        } => two(allocate(limits, sizes), *current_account_rate_bp),
        Framework::ExemptionThreshold {
            multiple,
            fixed_amount,
            exempt_rate_bp,
        } => {
            let thresholds = required
                .iter()
                .map(|&rr| {
                    if rr > Money::ZERO {
                        Money::from_f64_rounded(rr.as_f64() * multiple)
                    } else {
                        *fixed_amount
                    }
                })
                .collect();
            two(thresholds, *exempt_rate_bp)
        }
        Framework::TwoTier {
            multiple,
            exempt_rate_bp,
        } => {
            let exempt = required
                .iter()
                .map(|&rr| Money::from_f64_rounded(rr.as_f64() * multiple))
                .collect();
            two(exempt, *exempt_rate_bp)
        }
        Framework::ThreeTier {
            basic,
            basic_rate_bp,
            macro_add_on,
            macro_rate_bp,
        } => {
            let basic = allocate(basic, sizes);
            let add_on = allocate(macro_add_on, sizes);
            basic
                .into_iter()
                .zip(add_on)
                .map(|(b, m)| {
                    Remuneration::from_tiers(vec![
                        Tier {
                            from: Money::ZERO,
                            rate_bp: *basic_rate_bp,
                        },
                        Tier {
                            from: b,
                            rate_bp: *macro_rate_bp,
                        },
                        Tier {
                            from: b + m,
                            rate_bp: deposit,
                        },
                    ])
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::SizeGroup;

    #[test]
    fn allocations_follow_their_rule() {
        let sizes = [300.0, 100.0, 50.0];
        let pro = allocate(&Allocation::ProRata { total: Money(900) }, &sizes);
        assert_eq!(pro, vec![Money(600), Money(200), Money(100)]);
        let groups = Allocation::SizeGroups {
            groups: vec![
                SizeGroup {
                    min_size: Money(0),
                    amount: Money(5),
                },
                SizeGroup {
                    min_size: Money(100),
                    amount: Money(20),
                },
                SizeGroup {
                    min_size: Money(250),
                    amount: Money(70),
                },
            ],
        };
        assert_eq!(
            allocate(&groups, &sizes),
            vec![Money(70), Money(20), Money(5)]
        );
    }

    #[test]
    fn zero_width_tiers_collapse() {
        // A quota of zero leaves a single tier at the reserve rate.
        let r = Remuneration::from_tiers(vec![
            Tier {
                from: Money::ZERO,
                rate_bp: 100.0,
            },
            Tier {
                from: Money::ZERO,
                rate_bp: 0.0,
            },
        ]);
        assert_eq!(
            r.tiers(),
            &[Tier {
                from: Money::ZERO,
                rate_bp: 0.0
            }]
        );
    }
}
