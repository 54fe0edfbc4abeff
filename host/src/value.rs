//! Dynamic values: checking them against WIT types, printing them, and the
//! typed convenience layer for Rust callers.
//!
//! Arguments and results cross the embedding API as component values
//! ([`Val`]). We check each argument against the callee's parameter type
//! ourselves, before anything is queued, so a mismatch is reported at the call
//! site with the method, the parameter and the expected WIT type, rather than
//! as a generic lowering failure later.

use wasmtime::component::{Type, Val};

use crate::error::{Error, Result};
use crate::object_ref::ObjectRef;

/// The WIT spelling of `ty`, e.g. `list<option<u32>>`.
pub(crate) fn wit_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", wit_type(&l.ty())),
        Type::FixedLengthList(l) => format!("list<{}, {}>", wit_type(&l.ty()), l.len()),
        Type::Map(m) => format!("map<{}, {}>", wit_type(&m.key()), wit_type(&m.value())),
        Type::Record(r) => {
            let fields: Vec<_> = r
                .fields()
                .map(|f| format!("{}: {}", f.name, wit_type(&f.ty)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        Type::Tuple(t) => {
            let types: Vec<_> = t.types().map(|t| wit_type(&t)).collect();
            format!("tuple<{}>", types.join(", "))
        }
        Type::Variant(v) => {
            let cases: Vec<_> = v
                .cases()
                .map(|c| match c.ty {
                    Some(ty) => format!("{}({})", c.name, wit_type(&ty)),
                    None => c.name.to_string(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        Type::Option(o) => format!("option<{}>", wit_type(&o.ty())),
        Type::Result(r) => {
            let part = |t: Option<Type>| t.map_or("_".to_string(), |t| wit_type(&t));
            match (r.ok(), r.err()) {
                (None, None) => "result".into(),
                (ok, err) => format!("result<{}, {}>", part(ok), part(err)),
            }
        }
        Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// `value` as WAVE text, the syntax of `wasmtime run --invoke`.
pub(crate) fn to_wave(value: &Val) -> String {
    wasm_wave::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// A short description of what was given, for messages.
fn describe(value: &Val) -> String {
    let kind = match value {
        Val::Bool(_) => "bool",
        Val::S8(_) => "s8",
        Val::U8(_) => "u8",
        Val::S16(_) => "s16",
        Val::U16(_) => "u16",
        Val::S32(_) => "s32",
        Val::U32(_) => "u32",
        Val::S64(_) => "s64",
        Val::U64(_) => "u64",
        Val::Float32(_) => "f32",
        Val::Float64(_) => "f64",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) | Val::FixedLengthList(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
    };
    let mut text = to_wave(value);
    if text.len() > 60 {
        text.truncate(57);
        text.push_str("...");
    }
    format!("{kind} `{text}`")
}

/// A type mismatch: where inside the value (`.field`, `[3]`, ...), what was
/// given there, and the WIT type it should have had.
pub(crate) struct Mismatch {
    pub(crate) at: String,
    pub(crate) got: String,
    pub(crate) expected: String,
}

/// Prefixes the place of a mismatch found inside a part of a value (`at` is
/// `.field`, `[3]`, ...), for `map_err`.
pub(crate) fn inside(at: String) -> impl FnOnce(Mismatch) -> Mismatch {
    move |mut m| {
        m.at.insert_str(0, &at);
        m
    }
}

/// Checks that `value` has type `ty`.
pub(crate) fn typecheck(value: &Val, ty: &Type) -> std::result::Result<(), Mismatch> {
    let mismatch = || {
        Err(Mismatch {
            at: String::new(),
            got: describe(value),
            expected: wit_type(ty),
        })
    };
    match (ty, value) {
        (Type::Bool, Val::Bool(_))
        | (Type::S8, Val::S8(_))
        | (Type::U8, Val::U8(_))
        | (Type::S16, Val::S16(_))
        | (Type::U16, Val::U16(_))
        | (Type::S32, Val::S32(_))
        | (Type::U32, Val::U32(_))
        | (Type::S64, Val::S64(_))
        | (Type::U64, Val::U64(_))
        | (Type::Float32, Val::Float32(_))
        | (Type::Float64, Val::Float64(_))
        | (Type::Char, Val::Char(_))
        | (Type::String, Val::String(_)) => Ok(()),
        (Type::List(l), Val::List(items)) => {
            let elem = l.ty();
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| typecheck(v, &elem).map_err(inside(format!("[{i}]"))))
        }
        (Type::FixedLengthList(l), Val::FixedLengthList(items))
            if items.len() == l.len() as usize =>
        {
            let elem = l.ty();
            items.iter().try_for_each(|v| typecheck(v, &elem))
        }
        (Type::Map(m), Val::Map(entries)) => {
            let (k, v) = (m.key(), m.value());
            entries
                .iter()
                .try_for_each(|(kv, vv)| typecheck(kv, &k).and_then(|()| typecheck(vv, &v)))
        }
        (Type::Record(r), Val::Record(fields)) => {
            if r.fields().len() != fields.len() {
                return mismatch();
            }
            for (field, (name, v)) in r.fields().zip(fields) {
                if field.name != name {
                    return mismatch();
                }
                typecheck(v, &field.ty).map_err(inside(format!(".{name}")))?;
            }
            Ok(())
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            if t.types().len() != items.len() {
                return mismatch();
            }
            t.types()
                .zip(items)
                .enumerate()
                .try_for_each(|(i, (ty, v))| typecheck(v, &ty).map_err(inside(format!(".{i}"))))
        }
        (Type::Variant(variant), Val::Variant(name, payload)) => {
            match variant.cases().find(|c| c.name == name) {
                Some(case) => match (case.ty, payload) {
                    (None, None) => Ok(()),
                    (Some(ty), Some(v)) => typecheck(v, &ty),
                    _ => mismatch(),
                },
                None => mismatch(),
            }
        }
        (Type::Enum(e), Val::Enum(name)) if e.names().any(|n| n == name) => Ok(()),
        (Type::Option(o), Val::Option(v)) => match v {
            None => Ok(()),
            Some(v) => typecheck(v, &o.ty()).map_err(inside(".some".into())),
        },
        (Type::Result(r), Val::Result(v)) => {
            let (ty, payload) = match v {
                Ok(p) => (r.ok(), p),
                Err(p) => (r.err(), p),
            };
            match (ty, payload) {
                (None, None) => Ok(()),
                (Some(ty), Some(v)) => typecheck(v, &ty),
                _ => mismatch(),
            }
        }
        (Type::Flags(f), Val::Flags(names)) if names.iter().all(|n| f.names().any(|m| m == n)) => {
            Ok(())
        }
        // Resources and async handles are checked by wasmtime when lowered.
        (Type::Own(_) | Type::Borrow(_), Val::Resource(_))
        | (Type::Future(_), Val::Future(_))
        | (Type::Stream(_), Val::Stream(_))
        | (Type::ErrorContext, Val::ErrorContext(_)) => Ok(()),
        _ => mismatch(),
    }
}

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
