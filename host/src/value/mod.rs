//! The bottom layer: component values, their WIT types, and their two text
//! forms (WAVE for people, JSON for guests).
//!
//! Arguments and results cross the embedding API as component values
//! ([`Val`]). We check each argument against the callee's parameter type
//! ourselves, before anything is queued, so a mismatch is reported at the call
//! site with the method, the parameter and the expected WIT type, rather than
//! as a generic lowering failure later.
//!
//! Nothing here knows about actors, refs or errors: this layer imports no
//! other module of the crate.

pub(crate) mod json;

use wasmtime::component::{Type, Val};

/// The WIT spelling of `ty`, e.g. `list<option<u32>>`.
pub(crate) fn wit_type(ty: &Type) -> String {
    wit_type_naming(ty, &|_| None)
}

/// [`wit_type`], with resources named by `name` where it knows them (an
/// `own` handle is written as the bare name, as WIT does).
pub(crate) fn wit_type_naming(
    ty: &Type,
    name: &dyn Fn(&wasmtime::component::ResourceType) -> Option<String>,
) -> String {
    let wit_type = |ty: &Type| wit_type_naming(ty, name);
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
        Type::Own(r) => name(r).unwrap_or_else(|| "own<resource>".into()),
        Type::Borrow(r) => {
            name(r).map_or_else(|| "borrow<resource>".into(), |n| format!("borrow<{n}>"))
        }
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// `bytes` as lowercase hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// `value` as WAVE text, the syntax of `wasmtime run --invoke`.
pub(crate) fn to_wave(value: &Val) -> String {
    wasm_wave::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// A short description of what was given, for messages.
pub(crate) fn describe(value: &Val) -> String {
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
    format!("{kind} `{}`", abbreviate(&to_wave(value), 60))
}

/// `text` cut to at most `max` bytes for a message, with `...` where it was
/// cut. Cuts at a character boundary: text from guests may be any UTF-8.
pub(crate) fn abbreviate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end]).into()
}

/// `text` with every control character written out as an escape (`\n`,
/// `\r`, `\u{1b}`, ...), so text from a guest (a log message, a name) can
/// neither start a line of its own nor move the cursor or recolour a
/// terminal: it cannot pass for the host's output.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped.into()
}

/// `line` (bytes a guest wrote, without its `\n`) with control characters
/// escaped as by [`escape_controls`], except tabs, and bytes that are not
/// UTF-8 written as `\xNN` (a lone 0x9b is a control sequence to some
/// terminals). If `more_follows`, a character cut short at the end is left
/// for the next write: the number of bytes left is returned.
pub(crate) fn escape_control_bytes(line: &[u8], out: &mut Vec<u8>, more_follows: bool) -> usize {
    let mut rest = line;
    while !rest.is_empty() {
        let e = match std::str::from_utf8(rest) {
            Ok(text) => {
                escape_into(text, out);
                return 0;
            }
            Err(e) => e,
        };
        let (valid, after) = rest.split_at(e.valid_up_to());
        // `valid` is UTF-8 by the error's own account.
        escape_into(std::str::from_utf8(valid).unwrap_or_default(), out);
        let bad = match e.error_len() {
            Some(n) => n,
            None if more_follows => return after.len(),
            None => after.len(),
        };
        for byte in &after[..bad] {
            out.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
        }
        rest = &after[bad..];
    }
    0
}

fn escape_into(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            out.extend_from_slice(c.escape_default().collect::<String>().as_bytes());
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
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

/// Roughly the bytes `value` takes in memory: each `Val` node, and the heap
/// behind its strings, lists and boxes (an allocation counted at its
/// length, rounded up to the 16 bytes an allocator hands out at least).
pub(crate) fn footprint(value: &Val) -> usize {
    fn heap(bytes: usize) -> usize {
        if bytes == 0 {
            0
        } else {
            bytes.div_ceil(16) * 16
        }
    }
    fn boxed(v: &Option<Box<Val>>) -> usize {
        v.as_deref().map_or(0, footprint)
    }
    let node = std::mem::size_of::<Val>();
    node + match value {
        Val::String(s) | Val::Enum(s) => heap(s.len()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            items.iter().map(footprint).sum::<usize>()
        }
        Val::Map(pairs) => pairs.iter().map(|(k, v)| footprint(k) + footprint(v)).sum(),
        Val::Record(fields) => fields
            .iter()
            .map(|(name, v)| std::mem::size_of::<String>() + heap(name.len()) + footprint(v))
            .sum(),
        Val::Variant(case, payload) => heap(case.len()) + boxed(payload),
        Val::Option(payload) => boxed(payload),
        Val::Result(Ok(payload) | Err(payload)) => boxed(payload),
        Val::Flags(names) => names
            .iter()
            .map(|n| std::mem::size_of::<String>() + heap(n.len()))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_footprint_counts_every_node_and_its_heap() {
        let node = std::mem::size_of::<Val>();
        assert_eq!(footprint(&Val::U8(1)), node);
        assert_eq!(footprint(&Val::String("a".into())), node + 16);
        let list = Val::List(vec![Val::String("a".into()); 1000]);
        assert_eq!(footprint(&list), node + 1000 * (node + 16));
        // Far more than the JSON's 4 bytes an item: what a quota must see.
        assert!(footprint(&list) > 1000 * 4 * 10);
    }

    #[test]
    fn abbreviating_never_splits_a_character() {
        // 56 ASCII bytes, then a 3-byte character across the cut.
        let text = format!("{}\u{3000}{}", "a".repeat(56), "b".repeat(20));
        let short = abbreviate(&text, 60);
        assert!(short.ends_with("..."), "{short}");
        assert!(short.len() <= 60);
        let cjk = "\u{3000}".repeat(40);
        assert!(abbreviate(&cjk, 60).len() <= 60);
        assert_eq!(abbreviate("short", 60), "short");
    }

    #[test]
    fn control_characters_are_written_out_and_other_text_kept() {
        assert_eq!(escape_controls("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            escape_controls("a\nb\r\u{1b}[31mc\u{9b}"),
            "a\\nb\\r\\u{1b}[31mc\\u{9b}"
        );
        let mut out = Vec::new();
        assert_eq!(
            escape_control_bytes(b"tab\there\x1b[2J\xff\xfe end\r", &mut out, false),
            0
        );
        assert_eq!(out, b"tab\there\\u{1b}[2J\\xff\\xfe end\\r");
        // A character cut across two writes is kept whole.
        let cjk = "\u{3000}".as_bytes();
        let mut out = Vec::new();
        assert_eq!(escape_control_bytes(&cjk[..2], &mut out, true), 2);
        assert!(out.is_empty());
        assert_eq!(escape_control_bytes(&cjk[..2], &mut out, false), 0);
        assert_eq!(out, b"\\xe3\\x80");
    }

    #[test]
    fn a_wrong_typed_value_with_multi_byte_text_is_described_not_panicked_on() {
        let value = Val::String(format!("{}\u{3000}\u{3000}\u{3000}", "x".repeat(52)));
        let mismatch = typecheck(&value, &Type::U32).unwrap_err();
        assert!(mismatch.got.starts_with("string `"), "{}", mismatch.got);
    }
}
