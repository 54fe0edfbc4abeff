//! The value encoding guests use for dynamic arguments and ObjectRef
//! payloads: JSON text, typed by the WIT signature it meets.
//!
//! JSON because every language a guest may be written in reads and writes
//! it without extra libraries, and because, read against a known WIT type,
//! it is lossless: integers are exact (we never pass through `f64`), and the
//! few ambiguous cases have explicit forms. The mapping (also in
//! `docs/values.md` and `wit/runtime.wit`):
//!
//! | WIT | JSON |
//! | --- | --- |
//! | `bool` | `true` / `false` |
//! | integers | numbers, exact over the whole range of `s64` / `u64` |
//! | `f32`, `f64` | numbers; `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `char`, `string` | strings |
//! | `list<T>` (also `list<u8>`) | arrays |
//! | `tuple<...>` | arrays |
//! | `record` | objects, field names as in WIT (`kebab-case`) |
//! | `variant` | `{"case": payload}`, or `"case"` without payload |
//! | `enum` | `"case"` |
//! | `option<T>` | `null` for none, the value for some; `{"some": v}` is also accepted, and is how some is written when `T` is itself an option |
//! | `result<T, E>` | `{"ok": v}` / `{"err": e}` (`null` without payload) |
//! | `flags` | arrays of the set flags' names |
//!
//! Values with no type to meet (a guest's `put`) are kept as untyped
//! component values: numbers become `s64`/`u64`/`f64`, arrays tuples,
//! objects records, `null` an empty option; written back out they give the
//! same JSON.

use serde_json::{Map, Number, Value as Json};
use wasmtime::component::{Type, Val};

use super::{Mismatch, abbreviate, inside, wit_type};

/// `value` as JSON text, in the encoding guests use (see `docs/values.md`).
///
/// ```
/// use wactor::Val;
/// let v = Val::Result(Ok(Some(Box::new(Val::U64(u64::MAX)))));
/// assert_eq!(wactor::to_json(&v), r#"{"ok":18446744073709551615}"#);
/// ```
pub fn to_json_text(value: &Val) -> String {
    to_json(value).to_string()
}

/// `value` as JSON.
pub(crate) fn to_json(value: &Val) -> Json {
    match value {
        Val::Bool(b) => Json::Bool(*b),
        Val::S8(n) => (*n).into(),
        Val::U8(n) => (*n).into(),
        Val::S16(n) => (*n).into(),
        Val::U16(n) => (*n).into(),
        Val::S32(n) => (*n).into(),
        Val::U32(n) => (*n).into(),
        Val::S64(n) => (*n).into(),
        Val::U64(n) => (*n).into(),
        Val::Float32(f) => float(f64::from(*f)),
        Val::Float64(f) => float(*f),
        Val::Char(c) => Json::String(c.to_string()),
        Val::String(s) => Json::String(s.clone()),
        // The empty tuple is what a method without a result returns: `null`.
        Val::Tuple(items) if items.is_empty() => Json::Null,
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Val::Map(entries) => Json::Array(
            entries
                .iter()
                .map(|(k, v)| Json::Array(vec![to_json(k), to_json(v)]))
                .collect(),
        ),
        Val::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), to_json(v)))
                .collect(),
        ),
        Val::Variant(case, payload) => match payload {
            None => Json::String(case.clone()),
            Some(v) => tagged(case, to_json(v)),
        },
        Val::Enum(case) => Json::String(case.clone()),
        Val::Option(None) => Json::Null,
        Val::Option(Some(v)) => match &**v {
            // Keep `some(none)` apart from `none`.
            Val::Option(_) => tagged("some", to_json(v)),
            v => to_json(v),
        },
        Val::Result(Ok(v)) => tagged("ok", v.as_deref().map_or(Json::Null, to_json)),
        Val::Result(Err(v)) => tagged("err", v.as_deref().map_or(Json::Null, to_json)),
        Val::Flags(names) => Json::Array(names.iter().cloned().map(Json::String).collect()),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => Json::Null,
    }
}

