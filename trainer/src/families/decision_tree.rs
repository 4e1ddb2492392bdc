//! `decision_tree`: a CART decision tree (linfa); probabilities are one-hot.

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "decision_tree",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Classification,
    hyperparameters: "`max_depth`, `min_samples_split` (`2`), `min_samples_leaf` (`1`), `criterion` (`gini` / `entropy`)",
    parse: super::linfa,
};
