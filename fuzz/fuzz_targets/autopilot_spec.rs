//! Autopilot job specs (the `[autopilot]` table): TOML into `AutopilotSpec`
//! and its validation. Every input must give a spec or a typed error that
//! names the source, never a panic; a spec that parses must write back to
//! TOML that parses to the same spec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_autopilot::AutopilotSpec;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match AutopilotSpec::from_toml(&text, "autopilot.toml") {
        Ok(spec) => {
            let again = AutopilotSpec::from_toml(&spec.to_toml(), "again.toml")
                .expect("a written spec parses");
            assert_eq!(again.to_toml(), spec.to_toml());
        }
        Err(error) => assert!(error.to_string().contains("autopilot.toml"), "{error}"),
    }
});
