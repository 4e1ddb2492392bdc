//! The median pairwise distance of a row-major sample: MMD's bandwidth.
//!
//! [`median_squared_distance`] is the exact median of the squared Euclidean
//! distances `‖z_i − z_j‖²` over all unordered pairs `i < j` (NumPy
//! `np.median` of the upper triangle: the mean of the two middle values when
//! the pair count is even), computed without storing the `N(N−1)/2`
//! distances: each pass histograms the IEEE-754 bit patterns of the
//! distances in the current candidate range (bit patterns of non-negative
//! doubles sort like the values), narrows the range to the bucket holding
//! the wanted rank, and the last pass collects the few candidates left and
//! selects among them. Passes run on all available cores.

use smelt_gpu_kernels::{for_each_row, squared_distance, thread_count};

/// Most candidates collected in memory by the last pass.
const COLLECT_LIMIT: u64 = 1 << 22;

/// Buckets per histogram pass.
const BUCKET_BITS: u32 = 16;

/// Calls `visit(d²)` for every pair `i < j` of the `rows × columns` sample.
fn pair_pass<S, I, V>(data: &[f64], columns: usize, init: I, visit: V) -> Vec<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    V: Fn(&mut S, f64) + Sync,
{
    let rows = data.len() / columns;
    for_each_row(rows, thread_count(rows), init, |state, i| {
        let row = &data[i * columns..(i + 1) * columns];
        for other in data[(i + 1) * columns..].chunks_exact(columns) {
            visit(state, squared_distance(row, other));
        }
    })
}

/// Exact median and mean of the pairwise squared distances of a sample with
/// at least two rows: `(median, mean)`.
pub(crate) fn median_squared_distance(data: &[f64], columns: usize) -> (f64, f64) {
    median_by_sampled_range(data, columns, COLLECT_LIMIT, SAMPLED_PAIRS)
        .unwrap_or_else(|| median_with_limit(data, columns, COLLECT_LIMIT))
}

/// Pairs drawn to guess where the median lies.
const SAMPLED_PAIRS: usize = 200_000;

/// The exact median in one pass when a guess holds: the 48th and 52nd
/// percentiles of `sampled` seeded random pairs bracket the median (the
/// sampling error of a quantile at 200,000 pairs is about 0.1 percentile
/// points, so the bracket is about 18 standard errors wide each side); one
/// pass counts the pairs below the bracket and collects those inside, and
/// when the median's ranks fall inside, selects it exactly. `None` (the
/// caller falls back to [`median_with_limit`]) when the sample is not
/// smaller than the pairs, the bracket would hold more than `limit` pairs,
/// or the guess missed.
fn median_by_sampled_range(
    data: &[f64],
    columns: usize,
    limit: u64,
    sampled: usize,
) -> Option<(f64, f64)> {
    let rows = data.len() / columns;
    let pairs = (rows as u64) * (rows as u64 - 1) / 2;
    if (sampled as u64) * 4 >= pairs || pairs / 25 > limit {
        return None;
    }
    let row = |i: usize| &data[i * columns..(i + 1) * columns];
    let mut state = 0x5EED_0000_0000_0001u64 ^ pairs;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut guesses: Vec<f64> = (0..sampled)
        .map(|_| {
            let i = (next() % rows as u64) as usize;
            let mut j = (next() % (rows as u64 - 1)) as usize;
            if j >= i {
                j += 1;
            }
            squared_distance(row(i), row(j))
        })
        .collect();
    radsort::sort(&mut guesses);
    let (lo, hi) = (guesses[sampled * 48 / 100], guesses[sampled * 52 / 100]);
    // Each worker collects at most `limit` values (many equal distances
    // could crowd the bracket); past that the guess is abandoned.
    let partials = pair_pass(
        data,
        columns,
        || (0u64, Vec::new(), 0.0f64, false),
        |(below, inside, sum, overflow), d2| {
            *sum += d2;
            if d2 < lo {
                *below += 1;
            } else if d2 <= hi {
                if (inside.len() as u64) < limit {
                    inside.push(d2);
                } else {
                    *overflow = true;
                }
            }
        },
    );
    let (mut below, mut inside, mut sum) = (0u64, Vec::new(), 0.0);
    for (partial_below, partial_inside, partial_sum, overflow) in partials {
        if overflow {
            return None;
        }
        below += partial_below;
        inside.extend(partial_inside);
        sum += partial_sum;
    }
    let (low_rank, high_rank) = (pairs.saturating_sub(1) / 2, pairs / 2);
    if below > low_rank || below + inside.len() as u64 <= high_rank {
        return None;
    }
    radsort::sort(&mut inside);
    let at = |rank: u64| inside[(rank - below) as usize];
    Some((0.5 * (at(low_rank) + at(high_rank)), sum / pairs as f64))
}

