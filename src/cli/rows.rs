//! The import format: which column is which, and rows of cells into the
//! records the store imports, each value checked with the domain's parsers
//! so that a refused cell is reported in the same words as on the command
//! line.
//!
//! One row is one licence and optionally one of its numbers; a licence with
//! several numbers takes several rows, which must agree on the licence. A
//! row with no licence columns filled registers only its company. An empty
//! cell is "not given": it never clears what the register holds.

mod columns;
mod merge;
mod row;

pub use columns::{COLUMNS, Layout, Unknown, accepted_headers, is_date, is_known_header};
pub use merge::assemble;
pub use row::{Parsed, parse_row};

#[cfg(test)]
mod tests;
