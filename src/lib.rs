pub mod domain;
pub mod plan;
