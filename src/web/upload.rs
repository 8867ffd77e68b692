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

/// `licwatch import`'s `--header-row N` and `--strict`, as the upload form
/// gives them. The confirmation writes with the options of its dry run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// None: the row within the first ten that names the most columns.
    pub header_row: Option<usize>,
    pub strict: bool,
}

impl ImportOptions {
    /// From the form's `header_row` (empty: found as the CLI finds it) and
    /// `strict` (a checkbox: sent only when checked).
    pub fn from_form(header_row: &str, strict: bool) -> Result<ImportOptions, String> {
        let header_row = match header_row.trim() {
            "" => None,
            text => Some(text.parse::<usize>().map_err(|_| {
                format!(
                    "--header-row \"{text}\": not a row number (accepted: the row that names the columns, as the sheet numbers it: 1, 2, 3 …; or empty to find it)"
                )
            })?),
        };
        Ok(ImportOptions { header_row, strict })
    }
}

/// An uploaded sheet and the options of its import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub options: ImportOptions,
}

/// A sheet kept between its dry run and the confirmation.
struct Upload {
    account: i64,
    sheet: Sheet,
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
    pub fn keep(&self, token: String, account: i64, sheet: Sheet) {
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
                sheet,
                at: now,
            },
        );
    }

    /// Takes the sheet kept under `token` by `account`, once.
    pub fn take(&self, token: &str, account: i64) -> Option<Sheet> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let upload = kept.remove(token)?;
        if upload.account != account || upload.at.elapsed() >= KEPT_FOR {
            return None;
        }
        Some(upload.sheet)
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
        let sheet = Sheet {
            filename: "a.csv".into(),
            bytes: b"x".to_vec(),
            options: ImportOptions {
                header_row: Some(3),
                strict: true,
            },
        };
        uploads.keep("t".into(), 1, sheet.clone());
        assert!(uploads.take("t", 2).is_none());
        uploads.keep("t".into(), 1, sheet.clone());
        assert_eq!(uploads.take("t", 1), Some(sheet));
        assert!(uploads.take("t", 1).is_none());
    }

    #[test]
    fn the_import_options_are_the_clis() {
        assert_eq!(
            ImportOptions::from_form(" ", false),
            Ok(ImportOptions::default())
        );
        assert_eq!(
            ImportOptions::from_form("4", true),
            Ok(ImportOptions {
                header_row: Some(4),
                strict: true
            })
        );
        let refused = ImportOptions::from_form("第四行", false).unwrap_err();
        assert!(
            refused.starts_with("--header-row \"第四行\": not a row number"),
            "{refused}"
        );
    }
}
