//! The local edge (`scalefront serve`): viewer function → edge cache → origin → origin-side flow.
