//! A sheet uploaded for import: the `multipart/form-data` body of one small
//! form (a file and a few fields), read by hand, and the uploads kept in
//! memory between the dry run and its confirmation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One part of a multipart body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary a `Content-Type: multipart/form-data; boundary=…` names.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary"))
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A header parameter (`name="x"`) of a Content-Disposition line.
fn param(line: &str, key: &str) -> Option<String> {
    line.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of `body`, or why it is not a multipart body.
pub fn parts(body: &[u8], boundary: &str) -> Result<Vec<Part>, &'static str> {
    let delimiter = format!("--{boundary}");
    let mut rest = match find(body, delimiter.as_bytes()) {
        Some(at) => &body[at + delimiter.len()..],
        None => return Err("no part boundary in the body"),
    };
    let separator = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a boundary not followed by a line break")?;
        let head_end =
            find(rest, b"\r\n\r\n").ok_or("a part without a blank line after its headers")?;
        let head =
            std::str::from_utf8(&rest[..head_end]).map_err(|_| "part headers not in UTF-8")?;
        let disposition = head
            .lines()
            .find(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition:")
            })
            .ok_or("a part without Content-Disposition")?;
        let name = param(disposition, "name").ok_or("a part without a name")?;
        let filename = param(disposition, "filename");
        let content = &rest[head_end + 4..];
        let end = find(content, separator.as_bytes()).ok_or("the body ends inside a part")?;
        parts.push(Part {
            name,
            filename,
            data: content[..end].to_vec(),
        });
        rest = &content[end + separator.len()..];
    }
}

/// A sheet kept between its dry run and the confirmation.
struct Upload {
    account: i64,
    filename: String,
    bytes: Vec<u8>,
    at: Instant,
}

/// How long a dry run's sheet waits for its confirmation.
const KEPT_FOR: Duration = Duration::from_secs(30 * 60);
/// At most this many sheets wait at once (each within the upload cap).
const MAX_KEPT: usize = 4;

#[derive(Default)]
pub struct Uploads {
    kept: Mutex<HashMap<String, Upload>>,
}

impl Uploads {
    /// Keeps a sheet under `token`; the oldest goes when too many wait.
    pub fn keep(&self, token: String, account: i64, filename: String, bytes: Vec<u8>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        kept.retain(|_, upload| now.duration_since(upload.at) < KEPT_FOR);
        while kept.len() >= MAX_KEPT {
            let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, upload)| upload.at)
                .map(|(token, _)| token.clone())
            else {
                break;
            };
            kept.remove(&oldest);
        }
        kept.insert(
            token,
            Upload {
                account,
                filename,
                bytes,
                at: now,
            },
        );
    }

    /// Takes the sheet kept under `token` by `account`, once.
    pub fn take(&self, token: &str, account: i64) -> Option<(String, Vec<u8>)> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let upload = kept.remove(token)?;
        if upload.account != account || upload.at.elapsed() >= KEPT_FOR {
            return None;
        }
        Some((upload.filename, upload.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_form_splits_into_its_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"sheet\"; filename=\"clients.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n--XyZ--\r\n";
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        let parts = parts(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"abc");
        assert_eq!(parts[1].filename.as_deref(), Some("clients.csv"));
        assert_eq!(parts[1].data, b"a,b\r\n1,2\r\n");
    }

    #[test]
    fn a_broken_body_is_refused_not_guessed() {
        assert!(boundary("application/x-www-form-urlencoded").is_none());
        assert!(parts(b"no boundary here", "XyZ").is_err());
        assert!(
            parts(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
                "XyZ"
            )
            .is_err()
        );
        assert!(parts(b"--XyZ\r\nX: y\r\n\r\nz\r\n--XyZ--", "XyZ").is_err());
    }

    #[test]
    fn a_kept_sheet_is_given_once_and_only_to_its_account() {
        let uploads = Uploads::default();
        uploads.keep("t".into(), 1, "a.csv".into(), b"x".to_vec());
        assert!(uploads.take("t", 2).is_none());
        uploads.keep("t".into(), 1, "a.csv".into(), b"x".to_vec());
        assert_eq!(uploads.take("t", 1), Some(("a.csv".into(), b"x".to_vec())));
        assert!(uploads.take("t", 1).is_none());
    }
}
