//! Training job specs (`smelt train spec.toml`, `smelt jobs submit`): TOML
//! into `JobSpec`, then the checks serde cannot make. Every input must give a
//! spec or a typed error that names the source, never a panic; a spec that
//! parses must also pass its own validation again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_trainer::JobSpec;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match JobSpec::from_toml(&text, "job.toml") {
        Ok(spec) => assert!(spec.validate().is_ok()),
        Err(error) => assert!(error.to_string().contains("job.toml"), "{error}"),
    }
});
