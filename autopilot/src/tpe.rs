//! The Tree-structured Parzen Estimator (Bergstra et al. 2011), as Optuna's
//! `TPESampler` does it, on one learner's space in unit coordinates.
//!
//! Observations are sorted by loss; the best `γ(n) = min(⌈0.1·n⌉, 25)` (at
//! least one) form the "good" set, the rest the "bad" set. Each parameter gets
//! a Parzen density per set: one Gaussian per observation (bandwidth = the
//! larger gap to its sorted neighbours, clipped to `[1/min(100, n+1), 1]`) plus
//! a wide prior kernel; choices get smoothed category frequencies. The
//! proposal is the best of 24 draws from the good density by
//! `log l(x) − log g(x)`. Parameters are modelled independently.
//!
//! ## Credit
//!
//! The recipe (γ, bandwidth clipping, prior kernel, 24 candidates) follows
//! Optuna's `optuna/samplers/_tpe/` closely (no code was copied). Optuna's
//! licence:
//!
//! > MIT License
//! >
//! > Copyright (c) 2018 Preferred Networks, Inc.
//! >
//! > Permission is hereby granted, free of charge, to any person obtaining a
//! > copy of this software and associated documentation files (the
//! > "Software"), to deal in the Software without restriction, including
//! > without limitation the rights to use, copy, modify, merge, publish,
//! > distribute, sublicense, and/or sell copies of the Software, and to
//! > permit persons to whom the Software is furnished to do so, subject to
//! > the following conditions:
//! >
//! > The above copyright notice and this permission notice shall be included
//! > in all copies or substantial portions of the Software.
//! >
//! > THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
//! > OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
//! > MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
//! > IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
//! > CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
//! > TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
//! > SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

use rand::Rng;

use crate::space::{Config, Param};

/// Observations with fewer points than this get random proposals instead.
pub const STARTUP_TRIALS: usize = 5;
const CANDIDATES: usize = 24;

/// Proposes the next configuration of `space` given `(config, loss)` pairs.
/// `None` when there are too few observations to model (sample randomly then).
pub fn propose(space: &[Param], observed: &[(Config, f64)], rng: &mut impl Rng) -> Option<Config> {
    if observed.len() < STARTUP_TRIALS || space.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..observed.len()).collect();
    order.sort_by(|&a, &b| observed[a].1.total_cmp(&observed[b].1).then(a.cmp(&b)));
    let gamma = observed.len().div_ceil(10).clamp(1, 25);
    let (good, bad) = order.split_at(gamma);

    let mut best: Option<(f64, Config)> = None;
    let models: Vec<(Density, Density)> = space
        .iter()
        .map(|p| {
            let units = |rows: &[usize]| -> Vec<f64> {
                rows.iter()
                    .map(|&i| {
                        observed[i]
                            .0
                            .get(p.name)
                            .map_or(0.5, |v| p.domain.to_unit(v))
                    })
                    .collect()
            };
            let categories = p.domain.categories();
            (
                Density::fit(&units(good), categories),
                Density::fit(&units(bad), categories),
            )
        })
        .collect();
    for _ in 0..CANDIDATES {
        let mut config = Config::new();
        let mut score = 0.0;
        for (param, (l, g)) in space.iter().zip(&models) {
            let u = l.sample(rng);
            score += l.log_pdf(u) - g.log_pdf(u);
            config.insert(param.name.to_string(), param.domain.from_unit(u));
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, config));
        }
    }
    best.map(|(_, config)| config)
}

/// A one-dimensional Parzen density on [0, 1].
enum Density {
    /// Gaussian kernels (mean, sd) with equal weights, the prior last.
    Kernels(Vec<(f64, f64)>),
    /// Category probabilities (smoothed by a uniform prior).
    Categories(Vec<f64>),
}

impl Density {
    fn fit(points: &[f64], categories: Option<usize>) -> Density {
        if let Some(n) = categories {
            let mut weights = vec![1.0 / n as f64; n];
            for &u in points {
                let i = ((u * n as f64) as usize).min(n - 1);
                weights[i] += 1.0;
            }
            let total: f64 = weights.iter().sum();
            return Density::Categories(weights.into_iter().map(|w| w / total).collect());
        }
        let mut sorted: Vec<f64> = points.to_vec();
        sorted.sort_by(f64::total_cmp);
        let min_sd = 1.0 / (sorted.len() as f64 + 1.0).min(100.0);
        let mut kernels: Vec<(f64, f64)> = sorted
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let left = if i == 0 { x } else { x - sorted[i - 1] };
                let right = if i + 1 == sorted.len() {
                    1.0 - x
                } else {
                    sorted[i + 1] - x
                };
                (x, left.max(right).clamp(min_sd, 1.0))
            })
            .collect();
        kernels.push((0.5, 1.0));
        Density::Kernels(kernels)
    }

    fn sample(&self, rng: &mut impl Rng) -> f64 {
        match self {
            Density::Categories(p) => {
                let mut r: f64 = rng.random();
                for (i, w) in p.iter().enumerate() {
                    if r < *w {
                        return (i as f64 + 0.5) / p.len() as f64;
                    }
                    r -= w;
                }
                (p.len() as f64 - 0.5) / p.len() as f64
            }
            Density::Kernels(kernels) => {
                let (mean, sd) = kernels[rng.random_range(0..kernels.len())];
                // Truncated to [0, 1] by rejection (a few tries), then clamped.
                for _ in 0..16 {
                    let x = mean + sd * standard_normal(rng);
                    if (0.0..=1.0).contains(&x) {
                        return x;
                    }
                }
                mean.clamp(0.0, 1.0)
            }
        }
    }

    fn log_pdf(&self, u: f64) -> f64 {
        match self {
            Density::Categories(p) => {
                let i = ((u * p.len() as f64) as usize).min(p.len() - 1);
                p[i].ln()
            }
            Density::Kernels(kernels) => {
                let density: f64 = kernels
                    .iter()
                    .map(|&(mean, sd)| {
                        let z = (u - mean) / sd;
                        (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
                    })
                    .sum::<f64>()
                    / kernels.len() as f64;
                density.max(1e-300).ln()
            }
        }
    }
}

/// Box–Muller.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::{Value, get_f64};

    #[test]
    fn proposals_move_towards_the_good_region() {
        // Loss = (x - 0.8)²: after random observations, TPE should propose near 0.8
        // far more often than uniform sampling would.
        let space = [Param::float("x", 0.0, 1.0, false)];
        let mut rng = smelt_data::seeded_rng(3);
        let mut observed: Vec<(Config, f64)> = (0..20)
            .map(|i| {
                let x = i as f64 / 19.0;
                (
                    Config::from([("x".to_string(), Value::Float(x))]),
                    (x - 0.8).powi(2),
                )
            })
            .collect();
        let mut near = 0;
        for _ in 0..50 {
            let config = propose(&space, &observed, &mut rng).unwrap();
            let x = get_f64(&config, "x", -1.0);
            assert!((0.0..=1.0).contains(&x));
            if (x - 0.8).abs() < 0.15 {
                near += 1;
            }
            observed.push((config, (x - 0.8).powi(2)));
        }
        assert!(near > 30, "only {near} of 50 proposals near the optimum");
    }

    #[test]
    fn too_few_observations_mean_random_search() {
        let space = [Param::choice("c", &["a", "b"])];
        let mut rng = smelt_data::seeded_rng(0);
        assert!(propose(&space, &[], &mut rng).is_none());
    }
}
