//! The `[routes.NAME]` tables as the config file has them: each route's kind,
//! where its secrets are (an environment variable or a file), never the
//! secrets themselves. `notify::route` resolves them into routes to send
//! through, when a command that sends asks.

use std::path::PathBuf;

use serde::Deserialize;

use crate::domain::lang::Lang;

/// One `[routes.NAME]` table, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RouteSpec {
    Email(EmailSpec),
    #[serde(rename = "dingtalk")]
    DingTalk(SignedSpec),
    #[serde(rename = "wecom")]
    WeCom(UrlSpec),
    Feishu(SignedSpec),
    Lark(SignedSpec),
    Slack(UrlSpec),
    Webhook(SignedSpec),
    Log(LogSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: only for a relay on the loopback interface.
    None,
}

impl TlsMode {
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSpec {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: String,
    pub to: Vec<String>,
    /// An extra PEM root certificate, for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    /// Past this many items a digest lists the most severe ones, says how
    /// many more there are, and attaches the full list as .xlsx.
    pub max_items: Option<usize>,
    /// Messages are split to stay within this size (KiB): servers refuse
    /// large messages (postfix's default limit is 10 MB).
    pub max_message_kib: Option<usize>,
    pub lang: Option<Lang>,
}

/// A robot or webhook whose URL carries its token and whose messages may be
/// signed with a secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedSpec {
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub lang: Option<Lang>,
}

/// A robot whose URL is its only credential (WeCom, Slack).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlSpec {
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    pub lang: Option<Lang>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    pub lang: Option<Lang>,
}
