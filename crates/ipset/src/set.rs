//! Typed set headers: what CREATE takes ([`CreateOptions`]) and what a
//! LIST reply describes ([`SetInfo`]).

use crate::{
    Entry, EntryError, Extensions, Family, SetType,
    packet::{
        HeaderAttribute, IpsetAttribute, IpsetMessage,
        constants::{IPSET_FLAG_WITH_COMMENT, IPSET_FLAG_WITH_COUNTERS},
    },
};

/// Options of a new set, as `ipset create` takes them.
///
/// Hash types use `family`, `hashsize` and `maxelem`; bitmap:port uses
/// `range`. Unset values leave the kernel default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// Address family of a hash set.
    pub family: Family,
    /// Initial hash size.
    pub hashsize: Option<u32>,
    /// Maximal number of elements.
    pub maxelem: Option<u32>,
    /// Default timeout of elements in seconds (enables timeouts).
    pub timeout: Option<u32>,
    /// Packet and byte counters per element.
    pub counters: bool,
    /// A comment per element.
    pub comment: bool,
    /// First and last port of a bitmap:port set.
    pub range: (u16, u16),
}

impl Default for CreateOptions {
    fn default() -> Self {
        Self {
            family: Family::Inet,
            hashsize: None,
            maxelem: None,
            timeout: None,
            counters: false,
            comment: false,
            range: (0, u16::MAX),
        }
    }
}

impl CreateOptions {
    /// Defaults for a set of the given family.
    pub fn new(family: Family) -> Self {
        Self {
            family,
            ..Self::default()
        }
    }

    /// Sets the hash size.
    #[must_use]
    pub fn hashsize(mut self, value: u32) -> Self {
        self.hashsize = Some(value);
        self
    }

    /// Sets the maximal number of elements.
    #[must_use]
    pub fn maxelem(mut self, value: u32) -> Self {
        self.maxelem = Some(value);
        self
    }

    /// Sets the default timeout.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Enables counters.
    #[must_use]
    pub fn counters(mut self) -> Self {
        self.counters = true;
        self
    }

    /// Enables comments.
    #[must_use]
    pub fn comment(mut self) -> Self {
        self.comment = true;
        self
    }

    /// Sets the port range of a bitmap:port set.
    #[must_use]
    pub fn range(mut self, from: u16, to: u16) -> Self {
        self.range = (from, to);
        self
    }

    /// The header attributes for a set of `set_type`, in the order the
    /// ipset tool sends them.
    pub fn to_attributes(&self, set_type: SetType) -> Vec<HeaderAttribute> {
        let mut attrs = Vec::new();
        if set_type.is_bitmap() {
            attrs.push(HeaderAttribute::PortFrom(self.range.0));
            attrs.push(HeaderAttribute::PortTo(self.range.1));
        }
        attrs.extend(self.timeout.map(HeaderAttribute::Timeout));
        let flags = (if self.counters {
            IPSET_FLAG_WITH_COUNTERS
        } else {
            0
        }) | (if self.comment {
            IPSET_FLAG_WITH_COMMENT
        } else {
            0
        });
        if flags != 0 {
            attrs.push(HeaderAttribute::CadtFlags(flags));
        }
        if !set_type.is_bitmap() {
            attrs.extend(self.hashsize.map(HeaderAttribute::HashSize));
            attrs.extend(self.maxelem.map(HeaderAttribute::MaxElem));
        }
        attrs
    }
}

/// A set header as the kernel lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetHeader {
    /// Hash size (hash types).
    pub hashsize: Option<u32>,
    /// Maximal number of elements (hash types).
    pub maxelem: Option<u32>,
    /// Default timeout, if the set has timeouts.
    pub timeout: Option<u32>,
    /// Whether elements have counters.
    pub counters: bool,
    /// Whether elements have comments.
    pub comment: bool,
    /// Port range (bitmap:port).
    pub range: Option<(u16, u16)>,
    /// Number of elements.
    pub elements: Option<u32>,
    /// Number of references (iptables rules, list sets).
    pub references: Option<u32>,
    /// Kernel memory used in bytes.
    pub memsize: Option<u32>,
}

