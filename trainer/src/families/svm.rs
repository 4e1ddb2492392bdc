//! `svm`: a C-SVM with Platt-scaled probabilities, or epsilon-SVR for regression (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "svm",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Both,
    hyperparameters: "`c` (`1.0`), `kernel` (`rbf` / `linear`), `gamma` (`1/n_features`), `eps` (`0.1`, regression)",
    parse: super::linfa,
};
