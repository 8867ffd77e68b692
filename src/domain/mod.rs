//! The pure core's vocabulary: licence numbers, holders, service numbers,
//! company changes, the working-day calendar and the deadline rules.
//!
//! Architecture invariant: nothing here does I/O or reads the clock; `today`
//! is always an argument.

pub mod account;
pub mod basis;
pub mod calendar;
pub mod change;
pub mod date;
pub mod lang;
pub mod licence;
pub mod number;
pub mod obligation;
pub mod policy;
pub mod province;
pub mod rules;
pub mod text;
pub mod uscc;
