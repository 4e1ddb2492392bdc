//! `elastic_net`: mixed L1/L2 penalty, parameterised like scikit-learn's `ElasticNet` (linfa).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "elastic_net",
    synonyms: &[],
    library: Library::Linfa,
    tasks: Tasks::Regression,
    hyperparameters: "`alpha` (`1.0`), `l1_ratio` (`0.5`)",
    parse: super::linfa,
};
