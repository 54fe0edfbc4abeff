//! How big a component's initial memory image is: what decides between
//! copy-on-write and copying when an instance's memory is initialized.

/// The bytes of data segments in all of the component's core modules: what
/// initializing a fresh instance's memories writes (copied) or maps
/// (copy-on-write). `None` if the bytes do not parse (compiling them then
/// says why).
pub(crate) fn data_bytes(bytes: &[u8]) -> Option<u64> {
    let mut total = 0u64;
    // `parse_all` walks nested modules and components too.
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::DataSection(reader) = payload.ok()? {
            for data in reader {
                total = total.saturating_add(data.ok()?.data.len() as u64);
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::data_bytes;

    fn data_of(path: &str) -> u64 {
        data_bytes(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_rust_guest_has_kibibytes_of_data_and_cpython_megabytes() {
        // The counter's statics; CPython's heap snapshot (componentize-py),
        // in a module nested in the component.
        assert!(data_of(wactor_examples::COUNTER) < 4096);
        assert!(data_of(wactor_examples::PY_ASYNC_ACTOR) > 4 << 20);
    }

    #[test]
    fn bytes_that_do_not_parse_have_no_size() {
        assert_eq!(data_bytes(b"not wasm"), None);
        assert_eq!(data_bytes(b"\0asm\x0d\0\x01\0\xff"), None);
    }
}
