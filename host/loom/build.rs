//! Compiles this crate's copy of the slot against loom's primitives.

fn main() {
    println!("cargo::rustc-cfg=loom");
}