fn float(f: f64) -> Json {
    if f.is_nan() {
        Json::String("NaN".into())
    } else if f.is_infinite() {
        Json::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

fn tagged(tag: &str, value: Json) -> Json {
    let mut map = Map::new();
    map.insert(tag.to_string(), value);
    Json::Object(map)
}

/// The only key of a one-key object, with its value.
fn single(json: &Json) -> Option<(&str, &Json)> {
    match json {
        Json::Object(map) if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

fn describe(json: &Json) -> String {
    format!("JSON `{}`", abbreviate(&json.to_string(), 60))
}

/// `json` read as a value of type `ty`.
pub(crate) fn from_json(json: &Json, ty: &Type) -> Result<Val, Mismatch> {
    let mismatch = || Mismatch {
        at: String::new(),
        got: describe(json),
        expected: wit_type(ty),
    };
    macro_rules! int {
        ($variant:ident, $t:ty) => {{
            let n = match json {
                Json::Number(n) => n
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from)),
                _ => None,
            };
            n.and_then(|n| <$t>::try_from(n).ok())
                .map(Val::$variant)
                .ok_or_else(mismatch)
        }};
    }
    let float = || match json {
        Json::Number(n) => n.as_f64().ok_or_else(mismatch),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(mismatch()),
        },
        _ => Err(mismatch()),
    };
    let items = |elem: &Type, items: &[Json]| -> Result<Vec<Val>, Mismatch> {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| from_json(v, elem).map_err(inside(format!("[{i}]"))))
            .collect()
    };
    match (ty, json) {
        (Type::Bool, Json::Bool(b)) => Ok(Val::Bool(*b)),
        (Type::S8, _) => int!(S8, i8),
        (Type::U8, _) => int!(U8, u8),
        (Type::S16, _) => int!(S16, i16),
        (Type::U16, _) => int!(U16, u16),
        (Type::S32, _) => int!(S32, i32),
        (Type::U32, _) => int!(U32, u32),
        (Type::S64, _) => int!(S64, i64),
        (Type::U64, _) => int!(U64, u64),
        (Type::Float32, _) => float().map(|f| Val::Float32(f as f32)),
        (Type::Float64, _) => float().map(Val::Float64),
        (Type::Char, Json::String(s)) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Val::Char(c)),
                _ => Err(mismatch()),
            }
        }
        (Type::String, Json::String(s)) => Ok(Val::String(s.clone())),
        (Type::List(l), Json::Array(a)) => items(&l.ty(), a).map(Val::List),
        (Type::FixedLengthList(l), Json::Array(a)) if a.len() == l.len() as usize => {
            items(&l.ty(), a).map(Val::FixedLengthList)
        }
        (Type::Tuple(t), Json::Array(a)) if a.len() == t.types().len() => t
            .types()
            .zip(a)
            .enumerate()
            .map(|(i, (ty, v))| from_json(v, &ty).map_err(inside(format!(".{i}"))))
            .collect::<Result<_, _>>()
            .map(Val::Tuple),
        (Type::Record(r), Json::Object(map)) => {
            if let Some(extra) = map.keys().find(|k| !r.fields().any(|f| f.name == *k)) {
                return Err(Mismatch {
                    at: format!(".{extra}"),
                    got: "an unknown field".into(),
                    expected: "no such field".into(),
                });
            }
            r.fields()
                .map(|f| {
                    let value = map.get(f.name).unwrap_or(&Json::Null);
                    from_json(value, &f.ty)
                        .map(|v| (f.name.to_string(), v))
                        .map_err(inside(format!(".{}", f.name)))
                })
                .collect::<Result<_, _>>()
                .map(Val::Record)
        }
        (Type::Variant(v), _) => {
            let (case_name, payload) = match json {
                Json::String(s) => (s.as_str(), None),
                _ => match single(json) {
                    Some((k, p)) => (k, Some(p)),
                    None => return Err(mismatch()),
                },
            };
            let case = v
                .cases()
                .find(|c| c.name == case_name)
                .ok_or_else(mismatch)?;
            match (case.ty, payload) {
                (None, None | Some(Json::Null)) => Ok(Val::Variant(case_name.into(), None)),
                (Some(ty), Some(p)) => from_json(p, &ty)
                    .map(|p| Val::Variant(case_name.into(), Some(Box::new(p))))
                    .map_err(inside(format!(".{case_name}"))),
                _ => Err(mismatch()),
            }
        }
        (Type::Enum(e), Json::String(s)) if e.names().any(|n| n == s) => Ok(Val::Enum(s.clone())),
        (Type::Option(_), Json::Null) => Ok(Val::Option(None)),
        (Type::Option(o), _) => {
            let inner = o.ty();
            let payload = match single(json) {
                Some(("some", p)) => p,
                _ if matches!(inner, Type::Option(_)) => return Err(mismatch()),
                _ => json,
            };
            from_json(payload, &inner)
                .map(|v| Val::Option(Some(Box::new(v))))
                .map_err(inside(".some".into()))
        }
        (Type::Result(r), _) => {
            let Some((tag, payload)) = single(json) else {
                return Err(mismatch());
            };
            let (ty, ok) = match tag {
                "ok" => (r.ok(), true),
                "err" => (r.err(), false),
                _ => return Err(mismatch()),
            };
            let payload = match (ty, payload) {
                (None, Json::Null) => None,
                (None, _) => return Err(mismatch()),
                (Some(ty), p) => Some(Box::new(
                    from_json(p, &ty).map_err(inside(format!(".{tag}")))?,
                )),
            };
            Ok(Val::Result(if ok { Ok(payload) } else { Err(payload) }))
        }
        (Type::Flags(f), Json::Array(names)) => names
            .iter()
            .map(|n| match n {
                Json::String(s) if f.names().any(|m| m == s) => Ok(s.clone()),
                _ => Err(mismatch()),
            })
            .collect::<Result<_, _>>()
            .map(Val::Flags),
        _ => Err(mismatch()),
    }
}

