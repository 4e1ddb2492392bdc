//! Which webhook addresses a server may POST alerts to. A monitor's webhook
//! is chosen by whoever creates the monitor, so without a check the server
//! would send requests into its own network on their behalf (its loopback
//! services, the cloud metadata address, private hosts). Every address a
//! webhook's host resolves to is checked, at create time and again before
//! each send (DNS answers change), and the connection then goes to the
//! address that was checked. The operator opens named hosts, addresses or
//! ranges with `smelt server --allow-webhook-hosts`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The flag (and its variable) that opens blocked webhook hosts; errors name it.
pub const ALLOW_FLAG: &str = "smelt server --allow-webhook-hosts (SMELT_ALLOW_WEBHOOK_HOSTS)";

/// The hosts, addresses and ranges the operator allows besides public ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Lower-case host names, matched exactly.
    names: Vec<String>,
    /// Addresses and CIDR ranges: (network, prefix length).
    nets: Vec<(IpAddr, u8)>,
}

/// A webhook whose address passed the check: connect to `addr` for `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VettedWebhook {
    /// The webhook's URL, parsed.
    pub url: reqwest::Url,
    /// The host name, when the URL names one (not an address).
    pub host_name: Option<String>,
    /// The checked address (with the URL's port) the POST connects to.
    pub addr: SocketAddr,
}

impl WebhookPolicy {
    /// Public addresses only (the default).
    pub fn public_only() -> WebhookPolicy {
        WebhookPolicy::default()
    }

    /// Allows `entries` besides public addresses: host names
    /// (`hooks.internal`), addresses (`127.0.0.1`, `::1`) and CIDR ranges
    /// (`10.0.0.0/8`). The error names the entry that is none of these.
    pub fn allowing<S: AsRef<str>>(entries: &[S]) -> Result<WebhookPolicy, String> {
        let mut policy = WebhookPolicy::default();
        for entry in entries.iter().map(|e| e.as_ref().trim()) {
            if entry.is_empty() {
                continue;
            }
            if let Some(net) = parse_net(entry)? {
                policy.nets.push(net);
            } else if is_host_name(entry) {
                policy
                    .names
                    .push(entry.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "'{entry}' is not a host name, an IP address or a CIDR range (e.g. 10.0.0.0/8)"
                ));
            }
        }
        Ok(policy)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets
            .iter()
            .any(|&(net, prefix)| in_net(ip, canonical(net), prefix))
    }

    /// Checks `url` and resolves its host; every address it resolves to must
    /// be public or allowed. The error says which host resolved to what and
    /// how to allow it, for a 400 at create time or a log line at send time.
    pub async fn vet(&self, url: &str) -> Result<VettedWebhook, String> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| format!("the webhook '{url}' is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("the webhook '{url}' must be an http(s) URL"));
        }
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| format!("the webhook '{url}' has no port"))?;
        let literal = parsed
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        let (host_name, addrs) = match (literal, parsed.host_str()) {
            (Some(ip), _) => (None, vec![SocketAddr::new(ip, port)]),
            (None, Some(name)) if !name.is_empty() => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
                    .await
                    .map_err(|e| format!("the webhook host '{name}' does not resolve: {e}"))?
                    .collect();
                (Some(name), addrs)
            }
            _ => return Err(format!("the webhook '{url}' names no host")),
        };
        let shown = host_name
            .clone()
            .unwrap_or_else(|| parsed.host_str().unwrap_or_default().to_string());
        let Some(&first) = addrs.first() else {
            return Err(format!("the webhook host '{shown}' resolves to no address"));
        };
        let named_allowed = host_name
            .as_ref()
            .is_some_and(|name| self.names.iter().any(|allowed| allowed == name));
        if !named_allowed {
            for addr in &addrs {
                if let Some(why) = blocked_reason(addr.ip())
                    && !self.allows_ip(addr.ip())
                {
                    let what = if host_name.is_some() {
                        format!(
                            "the webhook host '{shown}' resolves to {}, {why}",
                            addr.ip()
                        )
                    } else {
                        format!("the webhook address {shown} is {why}")
                    };
                    return Err(format!(
                        "{what}; alerts go only to public addresses unless the \
                         operator allows the host with {ALLOW_FLAG}"
                    ));
                }
            }
        }
        Ok(VettedWebhook {
            url: parsed,
            host_name,
            addr: first,
        })
    }
}

/// Why the server must not send to `ip` on a caller's behalf, or `None` for
/// a public address. IPv4-mapped IPv6 addresses are judged as IPv4.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(if ip == Ipv4Addr::new(169, 254, 169, 254) {
        "the cloud metadata address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() || a == 0 {
        "an unspecified address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if ip.is_private() {
        "a private address"
    } else if a == 100 && (64..128).contains(&b) {
        "a shared (carrier-grade NAT) address"
    } else if ip.is_broadcast() {
        "the broadcast address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if a >= 240 {
        "a reserved address"
    } else {
        return None;
    })
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(
        if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) {
            "the cloud metadata address"
        } else if ip.is_loopback() {
            "a loopback address"
        } else if ip.is_unspecified() {
            "an unspecified address"
        } else if first & 0xffc0 == 0xfe80 {
            "a link-local address"
        } else if first & 0xfe00 == 0xfc00 {
            "a private (unique local) address"
        } else if ip.is_multicast() {
            "a multicast address"
        } else if first & 0xffc0 == 0xfec0 {
            "a private (site-local) address"
        } else {
            return None;
        },
    )
}

