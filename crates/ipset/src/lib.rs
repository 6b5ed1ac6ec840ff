//! Placeholder essay (rewritten below).
pub mod packet;
