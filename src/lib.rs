pub mod cli;
pub mod config;
pub mod domain;
pub mod plan;
pub mod store;
