//! `IP_VS_SVC_F_*` service flags.

use std::ops::{BitOr, BitOrAssign};

/// Service flags (`IP_VS_SVC_F_*`).
///
/// `HASHED` is set by the kernel on every dumped service; it is masked off
/// when services are compared and never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    /// No flags.
    pub const EMPTY: ServiceFlags = ServiceFlags(0);
    /// `IP_VS_SVC_F_PERSISTENT`: persistent service (see `timeout`).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x1);
    /// `IP_VS_SVC_F_HASHED`: kernel-internal, set in dumps.
    pub const HASHED: ServiceFlags = ServiceFlags(0x2);
    /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling (UDP).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(0x4);
    /// `IP_VS_SVC_F_SCHED1`: scheduler flag 1.
    pub const SCHED1: ServiceFlags = ServiceFlags(0x8);
    /// `IP_VS_SVC_F_SCHED2`: scheduler flag 2.
    pub const SCHED2: ServiceFlags = ServiceFlags(0x10);
    /// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x20);
    /// `sh` scheduler: fall back to another server if the chosen one is
    /// unavailable (`SCHED1`).
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `sh` scheduler: hash the source port too (`SCHED2`).
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// `mh` scheduler: fallback (`SCHED1`).
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `mh` scheduler: hash the source port too (`SCHED2`).
    pub const MH_PORT: ServiceFlags = Self::SCHED2;

    /// Flags from raw bits.
    pub const fn from_bits(bits: u32) -> Self {
        ServiceFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub const fn intersects(self, other: ServiceFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: ServiceFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: ServiceFlags) {
        self.0 &= !other.0;
    }

    /// These flags without `HASHED`: what is sent and compared.
    pub const fn without_hashed(self) -> Self {
        ServiceFlags(self.0 & !Self::HASHED.0)
    }
}

impl BitOr for ServiceFlags {
    type Output = ServiceFlags;

    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_operations() {
        let mut flags = ServiceFlags::PERSISTENT | ServiceFlags::HASHED;
        assert!(flags.contains(ServiceFlags::PERSISTENT));
        assert_eq!(flags.without_hashed(), ServiceFlags::PERSISTENT);
        flags.insert(ServiceFlags::SH_PORT);
        flags.remove(ServiceFlags::PERSISTENT);
        assert_eq!(flags.bits(), 0x12);
        assert!(flags.intersects(ServiceFlags::SCHED2 | ServiceFlags::SCHED3));
    }
}
