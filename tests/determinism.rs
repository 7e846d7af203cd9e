//! Determinism at the library level: run k computed alone equals run k of a batch, and a
//! batch's records do not depend on the thread count.

mod common;

use common::*;
use corridor_model::RecordOptions;
use corridor_runner::{population, simulate_run};

#[test]
fn run_k_alone_equals_run_k_of_a_batch_on_any_thread_count() {
    let sc = scenario(
        "corridor_symmetric.toml",
        &["calendar.business_days=20".into()],
    );
    let options = RecordOptions {
        banks: true,
        trades: true,
    };
    let collect = |threads| simulate_on(&sc, 70, 99, options, Some(threads), false); // > 1 chunk
    let one = collect(1);
    let two = collect(2);
    assert_eq!(one, two);
    let pop = population(sc.params(), 99);
    for k in [0u32, 17, 69] {
        let alone = simulate_run(sc.params(), &pop, 99, k, options, false).unwrap();
        assert_eq!(alone, one[k as usize], "run {k}");
    }
    // Different runs see different shocks.
    assert_ne!(one[0].days, one[1].days);
}
