//! `mlp`: a multilayer perceptron (Burn), trained by the trainer's loop.

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "mlp",
    synonyms: &[],
    library: Library::Burn,
    tasks: Tasks::Both,
    hyperparameters: "`hidden` (`[64, 64]`), `activation` (`relu`; `gelu`, `tanh`, `sigmoid`, `leaky_relu`), `dropout` (`0.0`)",
    parse: super::net,
};
