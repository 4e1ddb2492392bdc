//! `lasso`: L1-penalised least squares, as scikit-learn's `Lasso` (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "lasso",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Regression,
    hyperparameters: "`alpha` (`1.0`), as scikit-learn's `Lasso`",
    parse: super::linfa,
};
