//! The security gate for artifact paths: every path a client names goes
//! through [`validate_relative_path`] before any store sees it.
//!
//! Artifact paths arrive from URLs and JSON bodies, so they may be percent
//! encoded once, twice or not at all. The gate decodes until the text stops
//! changing and checks the decoded form, so `%2e%2e` or `%252e%252e` cannot
//! smuggle a `..` past it. What it returns is the decoded, normalised path, and
//! that is the name the stores use, so the check and the use can never
//! disagree.

use crate::error::{Error, Result};

/// How many rounds of percent-decoding are tried before a path is refused.
/// Real names settle after one or two; more is an attack or garbage.
const MAX_DECODE_ROUNDS: usize = 8;

/// URL schemes that must never be taken as a relative file name. A colon is
/// otherwise a legal file-name character (`epoch:3.ckpt`), so only these known
/// schemes, and anything followed by `//`, count as a URL.
const KNOWN_SCHEMES: &[&str] = &[
    "file",
    "http",
    "https",
    "s3",
    "s3a",
    "s3n",
    "gs",
    "wasb",
    "wasbs",
    "abfs",
    "abfss",
    "hdfs",
    "viewfs",
    "dbfs",
    "ftp",
    "sftp",
    "runs",
    "models",
    "mlflow-artifacts",
    "data",
    "javascript",
];

/// Checks that `path` names something strictly inside an artifact root and
/// returns it cleaned up: percent-decoded, without `.` segments, duplicate or
/// trailing slashes. The root itself is `""`.
///
/// Refused, with `INVALID_PARAMETER_VALUE` ("Invalid path: …"):
/// absolute paths (`/x`, `\x`, `C:\x`, `C:/x`), any `..` segment, backslashes,
/// `#` (MLflow refuses it too, and the local store reserves `name#N` for its
/// upload staging files), NUL and other control characters, URLs with a
/// scheme, text that is not UTF-8 once decoded, and encodings that never
/// settle.
pub fn validate_relative_path(path: &str) -> Result<String> {
    let decoded = decode_until_stable(path)?;

    if decoded.chars().any(char::is_control) {
        return Err(invalid(path, "contains a control character"));
    }
    // Checked before the separator rules so `C:\x` and `\\server` get the
    // clearer "absolute" reason.
    if decoded.starts_with('/') || decoded.starts_with('\\') || has_drive_prefix(&decoded) {
        return Err(invalid(path, "is absolute"));
    }
    if has_url_scheme(&decoded) {
        return Err(invalid(path, "is a URL, not a relative path"));
    }
    // `..` is looked for across both separators before backslashes are
    // refused, so the reason names the real problem.
    if decoded.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(invalid(path, "contains a '..' segment"));
    }
    // A backslash is a separator on Windows and a plain character elsewhere;
    // refusing it keeps one meaning for a path on every platform.
    if decoded.contains('\\') {
        return Err(invalid(
            path,
            "contains a backslash; use '/' between folders",
        ));
    }
    if decoded.contains('#') {
        return Err(invalid(path, "contains '#'"));
    }

    let clean: Vec<&str> = decoded
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect();
    Ok(clean.join("/"))
}

/// Percent-decodes `path` until it stops changing.
fn decode_until_stable(path: &str) -> Result<String> {
    let mut current = path.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_encoding::percent_decode_str(&current)
            .decode_utf8()
            .map_err(|_| invalid(path, "is not UTF-8 once percent-decoded"))?;
        if next == current {
            return Ok(current);
        }
        current = next.into_owned();
    }
    Err(invalid(path, "is percent-encoded too many times"))
}

/// `C:`, `c:\…`, `C:/…`: a Windows drive, absolute or drive-relative.
fn has_drive_prefix(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Whether `path` starts like a URL: `scheme://…` for any scheme, or
/// `scheme:` for a scheme in [`KNOWN_SCHEMES`].
fn has_url_scheme(path: &str) -> bool {
    let Some((scheme, rest)) = path.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let looks_like_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !looks_like_scheme {
        return false;
    }
    rest.starts_with("//")
        || KNOWN_SCHEMES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(scheme))
}

