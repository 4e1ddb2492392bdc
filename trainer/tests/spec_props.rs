//! Property tests for training job specs (`JobSpec::from_toml`): any text,
//! including every example spec cut short or with bytes changed, gives a
//! spec or an error that names the file, never a panic; a valid spec with
//! generated values writes to TOML and reads back equal; and out-of-range
//! values are refused by name.

use proptest::prelude::*;
use smelt_trainer::JobSpec;

const EXAMPLES: [&str; 6] = [
    include_str!("../../examples/iris.toml"),
    include_str!("../../examples/wine.toml"),
    include_str!("../../examples/digits.toml"),
    include_str!("../../examples/diabetes.toml"),
    include_str!("../../examples/penguins.toml"),
    include_str!("../../examples/breast_cancer.toml"),
];

/// An example spec with a stretch replaced by generated text.
fn mangled() -> impl Strategy<Value = String> {
    (
        prop::sample::select(EXAMPLES.to_vec()),
        any::<prop::sample::Index>(),
        0usize..16,
        prop_oneof!["\\PC{0,6}", "[\\[\\]=\"'.,{}\n0-9a-z-]{0,6}"],
    )
        .prop_map(|(example, at, len, insert)| {
            let chars: Vec<char> = example.chars().collect();
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            chars[..start]
                .iter()
                .chain(insert.chars().collect::<Vec<_>>().iter())
                .chain(&chars[end..])
                .collect()
        })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), mangled()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn specs_never_panic(text in text()) {
        match JobSpec::from_toml(&text, "job.toml") {
            Ok(spec) => prop_assert!(spec.validate().is_ok()),
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains("job.toml"), "{}", message);
            }
        }
    }

    #[test]
    fn valid_specs_round_trip(
        example in prop::sample::select(EXAMPLES.to_vec()),
        epochs in 1usize..10_000,
        batch_size in 1usize..4096,
        learning_rate in 1e-9f64..10.0,
        validation_fraction in 0.0f64..0.99,
        seed in any::<u64>(),
        target in "\\PC{1,12}",
        train in "[ -~]{1,24}",
    ) {
        let mut spec = JobSpec::from_toml(example, "example.toml").unwrap();
        spec.training.epochs = epochs;
        spec.training.batch_size = batch_size;
        spec.training.learning_rate = learning_rate;
        spec.data.validation_fraction = validation_fraction;
        spec.data.seed = seed;
        spec.data.target = target;
        spec.data.train = train;
        let text = toml::to_string(&spec).unwrap();
        let read = JobSpec::from_toml(&text, "written.toml");
        prop_assert!(read.is_ok(), "{}\n{:?}", text, read.err());
        prop_assert_eq!(read.unwrap(), spec);
    }

    #[test]
    fn out_of_range_values_are_refused_by_name(
        example in prop::sample::select(EXAMPLES.to_vec()),
        field in prop::sample::select(vec![
            ("epochs", "0"),
            ("batch_size", "0"),
            ("learning_rate", "-0.5"),
            ("learning_rate", "nan"),
            ("learning_rate", "inf"),
        ]),
    ) {
        let (key, value) = field;
        let mut spec: toml::Table = toml::from_str(example).unwrap();
        let training = spec
            .entry("training")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
        training.insert(key.to_string(), toml::from_str::<toml::Table>(&format!("v = {value}")).unwrap()["v"].clone());
        let text = toml::to_string(&spec).unwrap();
        let error = JobSpec::from_toml(&text, "job.toml").unwrap_err().to_string();
        prop_assert!(error.contains(&format!("training.{key}")) || error.contains(key), "{}", error);
        prop_assert!(error.contains("job.toml: "), "{}", error);
    }
}
