//! Placeholder: the nfnetlink ipset client is being written.
