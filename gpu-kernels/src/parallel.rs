//! Small building blocks of the plain-Rust paths: rows dealt out to worker
//! threads, and the squared Euclidean distance.

/// Number of worker threads for `rows` rows: one for small inputs.
pub fn thread_count(rows: usize) -> usize {
    if rows < 512 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    }
}

/// Runs `body(state, i)` for every row `i` in `0..rows`, rows dealt out
/// round-robin to `threads` workers, each with its own state from `init`;
/// returns the workers' states.
pub fn for_each_row<S, I, B>(rows: usize, threads: usize, init: I, body: B) -> Vec<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    B: Fn(&mut S, usize) + Sync,
{
    let threads = threads.max(1);
    if threads == 1 {
        let mut state = init();
        (0..rows).for_each(|i| body(&mut state, i));
        return vec![state];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|worker| {
                let (init, body) = (&init, &body);
                scope.spawn(move || {
                    let mut state = init();
                    (worker..rows)
                        .step_by(threads)
                        .for_each(|i| body(&mut state, i));
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(state) => state,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// `‖a − b‖²` of two rows of equal length, summed in four interleaved
/// partial sums (so the compiler can vectorise; the order is fixed, so the
/// result is deterministic).
#[inline]
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..4 {
            let d = x[lane] - y[lane];
            lanes[lane] += d * d;
        }
    }
    let tail: f64 = a_tail
        .iter()
        .zip(b_tail)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]) + tail
}
