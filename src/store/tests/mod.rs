use std::os::unix::fs::PermissionsExt;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::change::ChangeKind;
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::obligation::ObligationKind;
use crate::domain::obligation::keys::ObligationKey;
use crate::domain::policy::Policy;
use crate::domain::province::Province;
use crate::domain::uscc::Uscc;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn stamp() -> Stamp {
    Stamp::cli(
        "tester".into(),
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
    )
}

fn uscc() -> Uscc {
    "91110108551385082Q".parse().unwrap()
}

fn licence_no(text: &str) -> LicenceNo {
    text.parse().unwrap()
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("register.db")).unwrap();
    (dir, store)
}

fn with_licence(store: &mut Store, number: &str, issued: NaiveDate, expires: NaiveDate) {
    if store.company(&uscc()).is_err() {
        store
            .add_company(&stamp(), &uscc(), "示例呼叫中心有限公司", &[])
            .unwrap();
    }
    let number = licence_no(number);
    store
        .add_licence(
            &stamp(),
            &NewLicence {
                authority: number.scope().authority(),
                number,
                holder: uscc(),
                items: vec![ItemCode::B24],
                issued,
                expires,
            },
        )
        .unwrap();
}

mod due;
mod file;
mod register;
