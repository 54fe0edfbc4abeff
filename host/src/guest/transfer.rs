//! Moving values into and out of an instance: ObjectRef arguments become
//! handles in the callee's table; an ObjectRef a method returns comes back
//! out of it.

use wasmtime::AsContextMut;
use wasmtime::component::{ResourceAny, Val};

use super::bindings::ObjectRefResource;
use super::state::ActorState;
use crate::call::Arg;
use crate::error::Error;
use crate::object_ref::ObjectRef;

/// The arguments as plain values, if none is an [`ObjectRef`] (the common
/// case, which needs no store); otherwise the arguments back.
pub(crate) fn plain_args(args: Vec<Arg>) -> Result<Vec<Val>, Vec<Arg>> {
    if args.iter().any(|a| matches!(a, Arg::Ref(_))) {
        return Err(args);
    }
    Ok(args
        .into_iter()
        .filter_map(|a| match a {
            Arg::Val(v) => Some(v),
            Arg::Ref(_) => None,
        })
        .collect())
}

/// Turns the arguments of a call into values of `store`: an [`ObjectRef`]
/// becomes an `own<object-ref>` handle in the store's table.
pub(crate) fn lower_args(
    mut store: impl AsContextMut<Data = ActorState>,
    args: Vec<Arg>,
) -> wasmtime::Result<Vec<Val>> {
    args.into_iter()
        .map(|arg| match arg {
            Arg::Val(v) => Ok(v),
            Arg::Ref(r) => {
                let handle = store
                    .as_context_mut()
                    .data_mut()
                    .table
                    .push(ObjectRefResource(r))?;
                Ok(Val::Resource(ResourceAny::try_from_resource(
                    handle, &mut store,
                )?))
            }
        })
        .collect()
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