impl SetHeader {
    fn apply(&mut self, attrs: &[HeaderAttribute]) {
        let mut from = None;
        let mut to = None;
        for attr in attrs {
            match *attr {
                HeaderAttribute::HashSize(v) => self.hashsize = Some(v),
                HeaderAttribute::MaxElem(v) => self.maxelem = Some(v),
                HeaderAttribute::Timeout(v) => self.timeout = Some(v),
                HeaderAttribute::CadtFlags(v) => {
                    self.counters = v & IPSET_FLAG_WITH_COUNTERS != 0;
                    self.comment = v & IPSET_FLAG_WITH_COMMENT != 0;
                }
                HeaderAttribute::PortFrom(v) => from = Some(v),
                HeaderAttribute::PortTo(v) => to = Some(v),
                HeaderAttribute::Elements(v) => self.elements = Some(v),
                HeaderAttribute::References(v) => self.references = Some(v),
                HeaderAttribute::MemSize(v) => self.memsize = Some(v),
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (from, to) {
            self.range = Some((from, to));
        }
    }
}

/// One set from a LIST/SAVE dump: header and members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetInfo {
    /// Set name.
    pub name: String,
    /// Kernel type name, e.g. `hash:ip,port`.
    pub type_name: String,
    /// The type, if this library supports it (members are only decoded
    /// for supported types).
    pub set_type: Option<SetType>,
    /// Type revision.
    pub revision: u8,
    /// Family (`None` for bitmap:port).
    pub family: Option<Family>,
    /// Header values.
    pub header: SetHeader,
    /// Members, in kernel order.
    pub members: Vec<Entry>,
    /// The extensions of each member, in the same order, when the set has
    /// a timeout, counters or comments (empty otherwise).
    pub extensions: Vec<Extensions>,
}

impl SetInfo {
    /// Each member with its extensions (empty ones when the set has none:
    /// see [`SetInfo::has_extensions`]).
    pub fn members_with_extensions(&self) -> impl Iterator<Item = (&Entry, Extensions)> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, entry)| (entry, self.extensions.get(i).cloned().unwrap_or_default()))
    }

    /// Whether members carry extensions (the set was created with
    /// `timeout`, `counters` or `comment`).
    pub fn has_extensions(&self) -> bool {
        self.header.timeout.is_some() || self.header.counters || self.header.comment
    }

    /// Members as `ipset save` prints them, sorted (for comparisons).
    pub fn sorted_members(&self) -> Vec<String> {
        let mut members: Vec<String> = self.members.iter().map(Entry::to_string).collect();
        members.sort();
        members
    }
}

/// Folds the messages of a LIST/SAVE dump into sets. A large set spans
/// several messages: the first carries the header, every one carries the
/// set name and a slice of the members.
pub fn collect_sets<'a>(
    messages: impl IntoIterator<Item = &'a IpsetMessage>,
) -> Result<Vec<SetInfo>, EntryError> {
    let mut sets: Vec<SetInfo> = Vec::new();
    for message in messages {
        let Some(name) = message.attributes.iter().find_map(|a| match a {
            IpsetAttribute::SetName(name) => Some(name),
            _ => None,
        }) else {
            continue;
        };
        if sets.last().is_none_or(|set| &set.name != name) {
            sets.push(SetInfo {
                name: name.clone(),
                ..SetInfo::default()
            });
        }
        let Some(set) = sets.last_mut() else { continue };
        for attr in &message.attributes {
            match attr {
                IpsetAttribute::TypeName(type_name) => {
                    set.type_name = type_name.clone();
                    set.set_type = type_name.parse().ok();
                }
                IpsetAttribute::Revision(v) => set.revision = *v,
                IpsetAttribute::Family(v) => set.family = Family::from_nfproto(*v),
                IpsetAttribute::Header(attrs) => set.header.apply(attrs),
                IpsetAttribute::Adt(adt) => {
                    let Some(set_type) = set.set_type else {
                        continue;
                    };
                    for item in adt {
                        if let crate::packet::AdtAttribute::Data(attrs) = item {
                            set.members.push(Entry::from_attributes(set_type, attrs)?);
                            if set.has_extensions() {
                                set.extensions.push(Extensions::from_attributes(attrs));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(sets)
}
