//! A loaded component: its actor kind, its methods, and the linked
//! `InstancePre` that every actor spawned from it is instantiated from.
//!
//! The kind is decided here, once, from the exports, following Ray: a class
//! with any `async def` is an async actor; one with none is a threaded actor.

use std::fmt;
use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Type, Val};

use crate::actor::{ActorHandle, ActorOptions};
use crate::error::{Error, Result};
use crate::object_ref::ObjectRef;
use crate::runtime::Runtime;
use crate::sandbox::ActorState;
use crate::value::{Arg, IntoArgs, wit_type};

/// How an actor's calls are scheduled, decided by its exports.
///
/// ```
/// use wactor::ActorKind;
/// assert_eq!(ActorKind::Async.default_max_concurrency(), 1000);
/// assert_eq!(ActorKind::Threaded.default_max_concurrency(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActorKind {
    /// At least one `async func` export: one instance, calls interleaved on
    /// one event loop, up to `max_concurrency` (default 1000) at once. Sync
    /// exports run on the same instance, one at a time.
    Async,
    /// Only sync exports: a pool of `max_concurrency` instances (default 1).
    /// The instances are replicas that do not share memory.
    Threaded,
}

impl ActorKind {
    /// The `max_concurrency` an actor of this kind gets by default (Ray's).
    pub fn default_max_concurrency(self) -> usize {
        match self {
            ActorKind::Async => 1000,
            ActorKind::Threaded => 1,
        }
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActorKind::Async => "async actor",
            ActorKind::Threaded => "threaded actor",
        })
    }
}

/// An exported function of a component: a method of its actors.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let faulty = runtime.load(wactor_examples::FAULTY)?;
/// let echo = faulty.method("echo").unwrap();
/// assert!(echo.is_async());
/// assert_eq!(echo.signature(), "async func(text: string, millis: u64) -> string");
/// let args = echo.parse_args(r#"echo("hi", 10)"#)?;
/// assert_eq!(args, [wactor::Val::String("hi".into()), wactor::Val::U64(10)]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Method {
    name: String,
    params: Vec<(String, Type)>,
    result: Option<Type>,
    is_async: bool,
    pub(crate) export: ComponentExportIndex,
    pub(crate) index: usize,
}

impl Method {
    /// The name to call it by: `run-task` for a function exported by the
    /// world, `interface#function` for one in an exported interface.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is an `async func`.
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// The parameters' names and types.
    pub fn params(&self) -> &[(String, Type)] {
        &self.params
    }

    /// The result type, if it returns a value.
    pub fn result(&self) -> Option<&Type> {
        self.result.as_ref()
    }

    /// The WIT signature, e.g. `async func(millis: u64) -> u32`.
    pub fn signature(&self) -> String {
        let params: Vec<_> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", wit_type(t)))
            .collect();
        let mut sig = format!(
            "{}func({})",
            if self.is_async { "async " } else { "" },
            params.join(", ")
        );
        if let Some(result) = &self.result {
            sig.push_str(" -> ");
            sig.push_str(&wit_type(result));
        }
        sig
    }

    /// Parses arguments written in WAVE, the syntax of `wasmtime run
    /// --invoke`: either the whole call (`run-task(1000)`) or just the
    /// argument list (`(1000)` or `1000`).
    pub fn parse_args(&self, text: &str) -> Result<Vec<Val>> {
        let bad = |reason: String| Error::BadArguments {
            method: self.name.clone(),
            signature: self.signature(),
            reason,
        };
        // Parse as a call of the bare function name so that error spans
        // point into text the user recognizes.
        let func = self.name.rsplit_once('#').map_or(&*self.name, |(_, f)| f);
        let text = text.trim();
        let call = if text.starts_with('(') {
            format!("{func}{text}")
        } else if text.ends_with(')') && text.contains('(') {
            text.to_string()
        } else if text.is_empty() {
            format!("{func}()")
        } else {
            format!("{func}({text})")
        };
        let in_call = |e: &dyn std::fmt::Display| bad(format!("{e} in `{call}`"));
        let parsed = wasm_wave::untyped::UntypedFuncCall::parse(&call).map_err(|e| in_call(&e))?;
        let types: Vec<Type> = self.params.iter().map(|(_, t)| t.clone()).collect();
        let values: Vec<Val> = parsed
            .to_wasm_params(types.iter())
            .map_err(|e| in_call(&e))?;
        Ok(values)
    }

