//! [`Categories`]: a text column stored as a dictionary of distinct labels
//! and one `u32` code per row.
//!
//! Text columns repeat a few labels many times: at a million rows a
//! `Vec<Option<String>>` spends about 40 bytes a cell on headers and small
//! heap blocks, where a code spends 4. Tests and encoders also work on codes
//! (counting is indexing), and only look at the labels once.

use std::collections::HashMap;

/// The code of a missing value.
pub const MISSING: u32 = u32::MAX;

/// A dictionary-encoded text column; `None` is missing. Equality compares
/// the rows' labels, not how they happen to be coded.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    /// Distinct labels, in order of first appearance.
    labels: Vec<String>,
    /// One code per row: an index into `labels`, or [`MISSING`].
    codes: Vec<u32>,
    /// Label → code, for appending.
    lookup: HashMap<String, u32>,
}

impl Categories {
    /// An empty column with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            codes: Vec::with_capacity(rows),
            ..Self::default()
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The label at `row` (`None` when missing). Panics past the end, as
    /// slice indexing does.
    pub fn get(&self, row: usize) -> Option<&str> {
        self.label(self.codes[row])
    }

    /// The label of `code` (`None` for [`MISSING`]).
    pub fn label(&self, code: u32) -> Option<&str> {
        (code != MISSING).then(|| self.labels[code as usize].as_str())
    }

    /// Whether `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        self.codes[row] == MISSING
    }

    /// The rows' labels in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&str>> + '_ {
        self.codes.iter().map(|code| self.label(*code))
    }

    /// The distinct labels, indexed by code (some may no longer occur after
    /// [`Categories::take`]).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// One code per row, [`MISSING`] for missing values.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// Appends a row.
    pub fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => MISSING,
            Some(label) => self.code_for(label),
        };
        self.codes.push(code);
    }

    /// The code of `label`, added to the dictionary if new.
    pub fn intern(&mut self, label: &str) -> u32 {
        self.code_for(label)
    }

    /// Appends a row by code: one [`Categories::intern`] returned, or
    /// [`MISSING`].
    pub fn push_code(&mut self, code: u32) {
        debug_assert!(code == MISSING || (code as usize) < self.labels.len());
        self.codes.push(code);
    }

    /// Appends the rows of `other`.
    pub fn extend_from(&mut self, other: &Categories) {
        let remap: Vec<u32> = other
            .labels
            .iter()
            .map(|label| self.code_for(label))
            .collect();
        self.codes.extend(other.codes.iter().map(|code| {
            if *code == MISSING {
                MISSING
            } else {
                remap[*code as usize]
            }
        }));
    }

    /// The given rows, in the given order (sharing this column's labels).
    pub fn take(&self, rows: &[usize]) -> Categories {
        Categories {
            labels: self.labels.clone(),
            codes: rows.iter().map(|row| self.codes[*row]).collect(),
            lookup: self.lookup.clone(),
        }
    }

    fn code_for(&mut self, label: &str) -> u32 {
        if let Some(code) = self.lookup.get(label) {
            return *code;
        }
        let code = u32::try_from(self.labels.len())
            .ok()
            .filter(|code| *code != MISSING)
            .expect("fewer than 2^32 - 1 distinct labels in one column");
        self.labels.push(label.to_string());
        self.lookup.insert(label.to_string(), code);
        code
    }
}

impl PartialEq for Categories {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<S: AsRef<str>> FromIterator<Option<S>> for Categories {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(values: I) -> Self {
        let values = values.into_iter();
        let mut categories = Categories::with_capacity(values.size_hint().0);
        for value in values {
            categories.push(value.as_ref().map(AsRef::as_ref));
        }
        categories
    }
}

impl From<Vec<Option<String>>> for Categories {
    fn from(values: Vec<Option<String>>) -> Self {
        values.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_share_labels_and_equality_ignores_coding() {
        let a: Categories = [Some("x"), None, Some("y"), Some("x")]
            .into_iter()
            .collect();
        assert_eq!(a.codes(), [0, MISSING, 1, 0]);
        assert_eq!(a.labels(), ["x", "y"]);
        assert_eq!(a.get(3), Some("x"));
        assert!(a.is_missing(1));
        let b: Categories = [Some("y"), Some("y"), Some("x"), None]
            .into_iter()
            .collect();
        let taken = b.take(&[2, 3, 0, 2]);
        assert_eq!(taken, a.take(&[0, 1, 2, 3]).take(&[0, 1, 2, 0]));
        assert_ne!(a, b);
    }

    #[test]
    fn extending_remaps_codes() {
        let mut a: Categories = [Some("x")].into_iter().collect();
        let b: Categories = [Some("y"), None, Some("x")].into_iter().collect();
        a.extend_from(&b);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            [Some("x"), Some("y"), None, Some("x")]
        );
        assert_eq!(a.labels().len(), 2);
    }
}
