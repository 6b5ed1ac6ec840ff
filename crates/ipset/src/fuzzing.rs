//! Entry points for the fuzz target and the capture tests: the reply
//! framing of the socket engine, on arbitrary bytes. Not a stable API.

pub use crate::batch::split_datagram;
