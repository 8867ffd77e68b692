//! A small WebDriver client (W3C WebDriver over HTTP, as chromedriver
//! speaks it) on the tree's reqwest and serde_json: the few commands the
//! browser tests use. A WebDriver crate was tried (thirtyfour) and
//! switched serde_json's `preserve_order` on for every test build, which
//! reorders the JSON the library's goldens pin.

use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::{Value, json};

pub type WebDriverResult<T> = anyhow::Result<T>;

/// How long a wait for an element or a page may take before the test
/// fails: generous, since two cores are shared by everything a CI runs.
pub const WAIT: Duration = Duration::from_secs(60);

/// How often a wait looks again. WebDriver has no events to wait on: a
/// wait is polling the browser until a deadline.
const POLL: Duration = Duration::from_millis(50);

/// The key WebDriver names element references with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub enum By<'a> {
    Id(&'a str),
    Tag(&'a str),
    Css(String),
}

impl By<'_> {
    fn css(&self) -> String {
        match self {
            By::Id(id) => format!("#{id}"),
            By::Tag(tag) => (*tag).to_owned(),
            By::Css(css) => css.clone(),
        }
    }
}

/// A WebDriver error reply: its code (`no such element`, `stale element
/// reference`, …) and message.
#[derive(Debug)]
struct Refused {
    error: String,
    message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// An error of the browser's inspector, passed on by chromedriver when
    /// a command meets a page in the middle of being replaced.
    fn navigating(&self) -> bool {
        self.error == "unknown error" && self.message.contains("unhandled inspector error")
    }
}

/// One browser session.
#[derive(Clone)]
pub struct WebDriver {
    http: reqwest::Client,
    /// http://127.0.0.1:PORT/session/ID
    session: String,
}