/// MLflow's wording ("Invalid path"), plus the path and the reason.
fn invalid(path: &str, reason: &str) -> Error {
    // escape_debug keeps NUL and other control characters readable in logs.
    Error::invalid(format!("Invalid path: '{}' {reason}", path.escape_debug()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn ok(path: &str) -> String {
        match validate_relative_path(path) {
            Ok(clean) => clean,
            Err(error) => panic!("{path:?} should be accepted, got {error}"),
        }
    }

    fn refused(path: &str) {
        match validate_relative_path(path) {
            Ok(clean) => panic!("{path:?} should be refused, got {clean:?}"),
            Err(error) => {
                assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{path:?}");
                assert_eq!(error.code.http_status(), 400);
                assert!(
                    error.message.starts_with("Invalid path"),
                    "{}",
                    error.message
                );
            }
        }
    }

    #[test]
    fn accepts_and_normalises_relative_paths() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("."), "");
        assert_eq!(ok("./"), "");
        assert_eq!(ok("model/MLmodel"), "model/MLmodel");
        assert_eq!(ok("a/./b//c/"), "a/b/c");
        assert_eq!(ok("./a"), "a");
        assert_eq!(ok("a//"), "a");
        assert_eq!(ok("1/0123abc/artifacts/model"), "1/0123abc/artifacts/model");
        assert_eq!(ok("..."), "...");
        assert_eq!(ok("a..b/..c/d.."), "a..b/..c/d..");
        assert_eq!(ok(".hidden/x"), ".hidden/x");
        assert_eq!(ok("epoch:3.ckpt"), "epoch:3.ckpt");
        assert_eq!(ok("my file (1).txt"), "my file (1).txt");
        assert_eq!(ok("日本語/ファイル.txt"), "日本語/ファイル.txt");
        assert_eq!(ok("100%.txt"), "100%.txt");
    }

    #[test]
    fn decodes_percent_encoding() {
        assert_eq!(ok("my%20file.txt"), "my file.txt");
        assert_eq!(ok("a%2Fb"), "a/b");
        assert_eq!(ok("a%252Fb"), "a/b");
        assert_eq!(ok("%2e/x"), "x");
    }

    #[test]
    fn refuses_traversal() {
        for path in [
            "..",
            "../x",
            "x/..",
            "a/../b",
            "1/../../etc/passwd",
            "%2e%2e/x",
            "%2E%2E/x",
            "%2e%2e%2fx",
            "%252e%252e%252fetc",
            "%25252e%25252e/x",
            "a/%2e%2e/%2e%2e/x",
            "..\\x",
            "a\\..\\..\\x",
            "a%5c..%5cx",
            "./../x",
        ] {
            refused(path);
        }
    }

    #[test]
    fn refuses_absolute_paths() {
        for path in [
            "/etc/passwd",
            "//etc/passwd",
            "%2fetc/passwd",
            "%252Fetc",
            "\\x",
            "\\\\server\\share",
            "C:\\Windows",
            "C:/Windows",
            "c:",
            "d:x",
        ] {
            refused(path);
        }
    }

    #[test]
    fn refuses_control_characters_and_odd_characters() {
        for path in [
            "a\u{0}b", "a%00b", "a%2500b", "a\nb", "a\rb", "a\tb", "a\u{7f}b", "a\u{85}b", "a\\b",
            "a#b", "a%23b", "model#1",
        ] {
            refused(path);
        }
    }

    #[test]
    fn refuses_urls() {
        for path in [
            "file:///etc/passwd",
            "file:/etc/passwd",
            "s3://bucket/key",
            "http://example.com/x",
            "HTTPS://example.com/x",
            "mlflow-artifacts:/1/x",
            "runs:/abc/model",
            "custom+scheme://x",
            "file%3A%2F%2F%2Fetc%2Fpasswd",
        ] {
            refused(path);
        }
    }

    #[test]
    fn refuses_bad_encodings() {
        // %ff alone is not UTF-8.
        refused("a%ffb");
        // Nine layers of encoding never settle within the allowed rounds.
        let mut deep = String::from("%2e");
        for _ in 0..9 {
            deep = deep.replace('%', "%25");
        }
        refused(&deep);
    }

    #[test]
    fn validating_twice_changes_nothing() {
        // The router validates and the store validates again; the second
        // pass must neither refuse nor rename what the first accepted.
        for path in [
            "a/./b//c/",
            "my%20file.txt",
            "a%252Fb",
            "100%.txt",
            "%2541",
            "x/%25%32%65",
        ] {
            let once = ok(path);
            assert_eq!(ok(&once), once, "{path:?}");
        }
    }

    #[test]
    fn message_names_the_path() {
        let error = validate_relative_path("1/../../etc/passwd").unwrap_err();
        assert!(
            error.message.contains("1/../../etc/passwd"),
            "{}",
            error.message
        );
        let error = validate_relative_path("a\u{0}b").unwrap_err();
        assert!(error.message.contains("a\\0b"), "{}", error.message);
    }
}
