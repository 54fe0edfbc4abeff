//! Arguments and results as Rust values: the typed layer over [`Val`].
//!
//! [`IntoVal`]/[`FromVal`] convert Rust values, [`Arg`] is one argument (a
//! value or an [`ObjectRef`]), and [`IntoArgs`] a whole argument list, so
//! `actor.call("add", (1u64, "x"))` needs no `Val` spelled out.

use wasmtime::component::Val;

use crate::error::{Error, Result};
use crate::object_ref::ObjectRef;
use crate::value::describe;

/// A Rust value that converts to a component value. Implemented for Rust's
/// primitives, `String`, `&str`, `Vec`, `Option`, `Result` and tuples.
///
/// ```
/// use wactor::{IntoVal, Val};
/// assert_eq!(7u64.into_val(), Val::U64(7));
/// assert_eq!(
///     Some("x").into_val(),
///     Val::Option(Some(Box::new(Val::String("x".into()))))
/// );
/// ```
pub trait IntoVal {
    /// Converts `self` into a [`Val`].
    fn into_val(self) -> Val;
}

/// A Rust value that can be read back from a component value.
///
/// ```
/// use wactor::{FromVal, Val};
/// let list = Val::List(vec![Val::U32(1), Val::U32(2)]);
/// assert_eq!(Vec::<u32>::from_val(list).unwrap(), [1, 2]);
/// assert!(u64::from_val(Val::String("1".into())).is_err());
/// ```
pub trait FromVal: Sized {
    /// Converts `value`, or says what was expected.
    fn from_val(value: Val) -> Result<Self>;
}

fn conversion<T>(value: &Val) -> Error {
    Error::Conversion {
        expected: std::any::type_name::<T>(),
        got: describe(value),
    }
}

macro_rules! primitive {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl IntoVal for $t {
            fn into_val(self) -> Val { Val::$v(self) }
        }
        impl FromVal for $t {
            fn from_val(value: Val) -> Result<Self> {
                match value { Val::$v(x) => Ok(x), other => Err(conversion::<$t>(&other)) }
            }
        }
    )*};
}

primitive!(
    bool => Bool, i8 => S8, u8 => U8, i16 => S16, u16 => U16, i32 => S32, u32 => U32,
    i64 => S64, u64 => U64, f32 => Float32, f64 => Float64, char => Char, String => String,
);

impl IntoVal for &str {
    fn into_val(self) -> Val {
        Val::String(self.to_string())
    }
}

impl IntoVal for Val {
    fn into_val(self) -> Val {
        self
    }
}

impl FromVal for Val {
    fn from_val(value: Val) -> Result<Self> {
        Ok(value)
    }
}

impl<T: IntoVal> IntoVal for Vec<T> {
    fn into_val(self) -> Val {
        Val::List(self.into_iter().map(IntoVal::into_val).collect())
    }
}

impl<T: FromVal> FromVal for Vec<T> {
    fn from_val(value: Val) -> Result<Self> {
        match value {
            Val::List(items) | Val::FixedLengthList(items) => {
                items.into_iter().map(T::from_val).collect()
            }
            other => Err(conversion::<Self>(&other)),
        }
    }
}

impl<T: IntoVal> IntoVal for Option<T> {
    fn into_val(self) -> Val {
        Val::Option(self.map(|v| Box::new(v.into_val())))
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(value: Val) -> Result<Self> {
        match value {
            Val::Option(v) => v.map(|v| T::from_val(*v)).transpose(),
            other => Err(conversion::<Self>(&other)),
        }
    }
}

impl<T: IntoVal, E: IntoVal> IntoVal for std::result::Result<T, E> {
    fn into_val(self) -> Val {
        Val::Result(match self {
            Ok(v) => Ok(Some(Box::new(v.into_val()))),
            Err(e) => Err(Some(Box::new(e.into_val()))),
        })
    }
}

impl<T: FromVal, E: FromVal> FromVal for std::result::Result<T, E> {
    fn from_val(value: Val) -> Result<Self> {
        match value {
            Val::Result(Ok(Some(v))) => Ok(Ok(T::from_val(*v)?)),
            Val::Result(Err(Some(e))) => Ok(Err(E::from_val(*e)?)),
            other => Err(conversion::<Self>(&other)),
        }
    }
}

/// One argument of a call: a value, or an [`ObjectRef`] for a parameter of
/// type `object-ref` (the callee receives a handle and may await it).
#[derive(Debug, Clone)]
pub enum Arg {
    /// A component value.
    Val(Val),
    /// A ref to a result, now or later.
    Ref(ObjectRef),
    /// A handle to an actor, for a parameter of type `actor` (`own<actor>`):
    /// the callee receives a handle of its own. Made from an
    /// [`ActorHandle`](crate::ActorHandle) with `into()`.
    Actor(ActorArg),
}

/// An actor handle passed as an argument ([`Arg::Actor`]).
#[derive(Clone)]
pub struct ActorArg(pub(crate) std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for ActorArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActorArg(..)")
    }
}

