//! Decoding arbitrary text as call arguments (WAVE and JSON) against real
//! signatures, and as a whole `--invoke` call (`method(args)`, as the CLI
//! reads it), never panics: it yields values or an error naming the method.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn component() -> &'static wactor::ActorComponent {
    static COMPONENT: OnceLock<wactor::ActorComponent> = OnceLock::new();
    COMPONENT.get_or_init(|| {
        let runtime = wactor::Runtime::builder()
            .cache_dir(None::<&str>)
            .max_instances(16)
            .build()
            .expect("the runtime starts");
        // `faulty` has methods taking records, variants, options, results,
        // flags, lists and every scalar.
        runtime
            .load(wactor_examples::FAULTY)
            .expect("the example loads")
    })
}

fuzz_target!(|text: &str| {
    if let Err(e) = component().parse_invoke(text) {
        let message = e.to_string();
        assert!(
            message.contains("method") || message.contains("argument"),
            "{message}"
        );
    }
    for method in component().methods() {
        let errors = [
            method.parse_args(text).err(),
            method.parse_json_args(text).err(),
        ];
        for e in errors.into_iter().flatten() {
            assert!(e.to_string().contains(method.name()), "{e}");
        }
    }
});
