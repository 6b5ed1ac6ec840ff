/// An ipset command: the low byte of the netlink message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpsetCommand {
    /// `IPSET_CMD_PROTOCOL` (1): ask the kernel's protocol versions.
    Protocol,
    /// `IPSET_CMD_CREATE` (2): create a set.
    Create,
    /// `IPSET_CMD_DESTROY` (3): destroy a set (all sets without a name).
    Destroy,
    /// `IPSET_CMD_FLUSH` (4): remove every element of a set.
    Flush,
    /// `IPSET_CMD_RENAME` (5): rename a set.
    Rename,
    /// `IPSET_CMD_SWAP` (6): swap the contents of two sets.
    Swap,
    /// `IPSET_CMD_LIST` (7): dump sets; also the type of every dump reply.
    List,
    /// `IPSET_CMD_SAVE` (8): dump sets, as `ipset save` does.
    Save,
    /// `IPSET_CMD_ADD` (9): add elements.
    Add,
    /// `IPSET_CMD_DEL` (10): delete elements.
    Del,
    /// `IPSET_CMD_TEST` (11): test an element.
    Test,
    /// `IPSET_CMD_HEADER` (12): get a set's header.
    Header,
    /// `IPSET_CMD_TYPE` (13): ask the kernel's revisions of a set type.
    Type,
    /// `IPSET_CMD_GET_BYNAME` (14): get a set's index by name.
    GetByName,
    /// `IPSET_CMD_GET_BYINDEX` (15): get a set's name by index.
    GetByIndex,
    /// Any other command number.
    Other(u8),
}

impl From<u8> for IpsetCommand {
    fn from(value: u8) -> Self {
        use IpsetCommand::*;
        match value {
            1 => Protocol,
            2 => Create,
            3 => Destroy,
            4 => Flush,
            5 => Rename,
            6 => Swap,
            7 => List,
            8 => Save,
            9 => Add,
            10 => Del,
            11 => Test,
            12 => Header,
            13 => Type,
            14 => GetByName,
            15 => GetByIndex,
            other => Other(other),
        }
    }
}

impl From<IpsetCommand> for u8 {
    fn from(value: IpsetCommand) -> Self {
        use IpsetCommand::*;
        match value {
            Protocol => 1,
            Create => 2,
            Destroy => 3,
            Flush => 4,
            Rename => 5,
            Swap => 6,
            List => 7,
            Save => 8,
            Add => 9,
            Del => 10,
            Test => 11,
            Header => 12,
            Type => 13,
            GetByName => 14,
            GetByIndex => 15,
            Other(other) => other,
        }
    }
}

impl IpsetCommand {
    /// Whether the `DATA` attribute of this command holds set-header
    /// attributes (CREATE and the dump commands) rather than an element.
    pub fn data_is_header(self) -> bool {
        matches!(
            self,
            IpsetCommand::Create | IpsetCommand::List | IpsetCommand::Save | IpsetCommand::Header
        )
    }
}
