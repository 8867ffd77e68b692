pub mod domain;
pub mod notify;
pub mod plan;
