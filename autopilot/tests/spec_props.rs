//! Property tests for autopilot specs (the `[autopilot]` table,
//! `AutopilotSpec::from_toml`): any text, including the example spec with
//! bytes changed, gives a spec or an error that names the file, never a
//! panic; a valid spec with generated values writes (`to_toml`) and reads
//! back equal.

use proptest::prelude::*;
use smelt_autopilot::AutopilotSpec;

const EXAMPLE: &str = include_str!("../../examples/autopilot_wine.toml");

/// The example spec with a stretch replaced by generated text.
fn mangled() -> impl Strategy<Value = String> {
    (
        any::<prop::sample::Index>(),
        0usize..16,
        prop_oneof!["\\PC{0,6}", "[\\[\\]=\"'.,{}\n0-9a-z_-]{0,8}"],
    )
        .prop_map(|(at, len, insert)| {
            let chars: Vec<char> = EXAMPLE.chars().collect();
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            let mut text: String = chars[..start].iter().collect();
            text.push_str(&insert);
            text.extend(&chars[end..]);
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn specs_never_panic(text in prop_oneof![any::<String>(), mangled()]) {
        match AutopilotSpec::from_toml(&text, "autopilot.toml") {
            Ok(spec) => {
                let again = AutopilotSpec::from_toml(&spec.to_toml(), "again.toml");
                prop_assert_eq!(again.ok(), Some(spec));
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains("autopilot.toml: "), "{}", message);
            }
        }
    }

    #[test]
    fn valid_specs_round_trip(
        time_budget_s in 1.0f64..100_000.0,
        max_trials in prop::option::of(1usize..10_000),
        folds in 2usize..20,
        workers in prop::option::of(1usize..64),
        seed in any::<u64>(),
        target in "\\PC{1,12}",
        train in "[ -~]{1,24}",
        experiment in prop::option::of("\\PC{1,12}"),
        exclude in prop::collection::vec("\\PC{1,8}", 0..3),
    ) {
        let mut spec = AutopilotSpec::from_toml(EXAMPLE, "example.toml").unwrap();
        spec.time_budget_s = time_budget_s;
        spec.max_trials = max_trials;
        spec.folds = folds;
        spec.workers = workers;
        spec.seed = seed;
        spec.target = target;
        spec.train = train;
        spec.experiment = experiment;
        spec.exclude = exclude;
        let text = spec.to_toml();
        let read = AutopilotSpec::from_toml(&text, "written.toml");
        prop_assert!(read.is_ok(), "{}\n{:?}", text, read.err());
        prop_assert_eq!(read.unwrap(), spec);
    }
}