/// [`median_squared_distance`] collecting at most `limit` candidates.
fn median_with_limit(data: &[f64], columns: usize, limit: u64) -> (f64, f64) {
    let rows = (data.len() / columns) as u64;
    let pairs = rows * (rows - 1) / 2;
    let (low_rank, high_rank) = (pairs.saturating_sub(1) / 2, pairs / 2);
    // Candidate bit range [lo, hi), values below it, values inside it.
    let (mut lo, mut hi) = (0u64, f64::INFINITY.to_bits());
    let (mut below, mut inside) = (0u64, pairs);
    let mut mean = None;
    while inside > limit && hi - lo > 1 {
        let width = hi - lo;
        let shift = (64 - (width - 1).leading_zeros()).saturating_sub(BUCKET_BITS);
        let buckets = ((width - 1) >> shift) as usize + 1;
        let partials = pair_pass(
            data,
            columns,
            || (vec![0u64; buckets], 0.0f64),
            |(counts, sum), d2| {
                *sum += d2;
                let bits = d2.to_bits();
                if (lo..hi).contains(&bits) {
                    counts[((bits - lo) >> shift) as usize] += 1;
                }
            },
        );
        let mut counts = vec![0u64; buckets];
        let mut sum = 0.0;
        for (partial, partial_sum) in partials {
            counts.iter_mut().zip(partial).for_each(|(c, p)| *c += p);
            sum += partial_sum;
        }
        mean.get_or_insert(sum / pairs as f64);
        let mut seen = below;
        for (bucket, count) in counts.iter().enumerate() {
            if seen + count > low_rank {
                below = seen;
                inside = *count;
                lo += (bucket as u64) << shift;
                hi = lo.saturating_add(1u64 << shift).min(hi);
                break;
            }
            seen += count;
        }
    }
    // Last pass: collect the candidates (unless they are all one value) and
    // the smallest value above the range, for the upper middle rank.
    let single = hi - lo == 1;
    let partials = pair_pass(
        data,
        columns,
        || (Vec::new(), f64::INFINITY, 0.0f64),
        |(found, above, sum), d2| {
            *sum += d2;
            let bits = d2.to_bits();
            if (lo..hi).contains(&bits) {
                if !single {
                    found.push(d2);
                }
            } else if bits >= hi && d2 < *above {
                *above = d2;
            }
        },
    );
    let (mut found, mut above, mut sum) = (Vec::new(), f64::INFINITY, 0.0);
    for (partial, partial_above, partial_sum) in partials {
        found.extend(partial);
        above = above.min(partial_above);
        sum += partial_sum;
    }
    let mean = mean.unwrap_or(sum / pairs as f64);
    let (low_index, high_index) = (low_rank - below, high_rank - below);
    let value_at = |index: u64, sorted: &[f64]| {
        if single {
            if index < inside {
                f64::from_bits(lo)
            } else {
                above
            }
        } else {
            sorted.get(index as usize).copied().unwrap_or(above)
        }
    };
    found.sort_by(f64::total_cmp);
    let median = 0.5 * (value_at(low_index, &found) + value_at(high_index, &found));
    (median, mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(data: &[f64], columns: usize) -> f64 {
        let rows: Vec<&[f64]> = data.chunks_exact(columns).collect();
        let mut all = Vec::new();
        for i in 0..rows.len() {
            for j in i + 1..rows.len() {
                all.push(squared_distance(rows[i], rows[j]));
            }
        }
        all.sort_by(f64::total_cmp);
        let n = all.len();
        0.5 * (all[(n - 1) / 2] + all[n / 2])
    }

    #[test]
    fn median_matches_brute_force_odd_and_even_pair_counts() {
        let data: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 * 0.3).collect();
        for (rows, columns) in [(2, 1), (3, 2), (4, 2), (5, 4), (40, 1), (10, 4)] {
            let sample = &data[..rows * columns];
            let expected = brute(sample, columns);
            assert_eq!(median_squared_distance(sample, columns).0, expected);
            // Force the histogram passes with a tiny collection limit.
            assert_eq!(median_with_limit(sample, columns, 2).0, expected);
            // The one-pass guess, where it applies, agrees (or declines).
            if let Some((median, _)) = median_by_sampled_range(sample, columns, 1 << 20, 3) {
                assert_eq!(median, expected);
            }
        }
    }

    #[test]
    fn the_sampled_bracket_finds_the_exact_median_or_declines() {
        let data: Vec<f64> = (0..3_000)
            .map(|i| ((i * 7919) % 1_009) as f64 * 0.01)
            .collect();
        for columns in [1, 3] {
            let expected = brute(&data, columns);
            let (median, mean) = median_by_sampled_range(&data, columns, 1 << 22, 20_000)
                .expect("the bracket holds the median");
            assert_eq!(median, expected);
            assert_eq!(median, median_with_limit(&data, columns, 1 << 22).0);
            assert!((mean - median_with_limit(&data, columns, 1 << 22).1).abs() < 1e-9 * mean);
            // A bracket that cannot hold the median is detected, not trusted.
            assert!(
                median_by_sampled_range(&data, columns, 1 << 22, 60)
                    .is_none_or(|m| m.0 == expected)
            );
        }
    }

    #[test]
    fn median_of_identical_rows_is_zero() {
        assert_eq!(median_squared_distance(&[1.0; 12], 3), (0.0, 0.0));
    }
}
