//! The bounded reservoir sample stored in a profile: up to `capacity` whole
//! rows drawn uniformly from the profiled table (Vitter's Algorithm R with
//! a seeded SplitMix64 generator, so the same table and seed give the same
//! sample). Tests that need raw values rather than bins (exact
//! Kolmogorov–Smirnov, MMD across columns) run on it when the full
//! reference is not at hand.

use serde::{Deserialize, Serialize};
use smelt_data::rng::SplitMix64;
use smelt_data::{Categories, Column, Frame, Kind, Values};

/// Default rows kept.
pub const DEFAULT_SAMPLE_ROWS: usize = 1_000;

/// Rows sampled uniformly without replacement, in their original order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservoirSample {
    /// Most rows kept.
    pub capacity: usize,
    /// Seed of the draw.
    pub seed: u64,
    /// Rows the sample was drawn from.
    pub population: usize,
    /// Column names, in the table's order.
    pub columns: Vec<String>,
    /// Each column's kind.
    pub kinds: Vec<Kind>,
    /// The rows: numbers for numeric columns, text for categorical ones,
    /// `null` for missing values.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl ReservoirSample {
    /// Draws up to `capacity` rows of `frame`.
    pub fn from_frame(frame: &Frame, capacity: usize, seed: u64) -> ReservoirSample {
        let chosen = reservoir_indices(frame.rows(), capacity, seed);
        let columns = frame.columns();
        let rows = chosen
            .iter()
            .map(|&row| {
                columns
                    .iter()
                    .map(|column| cell(&column.values, row))
                    .collect()
            })
            .collect();
        ReservoirSample {
            capacity,
            seed,
            population: frame.rows(),
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            kinds: columns.iter().map(|c| c.kind()).collect(),
            rows,
        }
    }

    /// The sample as a frame (missing values as `NaN` / `None`).
    pub fn to_frame(&self) -> Result<Frame, String> {
        if self.kinds.len() != self.columns.len()
            || self.rows.iter().any(|row| row.len() != self.columns.len())
        {
            return Err("the profile's sample rows do not match its columns".into());
        }
        let columns = self
            .columns
            .iter()
            .zip(&self.kinds)
            .enumerate()
            .map(|(i, (name, kind))| match kind {
                Kind::Numeric => Column::numeric(
                    name.clone(),
                    self.rows
                        .iter()
                        .map(|row| row[i].as_f64().unwrap_or(f64::NAN))
                        .collect(),
                ),
                Kind::Categorical => Column::categorical(
                    name.clone(),
                    self.rows
                        .iter()
                        .map(|row| match &row[i] {
                            serde_json::Value::String(s) => Some(s.clone()),
                            serde_json::Value::Null => None,
                            other => Some(other.to_string()),
                        })
                        .collect::<Categories>(),
                ),
            })
            .collect();
        Frame::new(columns).map_err(|e| e.to_string())
    }
}

fn cell(values: &Values, row: usize) -> serde_json::Value {
    match values {
        Values::Numeric(v) => serde_json::Number::from_f64(v[row])
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Values::Categorical(v) => v.get(row).map_or(serde_json::Value::Null, |s| {
            serde_json::Value::String(s.to_string())
        }),
    }
}

/// Algorithm R: the first `capacity` rows, then row `i` replaces a random
/// slot with probability `capacity / (i + 1)`. Returned sorted.
fn reservoir_indices(population: usize, capacity: usize, seed: u64) -> Vec<usize> {
    let mut reservoir: Vec<usize> = (0..population.min(capacity)).collect();
    let mut rng = SplitMix64::new(seed);
    for i in capacity..population {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        if j < capacity {
            reservoir[j] = i;
        }
    }
    reservoir.sort_unstable();
    reservoir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_are_kept_whole_and_large_ones_capped_reproducibly() {
        let frame = Frame::new(vec![
            Column::numeric("x", (0..10).map(f64::from).collect()),
            Column::categorical(
                "c",
                (0..10)
                    .map(|i| (i % 2 == 0).then(|| "a".to_string()))
                    .collect::<Vec<_>>(),
            ),
        ])
        .unwrap();
        let whole = ReservoirSample::from_frame(&frame, 100, 0);
        assert_eq!(whole.rows.len(), 10);
        assert_eq!(whole.to_frame().unwrap(), frame);

        let a = reservoir_indices(100_000, 1_000, 7);
        assert_eq!(a, reservoir_indices(100_000, 1_000, 7));
        assert_ne!(a, reservoir_indices(100_000, 1_000, 8));
        assert_eq!(a.len(), 1_000);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        // Uniform: each tenth of the population holds about a tenth of the sample.
        for decile in 0..10 {
            let inside = a.iter().filter(|&&i| i / 10_000 == decile).count();
            assert!((60..=140).contains(&inside), "decile {decile}: {inside}");
        }
    }
}
