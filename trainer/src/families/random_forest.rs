//! `random_forest`: bagged decision trees (linfa-ensemble); probabilities are the trees' vote
//! shares.

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "random_forest",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Classification,
    hyperparameters: "`n_trees` (`100`), `max_depth`, `feature_subsample` (`0.5`), `bootstrap_fraction` (`1.0`), `seed` (`0`)",
    parse: super::linfa,
};
