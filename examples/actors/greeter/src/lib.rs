//! An actor that uses a host capability an embedder added
//! (`wactor-examples:host/greetings`), as `wactor::Capability`'s example.

wactor_guest::actor!("wactor-examples:host/greeter");

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        wactor_examples::host::greetings::greeting(&name)
    }
}

export!(Greeter);
