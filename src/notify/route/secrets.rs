//! Secrets: where they are read from, and the types that hold them so that
//! `Debug` and `Display` never show them (a token in a URL is masked to its
//! last four characters).

use std::fmt;
use std::path::Path;

use url::Url;

/// Secret bytes. `Debug` prints a mask, so a secret cannot reach a log by
/// accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A webhook URL whose token must not be shown: `Display` and `Debug` mask
/// every query value, the user and password, and the path where a token
/// may be (see [`PathSecret`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl {
    pub(super) url: Url,
    pub(super) path: PathSecret,
}

/// Where a URL's path may hold its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PathSecret {
    /// DingTalk, WeCom: the token is a query value.
    None,
    /// Feishu, Lark, Slack: the last segment is the token.
    LastSegment,
    /// A generic webhook: the token may be anywhere in the path (Discord,
    /// Teams and Zapier put it in one or several segments), so only the
    /// last four characters of the whole path are shown.
    Whole,
}

impl SecretUrl {
    pub fn expose(&self) -> &Url {
        &self.url
    }

    /// The same URL with `pairs` added to its query (signatures).
    pub fn with_query(&self, pairs: &[(&str, String)]) -> SecretUrl {
        let mut url = self.url.clone();
        url.query_pairs_mut().extend_pairs(pairs);
        SecretUrl {
            url,
            path: self.path,
        }
    }

    pub fn masked(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            // Only fails for URLs that cannot have a password, and this one has.
            let _ = url.set_password(Some("***"));
        }
        if !url.username().is_empty() {
            // As above: a URL with a user can have it replaced.
            let _ = url.set_username("***");
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(key, value)| (key.into_owned(), mask(&value)))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        if self.path == PathSecret::Whole && url.path() != "/" {
            let path = url.path().trim_start_matches('/').to_owned();
            let chars: Vec<char> = path.chars().collect();
            let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
            url.set_path(&format!("/***{tail}"));
        }
        if self.path == PathSecret::LastSegment {
            let segments: Vec<String> = url
                .path_segments()
                .map(|segments| segments.map(str::to_owned).collect())
                .unwrap_or_default();
            if let Some((last, rest)) = segments.split_last() {
                let mut path = rest.join("/");
                path.push('/');
                path.push_str(&mask(last));
                url.set_path(&path);
            }
        }
        url.to_string()
    }
}

/// Keeps the last four characters of a long token, enough to tell two robots
/// apart and too few to use.
fn mask(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() >= 16 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("***{tail}")
    } else {
        "***".to_owned()
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.masked())
    }
}

/// Where secrets come from. The daemon passes [`Environment`]; tests pass a
/// map, so that resolving is tested without touching the process.
pub trait Secrets {
    fn var(&self, name: &str) -> Option<String>;
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The process environment and the file system.
pub struct Environment;

impl Secrets for Environment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        crate::config::read_text(path)
    }
}
