//! Property tests for the model folder's descriptor files: the `MLmodel`
//! YAML that `save_model` writes is valid YAML that says what was saved
//! whatever the names in it (quotes, colons, newlines, non-ASCII), and
//! `model.json` and `preprocessing.json` read back equal to what was
//! written; any bytes given as those files are a typed error, never a panic.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use smelt_data::{Column, Frame};
use smelt_models::flavor::MemberSpec;
use smelt_models::preprocessing::FeatureTransform;
use smelt_models::{
    ModelBundle, ModelDescriptor, ModelFiles, Preprocessor, RuntimeSpec, Task, Weights, load_model,
    save_model,
};

/// Fitted state that writes nothing: the properties are about the files
/// `save_model` writes itself.
struct NoWeights;

impl ModelFiles for NoWeights {
    fn save(&self, _dir: &Path) -> smelt_models::Result<&'static str> {
        Ok("weights.bin")
    }
}

/// Names as users write them, including YAML's special characters.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,10}",
        "[ -~]{1,12}",
        "\\PC{1,8}",
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("- a: b\n  c".to_string()),
        Just("'\"#&*!|>%@`".to_string()),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![prop::num::f64::NORMAL, prop::num::f64::ZERO]
}

fn task() -> impl Strategy<Value = Task> {
    prop_oneof![
        Just(Task::Regression),
        prop::collection::vec(name(), 1..4).prop_map(|classes| Task::Classification { classes }),
    ]
}

fn feature() -> impl Strategy<Value = FeatureTransform> {
    prop_oneof![
        (name(), finite(), finite(), finite()).prop_map(|(name, impute, mean, scale)| {
            FeatureTransform::Numeric {
                name,
                impute,
                mean,
                scale,
            }
        }),
        (name(), prop::collection::vec(name(), 0..4), any::<bool>()).prop_map(
            |(name, categories, missing_indicator)| FeatureTransform::Categorical {
                name,
                categories,
                missing_indicator,
            }
        ),
    ]
}

fn descriptor() -> impl Strategy<Value = ModelDescriptor> {
    let member =
        ("[a-z0-9/]{1,12}", finite(), name()).prop_map(|(path, weight, model_type)| MemberSpec {
            path,
            weight,
            model_type,
        });
    (
        name(),
        prop::collection::vec(member, 0..3),
        task(),
        name(),
        name(),
    )
        .prop_map(
            |(model_type, members, task, target, smelt_version)| ModelDescriptor {
                model_type,
                runtime: RuntimeSpec::Ensemble { members },
                task,
                target,
                smelt_version,
            },
        )
}

/// Distinct feature names (a frame's columns must be unique).
fn features() -> impl Strategy<Value = Vec<FeatureTransform>> {
    prop::collection::vec(feature(), 1..5).prop_map(|features| {
        let mut seen = std::collections::HashSet::new();
        features
            .into_iter()
            .filter(|f| seen.insert(f.name().to_string()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mlmodel_is_yaml_that_says_what_was_saved(
        descriptor in descriptor(),
        features in features(),
        run_id in prop::option::of(name()),
        model_id in prop::option::of(name()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let preprocessor = Preprocessor { features };
        let example = Frame::new(
            preprocessor
                .features
                .iter()
                .map(|f| Column::numeric(f.name(), vec![1.0, 2.0]))
                .collect(),
        )
        .unwrap();
        let bundle = ModelBundle {
            descriptor: descriptor.clone(),
            preprocessor: &preprocessor,
            weights: Weights::Model(&NoWeights),
            profile_json: None,
            metrics: BTreeMap::from([("rmse".to_string(), 0.5)]),
            input_example: example,
            run_id: run_id.clone(),
            model_id: model_id.clone(),
        };
        save_model(dir.path(), &bundle).unwrap();

        let text = std::fs::read_to_string(dir.path().join("MLmodel")).unwrap();
        let yaml: serde_norway::Value = serde_norway::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let smelt = &yaml["flavors"]["smelt"];
        prop_assert_eq!(smelt["target"].as_str(), Some(descriptor.target.as_str()), "{}", text);
        prop_assert_eq!(smelt["model_type"].as_str(), Some(descriptor.model_type.as_str()));
        prop_assert_eq!(smelt["data"].as_str(), Some("weights.bin"));
        prop_assert_eq!(yaml["run_id"].as_str(), run_id.as_deref());
        prop_assert_eq!(yaml["model_id"].as_str(), model_id.as_deref());
        let inputs: serde_json::Value =
            serde_json::from_str(yaml["signature"]["inputs"].as_str().unwrap()).unwrap();
        let names: Vec<&str> = inputs
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = preprocessor.features.iter().map(FeatureTransform::name).collect();
        prop_assert_eq!(names, expected);

        // The JSON files the loader reads come back equal.
        let read: ModelDescriptor =
            serde_json::from_slice(&std::fs::read(dir.path().join("model.json")).unwrap()).unwrap();
        prop_assert_eq!(read, descriptor);
        let read: Preprocessor =
            serde_json::from_slice(&std::fs::read(dir.path().join("preprocessing.json")).unwrap())
                .unwrap();
        prop_assert_eq!(read, preprocessor);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn descriptor_files_never_panic(
        model_json in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            descriptor().prop_map(|d| serde_json::to_vec(&d).unwrap()),
        ],
        cut in any::<prop::sample::Index>(),
    ) {
        // A descriptor cut short anywhere is an error, not a panic.
        let cut = &model_json[..cut.index(model_json.len() + 1)];
        let _ = serde_json::from_slice::<ModelDescriptor>(cut);
        let _ = serde_json::from_slice::<Preprocessor>(cut);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_folder_with_garbage_descriptors_is_an_error(
        model_json in prop::collection::vec(any::<u8>(), 0..64),
        preprocessing_json in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("MLmodel"), "flavors: {}\n").unwrap();
        std::fs::write(dir.path().join("model.json"), &model_json).unwrap();
        std::fs::write(dir.path().join("preprocessing.json"), &preprocessing_json).unwrap();
        prop_assert!(load_model(dir.path()).is_err());
    }
}
