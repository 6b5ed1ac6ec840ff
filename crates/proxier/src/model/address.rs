//! Addresses the model refuses, as pure checks: a Service address (a
//! ClusterIP, an external IP, a load-balancer IP) that would capture
//! traffic meant for the node itself or for nobody, and the addresses the
//! API server's `ValidateNonSpecialIP` refuses in `spec.externalIPs` and
//! EndpointSlices (so manifests get the checks an API server would make).
//! An IPv4-mapped IPv6 address is judged as the IPv4 address it maps, as
//! Go's `net.IP` does.

use std::net::{IpAddr, Ipv4Addr};

/// Why `ip` cannot be the address of a virtual server, if it cannot:
/// unspecified (`0.0.0.0`, `::`), loopback (`127.0.0.0/8`, `::1`),
/// multicast (`224.0.0.0/4`, `ff00::/8`) or the IPv4 broadcast address.
pub fn virtual_problem(ip: IpAddr) -> Option<&'static str> {
    let ip = ip.to_canonical();
    if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        Some("the broadcast address")
    } else {
        None
    }
}

/// Why the API server refuses `ip` as an external IP or an endpoint
/// address (`ValidateNonSpecialIP`), if it does: unspecified, loopback,
/// link-local unicast (`169.254.0.0/16`, `fe80::/10`) or link-local
/// multicast (`224.0.0.0/24`, `ff02::/16` with any flags).
pub fn special_problem(ip: IpAddr) -> Option<&'static str> {
    let ip = ip.to_canonical();
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    let link_local_multicast = match ip {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    };
    if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if link_local {
        Some("a link-local address")
    } else if link_local_multicast {
        Some("a link-local multicast address")
    } else {
        None
    }
}

/// Why `ip` cannot be an external IP: [`virtual_problem`], then
/// [`special_problem`].
pub fn external_problem(ip: IpAddr) -> Option<&'static str> {
    virtual_problem(ip).or_else(|| special_problem(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn virtual_addresses() {
        for (text, why) in [
            ("0.0.0.0", "an unspecified address"),
            ("::", "an unspecified address"),
            ("127.0.0.1", "a loopback address"),
            ("127.255.0.9", "a loopback address"),
            ("::1", "a loopback address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("224.0.0.1", "a multicast address"),
            ("239.255.255.250", "a multicast address"),
            ("ff05::2", "a multicast address"),
            ("255.255.255.255", "the broadcast address"),
        ] {
            assert_eq!(virtual_problem(ip(text)), Some(why), "{text}");
        }
        for text in [
            "10.96.0.1",
            "1.2.3.4",
            "169.254.1.1",
            "223.255.255.255",
            "240.0.0.1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(virtual_problem(ip(text)), None, "{text}");
        }
    }

    #[test]
    fn special_addresses_as_the_api_server_refuses_them() {
        for (text, why) in [
            ("0.0.0.0", "an unspecified address"),
            ("127.0.0.1", "a loopback address"),
            ("::1", "a loopback address"),
            ("169.254.169.254", "a link-local address"),
            ("fe80::1", "a link-local address"),
            ("febf::1", "a link-local address"),
            ("224.0.0.251", "a link-local multicast address"),
            ("ff02::1", "a link-local multicast address"),
            ("ff12::1", "a link-local multicast address"),
        ] {
            assert_eq!(special_problem(ip(text)), Some(why), "{text}");
        }
        for text in [
            "10.244.1.2",
            "224.0.1.1",
            "fec0::1",
            "ff05::2",
            "255.255.255.255",
        ] {
            assert_eq!(special_problem(ip(text)), None, "{text}");
        }
    }

    #[test]
    fn external_ips_get_both() {
        assert_eq!(
            external_problem(ip("169.254.169.254")),
            Some("a link-local address")
        );
        assert_eq!(
            external_problem(ip("239.1.1.1")),
            Some("a multicast address")
        );
        assert_eq!(external_problem(ip("203.0.113.7")), None);
    }
}
