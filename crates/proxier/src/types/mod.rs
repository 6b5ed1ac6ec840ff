//! Value types more than one layer takes: [`Cidr`] (the configuration's
//! networks, a Service's source ranges, `--ipvs-exclude-cidrs`) and
//! [`BindMode`] (the configuration's `--vip-bind-mode`, the link writer's
//! two ways to bind a VIP). They sit below every other module, so the
//! configuration, the model and the kernel writers take them from here.

mod cidr;

pub use cidr::{Cidr, CidrError};

/// How virtual addresses are made local on the node (`--vip-bind-mode`:
/// `address` or `route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum BindMode {
    /// Like kube-proxy: /32 and /128 addresses on `kube-ipvs0`.
    #[default]
    Address,
    /// A `local` route per address in table local on `kube-ipvs0`.
    Route,
}
