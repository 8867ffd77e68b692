//! What every bench shares: valid company codes and the verdict column of
//! the `BENCH` lines `scripts/bench.sh` collects.

use licwatch::domain::uscc::Uscc;

/// A valid USCC for company `index`: the check character is found by asking
/// the domain's parser, not by copying its algorithm.
pub fn uscc(index: u64) -> String {
    let body = format!("91110000{index:09}");
    "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .map(|check| format!("{body}{check}"))
        .find(|code| code.parse::<Uscc>().is_ok())
        .expect("one of the 31 characters is the check character")
}

pub fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}
