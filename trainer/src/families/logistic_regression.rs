//! `logistic_regression`: binary or multinomial logistic regression, L2-penalised (linfa).
//! `logistic` is accepted too: it is the name users type first.

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "logistic_regression",
    synonyms: &["logistic"],
    library: Library::Linfa,
    tasks: Tasks::Classification,
    hyperparameters: "`alpha` (`1.0`, L2; like sklearn's `C = 1`), `max_iterations` (`200`), `fit_intercept` (`true`)",
    parse: super::linfa,
};
