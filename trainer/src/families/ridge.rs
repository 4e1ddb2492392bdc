//! `ridge`: L2-penalised least squares, as scikit-learn's `Ridge` (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "ridge",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Regression,
    hyperparameters: "`alpha` (`1.0`), as scikit-learn's `Ridge`",
    parse: super::linfa,
};
