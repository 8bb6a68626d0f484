//! The SSRF guard: webhook URLs are user input, so a delivery must never reach the deployment's
//! own network. Refused by default: loopback, private, link-local (cloud metadata included),
//! CGNAT, multicast, unspecified, broadcast, reserved and documentation ranges, and the IPv6
//! forms that embed an IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible, 6to4, NAT64,
//! Teredo). The check runs on IP literals when an endpoint is saved and, at send time, on every
//! address DNS returns; the HTTP client then connects only to the addresses that passed (the
//! answer is pinned for the connection: no second lookup that a rebinding attacker could answer
//! differently).
//! `SWITCHBOARD_ALLOW_CIDRS` lists ranges to let through anyway (local development, tests).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Which addresses deliveries may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allow: Arc<Vec<IpNet>>,
    /// Only the allow-list is reachable, public addresses included (`SWITCHBOARD_EGRESS=
    /// allow-list`): a sandbox or a fuzzing run whose tenants may register any URL must not
    /// send traffic off the machine. Host names other than `localhost` are then not looked up.
    allow_list_only: bool,
}

/// Why an allow-list entry is not a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR range")]
pub struct BadCidr(pub String);

impl AddressPolicy {
    /// Parses a comma-separated list of CIDRs or bare addresses (`127.0.0.1/32,10.0.0.0/8`).
    pub fn from_allow_list(list: &str) -> Result<Self, BadCidr> {
        let mut allow = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| BadCidr(entry.to_owned()))?;
            allow.push(net);
        }
        Ok(Self {
            allow: Arc::new(allow),
            allow_list_only: false,
        })
    }

    /// The same policy, reaching nothing but its allow-list.
    pub fn allow_list_only(mut self) -> Self {
        self.allow_list_only = true;
        self
    }

    /// Whether host names other than `localhost` may be looked up at all.
    pub fn resolves_names(&self) -> bool {
        !self.allow_list_only
    }

    /// Whether a delivery may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
            || (!self.allow_list_only && !is_internal(ip))
    }

    /// Whether an endpoint URL naming `ip` may be saved: internal addresses need the
    /// allow-list; public ones are always accepted (in allow-list-only mode they are refused
    /// at send time instead, so what a tenant may register does not depend on the sandbox).
    pub fn permits_saving(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip)) || !is_internal(ip)
    }

    /// The addresses of `addrs` a delivery may connect to.
    pub fn filter(&self, addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
        addrs.into_iter().filter(|a| self.permits(a.ip())).collect()
    }
}

/// Whether `ip` is in a range no webhook should reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10 (Alibaba metadata too)
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240 // reserved
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_internal_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (AWS metadata fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo: hides an IPv4 address
        || (seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || seg[0] == 0x0100 && seg[1..4] == [0, 0, 0] // discard-only 100::/64
}

/// The IPv4 address an IPv6 address stands for, in the forms that route to one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let [.., g, h] = seg;
    let low = Ipv4Addr::new((g >> 8) as u8, g as u8, (h >> 8) as u8, h as u8);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped); // ::ffff:a.b.c.d
    }
    if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some(low); // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765 SIIT)
    }
    if seg[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(low); // ::a.b.c.d (IPv4-compatible, deprecated)
    }
    if seg[0] == 0x2002 {
        let (x, y) = (seg[1], seg[2]);
        return Some(Ipv4Addr::new(
            (x >> 8) as u8,
            x as u8,
            (y >> 8) as u8,
            y as u8,
        )); // 6to4
    }
    if seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        return Some(low); // NAT64 64:ff9b::/96
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_only_refuses_public_addresses_at_send_but_not_at_save() {
        let policy = AddressPolicy::from_allow_list("127.0.0.1/32")
            .expect("cidr")
            .allow_list_only();
        let public: IpAddr = "93.184.216.34".parse().expect("ip");
        assert!(!policy.permits(public));
        assert!(policy.permits_saving(public));
        assert!(policy.permits("127.0.0.1".parse().expect("ip")));
        assert!(!policy.resolves_names());
    }

    fn internal(s: &str) -> bool {
        is_internal(s.parse().expect("ip"))
    }

    #[test]
    fn refuses_internal_ranges_in_every_form() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "2002:7f00:0001::",
            "2002:a9fe:a9fe::1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
        ] {
            assert!(internal(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn refuses_ipv4_translated_forms_of_refused_addresses() {
        // ::ffff:0:0/96 (RFC 2765): the embedded IPv4 address decides.
        for ip in [
            "::ffff:0:127.0.0.1",
            "::ffff:0:169.254.169.254",
            "::ffff:0:10.0.0.1",
            "::ffff:0:192.168.1.1",
            "::ffff:0:100.64.0.1",
            "::ffff:0:0.0.0.0",
            "::ffff:0:7f00:1",
        ] {
            assert!(internal(ip), "{ip} must be refused");
        }
        for ip in ["::ffff:0:8.8.8.8", "::ffff:0:93.184.216.34"] {
            assert!(!internal(ip), "{ip} is public");
        }
        let policy = AddressPolicy::default();
        assert!(!policy.permits("::ffff:0:169.254.169.254".parse().expect("ip")));
        assert!(!policy.permits_saving("::ffff:0:127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn lets_public_addresses_through() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
            "64:ff9b::808:808",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(!internal(ip), "{ip} is public");
        }
    }

    #[test]
    fn allow_list_opens_named_ranges_only() {
        let policy = AddressPolicy::from_allow_list("127.0.0.1/32, 10.0.0.0/8").expect("cidrs");
        assert!(policy.permits("127.0.0.1".parse().expect("ip")));
        assert!(policy.permits("10.9.9.9".parse().expect("ip")));
        assert!(!policy.permits("127.0.0.2".parse().expect("ip")));
        assert!(!policy.permits("169.254.169.254".parse().expect("ip")));
        assert!(AddressPolicy::from_allow_list("nope").is_err());
        assert!(
            AddressPolicy::from_allow_list("")
                .expect("empty")
                .filter(["127.0.0.1:80".parse().expect("addr")])
                .is_empty()
        );
    }
}
