//! Autonomous factors: currency in circulation and the government's account.
//!
//! They move reserves every day outside the central bank's control. Levels are integers;
//! the day's effect on reserves is minus the change in their sum (more currency or a
//! fuller government account drains reserves).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::calendar::{BusinessDay, Calendar};
use crate::money::Money;
use crate::params::AutonomousParams;

#[derive(Clone, Debug)]
pub struct AutonomousFactors {
    currency: Money,
    government: Money,
    /// Government inflows by business-day index, precomputed from dated events.
    events_by_day: Vec<Money>,
}

impl AutonomousFactors {
    pub fn new(params: &AutonomousParams, calendar: &Calendar) -> AutonomousFactors {
        let mut events_by_day = vec![Money::ZERO; calendar.len()];
        for event in &params.government.events {
            if let Some(i) = calendar
                .days()
                .iter()
                .position(|d| d.date >= event.date && d.date.0 - event.date.0 < 7)
            {
                events_by_day[i] += event.amount;
            }
        }
        AutonomousFactors {
            currency: params.currency.initial,
            government: params.government.initial,
            events_by_day,
        }
    }

    pub fn currency(&self) -> Money {
        self.currency
    }

    pub fn government(&self) -> Money {
        self.government
    }

    /// Draws today's levels; returns the changes (currency, government).
    pub fn advance<R: Rng + ?Sized>(
        &mut self,
        params: &AutonomousParams,
        day: &BusinessDay,
        rng: &mut R,
    ) -> (Money, Money) {
        let c = &params.currency;
        let trend = c.initial.as_f64() * (1.0 + c.annual_growth).powf(day.index as f64 / 250.0);
        let seasonal = 1.0
            + c.weekday_effect[day.weekday.min(4) as usize]
            + if day.is_month_end {
                c.month_end_effect
            } else {
                0.0
            };
        let noise: f64 = if c.noise_sd > Money::ZERO {
            StandardNormal.sample(rng)
        } else {
            0.0
        };
        let currency = Money::from_f64_rounded(trend * seasonal + noise * c.noise_sd.as_f64())
            .max(Money::ZERO);

        let g = &params.government;
        let mut inflow = self.events_by_day[day.index as usize];
        for m in &g.monthly {
            if m.business_day_of_month == day.business_day_of_month {
                inflow += m.amount;
            }
        }
        let g_noise: f64 = if g.noise_sd > Money::ZERO {
            StandardNormal.sample(rng)
        } else {
            0.0
        };
        let deviation = (self.government - g.initial).as_f64() * g.persistence;
        let government =
            g.initial + Money::from_f64_rounded(deviation + g_noise * g.noise_sd.as_f64()) + inflow;

        let changes = (currency - self.currency, government - self.government);
        self.currency = currency;
        self.government = government;
        changes
    }
}
