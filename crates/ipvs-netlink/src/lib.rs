//! Placeholder: the generic-netlink IPVS client is being written.

pub mod packet;
