pub mod cli;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod notify;
pub mod plan;
pub mod store;
pub mod web;
