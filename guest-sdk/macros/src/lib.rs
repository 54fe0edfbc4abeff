//! `actor!`, re-exported by `wactor-guest`; see its documentation there.
//!
//! A proc macro to learn where the wactor WIT files are: they ship inside
//! this crate (`wit/runtime.wit`), and `CARGO_MANIFEST_DIR` here points at
//! this crate's sources wherever Cargo unpacked them, which a
//! `macro_rules!` macro expanded in the user's crate cannot know; and to
//! read the guest's world, to map only the interfaces it imports.

use proc_macro::{TokenStream, TokenTree};

/// The folder of this crate's copy of `wactor:runtime`.
const WACTOR_WIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");

/// Every `wactor:runtime` interface, with the module of `wactor-guest` that
/// holds its bindings: the `with` entries that make a guest's types and the
/// SDK's one and the same.
const INTERFACES: &[(&str, &str)] = &[
    ("wactor:runtime/types@0.4.0", "::wactor_guest::types"),
    ("wactor:runtime/time@0.4.0", "::wactor_guest::time"),
    ("wactor:runtime/logging@0.4.0", "::wactor_guest::logging"),
    ("wactor:runtime/actors@0.4.0", "::wactor_guest::actors"),
    ("wactor:runtime/awaiting@0.4.0", "::wactor_guest::awaiting"),
];

/// The `with` entries for the `wactor:runtime` interfaces that `world` (in
/// the guest's folder `wit`) imports. wit-bindgen refuses an entry the
/// world does not use, so a world that includes `actor-sync` must not get
/// `time` and `awaiting`. When the WIT does not parse, every entry: then
/// wit-bindgen reports what is wrong with it.
fn with_entries(world: &str, wit: &str) -> String {
    let imported = imported_interfaces(world, wit);
    INTERFACES
        .iter()
        .filter(|(name, _)| {
            imported
                .as_ref()
                .is_none_or(|i| i.iter().any(|n| n == name))
        })
        .map(|(name, module)| format!("{name:?}: {module},"))
        .collect()
}

/// The names of the interfaces `world` imports, read as wit-bindgen will
/// read them: the wactor WIT first, then the guest's folder.
fn imported_interfaces(world: &str, wit: &str) -> Option<Vec<String>> {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_path(WACTOR_WIT).ok()?;
    let (package, _) = resolve
        .push_path(std::path::Path::new(&crate_dir).join(wit))
        .ok()?;
    let world = resolve.select_world(&[package], Some(world)).ok()?;
    Some(
        resolve.worlds[world]
            .imports
            .keys()
            .filter_map(|key| match key {
                wit_parser::WorldKey::Interface(id) => resolve.id_of(*id),
                wit_parser::WorldKey::Name(_) => None,
            })
            .collect(),
    )
}

/// Generates the bindings of an actor's WIT world, with the `wactor:runtime`
/// interfaces taken from `wactor-guest`: `actor!("my:pkg/my-world")` reads
/// the world from the crate's `wit/` folder; `actor!("my:pkg/my-world",
/// "other/wit")` from another folder.
#[proc_macro]
pub fn actor(input: TokenStream) -> TokenStream {
    let literals: Vec<String> = input
        .into_iter()
        .filter_map(|t| match t {
            TokenTree::Literal(l) => Some(l.to_string()),
            _ => None,
        })
        .collect();
    let (world, path) = match literals.as_slice() {
        [world] => (world.clone(), "\"wit\"".to_string()),
        [world, path] => (world.clone(), path.clone()),
        _ => {
            return "compile_error!(\"usage: wactor_guest::actor!(\\\"pkg:name/world\\\") or \
                    actor!(\\\"pkg:name/world\\\", \\\"path/to/wit\\\")\");"
                .parse()
                .expect("valid tokens");
        }
    };
    let unquote = |s: &str| s.trim_matches('"').to_string();
    let with = with_entries(&unquote(&world), &unquote(&path));
    let wit = format!("{WACTOR_WIT:?}");
    format!(
        r#"::wactor_guest::__private::wit_bindgen::generate!({{
            path: [{wit}, {path}],
            world: {world},
            runtime_path: "::wactor_guest::__private::wit_bindgen::rt",
            bitflags_path: "::wactor_guest::__private::wit_bindgen::rt::bitflags",
            with: {{ {with} }},
        }});"#
    )
    .parse()
    .expect("valid tokens")
}

/// The bindings of `wactor:runtime` itself, for `wactor-guest` (not for
/// actors: use [`actor!`]).
#[doc(hidden)]
#[proc_macro]
pub fn runtime_bindings(_input: TokenStream) -> TokenStream {
    let wit = format!("{WACTOR_WIT:?}");
    format!(
        r#"::wit_bindgen::generate!({{
            path: {wit},
            world: "wactor:runtime/actor@0.4.0",
        }});"#
    )
    .parse()
    .expect("valid tokens")
}
