//! Nothing here: the model is `tests/slot.rs`. See `Cargo.toml`.
