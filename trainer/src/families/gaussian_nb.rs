//! `gaussian_nb`: Gaussian naive Bayes (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "gaussian_nb",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Classification,
    hyperparameters: "`var_smoothing` (`1e-9`)",
    parse: super::linfa,
};