impl WebDriver {
    /// Starts a session on the driver at `url` with these capabilities.
    pub async fn new(url: &str, capabilities: Value) -> WebDriverResult<WebDriver> {
        // The driver is on the loopback: no proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(WAIT * 2)
            .build()?;
        let answer = send(
            &http,
            reqwest::Method::POST,
            &format!("{url}/session"),
            Some(json!({ "capabilities": { "alwaysMatch": capabilities } })),
        )
        .await?;
        let id = answer["sessionId"]
            .as_str()
            .context("a new session has an id")?;
        Ok(WebDriver {
            http,
            session: format!("{url}/session/{id}"),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> WebDriverResult<Value> {
        send(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    async fn get(&self, path: &str) -> WebDriverResult<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> WebDriverResult<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn quit(&self) -> WebDriverResult<()> {
        self.call(reqwest::Method::DELETE, "", None).await?;
        Ok(())
    }

    pub async fn goto(&self, url: impl AsRef<str>) -> WebDriverResult<()> {
        self.post("/url", json!({ "url": url.as_ref() })).await?;
        Ok(())
    }

    pub async fn current_url(&self) -> WebDriverResult<url::Url> {
        let url = self.get("/url").await?;
        Ok(url::Url::parse(
            url.as_str().context("the URL is a string")?,
        )?)
    }

    /// The first element `by` finds, waiting for it up to WAIT.
    pub fn query<'a>(&self, by: By<'a>) -> Query<'a> {
        Query {
            driver: self.clone(),
            by,
        }
    }

    /// The first element `by` finds now.
    pub async fn find(&self, by: By<'_>) -> WebDriverResult<WebElement> {
        let found = self
            .post(
                "/element",
                json!({ "using": "css selector", "value": by.css() }),
            )
            .await?;
        self.element(&found)
    }

    /// Every element `by` finds now (none is no error).
    pub async fn find_all(&self, by: By<'_>) -> WebDriverResult<Vec<WebElement>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": by.css() }),
            )
            .await?;
        self.elements(&found)
    }

    fn element(&self, value: &Value) -> WebDriverResult<WebElement> {
        Ok(WebElement {
            driver: self.clone(),
            id: value[ELEMENT]
                .as_str()
                .context("an element reference")?
                .to_owned(),
        })
    }

    fn elements(&self, value: &Value) -> WebDriverResult<Vec<WebElement>> {
        value
            .as_array()
            .context("a list of elements")?
            .iter()
            .map(|value| self.element(value))
            .collect()
    }

    /// Runs `script` in the page (WebDriver's scripts are not bound by the
    /// page's CSP) and returns what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> WebDriverResult<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    pub async fn get_all_cookies(&self) -> WebDriverResult<Vec<Value>> {
        Ok(self
            .get("/cookie")
            .await?
            .as_array()
            .context("a list of cookies")?
            .clone())
    }

    pub async fn delete_all_cookies(&self) -> WebDriverResult<()> {
        self.call(reqwest::Method::DELETE, "/cookie", None).await?;
        Ok(())
    }

    pub async fn add_cookie(&self, cookie: Value) -> WebDriverResult<()> {
        self.post("/cookie", json!({ "cookie": cookie })).await?;
        Ok(())
    }

    /// The text of the open dialog (alert, confirm, prompt); an error when
    /// there is none.
    pub async fn get_alert_text(&self) -> WebDriverResult<String> {
        let text = self.get("/alert/text").await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    pub async fn screenshot_as_png(&self) -> WebDriverResult<Vec<u8>> {
        let png = self.get("/screenshot").await?;
        Ok(base64::engine::general_purpose::STANDARD
            .decode(png.as_str().context("a screenshot is base64")?)?)
    }

    pub async fn set_window_rect(&self, width: u32, height: u32) -> WebDriverResult<()> {
        self.post(
            "/window/rect",
            json!({ "x": 0, "y": 0, "width": width, "height": height }),
        )
        .await?;
        Ok(())
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> WebDriverResult<Value> {
    let request = http.request(method, url);
    // Every POST carries a JSON body, if only `{}`.
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let answer = request.send().await?;
    let ok = answer.status().is_success();
    let mut answer: Value = answer.json().await?;
    let value = answer["value"].take();
    if !ok {
        return Err(Refused {
            error: value["error"].as_str().unwrap_or("unknown").to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        }
        .into());
    }
    Ok(value)
}

pub struct Query<'a> {
    driver: WebDriver,
    by: By<'a>,
}

impl Query<'_> {
    /// The first element found, waiting up to WAIT for one.
    pub async fn first(&self) -> WebDriverResult<WebElement> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.driver.find_all(By::Css(self.by.css())).await?;
            if let Some(first) = found.into_iter().next() {
                return Ok(first);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no element {} after {WAIT:?}", self.by.css());
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// An element of the page.
pub struct WebElement {
    driver: WebDriver,
    id: String,
}

impl WebElement {
    async fn get(&self, path: &str) -> WebDriverResult<Value> {
        self.driver
            .get(&format!("/element/{}{path}", self.id))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> WebDriverResult<Value> {
        self.driver
            .post(&format!("/element/{}{path}", self.id), body)
            .await
    }

    pub fn to_json(&self) -> WebDriverResult<Value> {
        Ok(json!({ ELEMENT: self.id }))
    }

    pub async fn text(&self) -> WebDriverResult<String> {
        Ok(self
            .get("/text")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn tag_name(&self) -> WebDriverResult<String> {
        Ok(self
            .get("/name")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn attr(&self, name: &str) -> WebDriverResult<Option<String>> {
        Ok(self
            .get(&format!("/attribute/{name}"))
            .await?
            .as_str()
            .map(str::to_owned))
    }

    pub async fn class_name(&self) -> WebDriverResult<Option<String>> {
        self.attr("class").await
    }

    /// The form field's current value (the property, not the attribute).
    pub async fn value(&self) -> WebDriverResult<Option<String>> {
        Ok(self
            .get("/property/value")
            .await?
            .as_str()
            .map(str::to_owned))
    }

    pub async fn click(&self) -> WebDriverResult<()> {
        self.post("/click", json!({})).await?;
        Ok(())
    }

    pub async fn clear(&self) -> WebDriverResult<()> {
        self.post("/clear", json!({})).await?;
        Ok(())
    }

    pub async fn send_keys(&self, text: &str) -> WebDriverResult<()> {
        self.post("/value", json!({ "text": text })).await?;
        Ok(())
    }

    pub async fn find_all(&self, by: By<'_>) -> WebDriverResult<Vec<WebElement>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": by.css() }),
            )
            .await?;
        self.driver.elements(&found)
    }

    /// Waits, up to WAIT, until the element's page is gone.
    pub async fn stale(&self) -> WebDriverResult<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let refused = match self.get("/name").await {
                Ok(_) => None,
                Err(error) => match error.downcast::<Refused>() {
                    Ok(refused) => Some(refused),
                    Err(error) => return Err(error),
                },
            };
            match refused {
                Some(refused) if refused.error == "stale element reference" => return Ok(()),
                // Asked while the page is being replaced, chromedriver may
                // pass on the browser's own complaint ("Node with given id
                // does not belong to the document", "Cannot find context
                // with specified id") instead of deciding: ask again.
                Some(refused) if !refused.navigating() => return Err(refused.into()),
                _ if tokio::time::Instant::now() > deadline => {
                    bail!("the page did not change in {WAIT:?}")
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }
}
