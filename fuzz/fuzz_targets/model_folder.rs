//! A model folder's descriptor files, what `load_model` reads when a model is
//! served or evaluated: `model.json` (runtime, architecture or linfa spec,
//! task) and `preprocessing.json` (the fitted preprocessor). Smelt writes
//! the `MLmodel` YAML for MLflow's tools but never parses it, so the files
//! fuzzed here are the ones it does read. The input is split at its first
//! NUL byte into the two files; both are parsed, and a folder whose
//! descriptor is not a Burn network is loaded (a Burn network's layer sizes
//! are taken as given, so an absurd one is a memory limit, not a parser
//! bug). Every input must give a model or a typed error, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smelt_models::{ModelDescriptor, Preprocessor, RuntimeSpec, load_model};

fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FOLDER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp folder");
        let path = dir.path().join("model");
        std::fs::create_dir(&path).expect("the model folder");
        std::fs::write(path.join("MLmodel"), "flavors: {}\n").expect("MLmodel");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    let (model_json, preprocessing_json) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let descriptor = serde_json::from_slice::<ModelDescriptor>(model_json);
    let preprocessor = serde_json::from_slice::<Preprocessor>(preprocessing_json);
    let Ok(descriptor) = descriptor else {
        return;
    };
    if matches!(descriptor.runtime, RuntimeSpec::Burn { .. }) || preprocessor.is_err() {
        return;
    }
    let folder = folder();
    std::fs::write(folder.join("model.json"), model_json).expect("model.json");
    std::fs::write(folder.join("preprocessing.json"), preprocessing_json)
        .expect("preprocessing.json");
    let _ = load_model(folder);
});
