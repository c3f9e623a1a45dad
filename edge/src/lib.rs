//! The local edge (`scalefront serve`): viewer function → edge cache → origin → origin-side flow.
pub mod cache;
pub mod object;
pub mod viewer;
