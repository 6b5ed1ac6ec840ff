//! Numeric values from the kernel uapi `linux/netfilter/ipset/ip_set.h`.

/// nfnetlink subsystem id of ipset (`NFNL_SUBSYS_IPSET`).
pub const NFNL_SUBSYS_IPSET: u8 = 6;
/// Newest protocol version this library speaks (`IPSET_PROTOCOL`).
pub const IPSET_PROTOCOL: u8 = 7;
/// Oldest protocol version this library falls back to (`IPSET_PROTOCOL_MIN`).
pub const IPSET_PROTOCOL_MIN: u8 = 6;
/// Longest set name in bytes, without the trailing NUL.
pub const IPSET_MAXNAMELEN: usize = 31;

/// `NFPROTO_UNSPEC`: used by bitmap:port, which has no address family.
pub const NFPROTO_UNSPEC: u8 = 0;
/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u8 = 2;
/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u8 = 10;

/// Command attribute: protocol version.
pub const IPSET_ATTR_PROTOCOL: u16 = 1;
/// Command attribute: set name.
pub const IPSET_ATTR_SETNAME: u16 = 2;
/// Command attribute: type name, or the second set name in RENAME/SWAP.
pub const IPSET_ATTR_TYPENAME: u16 = 3;
/// Command attribute: set type revision.
pub const IPSET_ATTR_REVISION: u16 = 4;
/// Command attribute: set family.
pub const IPSET_ATTR_FAMILY: u16 = 5;
/// Command attribute: command flags (LIST_SETNAME, LIST_HEADER).
pub const IPSET_ATTR_FLAGS: u16 = 6;
/// Command attribute: nested data.
pub const IPSET_ATTR_DATA: u16 = 7;
/// Command attribute: nested list of DATA (several elements per message).
pub const IPSET_ATTR_ADT: u16 = 8;
/// Command attribute: line number (batch mode).
pub const IPSET_ATTR_LINENO: u16 = 9;
/// Command attribute: minimal protocol, or minimal revision in TYPE.
pub const IPSET_ATTR_PROTOCOL_MIN: u16 = 10;
/// Command attribute: kernel index of a set.
pub const IPSET_ATTR_INDEX: u16 = 11;

/// Data attribute: IP address (nested).
pub const IPSET_ATTR_IP: u16 = 1;
/// Data attribute: end of an IP range (nested).
pub const IPSET_ATTR_IP_TO: u16 = 2;
/// Data attribute: prefix length.
pub const IPSET_ATTR_CIDR: u16 = 3;
/// Data attribute: port, or start of a port range.
pub const IPSET_ATTR_PORT: u16 = 4;
/// Data attribute: end of a port range.
pub const IPSET_ATTR_PORT_TO: u16 = 5;
/// Data attribute: timeout in seconds.
pub const IPSET_ATTR_TIMEOUT: u16 = 6;
/// Data attribute: L4 protocol number.
pub const IPSET_ATTR_PROTO: u16 = 7;
/// Data attribute: create/element flags (counters, comment).
pub const IPSET_ATTR_CADT_FLAGS: u16 = 8;
/// Data attribute: line number of an element.
pub const IPSET_ATTR_CADT_LINENO: u16 = 9;

/// Header attribute: hash initial value (was GC).
pub const IPSET_ATTR_INITVAL: u16 = 17;
/// Header attribute: hash size.
pub const IPSET_ATTR_HASHSIZE: u16 = 18;
/// Header attribute: maximal number of elements.
pub const IPSET_ATTR_MAXELEM: u16 = 19;
/// Header attribute: netmask.
pub const IPSET_ATTR_NETMASK: u16 = 20;
/// Header attribute: bucket size (was PROBES).
pub const IPSET_ATTR_BUCKETSIZE: u16 = 21;
/// Header attribute: resize percent.
pub const IPSET_ATTR_RESIZE: u16 = 22;
/// Header attribute: size.
pub const IPSET_ATTR_SIZE: u16 = 23;
/// Header attribute: number of elements (kernel only).
pub const IPSET_ATTR_ELEMENTS: u16 = 24;
/// Header attribute: number of references (kernel only).
pub const IPSET_ATTR_REFERENCES: u16 = 25;
/// Header attribute: memory size (kernel only).
pub const IPSET_ATTR_MEMSIZE: u16 = 26;

/// Element attribute: second IP address (nested).
pub const IPSET_ATTR_IP2: u16 = 20;
/// Element attribute: prefix length of the second address.
pub const IPSET_ATTR_CIDR2: u16 = 21;
/// Element attribute: byte counter.
pub const IPSET_ATTR_BYTES: u16 = 24;
/// Element attribute: packet counter.
pub const IPSET_ATTR_PACKETS: u16 = 25;
/// Element attribute: comment.
pub const IPSET_ATTR_COMMENT: u16 = 26;

/// Nested IP attribute: IPv4 address.
pub const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
/// Nested IP attribute: IPv6 address.
pub const IPSET_ATTR_IPADDR_IPV6: u16 = 2;

/// Command flag: list only set names.
pub const IPSET_FLAG_LIST_SETNAME: u32 = 1 << 1;
/// Command flag: list only set headers.
pub const IPSET_FLAG_LIST_HEADER: u32 = 1 << 2;
/// CADT flag: the set has packet and byte counters.
pub const IPSET_FLAG_WITH_COUNTERS: u32 = 1 << 3;
/// CADT flag: the set has comments.
pub const IPSET_FLAG_WITH_COMMENT: u32 = 1 << 4;

/// Error: protocol version mismatch (or malformed request).
pub const IPSET_ERR_PROTOCOL: i32 = 4097;
/// Error: the kernel lacks the set type.
pub const IPSET_ERR_FIND_TYPE: i32 = 4098;
/// Error: the kernel reached the maximal number of sets.
pub const IPSET_ERR_MAX_SETS: i32 = 4099;
/// Error: the set is referenced and cannot be destroyed.
pub const IPSET_ERR_BUSY: i32 = 4100;
/// Error: the second set name of a rename already exists.
pub const IPSET_ERR_EXIST_SETNAME2: i32 = 4101;
/// Error: the two sets of a swap have different types.
pub const IPSET_ERR_TYPE_MISMATCH: i32 = 4102;
/// Error: the element is already added (ADD) or is missing (DEL/TEST).
pub const IPSET_ERR_EXIST: i32 = 4103;
/// Error: invalid prefix length.
pub const IPSET_ERR_INVALID_CIDR: i32 = 4104;
/// Error: invalid family.
pub const IPSET_ERR_INVALID_FAMILY: i32 = 4106;
/// Error: the set is referenced by another set or rule.
pub const IPSET_ERR_REFERENCED: i32 = 4108;
/// Error: an IPv4 address was expected.
pub const IPSET_ERR_IPADDR_IPV4: i32 = 4109;
/// Error: an IPv6 address was expected.
pub const IPSET_ERR_IPADDR_IPV6: i32 = 4110;
/// Error: first set-type specific code (hash full, bitmap out of range...).
pub const IPSET_ERR_TYPE_SPECIFIC: i32 = 4352;