impl From<Val> for Arg {
    fn from(value: Val) -> Self {
        Arg::Val(value)
    }
}

impl From<ObjectRef> for Arg {
    fn from(r: ObjectRef) -> Self {
        Arg::Ref(r)
    }
}

/// Anything that can be one argument: every [`IntoVal`] type, and
/// [`ObjectRef`].
pub trait IntoArg {
    /// The argument.
    fn into_arg(self) -> Arg;
}

impl<T: IntoVal> IntoArg for T {
    fn into_arg(self) -> Arg {
        Arg::Val(self.into_val())
    }
}

impl IntoArg for ObjectRef {
    fn into_arg(self) -> Arg {
        Arg::Ref(self)
    }
}

impl IntoArg for Arg {
    fn into_arg(self) -> Arg {
        self
    }
}

/// A list of arguments: a tuple of [`IntoArg`] values (Rust values, `Val`s
/// or `ObjectRef`s), `()` for none, or a `Vec` of `Val`s or `Arg`s.
///
/// ```
/// use wactor::{Arg, IntoArgs, Val};
/// let args = (1u64, "a").into_args();
/// assert!(matches!(&args[..], [Arg::Val(Val::U64(1)), Arg::Val(Val::String(_))]));
/// assert!(().into_args().is_empty());
/// ```
pub trait IntoArgs {
    /// The arguments.
    fn into_args(self) -> Vec<Arg>;
}

macro_rules! tuples {
    ($(($($n:ident),*)),* $(,)?) => {$(
        impl<$($n: IntoArg),*> IntoArgs for ($($n,)*) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Vec<Arg> {
                let ($($n,)*) = self;
                vec![$($n.into_arg()),*]
            }
        }
        impl<$($n: IntoVal),*> IntoVal for ($($n,)*) {
            #[allow(non_snake_case)]
            fn into_val(self) -> Val {
                let ($($n,)*) = self;
                Val::Tuple(vec![$($n.into_val()),*])
            }
        }
        impl<$($n: FromVal),*> FromVal for ($($n,)*) {
            #[allow(non_snake_case)]
            fn from_val(value: Val) -> Result<Self> {
                match value {
                    Val::Tuple(items) => {
                        let mut items = items.into_iter();
                        $(let $n = $n::from_val(items.next().ok_or_else(|| Error::Conversion {
                            expected: std::any::type_name::<Self>(),
                            got: "a shorter tuple".into(),
                        })?)?;)*
                        Ok(($($n,)*))
                    }
                    other => Err(conversion::<Self>(&other)),
                }
            }
        }
    )*};
}

tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F)
);

impl IntoArgs for () {
    fn into_args(self) -> Vec<Arg> {
        Vec::new()
    }
}

impl IntoArgs for Vec<Val> {
    fn into_args(self) -> Vec<Arg> {
        self.into_iter().map(Arg::Val).collect()
    }
}

impl IntoArgs for Vec<Arg> {
    fn into_args(self) -> Vec<Arg> {
        self
    }
}

/// A method that returns nothing resolves to the empty tuple.
impl FromVal for () {
    fn from_val(value: Val) -> Result<Self> {
        match value {
            Val::Tuple(items) if items.is_empty() => Ok(()),
            other => Err(conversion::<Self>(&other)),
        }
    }
}

/// Roughly the bytes `args` take in memory, decoded.
pub(crate) fn footprint(args: &[Arg]) -> usize {
    args.iter()
        .map(|arg| match arg {
            Arg::Val(v) => crate::value::footprint(v),
            Arg::Ref(_) | Arg::Actor(_) => std::mem::size_of::<Arg>(),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_values_round_trip_through_vals() {
        let v = (7u64, "x".to_string(), vec![Some(1u8), None]).into_val();
        let back: (u64, String, Vec<Option<u8>>) = FromVal::from_val(v).unwrap();
        assert_eq!(back, (7, "x".into(), vec![Some(1), None]));
    }

    #[test]
    fn a_wrong_type_names_the_rust_type_asked_for() {
        let err = u64::from_val(Val::String("7".into())).unwrap_err();
        assert!(err.to_string().contains("u64"), "{err}");
        assert!(err.to_string().contains("string"), "{err}");
    }
}
