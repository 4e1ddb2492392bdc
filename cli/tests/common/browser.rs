//! A headless Chromium driven over the W3C WebDriver protocol, for the web
//! UI's tests: Debian's `chromium` and `chromium-driver` (`scripts/test.sh`
//! installs them). A few calls of the protocol are all the tests need, so
//! they are written here on the plain HTTP client of `common` rather than
//! pulling a WebDriver crate (and its feature flags) into the build.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{free_port, http};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key W3C WebDriver puts element references under.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session; the driver is stopped when dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    screenshots: PathBuf,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless session, or `None` (the test
    /// skips, saying why) when Chromium is not installed and peers are not
    /// required.
    pub fn start() -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            let message = format!(
                "{CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)"
            );
            if std::env::var("SMELT_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("{message}");
            }
            eprintln!("skipping the browser test: {message}");
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, body)) = http(port, "GET", "/status", None)
                && body.contains("\"ready\":true")
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000"]
            }
        }}});
        let (status, body) = http(
            port,
            "POST",
            "/session",
            Some(capabilities.to_string().as_bytes()),
        )
        .expect("chromedriver answers");
        let reply: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(status, 200, "no browser session: {body}");
        let session = reply["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        let screenshots = screenshot_dir();
        std::fs::create_dir_all(&screenshots).unwrap();
        Some(Browser {
            driver,
            port,
            session,
            screenshots,
        })
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let text = body.map(|b| b.to_string());
        let (status, reply) = http(self.port, method, &path, text.as_deref().map(str::as_bytes))
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let reply: Value = serde_json::from_str(&reply)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON ({e}): {reply}"));
        assert_eq!(status, 200, "WebDriver {method} {path}: {reply}");
        reply["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// Waits until the page's address ends with `suffix` (a redirect made by
    /// a script happens after the first page has loaded).
    pub fn wait_for_url(&self, suffix: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.current_url();
            if url.ends_with(suffix)
                && self.script("return document.readyState;") == json!("complete")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still at {url}, expected …{suffix}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn current_url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.command("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Every element matching a CSS selector (SVG elements included).
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self.command(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one element matching, or a panic naming the selector and page.
    pub fn find(&self, css: &str) -> Element {
        self.find_all(css).into_iter().next().unwrap_or_else(|| {
            panic!(
                "no element matches {css:?} on {} ({})",
                self.current_url(),
                self.title()
            )
        })
    }

    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.command(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    /// Clicks something that does not leave the page (a checkbox).
    pub fn click(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        );
    }

    /// Clicks a link or submit button and waits for the next page to load:
    /// a click returns before the navigation it starts, so reading right
    /// after it could read the old page.
    pub fn follow(&self, element: &Element) {
        self.script("window.__smeltOldPage = true;");
        self.click(element);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.script(
            "return window.__smeltOldPage === undefined && document.readyState === 'complete';",
        ) != json!(true)
        {
            assert!(Instant::now() < deadline, "no new page after the click");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Replaces an input's text.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.command(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        );
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        );
    }

    /// Picks the `<option>` of a `<select>` whose value is `value`.
    pub fn select(&self, select_css: &str, value: &str) {
        let option = self.find(&format!("{select_css} option[value=\"{value}\"]"));
        self.click(&option);
    }

    /// Saves the page as `NAME.png` beside the other screenshots.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: `$SMELT_SCREENSHOTS`, else `ui-screenshots/` in the
/// cargo target folder.
pub fn screenshot_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SMELT_SCREENSHOTS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().map_or_else(
        || PathBuf::from("ui-screenshots"),
        |target| target.join("ui-screenshots"),
    )
}
