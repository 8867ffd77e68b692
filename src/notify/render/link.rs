//! Links from an alert to its obligation's page in the web console. The
//! console routes by the same paths, so both sides build them here.

use super::{Digest, Fact};
use crate::domain::lang::Lang;

/// Everything but letters, digits, `-` and `.` is encoded: '/' so that a
/// key's slashes stay inside one path segment, and `_` and `~` because the
/// chat robots' markdown reads them as emphasis, and a word holding them is
/// sent in a code span, where DingTalk and WeCom show a link as text that
/// cannot be tapped. Servers decode `%5F` as `_`.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.');

/// The console's path of an obligation's page, relative to the site.
pub fn obligation_path(key: &str) -> String {
    let encoded: String = percent_encoding::utf8_percent_encode(key, PATH_SEGMENT).collect();
    format!("/obligation/{encoded}")
}

/// The page of an obligation under the console's public address.
pub fn obligation_url(base: &url::Url, key: &str) -> String {
    let base = base.as_str().trim_end_matches('/');
    format!("{base}{}", obligation_path(key))
}

/// Adds to each item a link to its obligation's page in the web console
/// under `base`: from the reminder to "done" in a few clicks.
pub fn link(digest: &mut Digest<'_>, base: &url::Url) {
    let label = match digest.lang {
        Lang::Zh => "处理页面",
        Lang::En => "Page",
    };
    for item in &mut digest.items {
        let value = obligation_url(base, item.alert.obligation.key.as_str());
        item.facts.push(Fact { label, value });
    }
}
