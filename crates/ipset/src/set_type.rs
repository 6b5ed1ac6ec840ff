use std::{fmt, str::FromStr};

/// The set types this library supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetType {
    /// `hash:ip`: addresses.
    HashIp,
    /// `hash:ip,port`: address, protocol and port.
    HashIpPort,
    /// `hash:ip,port,ip`: address, protocol, port and a second address.
    HashIpPortIp,
    /// `hash:ip,port,net`: address, protocol, port and a network.
    HashIpPortNet,
    /// `hash:net`: networks.
    HashNet,
    /// `bitmap:port`: ports in a fixed range.
    BitmapPort,
}

impl SetType {
    /// Every supported type.
    pub const ALL: [SetType; 6] = [
        SetType::HashIp,
        SetType::HashIpPort,
        SetType::HashIpPortIp,
        SetType::HashIpPortNet,
        SetType::HashNet,
        SetType::BitmapPort,
    ];

    /// The kernel's type name, e.g. `hash:ip,port`.
    pub fn name(self) -> &'static str {
        match self {
            SetType::HashIp => "hash:ip",
            SetType::HashIpPort => "hash:ip,port",
            SetType::HashIpPortIp => "hash:ip,port,ip",
            SetType::HashIpPortNet => "hash:ip,port,net",
            SetType::HashNet => "hash:net",
            SetType::BitmapPort => "bitmap:port",
        }
    }

    /// Highest revision this library knows how to drive; the same as the
    /// ipset 7.17 tool. The revision used is the highest one that both this
    /// library and the kernel support.
    pub fn max_revision(self) -> u8 {
        match self {
            SetType::HashIp => 6,
            SetType::HashIpPort => 7,
            SetType::HashIpPortIp => 6,
            SetType::HashIpPortNet => 8,
            SetType::HashNet => 7,
            SetType::BitmapPort => 3,
        }
    }

    /// Whether this is a bitmap type (no family, a port range instead of
    /// hashsize/maxelem).
    pub fn is_bitmap(self) -> bool {
        self == SetType::BitmapPort
    }
}

impl fmt::Display for SetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a set type name this library does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported set type {0:?}")]
pub struct SetTypeError(pub String);

impl FromStr for SetType {
    type Err = SetTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SetType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| SetTypeError(s.to_owned()))
    }
}
