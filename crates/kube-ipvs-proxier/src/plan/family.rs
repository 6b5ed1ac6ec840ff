//! Helpers on [`IpFamily`].

use std::net::IpAddr;

use super::IpFamily;

impl IpFamily {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// The ipset family name, `inet` or `inet6`.
    pub fn ipset_name(self) -> &'static str {
        match self {
            IpFamily::V4 => "inet",
            IpFamily::V6 => "inet6",
        }
    }

    /// Both families, IPv4 first.
    pub const ALL: [IpFamily; 2] = [IpFamily::V4, IpFamily::V6];
}
