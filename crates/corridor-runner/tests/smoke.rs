use corridor_model::RecordOptions;
use corridor_model::fixtures;
use corridor_runner::{population, simulate_run};

#[test]
fn smoke() {
    for r in [-20_000i64, -5000, 0, 5000, 20_000] {
        let p = fixtures::poole(100, 10, 50, r, 10_000);
        let pop = population(&p, 1);
        let out = simulate_run(&p, &pop, 1, 0, RecordOptions::default(), true).unwrap();
        let rates: Vec<f64> = out
            .days
            .iter()
            .filter_map(|d| d.overnight_rate_bp)
            .collect();
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        let s = 10_000.0 * (1.0f64 - 1.0 / 100.0).sqrt();
        let analytic = -75.0 + 150.0 * corridor_model::normal::cdf(-(r as f64) / s);
        println!(
            "R={r} mean={mean:.4} analytic={analytic:.4} days={} vol={} lf={} q={}",
            rates.len(),
            out.days[3].volume,
            out.days[3].lending_facility_use,
            out.days[3].queued_payments
        );
    }
    let p = fixtures::busy_corridor(50, 100);
    let pop = population(&p, 3);
    let out = simulate_run(
        &p,
        &pop,
        3,
        0,
        RecordOptions {
            banks: true,
            trades: true,
        },
        true,
    )
    .unwrap();
    for d in out.days.iter().take(12) {
        println!("{d:?}");
    }
}
