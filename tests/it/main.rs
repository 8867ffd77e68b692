//! The one integration test binary. New tests go in a module here, not in a
//! new file under tests/, so that they link once.

mod agency;
mod biff;
mod browser;
mod cli;
mod daemon;
mod faults;
mod fuzz;
mod hostile;
mod http;
mod notify;
mod regressions;
mod rules;
mod soak;
mod status;
mod support;
mod tidy;
mod web;
