//! The network an actor may reach: nothing, unless its options grant it.
//!
//! A grant names a host (a name, an IP address or `*`) and a port (a number
//! or `*`). Every door out is checked against the grants:
//!
//! - an outgoing HTTP request (`wasi:http`, 0.2 and 0.3) by the authority
//!   the guest wrote (so `localhost:8000` and `127.0.0.1:8000` are different
//!   grants), before anything is resolved or sent;
//! - a TCP connect (`wasi:sockets`) by the address it goes to; a grant by
//!   name allows the addresses the name resolves to on the host;
//! - a name lookup (`ip-name-lookup`), in async actors by the name looked
//!   up; elsewhere lookups are allowed only to an actor with some grant,
//!   because wasmtime-wasi 48 can only turn them on or off.
//!
//! Listening (`bind` to a chosen address, `listen`, `accept`) needs its own
//! grant ([`NetPolicy::listen`]), and UDP is never available. Why deny by
//! default: a guest is untrusted code, and an actor that can open
//! connections can reach whatever the host can (a database on loopback, a
//! cloud metadata endpoint).
//!
//! Open HTTP requests are bounded per actor (`max_connections`); a request
//! past the bound waits for one to finish, like aiohttp's connector limit,
//! so a guest cannot take the process's file descriptors.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// The default bound on an actor's open HTTP requests
/// ([`ActorOptions::max_connections`](crate::ActorOptions::max_connections)).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// One `--allow-net` grant: `HOST:PORT`, `HOST:*` or `HOST` (any port),
/// where `HOST` is a name, an IPv4 address, a bracketed IPv6 address
/// (`[::1]:8080`) or `*` (any host).
///
/// ```
/// let grant: wactor::NetGrant = "127.0.0.1:8000".parse().unwrap();
/// assert!(grant.matches_authority("127.0.0.1", 8000));
/// assert!(!grant.matches_authority("127.0.0.1", 8001));
/// let any_port: wactor::NetGrant = "example.com:*".parse().unwrap();
/// assert!(any_port.matches_authority("EXAMPLE.com", 443));
/// assert!("*".parse::<wactor::NetGrant>().unwrap().matches_authority("10.0.0.1", 22));
/// assert!("exa mple.com".parse::<wactor::NetGrant>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetGrant {
    host: Host,
    /// `None` for any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Any,
    Ip(IpAddr),
    /// Lowercase, as names compare without case.
    Name(String),
}

impl NetGrant {
    /// Whether a request to `host:port`, as written in a URL, is granted.
    /// `host` may be a name or an IP address (IPv6 with or without brackets).
    pub fn matches_authority(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match &self.host {
            Host::Any => true,
            Host::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
            Host::Name(name) => name.eq_ignore_ascii_case(host),
        }
    }

    /// Whether a connection to `addr` is granted; a grant by name resolves
    /// the name on the host.
    async fn matches_addr(&self, addr: SocketAddr) -> bool {
        if self.port.is_some_and(|p| p != addr.port()) {
            return false;
        }
        match &self.host {
            Host::Any => true,
            Host::Ip(ip) => *ip == addr.ip(),
            Host::Name(name) => match tokio::net::lookup_host((name.as_str(), addr.port())).await {
                Ok(mut found) => found.any(|a| a.ip() == addr.ip()),
                Err(_) => false,
            },
        }
    }

    /// Whether looking up `name` is granted (any port).
    fn matches_name(&self, name: &str) -> bool {
        match &self.host {
            Host::Any => true,
            Host::Ip(_) => false,
            Host::Name(n) => n.eq_ignore_ascii_case(name),
        }
    }
}

/// Why a grant could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetGrantError(String);

impl fmt::Display for NetGrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetGrantError {}

impl FromStr for NetGrant {
    type Err = NetGrantError;

    fn from_str(s: &str) -> Result<NetGrant, NetGrantError> {
        let bad = |why: &str| {
            NetGrantError(format!(
                "`{s}` is not a network grant ({why}); write HOST:PORT, HOST:* or HOST, where \
                 HOST is a name, an IP address ([::1] for IPv6) or *"
            ))
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("no closing `]`"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("junk after `]`"))?,
                ),
            };
            (ip, port)
        } else if s.matches(':').count() > 1 {
            // A bare IPv6 address: no port.
            (s, None)
        } else {
            match s.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (s, None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not 0-65535"))?,
            ),
        };
        let host = if host == "*" {
            Host::Any
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            Host::Ip(ip)
        } else if !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            Host::Name(host.to_ascii_lowercase())
        } else {
            return Err(bad("the host is not a name or an address"));
        };
        Ok(NetGrant { host, port })
    }
}

impl fmt::Display for NetGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Any => f.write_str("*")?,
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            Host::Ip(ip) => write!(f, "{ip}")?,
            Host::Name(name) => f.write_str(name)?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => f.write_str(":*"),
        }
    }
}

