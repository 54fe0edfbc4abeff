//! Loading arbitrary bytes as a component never panics: it yields a
//! component or a clear error.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static wactor::Runtime {
    static RUNTIME: OnceLock<wactor::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        wactor::Runtime::builder()
            .cache_dir(None::<&str>)
            .max_instances(16)
            .build()
            .expect("the runtime starts")
    })
}

fuzz_target!(|bytes: &[u8]| {
    match runtime().load_bytes("fuzzed", bytes) {
        Ok(component) => {
            // Whatever loads must describe itself without panicking.
            for method in component.methods() {
                let _ = method.signature();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
