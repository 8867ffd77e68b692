//! The values of `licence.renewal_mark`, the renewal mark of the current
//! expiry that the store mirrors onto the licence row for the due query's
//! partial indexes. Literal macros, not constants: SQLite uses a partial
//! index only when the query repeats the index's condition, so the schema,
//! the queries and the update that keeps the column must be the same text,
//! and `concat!` builds that text at compile time from these names.

/// No renewal recorded for the current expiry: the renewal is still open.
macro_rules! renewal_mark_none {
    () => {
        "0"
    };
}

/// The renewal of the current expiry is applied for.
macro_rules! renewal_mark_applied {
    () => {
        "1"
    };
}

/// The holder reported that the licence does not continue. One more than
/// `renewal_mark_applied`, so that the store computes the mark as this minus
/// the renewal row's `continuing` (1 or 0).
macro_rules! renewal_mark_not_continuing {
    () => {
        "2"
    };
}

pub(super) use {renewal_mark_applied, renewal_mark_none, renewal_mark_not_continuing};