/// What one actor may reach, shared by its instances: the grants, whether
/// it may listen, and the bound on its open HTTP requests.
/// (Without the `http` feature, the HTTP parts go unused.)
#[derive(Debug)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) struct NetPolicy {
    pub(super) actor: Arc<str>,
    grants: Vec<NetGrant>,
    listen: bool,
    pub(super) connections: Arc<Semaphore>,
    pub(super) max_connections: usize,
}

impl NetPolicy {
    pub(crate) fn new(
        actor: Arc<str>,
        grants: Vec<NetGrant>,
        listen: bool,
        max_connections: usize,
    ) -> NetPolicy {
        NetPolicy {
            actor,
            grants,
            listen,
            connections: Arc::new(Semaphore::new(max_connections)),
            max_connections,
        }
    }

    /// Whether the actor may do anything on the network at all.
    fn any(&self) -> bool {
        !self.grants.is_empty() || self.listen
    }

    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(super) fn allows_authority(&self, host: &str, port: u16) -> bool {
        self.grants.iter().any(|g| g.matches_authority(host, port))
    }

    /// Whether looking up `name` is granted.
    pub(crate) fn allows_lookup(&self, name: &str) -> bool {
        let allowed = self.grants.iter().any(|g| g.matches_name(name));
        if !allowed {
            tracing::warn!(
                actor = %self.actor,
                "refused a name lookup of `{name}`: it is not granted; allow it with \
                 --allow-net {name}:PORT (ActorOptions::allow_net)"
            );
        }
        allowed
    }

    /// What the guest is told when `host:port` is not granted.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(super) fn denial(&self, host: &str, port: u16) -> String {
        format!(
            "network access to {host}:{port} is not granted to actor {}; allow it with \
             `--allow-net {host}:{port}` (ActorOptions::allow_net)",
            self.actor
        )
    }

    /// Applies the policy to a new instance's WASI context: TCP and lookups
    /// only with a grant, UDP never, every address checked.
    pub(crate) fn apply(self: &Arc<Self>, wasi: &mut WasiCtxBuilder) {
        wasi.allow_tcp(self.any())
            .allow_udp(false)
            .allow_ip_name_lookup(!self.grants.is_empty());
        let policy = self.clone();
        wasi.socket_addr_check(move |addr, using| {
            let policy = policy.clone();
            Box::pin(async move { policy.allows_socket(addr, using).await })
        });
    }

    async fn allows_socket(&self, addr: SocketAddr, using: SocketAddrUse) -> bool {
        let allowed = match using {
            SocketAddrUse::TcpConnect => {
                let mut allowed = false;
                for grant in &self.grants {
                    if grant.matches_addr(addr).await {
                        allowed = true;
                        break;
                    }
                }
                allowed
            }
            // A connect binds the socket to the wildcard address first; any
            // other bind is the start of a server.
            SocketAddrUse::TcpBind => {
                self.listen
                    || (!self.grants.is_empty() && addr.ip().is_unspecified() && addr.port() == 0)
            }
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => self.listen,
            _ => false,
        };
        if !allowed {
            let flag = match using {
                SocketAddrUse::TcpConnect => format!("--allow-net {addr}"),
                _ => "--allow-listen".to_string(),
            };
            tracing::warn!(
                actor = %self.actor,
                "refused a socket's {using:?} at {addr}: it is not granted; allow it with {flag}"
            );
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::NetGrant;

    fn grant(s: &str) -> NetGrant {
        s.parse().unwrap()
    }

    #[test]
    fn grants_read_hosts_ports_and_wildcards() {
        assert!(grant("localhost:8000").matches_authority("LocalHost", 8000));
        assert!(!grant("localhost:8000").matches_authority("127.0.0.1", 8000));
        assert!(grant("localhost").matches_authority("localhost", 1));
        assert!(grant("[::1]:80").matches_authority("[::1]", 80));
        assert!(grant("::1").matches_authority("::1", 9));
        assert!(grant("*:443").matches_authority("anything.example", 443));
        assert!(!grant("*:443").matches_authority("anything.example", 80));
        assert_eq!(grant("[::1]:80").to_string(), "[::1]:80");
        assert_eq!(grant("Example.COM").to_string(), "example.com:*");
    }

    #[test]
    fn malformed_grants_are_refused_with_the_form_to_write() {
        for bad in [
            "",
            "host:",
            "host:99999",
            "[::1",
            "[::1]x",
            "a b",
            "ho/st:80",
            "h:-1",
        ] {
            let err = bad.parse::<NetGrant>().unwrap_err().to_string();
            assert!(err.contains("HOST:PORT"), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn a_grant_by_name_allows_the_addresses_it_resolves_to() {
        let addr = "127.0.0.1:8000".parse().unwrap();
        assert!(grant("localhost:8000").matches_addr(addr).await);
        assert!(!grant("localhost:8001").matches_addr(addr).await);
        assert!(!grant("10.1.2.3").matches_addr(addr).await);
    }
}