/// `::ffff:a.b.c.d` as `a.b.c.d`, so a mapped address is judged (and
/// matched against allowed ranges) as the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            bits >> (width - prefix)
        }
    }
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            masked(u32::from(ip).into(), 32, prefix) == masked(u32::from(net).into(), 32, prefix)
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            masked(u128::from(ip), 128, prefix) == masked(u128::from(net), 128, prefix)
        }
        _ => false,
    }
}

/// `ADDR` or `ADDR/PREFIX` (brackets around IPv6 allowed); `None` when the
/// entry is not an address at all (then it may be a host name).
fn parse_net(entry: &str) -> Result<Option<(IpAddr, u8)>, String> {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (entry, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return match prefix {
            Some(_) => Err(format!("'{entry}' is not a CIDR range (e.g. 10.0.0.0/8)")),
            None => Ok(None),
        };
    };
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= width)
            .ok_or_else(|| {
                format!("'{entry}': the prefix length must be a number from 0 to {width}")
            })?,
    };
    Ok(Some((ip, prefix)))
}

fn is_host_name(entry: &str) -> bool {
    let name = entry.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        blocked_reason(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_blocked_and_public_ones_are_not() {
        for (ip, why) in [
            ("127.0.0.1", "a loopback address"),
            ("127.9.9.9", "a loopback address"),
            ("::1", "a loopback address"),
            ("0.0.0.0", "an unspecified address"),
            ("::", "an unspecified address"),
            ("169.254.169.254", "the cloud metadata address"),
            ("fd00:ec2::254", "the cloud metadata address"),
            ("169.254.1.1", "a link-local address"),
            ("fe80::1", "a link-local address"),
            ("10.0.0.5", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("fc00::1", "a private (unique local) address"),
            ("fd12:3456::1", "a private (unique local) address"),
            ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("100.127.255.255", "a shared (carrier-grade NAT) address"),
            ("255.255.255.255", "the broadcast address"),
            ("224.0.0.1", "a multicast address"),
            ("ff02::1", "a multicast address"),
            // IPv4-mapped IPv6 forms reach the IPv4 address.
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "the cloud metadata address"),
            ("::ffff:10.1.2.3", "a private address"),
            ("::ffff:c0a8:0101", "a private address"),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn allowed_entries_are_names_addresses_or_ranges() {
        let policy =
            WebhookPolicy::allowing(&["127.0.0.1", "10.0.0.0/8", "Hooks.Internal.", "[::1]"])
                .unwrap();
        assert_eq!(policy.names, vec!["hooks.internal".to_string()]);
        assert!(policy.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(policy.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(policy.allows_ip("10.200.0.1".parse().unwrap()));
        assert!(policy.allows_ip("::1".parse().unwrap()));
        assert!(!policy.allows_ip("127.0.0.2".parse().unwrap()));
        assert!(!policy.allows_ip("192.168.0.1".parse().unwrap()));
        let everything = WebhookPolicy::allowing(&["0.0.0.0/0"]).unwrap();
        assert!(everything.allows_ip("192.168.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "not a host", "10.0.0.0/x", "bad/8"] {
            assert!(WebhookPolicy::allowing(&[bad]).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn webhooks_are_checked_after_resolution() {
        let strict = WebhookPolicy::public_only();
        let error = strict.vet("http://127.0.0.1:9/hook").await.unwrap_err();
        assert!(
            error.starts_with("the webhook address 127.0.0.1 is a loopback address;"),
            "{error}"
        );
        assert!(error.contains("--allow-webhook-hosts"), "{error}");
        let error = strict.vet("http://localhost:9/hook").await.unwrap_err();
        assert!(error.contains("'localhost' resolves to"), "{error}");
        assert!(error.contains("loopback"), "{error}");
        let error = strict
            .vet("http://[::ffff:169.254.169.254]/latest")
            .await
            .unwrap_err();
        assert!(error.contains("metadata"), "{error}");
        assert!(strict.vet("ftp://example.com/x").await.is_err());

        let by_address = WebhookPolicy::allowing(&["127.0.0.1", "::1"]).unwrap();
        let vetted = by_address.vet("http://127.0.0.1:9/hook").await.unwrap();
        assert_eq!(vetted.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(vetted.host_name, None);
        let vetted = by_address.vet("http://localhost:9/hook").await.unwrap();
        assert_eq!(vetted.host_name.as_deref(), Some("localhost"));
        assert!(vetted.addr.ip().is_loopback());
        let by_name = WebhookPolicy::allowing(&["localhost"]).unwrap();
        assert!(by_name.vet("http://LOCALHOST:9/hook").await.is_ok());
        assert!(by_name.vet("http://127.0.0.1:9/hook").await.is_err());
    }
}
