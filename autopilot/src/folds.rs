//! How candidates are validated: stratified k-fold cross-validation on small
//! data (≤ 50,000 rows, SageMaker Autopilot's threshold), a stratified hold-out
//! above it. Every trial sees the same folds, so scores compare.

use smelt_data::{seeded_rng, shuffle};

/// Rows up to which candidates are cross-validated.
pub const CV_MAX_ROWS: usize = 50_000;
/// Share of the rows held out above [`CV_MAX_ROWS`].
pub const HOLDOUT_FRACTION: f64 = 0.2;

/// One split of the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
}

/// The folds every trial is scored on, and what was decided on the way.
#[derive(Debug, Clone)]
pub struct FoldPlan {
    pub folds: Vec<Fold>,
    /// For people: "5-fold stratified cross-validation", "20 % hold-out", ….
    pub description: String,
    /// Fallbacks taken (a class too small to stratify, …).
    pub warnings: Vec<String>,
    /// True when every row is in exactly one validation fold (out-of-fold
    /// predictions cover all rows); false for a hold-out.
    pub covers_all_rows: bool,
}

/// Plans validation for `rows` rows. `classes` holds each row's class code for
/// classification (folds are then stratified) and is `None` for regression.
pub fn plan(rows: usize, classes: Option<(&[usize], &[String])>, k: usize, seed: u64) -> FoldPlan {
    let mut warnings = Vec::new();
    let mut rng = seeded_rng(seed ^ 0x5eed_f01d);
    if rows > CV_MAX_ROWS {
        let groups = groups(rows, classes);
        let mut train = Vec::new();
        let mut valid = Vec::new();
        for mut group in groups {
            shuffle(&mut group, &mut rng);
            let held = ((group.len() as f64) * HOLDOUT_FRACTION).round() as usize;
            let held = held.min(group.len().saturating_sub(1));
            valid.extend_from_slice(&group[..held]);
            train.extend_from_slice(&group[held..]);
        }
        train.sort_unstable();
        valid.sort_unstable();
        return FoldPlan {
            folds: vec![Fold { train, valid }],
            description: format!(
                "{:.0} % hold-out ({} rows > {CV_MAX_ROWS})",
                HOLDOUT_FRACTION * 100.0,
                rows
            ),
            warnings,
            covers_all_rows: false,
        };
    }

    let mut k = k.clamp(2, rows.max(2));
    let mut stratified = classes.is_some();
    if let Some((codes, labels)) = classes {
        let mut counts = vec![0usize; labels.len()];
        for &c in codes {
            counts[c] += 1;
        }
        if let Some((smallest, &count)) = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .min_by_key(|(_, n)| **n)
            && count < k
        {
            if count >= 2 {
                warnings.push(format!(
                    "class '{}' has only {count} rows: {count}-fold stratified cross-validation instead of {k}-fold",
                    labels[smallest]
                ));
                k = count;
            } else {
                warnings.push(format!(
                    "class '{}' has a single row, too few to stratify: folds are drawn without stratification, and some folds will not see that class",
                    labels[smallest]
                ));
                stratified = false;
            }
        }
    }

    // Deal each class's shuffled rows round-robin over the folds, continuing
    // where the previous class stopped, so fold sizes differ by at most one.
    let groups = if stratified {
        groups(rows, classes)
    } else {
        groups(rows, None)
    };
    let mut assignment = vec![0usize; rows];
    let mut next = 0usize;
    for mut group in groups {
        shuffle(&mut group, &mut rng);
        for row in group {
            assignment[row] = next % k;
            next += 1;
        }
    }
    let folds = (0..k)
        .map(|fold| Fold {
            train: (0..rows).filter(|&r| assignment[r] != fold).collect(),
            valid: (0..rows).filter(|&r| assignment[r] == fold).collect(),
        })
        .collect();
    FoldPlan {
        folds,
        description: format!(
            "{k}-fold {}cross-validation",
            if stratified { "stratified " } else { "" }
        ),
        warnings,
        covers_all_rows: true,
    }
}

/// Rows grouped by class (one group for regression).
fn groups(rows: usize, classes: Option<(&[usize], &[String])>) -> Vec<Vec<usize>> {
    match classes {
        None => vec![(0..rows).collect()],
        Some((codes, labels)) => {
            let mut groups = vec![Vec::new(); labels.len()];
            for (row, &c) in codes.iter().enumerate() {
                groups[c].push(row);
            }
            groups
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(k: usize) -> Vec<String> {
        (0..k).map(|c| format!("c{c}")).collect()
    }

    #[test]
    fn stratified_folds_keep_class_shares_and_cover_every_row_once() {
        // 90 rows of class 0, 10 of class 1.
        let codes: Vec<usize> = (0..100).map(|r| usize::from(r >= 90)).collect();
        let plan = plan(100, Some((&codes, &labels(2))), 5, 0);
        assert_eq!(plan.folds.len(), 5);
        assert!(plan.warnings.is_empty());
        let mut seen = vec![0; 100];
        for fold in &plan.folds {
            assert_eq!(fold.valid.len(), 20);
            let minority = fold.valid.iter().filter(|&&r| codes[r] == 1).count();
            assert_eq!(minority, 2, "each fold holds its share of the small class");
            assert_eq!(fold.train.len() + fold.valid.len(), 100);
            for &r in &fold.valid {
                seen[r] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        // The same seed gives the same folds.
        assert_eq!(
            plan.folds,
            super::plan(100, Some((&codes, &labels(2))), 5, 0).folds
        );
    }

    #[test]
    fn a_small_class_lowers_k_and_a_single_row_drops_stratification() {
        let codes: Vec<usize> = (0..40).map(|r| usize::from(r >= 37)).collect();
        let plan = plan(40, Some((&codes, &labels(2))), 5, 1);
        assert_eq!(plan.folds.len(), 3);
        assert!(
            plan.warnings[0].contains("class 'c1' has only 3 rows"),
            "{:?}",
            plan.warnings
        );

        let codes: Vec<usize> = (0..40).map(|r| usize::from(r == 39)).collect();
        let plan = super::plan(40, Some((&codes, &labels(2))), 5, 1);
        assert_eq!(plan.folds.len(), 5);
        assert!(
            plan.warnings[0].contains("single row"),
            "{:?}",
            plan.warnings
        );
        assert!(!plan.description.contains("stratified"));
    }

    #[test]
    fn large_data_gets_a_stratified_holdout() {
        let rows = CV_MAX_ROWS + 10;
        let codes: Vec<usize> = (0..rows).map(|r| r % 2).collect();
        let plan = plan(rows, Some((&codes, &labels(2))), 5, 0);
        assert_eq!(plan.folds.len(), 1);
        assert!(!plan.covers_all_rows);
        let valid = &plan.folds[0].valid;
        assert_eq!(valid.len(), 10_002);
        assert_eq!(valid.iter().filter(|&&r| codes[r] == 1).count(), 5_001);
    }
}