    /// Reads arguments encoded as a JSON array (see `docs/values.md`), one
    /// element per parameter. A parameter of type `object-ref` takes
    /// `{"$ref": i}`, meaning `refs[i]`.
    pub(crate) fn args_from_json(&self, text: &str, refs: &[ObjectRef]) -> Result<Vec<Arg>> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::BadArguments {
                method: self.name.clone(),
                signature: self.signature(),
                reason: format!("the arguments are not valid JSON ({e}): {text}"),
            })?;
        let serde_json::Value::Array(items) = json else {
            return Err(Error::BadArguments {
                method: self.name.clone(),
                signature: self.signature(),
                reason: format!(
                    "the arguments must be a JSON array, one element per parameter, not {text}"
                ),
            });
        };
        if items.len() != self.params.len() {
            return Err(Error::WrongArity {
                method: self.name.clone(),
                signature: self.signature(),
                expected: self.params.len(),
                got: items.len(),
            });
        }
        let mut args = Vec::with_capacity(items.len());
        for ((param, ty), item) in self.params.iter().zip(&items) {
            let wrong = |m: crate::value::Mismatch| Error::WrongType {
                method: self.name.clone(),
                param: format!("{param}{}", m.at),
                expected: m.expected,
                got: m.got,
            };
            let arg = match ty {
                Type::Own(_) | Type::Borrow(_) => {
                    let index = item.get("$ref").and_then(serde_json::Value::as_u64);
                    match index.and_then(|i| refs.get(usize::try_from(i).ok()?)) {
                        Some(r) => Arg::Ref(r.clone()),
                        None => {
                            return Err(wrong(crate::value::Mismatch {
                                at: String::new(),
                                got: format!("JSON `{item}`"),
                                expected: format!(
                                    "an object-ref: {{\"$ref\": i}} with i below {}",
                                    refs.len()
                                ),
                            }));
                        }
                    }
                }
                ty => Arg::Val(crate::json::from_json(item, ty).map_err(wrong)?),
            };
            args.push(arg);
        }
        Ok(args)
    }

    /// Reads arguments written as a JSON array, one element per parameter,
    /// in the encoding guests use (`docs/values.md`), checked against the
    /// signature.
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let faulty = runtime.load(wactor_examples::FAULTY)?;
    /// let divide = faulty.method("divide").unwrap();
    /// assert_eq!(divide.parse_json_args("[7, 2]")?.len(), 2);
    /// assert!(divide.parse_json_args(r#"[7, "2"]"#).is_err());
    /// # Ok(()) }
    /// ```
    pub fn parse_json_args(&self, text: &str) -> Result<Vec<Arg>> {
        self.args_from_json(text, &[])
    }

    /// Checks arguments against the parameters.
    pub(crate) fn check_args(&self, args: &[Arg]) -> Result<()> {
        if args.len() != self.params.len() {
            return Err(Error::WrongArity {
                method: self.name.clone(),
                signature: self.signature(),
                expected: self.params.len(),
                got: args.len(),
            });
        }
        for ((param, ty), arg) in self.params.iter().zip(args) {
            let checked = match (arg, ty) {
                (Arg::Val(v), _) => crate::value::typecheck(v, ty),
                (Arg::Ref(_), Type::Own(_) | Type::Borrow(_)) => Ok(()),
                (Arg::Ref(_), _) => Err(crate::value::Mismatch {
                    at: String::new(),
                    got: "an object-ref".into(),
                    expected: wit_type(ty),
                }),
            };
            checked.map_err(|m| Error::WrongType {
                method: self.name.clone(),
                param: format!("{param}{}", m.at),
                expected: m.expected,
                got: m.got,
            })?;
        }
        Ok(())
    }
}

