//! How failures reach the user: one `error: …` line on stderr and, where it
//! helps, a `hint: …` line saying what to do next.

use crate::config::{GlobalArgs, is_remote, redact, tracking_uri};

/// A failure with a message meant for a person and an optional next step.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// What to try.
    pub hint: Option<String>,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// An error with a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CliError {
        message: message.into(),
        hint: Some(hint.into()),
    })
}

/// An error without a hint.
pub fn failure(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CliError {
        message: message.into(),
        hint: None,
    })
}

/// Adds a hint to "does not exist" errors from the tracking store.
pub trait NotFoundHint<T> {
    /// Keeps other errors as they are.
    fn hint_not_found(self, hint: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> NotFoundHint<T> for Result<T, smelt_tracking::Error> {
    fn hint_not_found(self, hint: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            if e.is_not_found() {
                hinted(e.message, hint())
            } else {
                anyhow::Error::new(e)
            }
        })
    }
}

/// Prints an error (and its hint) to stderr.
pub fn report(error: &anyhow::Error, global: &GlobalArgs) {
    let (message, mut hint) = match error.downcast_ref::<CliError>() {
        Some(cli) if error.chain().count() == 1 => (cli.message.clone(), cli.hint.clone()),
        _ => {
            let hint = error
                .chain()
                .find_map(|cause| cause.downcast_ref::<CliError>())
                .and_then(|c| c.hint.clone());
            (format!("{error:#}"), hint)
        }
    };
    if hint.is_none() && looks_like_connection_failure(error) {
        let uri = tracking_uri(global);
        if is_remote(&uri) {
            hint = Some(format!(
                "is `smelt server` running at {}? Start one with `smelt server`, or point --tracking-uri / SMELT_TRACKING_URI at the right server",
                redact(&uri)
            ));
        }
    }
    eprintln!("error: {message}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

/// Whether the error says a server could not be reached.
fn looks_like_connection_failure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<smelt_tracking::Error>()
            && e.code == smelt_tracking::ErrorCode::TemporarilyUnavailable
        {
            return true;
        }
        let text = cause.to_string().to_ascii_lowercase();
        [
            "connection refused",
            "error sending request",
            "failed to connect",
            "cannot connect",
            "could not connect",
            "connect error",
            "tcp connect",
            "dns error",
        ]
        .iter()
        .any(|needle| text.contains(needle))
    })
}
