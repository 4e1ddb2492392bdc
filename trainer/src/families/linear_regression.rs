//! `linear_regression`: ordinary least squares (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "linear_regression",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Regression,
    hyperparameters: "`fit_intercept` (`true`)",
    parse: super::linfa,
};
