//! `cnn`: a small convolutional network over rows read as images (Burn).

use super::{Family, Library, Tasks};

pub const FAMILY: Family = Family {
    kind: "cnn",
    synonyms: &[],
    library: Library::Burn,
    tasks: Tasks::Both,
    hyperparameters: "`image` (`[h, w]`; default: square), `channels` (`[16, 32]`), `kernel` (`3`, odd), `dense` (`64`), `activation`, `dropout`",
    parse: super::net,
};