/// `json` as a component value with no type to meet (see module docs).
pub(crate) fn untyped(json: &Json) -> Val {
    match json {
        Json::Null => Val::Option(None),
        Json::Bool(b) => Val::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::S64(i)
            } else if let Some(u) = n.as_u64() {
                Val::U64(u)
            } else {
                Val::Float64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Val::String(s.clone()),
        Json::Array(items) => Val::Tuple(items.iter().map(untyped).collect()),
        Json::Object(map) => {
            Val::Record(map.iter().map(|(k, v)| (k.clone(), untyped(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_values_write_back_the_json_they_came_from() {
        let text = r#"{"a":[1,-2,18446744073709551615,1.5,"x",null,true],"b":{"some":null}}"#;
        let json: Json = serde_json::from_str(text).unwrap();
        assert_eq!(to_json(&untyped(&json)).to_string(), text);
    }

    #[test]
    fn option_of_option_keeps_some_none_apart_from_none() {
        let some_none = Val::Option(Some(Box::new(Val::Option(None))));
        assert_eq!(to_json(&some_none).to_string(), r#"{"some":null}"#);
        assert_eq!(to_json(&Val::Option(None)).to_string(), "null");
    }

    #[test]
    fn floats_that_json_cannot_hold_are_strings() {
        assert_eq!(
            to_json(&Val::Float64(f64::INFINITY)),
            Json::String("Infinity".into())
        );
        assert_eq!(to_json(&Val::Float32(f32::NAN)), Json::String("NaN".into()));
    }
}

#[cfg(test)]
mod multibyte {
    use super::*;

    #[test]
    fn a_long_wrong_typed_json_argument_with_multi_byte_text_is_described() {
        // The 57th byte falls inside a 3-byte character.
        let json = Json::String(format!("{}\u{3000}\u{3000}", "x".repeat(55)));
        let Err(m) = from_json(&json, &Type::U64) else {
            panic!("a string is not a u64");
        };
        assert!(m.got.starts_with("JSON `"), "{}", m.got);
    }
}
