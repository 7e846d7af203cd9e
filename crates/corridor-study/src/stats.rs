//! Per-point statistics: the `summary.parquet` of a sweep and the moments of a calibration.
//!
//! A point's statistics pool every run-day of the point: `<var>_mean`, `<var>_std` (ddof =
//! 1), `<var>_p05` ... `<var>_p95` (numpy's default "linear" quantiles). Days without a trade
//! have no overnight rate (and so no spread) and are left out of the rate statistics. The
//! values are sorted before summing, so a statistic does not depend on the order of runs.

use corridor_model::RunRecords;

/// The pooled variables, in column order.
pub const VARS: [&str; 8] = [
    "overnight_rate_bp",
    "spread_to_deposit_bp",
    "spread_to_policy_bp",
    "spread_to_lending_bp",
    "volume",
    "reserves_total",
    "lending_facility_use",
    "deposit_facility_use",
];

/// Statistic suffixes, in column order.
pub const STATS: [&str; 7] = ["mean", "std", "p05", "p25", "p50", "p75", "p95"];

const QUANTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// The daily columns a point's statistics are computed from.
pub const DAILY_COLUMNS: [&str; 9] = [
    "run",
    "overnight_rate_bp",
    "deposit_rate_bp",
    "policy_rate_bp",
    "lending_rate_bp",
    "volume",
    "reserves_total",
    "lending_facility_use",
    "deposit_facility_use",
];

/// Every moment name a calibration may target: `<var>_<stat>`.
pub fn moment_names() -> Vec<String> {
    VARS.iter()
        .flat_map(|v| STATS.iter().map(move |s| format!("{v}_{s}")))
        .collect()
}

/// One point's run-days, variable by variable (`None`: no value that day).
#[derive(Clone, Debug, Default)]
pub struct PointDays {
    /// The run of each row.
    pub run: Vec<u32>,
    /// One vector per entry of [`VARS`].
    pub vars: [Vec<Option<f64>>; 8],
}

impl PointDays {
    /// Appends one run's days.
    pub fn push_run(&mut self, records: &RunRecords) {
        for d in &records.days {
            self.run.push(records.run);
            let rate = d.overnight_rate_bp;
            let row = [
                rate,
                rate.map(|r| r - d.deposit_rate_bp),
                rate.map(|r| r - d.policy_rate_bp),
                rate.map(|r| r - d.lending_rate_bp),
                Some(d.volume.0 as f64),
                Some(d.reserves_total.0 as f64),
                Some(d.lending_facility_use.0 as f64),
                Some(d.deposit_facility_use.0 as f64),
            ];
            for (v, x) in self.vars.iter_mut().zip(row) {
                v.push(x);
            }
        }
    }

    /// From the columns [`DAILY_COLUMNS`] read back from a part file.
    pub fn from_columns(cols: &[Vec<Option<f64>>]) -> PointDays {
        let rate = &cols[1];
        let spread = |base: &Vec<Option<f64>>| -> Vec<Option<f64>> {
            rate.iter()
                .zip(base)
                .map(|(r, b)| r.zip(*b).map(|(r, b)| r - b))
                .collect()
        };
        PointDays {
            run: cols[0].iter().map(|r| r.unwrap_or(0.0) as u32).collect(),
            vars: [
                rate.clone(),
                spread(&cols[2]),
                spread(&cols[3]),
                spread(&cols[4]),
                cols[5].clone(),
                cols[6].clone(),
                cols[7].clone(),
                cols[8].clone(),
            ],
        }
    }

    /// Run-days held.
    pub fn len(&self) -> usize {
        self.run.len()
    }

    /// Whether no day is held.
    pub fn is_empty(&self) -> bool {
        self.run.is_empty()
    }

    /// Number of days with an overnight rate.
    pub fn rate_count(&self) -> usize {
        self.vars[0].iter().flatten().count()
    }

    /// All statistics, `VARS.len() * STATS.len()` values in `moment_names()` order.
    pub fn statistics(&self) -> Vec<Option<f64>> {
        self.vars
            .iter()
            .flat_map(|v| describe(v.iter().flatten().copied().collect()))
            .collect()
    }

    /// The statistics of each run on its own (for the covariance of the moments): one
    /// vector per run, in run order.
    pub fn run_statistics(&self) -> Vec<Vec<Option<f64>>> {
        let mut runs: Vec<u32> = self.run.clone();
        runs.sort_unstable();
        runs.dedup();
        runs.iter()
            .map(|&r| {
                self.vars
                    .iter()
                    .flat_map(|v| {
                        describe(
                            v.iter()
                                .zip(&self.run)
                                .filter(|(_, run)| **run == r)
                                .filter_map(|(x, _)| *x)
                                .collect(),
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

/// Mean, sd (ddof 1) and the five quantiles of `xs`; `None` where undefined.
pub fn describe(mut xs: Vec<f64>) -> [Option<f64>; 7] {
    if xs.is_empty() {
        return [None; 7];
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.len() > 1)
        .then(|| (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt());
    let q = |p: f64| quantile_linear(&xs, p);
    [
        Some(mean),
        std,
        Some(q(QUANTILES[0])),
        Some(q(QUANTILES[1])),
        Some(q(QUANTILES[2])),
        Some(q(QUANTILES[3])),
        Some(q(QUANTILES[4])),
    ]
}

/// numpy's "linear" quantile of sorted `xs`.
pub fn quantile_linear(xs: &[f64], p: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    xs[lo] + (xs[hi] - xs[lo]) * (h - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // np.quantile([4, 1, 3, 2], [0.05, 0.25, 0.5, 0.75, 0.95]) = [1.15, 1.75, 2.5, 3.25, 3.85];
        // np.mean = 2.5, np.std(ddof=1) = 1.2909944487358056.
        let d = describe(vec![4.0, 1.0, 3.0, 2.0]);
        let want = [2.5, 1.2909944487358056, 1.15, 1.75, 2.5, 3.25, 3.85];
        for (g, w) in d.iter().zip(want) {
            assert!((g.unwrap() - w).abs() < 1e-12, "{g:?} vs {w}");
        }
        assert_eq!(describe(vec![]), [None; 7]);
        assert_eq!(describe(vec![2.0])[1], None);
    }

    #[test]
    fn names_follow_vars_then_stats() {
        let names = moment_names();
        assert_eq!(names.len(), 8 * 7);
        assert_eq!(names[0], "overnight_rate_bp_mean");
        assert_eq!(names[7], "spread_to_deposit_bp_mean");
        assert_eq!(names[21], "spread_to_lending_bp_mean");
        assert_eq!(names[55], "deposit_facility_use_p95");
    }
}