/// A compiled, linked component, ready to spawn actors from. Cheap to clone.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let component = runtime.load(wactor_examples::ASYNC_ACTOR)?;
/// assert_eq!(component.kind(), wactor::ActorKind::Async);
/// let run_task = component.method("run-task").unwrap();
/// assert_eq!(run_task.signature(), "async func(millis: u64) -> u32");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ActorComponent {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub(crate) runtime: Runtime,
    pub(crate) name: String,
    pub(crate) kind: ActorKind,
    pub(crate) methods: Vec<Arc<Method>>,
    pub(crate) imports: Vec<String>,
    pub(crate) pre: InstancePre<ActorState>,
    /// The component's bytes, kept until its threaded variant is made, for
    /// a threaded (sync-only) component that is not a program.
    bytes: std::sync::Mutex<Option<Arc<[u8]>>>,
    /// The component compiled for the runtime's engine without the async
    /// ABI, if it links there (see `sync_variant`).
    sync: tokio::sync::OnceCell<Option<SyncComponent>>,
    /// The actor that runs this component's stateless tasks, spawned on the
    /// first `submit` and again after it dies.
    task_pool: std::sync::Mutex<Option<ActorHandle>>,
}

/// A threaded component compiled for the engine without the component
/// model's async ABI, where a sync call costs a quarter as much.
pub(crate) struct SyncComponent {
    pub(crate) pre: InstancePre<ActorState>,
    /// Each method's export in this compilation, in `methods` order.
    pub(crate) exports: Vec<ComponentExportIndex>,
}

impl ActorComponent {
    pub(crate) fn new(
        runtime: Runtime,
        name: &str,
        component: Component,
        bytes: &[u8],
    ) -> Result<Self> {
        let engine = runtime.engine().clone();
        let unsupported = |reason: String| Error::Unsupported {
            origin: name.to_string(),
            reason,
        };
        let pre = runtime
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| {
                unsupported(format!(
                    "{e:#} (wactor provides WASI 0.2 and the wactor:runtime interfaces in wit/)"
                ))
            })?;

