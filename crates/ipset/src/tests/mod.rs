//! Unit tests: entries, attributes, requests, reply parsing robustness.

mod attributes;
mod entries;
mod robustness;
