//! Moving values into and out of an instance: ObjectRef and actor
//! arguments become handles in the callee's table; an ObjectRef a method returns comes back
//! out of it.

use wasmtime::AsContextMut;
use wasmtime::component::{ResourceAny, Val};

use super::bindings::ActorResource;
use super::state::ActorState;
use crate::actor::ActorHandle;
use crate::call::{Arg, Method, RefParam};
use crate::error::Error;
use crate::object_ref::ObjectRef;
use crate::object_ref::ObjectRefResource;

/// The arguments as plain values, if none is an [`ObjectRef`] (the common
/// case, which needs no store); otherwise the arguments back.
pub(crate) fn plain_args(args: Vec<Arg>) -> Result<Lowered, Vec<Arg>> {
    if args.iter().any(|a| !matches!(a, Arg::Val(_))) {
        return Err(args);
    }
    let vals = args
        .into_iter()
        .filter_map(|a| match a {
            Arg::Val(v) => Some(v),
            Arg::Ref(_) | Arg::Actor(_) => None,
        })
        .collect();
    Ok(Lowered {
        vals,
        lent: Vec::new(),
    })
}

/// Arguments moved into an instance: the values to pass, and the handles
/// only lent to the call (`borrow<object-ref>` parameters), which the host
/// still owns and must take back when the call ends ([`release_lent`]),
/// or each call would leave one behind in the instance's table.
pub(crate) struct Lowered {
    pub(crate) vals: Vec<Val>,
    pub(crate) lent: Vec<ResourceAny>,
}

/// Turns the arguments of a call of `method` into values of `store`: an
/// [`ObjectRef`] becomes a handle in the store's table, given (`own`) or
/// lent (`borrow`) as the parameter says.
pub(crate) fn lower_args(
    mut store: impl AsContextMut<Data = ActorState>,
    args: Vec<Arg>,
    method: &Method,
) -> wasmtime::Result<Lowered> {
    let mut lent = Vec::new();
    let vals = args
        .into_iter()
        .enumerate()
        .map(|(i, arg)| match arg {
            Arg::Val(v) => Ok(v),
            Arg::Ref(r) => {
                let handle = store
                    .as_context_mut()
                    .data_mut()
                    .table
                    .push(ObjectRefResource(r))?;
                let handle = ResourceAny::try_from_resource(handle, &mut store)?;
                if method.ref_param(i) == Some(RefParam::Borrow) {
                    lent.push(handle);
                }
                Ok(Val::Resource(handle))
            }
            Arg::Actor(a) => {
                let actor = ActorHandle::from_arg(&a)
                    .ok_or_else(|| wasmtime::Error::msg("an actor argument that is no actor"))?;
                let handle = store
                    .as_context_mut()
                    .data_mut()
                    .table
                    .push(ActorResource(actor))?;
                Ok(Val::Resource(ResourceAny::try_from_resource(
                    handle, &mut store,
                )?))
            }
        })
        .collect::<wasmtime::Result<_>>()?;
    Ok(Lowered { vals, lent })
}

/// Takes back the handles lent to a call that has ended.
pub(crate) fn release_lent(
    mut store: impl AsContextMut<Data = ActorState>,
    lent: Vec<ResourceAny>,
) {
    for handle in lent {
        // An error means the guest dropped what it only borrowed, which
        // wasmtime refuses earlier; nothing is left to release then.
        let _ = take_returned_ref(&mut store, handle);
    }
}

/// The [`ObjectRef`] behind a handle a method returned, taken out of the
/// callee's table.
pub(crate) fn take_returned_ref(
    mut store: impl AsContextMut<Data = ActorState>,
    handle: ResourceAny,
) -> Result<ObjectRef, Error> {
    handle
        .try_into_resource::<ObjectRefResource>(&mut store)
        .and_then(|h| Ok(store.as_context_mut().data_mut().table.delete(h)?))
        .map(|ObjectRefResource(r)| r)
        .map_err(|e| Error::InvalidValue {
            reason: "the method returned a resource that is not an object-ref".into(),
            source: Some(crate::error::source(e)),
        })
}