        let mut methods = Vec::new();
        let ty = component.component_type();
        for (export_name, item) in ty.exports(&engine) {
            match item.ty {
                ComponentItem::ComponentFunc(func) => {
                    let export = component
                        .get_export_index(None, export_name)
                        .ok_or_else(|| unsupported(format!("export `{export_name}` vanished")))?;
                    methods.push(method(
                        export_name.to_string(),
                        &func,
                        export,
                        methods.len(),
                    ));
                }
                ComponentItem::ComponentInstance(instance) => {
                    let Some(instance_index) = component.get_export_index(None, export_name) else {
                        continue;
                    };
                    for (func_name, item) in instance.exports(&engine) {
                        if let ComponentItem::ComponentFunc(func) = item.ty {
                            let Some(export) =
                                component.get_export_index(Some(&instance_index), func_name)
                            else {
                                continue;
                            };
                            methods.push(method(
                                format!("{export_name}#{func_name}"),
                                &func,
                                export,
                                methods.len(),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        let imports = ty
            .imports(&engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let kind = if methods.iter().any(|m| m.is_async) {
            ActorKind::Async
        } else {
            ActorKind::Threaded
        };
        // Programs run on the concurrent engine, whose event loop lets their
        // sync `run` call async imports; only actors get a threaded variant.
        let is_program = methods.iter().any(|m| m.name.starts_with("wasi:cli/run@"));
        let bytes = (kind == ActorKind::Threaded && !is_program).then(|| Arc::from(bytes));
        Ok(ActorComponent {
            inner: Arc::new(ComponentInner {
                runtime,
                name: name.to_string(),
                kind,
                methods: methods.into_iter().map(Arc::new).collect(),
                imports,
                pre,
                bytes: std::sync::Mutex::new(bytes),
                sync: tokio::sync::OnceCell::new(),
                task_pool: std::sync::Mutex::new(None),
            }),
        })
    }

    /// This component compiled for the runtime's engine without the
    /// component model's async ABI, for threaded actors: made (or read from
    /// the cache) when the first one spawns. `None` for async components and
    /// programs, and for a component that imports an `async func` (it does
    /// not link there); their instances use the concurrent engine.
    pub(crate) async fn sync_variant(&self) -> Option<&SyncComponent> {
        self.inner
            .sync
            .get_or_init(|| async {
                let bytes = self
                    .inner
                    .bytes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()?;
                let runtime = &self.inner.runtime;
                let engine = runtime.sync_engine().await?;
                let (compiler, sync_engine) = (runtime.clone(), engine.engine.clone());
                let compiled =
                    tokio::task::spawn_blocking(move || compiler.compile(&sync_engine, &bytes))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|compiled| compiled.map_err(|e| format!("{e:#}")));
                let component = match compiled {
                    Ok(component) => component,
                    Err(e) => {
                        tracing::debug!(component = self.name(), "no threaded variant: {e}");
                        return None;
                    }
                };
                let pre = match engine.linker.instantiate_pre(&component) {
                    Ok(pre) => pre,
                    Err(e) => {
                        tracing::debug!(
                            component = self.name(),
                            "no threaded variant (it imports an async func?): {e:#}"
                        );
                        return None;
                    }
                };
                let exports = self
                    .inner
                    .methods
                    .iter()
                    .map(|m| export_index(&component, &m.name))
                    .collect::<Option<Vec<_>>>()?;
                Some(SyncComponent { pre, exports })
            })
            .await
            .as_ref()
    }

    /// The component's name (its file stem, or the name given to
    /// [`Runtime::load_bytes`]).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// How its actors are scheduled.
    pub fn kind(&self) -> ActorKind {
        self.inner.kind
    }

    /// Its methods, in export order.
    pub fn methods(&self) -> impl ExactSizeIterator<Item = &Method> {
        self.inner.methods.iter().map(|m| &**m)
    }

    /// The names of the interfaces and functions it imports from the host.
    pub fn imports(&self) -> &[String] {
        &self.inner.imports
    }

    /// The method called `name`. A function of an exported interface may be
    /// named by its bare function name when no other method has that name.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.find(name).map(|m| &**m)
    }

    /// The method called `name`, or the error that lists the methods there
    /// are; `owner` names the actor (or task pool) in that error.
    pub(crate) fn method_named(&self, owner: &str, name: &str) -> Result<&Arc<Method>> {
        self.find(name).ok_or_else(|| Error::UnknownMethod {
            actor: owner.to_string(),
            method: name.to_string(),
            available: self.methods().map(|m| m.name().to_string()).collect(),
        })
    }

    pub(crate) fn find(&self, name: &str) -> Option<&Arc<Method>> {
        let methods = &self.inner.methods;
        if let Some(m) = methods.iter().find(|m| m.name == name) {
            return Some(m);
        }
        let mut by_suffix = methods
            .iter()
            .filter(|m| m.name.rsplit_once('#').is_some_and(|(_, f)| f == name));
        match (by_suffix.next(), by_suffix.next()) {
            (Some(m), None) => Some(m),
            _ => None,
        }
    }

    /// Runs `function` as a stateless task and returns a ref to its result
    /// at once. Ray's `@ray.remote def f` / `f.remote(args)`.
    ///
    /// Tasks run on the component's shared task pool, an actor spawned on
    /// the first `submit`: for a sync-only component, a pool of
    /// [`RuntimeBuilder::task_pool_size`](crate::RuntimeBuilder::task_pool_size)
    /// instances; for one with async exports, one instance running up to
    /// 1000 tasks at once. Tasks must not rely on state left by other tasks:
    /// which instance runs which task is not specified. If a task traps, the
    /// tasks queued with it fail with [`Error::ActorDied`] and the next
    /// `submit` starts a fresh pool. The pool lives as long as the component.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let faulty = runtime.load(wactor_examples::FAULTY)?;
    /// let q = faulty.submit("divide", (9i64, 3i64))?;
    /// assert_eq!(q.await?, wactor::Val::S64(3));
    /// # Ok(()) }
    /// ```
    pub fn submit(&self, function: &str, args: impl IntoArgs) -> Result<ObjectRef> {
        self.task_pool()?.call(function, args)
    }

    /// The actor that runs this component's tasks (see
    /// [`submit`](ActorComponent::submit)), spawned now if there is none or
    /// the last one died.
    pub fn task_pool(&self) -> Result<ActorHandle> {
        let mut pool = self
            .inner
            .task_pool
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = &*pool
            && handle.death_cause().is_none()
        {
            return Ok(handle.clone());
        }
        let size = match self.kind() {
            ActorKind::Async => ActorKind::Async.default_max_concurrency(),
            ActorKind::Threaded => self.inner.runtime.inner.task_pool_size,
        };
        let handle = self.spawn(
            ActorOptions::new()
                .name(format!("{}-tasks", self.name()))
                .max_concurrency(size),
        )?;
        *pool = Some(handle.clone());
        Ok(handle)
    }

    /// Spawns an actor: instantiates the component (once for an async actor,
    /// `max_concurrency` times for a threaded one) and starts serving calls.
    /// Returns at once; if instantiation fails, the actor is dead and every
    /// call resolves to an error that says why. Ray's `Actor.options(...).remote()`.
    pub fn spawn(&self, options: ActorOptions) -> Result<ActorHandle> {
        crate::scheduler::spawn(self.clone(), options)
    }
}

/// The export of the method named `name` (`func` or `interface#func`).
fn export_index(component: &Component, name: &str) -> Option<ComponentExportIndex> {
    match name.split_once('#') {
        Some((instance, func)) => {
            let instance = component.get_export_index(None, instance)?;
            component.get_export_index(Some(&instance), func)
        }
        None => component.get_export_index(None, name),
    }
}

fn method(
    name: String,
    func: &wasmtime::component::types::ComponentFunc,
    export: ComponentExportIndex,
    index: usize,
) -> Method {
    Method {
        name,
        params: func.params().map(|(n, t)| (n.to_string(), t)).collect(),
        result: func.results().next(),
        is_async: func.async_(),
        export,
        index,
    }
}

impl fmt::Debug for ActorComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorComponent")
            .field("name", &self.inner.name)
            .field("kind", &self.inner.kind)
            .field(
                "methods",
                &self.methods().map(Method::name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::Runtime;

    #[tokio::test]
    async fn threaded_components_get_a_variant_on_the_engine_without_the_async_abi() {
        let runtime = Runtime::new().unwrap();
        let counter = runtime.load(wactor_examples::COUNTER).unwrap();
        let variant = counter.sync_variant().await.expect("counter links there");
        assert!(!wasmtime::Engine::same(
            variant.pre.engine(),
            runtime.engine()
        ));
        assert_eq!(variant.exports.len(), counter.methods().len());
    }

    #[tokio::test]
    async fn async_actors_and_programs_stay_on_the_concurrent_engine() {
        let runtime = Runtime::new().unwrap();
        for path in [wactor_examples::ASYNC_ACTOR, wactor_examples::RUN_TASKS] {
            let component = runtime.load(path).unwrap();
            assert!(component.sync_variant().await.is_none(), "{path}");
        }
    }

    #[tokio::test]
    async fn a_threaded_actor_runs_its_calls_on_the_variant() {
        let runtime = Runtime::new().unwrap();
        let threaded = runtime.load(wactor_examples::THREADED_ACTOR).unwrap();
        assert!(threaded.sync_variant().await.is_some());
        let actor = threaded
            .spawn(crate::ActorOptions::new().max_concurrency(2))
            .unwrap();
        let (a, b) = (
            actor.call("work", (1u32, 50u64)).unwrap(),
            actor.call("work", (2u32, 50u64)).unwrap(),
        );
        assert!(a.await.is_ok() && b.await.is_ok());
    }
}
