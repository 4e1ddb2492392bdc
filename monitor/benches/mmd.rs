//! MMD on 5,000 vs 5,000 rows × 25 columns with 100 permutations: the case
//! issue 6 compares with Alibi Detect (157 s on CPU here).
//!
//! Run: `cargo bench -p smelt-monitor --bench mmd`.

#[path = "../tests/common/mod.rs"]
mod common;

use smelt_monitor::drift::Mmd;

fn main() {
    let mut generator = common::Generator(0x7141_0006);
    let reference = generator.rows(5000, 25, 0.0, &[1.0, 10.0]);
    let current = generator.rows(5000, 25, 0.1, &[1.0, 10.0]);
    let started = std::time::Instant::now();
    let report = Mmd::default()
        .compute_rows(&reference, &current, 25)
        .expect("valid input");
    println!(
        "MMD 5000 vs 5000 x 25, 100 permutations: {:.3} s on {} threads; {report:?}",
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
