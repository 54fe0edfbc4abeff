//! `actor!`, re-exported by `wactor-guest`; see its documentation there.
//!
//! A proc macro only to learn where the wactor WIT files are: they ship
//! inside this crate (`wit/runtime.wit`), and `CARGO_MANIFEST_DIR` here
//! points at this crate's sources wherever Cargo unpacked them, which a
//! `macro_rules!` macro expanded in the user's crate cannot know.

use proc_macro::{TokenStream, TokenTree};

/// The folder of this crate's copy of `wactor:runtime`.
const WACTOR_WIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");

/// The `with` entries that map every `wactor:runtime` interface to the
/// bindings `wactor-guest` generated for it, so a guest's types and theirs
/// are one and the same.
const WITH: &str = r#"
    "wactor:runtime/types@0.3.0": ::wactor_guest::types,
    "wactor:runtime/time@0.3.0": ::wactor_guest::time,
    "wactor:runtime/logging@0.3.0": ::wactor_guest::logging,
    "wactor:runtime/actors@0.3.0": ::wactor_guest::actors,
    "wactor:runtime/awaiting@0.3.0": ::wactor_guest::awaiting,
"#;

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
    let wit = format!("{WACTOR_WIT:?}");
    format!(
        r#"::wactor_guest::__private::wit_bindgen::generate!({{
            path: [{wit}, {path}],
            world: {world},
            runtime_path: "::wactor_guest::__private::wit_bindgen::rt",
            bitflags_path: "::wactor_guest::__private::wit_bindgen::rt::bitflags",
            with: {{ {WITH} }},
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
            world: "wactor:runtime/actor@0.3.0",
        }});"#
    )
    .parse()
    .expect("valid tokens")
}
