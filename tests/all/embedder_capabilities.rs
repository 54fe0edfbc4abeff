//! An embedder's own imports ([`wactor::Capability`]), on the real
//! `greeter` example, which imports `wactor-examples:host/greetings`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wactor::{
    ActorInfo, ActorOptions, ActorState, Capability, DeathCause, EngineKind, Error, Runtime,
};
use wactor_tests::PATIENCE;
use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

/// `greetings.greeting(name)`: "<salutation>, <name> #<n>", where the
/// salutation is the actor's data and `n` counts this instance's greetings.
struct Greetings {
    /// Instances prepared, across all actors.
    prepared: Arc<AtomicU32>,
    /// Refuse to prepare instances of actors with this name.
    refuse: Option<&'static str>,
    /// The engines the linker was configured for.
    engines: Arc<std::sync::Mutex<Vec<EngineKind>>>,
}

struct Salutation(&'static str);

impl Capability for Greetings {
    type InstanceState = u32;

    fn add_to_linker(
        &self,
        linker: &mut Linker<ActorState>,
        engine: EngineKind,
    ) -> wasmtime::Result<()> {
        self.engines.lock().unwrap().push(engine);
        linker
            .instance("wactor-examples:host/greetings")?
            .func_wrap(
                "greeting",
                |mut store: StoreContextMut<'_, ActorState>, (name,): (String,)| {
                    let salutation = store.data().data::<Salutation>().map_or("hello", |s| s.0);
                    let count = store.data_mut().capability::<Greetings>().unwrap();
                    *count += 1;
                    Ok((format!("{salutation}, {name} #{count}"),))
                },
            )
    }

    fn prepare(&self, actor: &ActorInfo<'_>) -> wasmtime::Result<u32> {
        if self.refuse == Some(actor.name()) {
            wasmtime::bail!("no greetings for {}", actor.name());
        }
        self.prepared.fetch_add(1, Ordering::SeqCst);
        Ok(0)
    }
}

fn runtime_with(refuse: Option<&'static str>) -> (Runtime, Arc<AtomicU32>, Greetings) {
    let prepared = Arc::new(AtomicU32::new(0));
    let engines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let capability = || Greetings {
        prepared: prepared.clone(),
        refuse,
        engines: engines.clone(),
    };
    let runtime = Runtime::builder()
        .cache_dir(None::<&str>)
        .capability(capability())
        .build()
        .unwrap();
    let probe = capability();
    (runtime, prepared, probe)
}

fn greet(actor: &wactor::ActorHandle, name: &str) -> Result<String, Error> {
    actor
        .call_typed::<String>("greet", (name,))?
        .get(Some(PATIENCE))
}

#[test]
fn each_actor_gets_its_own_data_and_each_instance_its_own_state() {
    let (runtime, prepared, probe) = runtime_with(None);
    let greeter = runtime.load(wactor_examples::GREETER).unwrap();
    let formal = greeter
        .spawn(ActorOptions::new().data(Salutation("good day")))
        .unwrap();
    let casual = greeter
        .spawn(ActorOptions::new().data(Salutation("hi")))
        .unwrap();
    assert_eq!(greet(&formal, "Ray").unwrap(), "good day, Ray #1");
    assert_eq!(greet(&formal, "Ray").unwrap(), "good day, Ray #2");
    assert_eq!(greet(&casual, "Ray").unwrap(), "hi, Ray #1");
    assert_eq!(prepared.load(Ordering::SeqCst), 2);
    // A threaded actor: its capability was linked on the sync engine too.
    assert!(
        probe.engines.lock().unwrap().contains(&EngineKind::Sync),
        "{:?}",
        probe.engines.lock().unwrap()
    );
}

#[test]
fn a_capability_that_refuses_an_instance_kills_only_that_actor_saying_why() {
    let (runtime, _, _) = runtime_with(Some("refused"));
    let greeter = runtime.load(wactor_examples::GREETER).unwrap();
    let refused = greeter.spawn(ActorOptions::new().name("refused")).unwrap();
    let err = greet(&refused, "Ray").unwrap_err();
    match &err {
        Error::ActorDied {
            cause: DeathCause::Instantiation(why),
            ..
        } => assert!(why.contains("no greetings for refused"), "{why}"),
        other => panic!("expected an instantiation death, got {other:?}"),
    }
    let welcome = greeter.spawn(ActorOptions::new().name("welcome")).unwrap();
    assert_eq!(greet(&welcome, "Ray").unwrap(), "hello, Ray #1");
}

#[test]
fn a_component_that_needs_a_capability_the_runtime_lacks_is_refused_at_load() {
    let runtime = wactor_tests::runtime();
    let err = runtime.load(wactor_examples::GREETER).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    let text = wactor_text(&err);
    assert!(text.contains("wactor-examples:host/greetings"), "{text}");
}

/// An error with its sources, as a user would print it (`{:#}` in anyhow).
fn wactor_text(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
