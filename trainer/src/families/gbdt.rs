//! `gbdt`: gradient-boosted trees (perpetual): binary, multiclass (one booster per class) and
//! regression, what the autopilot's `gbdt` learner ships.

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "gbdt",
    synonyms: &[],
    library: Library::Perpetual,
    tasks: Tasks::Both,
    hyperparameters: "`budget` (`1.0`; higher fits longer and finer), `max_bin` (`256`), `iteration_limit` (none: the booster stops itself), `seed` (`0`)",
    parse: super::boosted,
};
