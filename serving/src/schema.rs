//! The model's input signature as serving checks it: the columns a model
//! reads, in order, each numeric or categorical. Built from the model's
//! fitted preprocessing, so it is exactly what the model can take: numeric
//! columns accept numbers and missing values (imputed with the training
//! median), categorical columns accept text (unseen categories encode as
//! all zeros) and missing values.

use smelt_data::Kind;

#[derive(Debug, Clone, PartialEq)]
pub struct InputSchema {
    pub columns: Vec<InputColumn>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputColumn {
    pub name: String,
    pub kind: Kind,
}

impl InputSchema {
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}
