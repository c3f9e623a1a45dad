//! `scalefront deploy` (filled in below).
