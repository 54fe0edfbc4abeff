//! `wasi:sockets/ip-name-lookup@0.3.0`, checked name by name against the
//! actor's grants (`NetPolicy::allows_lookup`), in place of
//! wasmtime-wasi's own, which can only allow every lookup or none.

use std::net::IpAddr;

use wasmtime::component::{Accessor, HasData, Linker};
use wasmtime_wasi::p3::bindings::sockets::ip_name_lookup::{self, ErrorCode as LookupError};
use wasmtime_wasi::p3::bindings::sockets::types::IpAddress;

use super::state::ActorState;

/// Puts `wasi:sockets/ip-name-lookup@0.3.0` in the linker with a check of
/// each name against the grants, in place of wasmtime-wasi's own (which can
/// only allow every lookup or none). A refused lookup is `access-denied`,
/// and nothing is sent to a resolver.
pub(crate) fn add_to_linker(linker: &mut Linker<ActorState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = ip_name_lookup::add_to_linker::<_, CheckedLookup>(linker, |state| state);
    linker.allow_shadowing(false);
    added
}

struct CheckedLookup;

impl HasData for CheckedLookup {
    type Data<'a> = &'a mut ActorState;
}

impl ip_name_lookup::Host for &mut ActorState {}

impl<T> ip_name_lookup::HostWithStore<T> for CheckedLookup {
    async fn resolve_addresses(
        store: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<Vec<IpAddress>, LookupError>> {
        if let Ok(ip) = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(Ok(vec![ip.into()]));
        }
        let policy = store.with(|mut view| view.get().net_policy().clone());
        if !policy.allows_lookup(&name) {
            return Ok(Err(LookupError::AccessDenied));
        }
        Ok(match tokio::net::lookup_host((name.as_str(), 0)).await {
            Ok(found) => {
                let mut ips: Vec<IpAddr> = Vec::new();
                for addr in found {
                    if !ips.contains(&addr.ip()) {
                        ips.push(addr.ip());
                    }
                }
                Ok(ips.into_iter().map(IpAddress::from).collect())
            }
            Err(_) => Err(LookupError::NameUnresolvable),
        })
    }
}
