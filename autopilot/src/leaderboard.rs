//! The leaderboard: every trial that finished its full fit, plus the
//! ensemble, ranked by the objective; written to the parent run as CSV, JSON
//! and an SVG chart of score against time.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::problem::Metric;
use crate::search::{Trial, TrialState};

/// One row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rank: usize,
    /// `trial-7`, or `ensemble`.
    pub model: String,
    /// The learner, or the members of the ensemble (`gbdt×0.6 + mlp×0.4`).
    pub learner: String,
    /// The objective on the out-of-fold rows.
    pub score: f64,
    pub metrics: BTreeMap<String, f64>,
    /// Fit seconds over all folds and levels.
    pub fit_seconds: f64,
    /// When it finished, in seconds since the search began.
    pub finished_s: f64,
    pub params: BTreeMap<String, String>,
    /// The child run that tracked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// One point of the score-over-time chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub seconds: f64,
    pub score: f64,
    pub learner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub metric: String,
    pub higher_is_better: bool,
    pub validation: String,
    pub trials_started: usize,
    pub trials_complete: usize,
    pub trials_pruned: usize,
    pub trials_failed: usize,
    pub seconds: f64,
    pub entries: Vec<Entry>,
    pub timeline: Vec<Point>,
}

impl Leaderboard {
    /// Ranks the complete trials (and `ensemble`, when given) by `metric`.
    pub fn build(
        metric: Metric,
        validation: &str,
        trials: &[Trial],
        run_ids: &BTreeMap<usize, String>,
        ensemble: Option<Entry>,
        seconds: f64,
    ) -> Leaderboard {
        let mut entries: Vec<Entry> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                let last = t.rungs.last()?;
                Some(Entry {
                    rank: 0,
                    model: format!("trial-{}", t.id),
                    learner: t.learner.name().to_string(),
                    score: last.score,
                    metrics: last.metrics.clone(),
                    fit_seconds: t.seconds(),
                    finished_s: t.ended_s.unwrap_or(seconds),
                    params: t
                        .config
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                    run_id: run_ids.get(&t.id).cloned(),
                })
            })
            .collect();
        entries.extend(ensemble);
        // Ties go to the ensemble, then to the earlier trial: never to timing,
        // so a seeded search ranks the same way on every run.
        let order = |e: &Entry| -> usize {
            e.model
                .strip_prefix("trial-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        entries.sort_by(|a, b| {
            metric
                .loss(a.score)
                .total_cmp(&metric.loss(b.score))
                .then(order(a).cmp(&order(b)))
        });
        for (i, entry) in entries.iter_mut().enumerate() {
            entry.rank = i + 1;
        }
        let mut timeline: Vec<Point> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                Some(Point {
                    seconds: t.ended_s?,
                    score: t.last_score()?,
                    learner: t.learner.name().to_string(),
                })
            })
            .collect();
        timeline.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let count = |state: TrialState| trials.iter().filter(|t| t.state == state).count();
        Leaderboard {
            metric: metric.name().to_string(),
            higher_is_better: metric.higher_is_better(),
            validation: validation.to_string(),
            trials_started: trials.len(),
            trials_complete: count(TrialState::Complete),
            trials_pruned: count(TrialState::Pruned),
            trials_failed: count(TrialState::Failed),
            seconds,
            entries,
            timeline,
        }
    }

    pub fn best(&self) -> Option<&Entry> {
        self.entries.first()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a leaderboard serialises")
    }

    /// One row per entry: rank, model, learner, score, fit seconds, then every
    /// metric and parameter seen (blank where an entry lacks one).
    pub fn to_csv(&self) -> String {
        let metrics: std::collections::BTreeSet<&String> =
            self.entries.iter().flat_map(|e| e.metrics.keys()).collect();
        let params: std::collections::BTreeSet<&String> =
            self.entries.iter().flat_map(|e| e.params.keys()).collect();
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec![
            "rank".to_string(),
            "model".into(),
            "learner".into(),
            self.metric.clone(),
            "fit_seconds".into(),
            "finished_s".into(),
            "run_id".into(),
        ];
        header.extend(metrics.iter().map(|m| format!("metric.{m}")));
        header.extend(params.iter().map(|p| format!("param.{p}")));
        let _ = writer.write_record(&header);
        for e in &self.entries {
            let mut row = vec![
                e.rank.to_string(),
                e.model.clone(),
                e.learner.clone(),
                e.score.to_string(),
                format!("{:.3}", e.fit_seconds),
                format!("{:.3}", e.finished_s),
                e.run_id.clone().unwrap_or_default(),
            ];
            row.extend(
                metrics
                    .iter()
                    .map(|m| e.metrics.get(*m).map(f64::to_string).unwrap_or_default()),
            );
            row.extend(
                params
                    .iter()
                    .map(|p| e.params.get(*p).cloned().unwrap_or_default()),
            );
            let _ = writer.write_record(&row);
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// Score of every complete trial against the time it finished, with the
    /// best-so-far as a step line.
    pub fn to_svg(&self) -> String {
        let (w, h) = (640.0, 360.0);
        let (left, right, top, bottom) = (70.0, 150.0, 40.0, 50.0);
        let plot_w = w - left - right;
        let plot_h = h - top - bottom;
        let max_t = self
            .timeline
            .iter()
            .map(|p| p.seconds)
            .fold(self.seconds.max(1e-3), f64::max);
        let scores: Vec<f64> = self.timeline.iter().map(|p| p.score).collect();
        let (mut lo, mut hi) = scores
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &s| {
                (a.min(s), b.max(s))
            });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-9 {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let pad = (hi - lo) * 0.05;
        let (lo, hi) = (lo - pad, hi + pad);
        let x = |t: f64| left + t / max_t * plot_w;
        let y = |s: f64| top + (hi - s) / (hi - lo) * plot_h;

        let mut learners: Vec<&str> = self.timeline.iter().map(|p| p.learner.as_str()).collect();
        learners.sort_unstable();
        learners.dedup();
        const COLOURS: [&str; 8] = [
            "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
        ];
        let colour = |learner: &str| {
            COLOURS[learners.iter().position(|l| *l == learner).unwrap_or(0) % COLOURS.len()]
        };

        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{} of each finished trial over time</text>"#,
            left + plot_w / 2.0,
            self.metric
        );
        let _ = write!(
            svg,
            r##"<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>"##
        );
        for i in 0..=4 {
            let s = lo + (hi - lo) * i as f64 / 4.0;
            let t = max_t * i as f64 / 4.0;
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{s:.4}</text><text x="{}" y="{}" text-anchor="middle">{t:.1}</text>"#,
                left - 6.0,
                y(s) + 4.0,
                x(t),
                top + plot_h + 18.0
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">seconds since the search began</text>"#,
            left + plot_w / 2.0,
            h - 10.0
        );
        // Best so far.
        let mut best: Option<f64> = None;
        let mut path = String::new();
        for p in &self.timeline {
            let better = match best {
                None => true,
                Some(b) if self.higher_is_better => p.score > b,
                Some(b) => p.score < b,
            };
            if better {
                if let Some(b) = best {
                    let _ = write!(path, " L{:.1},{:.1}", x(p.seconds), y(b));
                } else {
                    let _ = write!(path, "M{:.1},{:.1}", x(p.seconds), y(p.score));
                }
                let _ = write!(path, " L{:.1},{:.1}", x(p.seconds), y(p.score));
                best = Some(p.score);
            }
        }
        if let Some(b) = best {
            let _ = write!(path, " L{:.1},{:.1}", x(max_t), y(b));
            let _ = write!(
                svg,
                r#"<path d="{path}" fill="none" stroke="black" stroke-width="1.5"/>"#
            );
        }
        for p in &self.timeline {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" fill-opacity="0.75"/>"#,
                x(p.seconds),
                y(p.score),
                colour(&p.learner)
            );
        }
        for (i, learner) in learners.iter().enumerate() {
            let ly = top + 10.0 + i as f64 * 18.0;
            let _ = write!(
                svg,
                r#"<circle cx="{}" cy="{ly}" r="5" fill="{}"/><text x="{}" y="{}">{}</text>"#,
                w - right + 15.0,
                colour(learner),
                w - right + 25.0,
                ly + 4.0,
                learner
            );
        }
        svg.push_str("</svg>");
        svg
    }
}
