//! A component compiled and linked: its methods (and so its actor kind),
//! and the `InstancePre` each instance is made from, on each engine it
//! runs on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use super::engines::{EngineLinker, Engines};
use super::retry::{Attempt, Retry};
use crate::call::{ActorKind, Method, MethodTable, ResourceNames};
use crate::error::{Error, Result, source};
use crate::guest::{ActorState, Role};

/// A component linked on one engine, ready to instantiate.
pub(crate) struct Linked {
    pub(crate) pre: InstancePre<ActorState>,
    /// Each method's export in this compilation, in method order.
    pub(crate) exports: Vec<ComponentExportIndex>,
}

/// How long to wait before trying again to make the threaded variant after
/// the sync engine failed to build.
const VARIANT_RETRY: Duration = Duration::from_secs(1);

/// A loaded component: what every actor of it is instantiated from.
pub(crate) struct CompiledComponent {
    pub(crate) name: Arc<str>,
    pub(crate) methods: Arc<MethodTable>,
    pub(crate) imports: Vec<String>,
    pub(crate) engines: Arc<Engines>,
    /// What its calls are reported to, if metrics or a timeline are on.
    pub(crate) observer: Option<Arc<crate::observe::Observer>>,
    concurrent: Linked,
    /// Whether its instances map their initial memory copy-on-write (on
    /// every engine it runs on), as the runtime's `MemoryInit` chose by its
    /// size.
    pub(crate) copy_on_write: bool,
    /// The bytes, kept until the threaded variant is made or refused, for
    /// a threaded (sync-only) component that is not a program.
    bytes: Mutex<Option<Arc<[u8]>>>,
    /// The component compiled for the sync engine, if it links there.
    sync: Retry<Linked>,
}

impl CompiledComponent {
    /// Compiles (or reads from the cache) and links `bytes` on the
    /// concurrent engine, and reads its methods.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidComponent`] if wasmtime cannot compile it,
    /// [`Error::Unsupported`] if it imports something the host lacks.
    pub(crate) fn load(engines: Arc<Engines>, name: &str, bytes: &[u8]) -> Result<Self> {
        let (EngineLinker { engine, linker }, copy_on_write) = engines.concurrent_for(bytes);
        let component = engines
            .compile(engine, bytes)
            .map_err(|e| Error::invalid_component(name, e))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Unsupported {
                origin: name.to_string(),
                reason: "it imports something the host does not provide (wactor provides WASI \
                         0.2, the wactor:runtime interfaces of wit/, and the capabilities the \
                         embedder added)"
                    .into(),
                source: Some(source(e)),
            })?;
        // The types as linked: an imported `object-ref` is then the host's
        // resource type, which tells ObjectRef parameters from others.
        let linked_type = linker
            .substituted_component_type(&component)
            .map_err(|e| Error::invalid_component(name, e))?;
        let (methods, exports) =
            read_methods(&component, &linked_type, engine).map_err(|reason| {
                Error::Unsupported {
                    origin: name.to_string(),
                    reason,
                    source: None,
                }
            })?;
        let imports = component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let methods = Arc::new(MethodTable::new(methods));
        // Programs run on the concurrent engine, whose event loop lets their
        // sync `run` call async imports; only actors get a threaded variant.
        let threaded = methods.kind() == ActorKind::Threaded && methods.command_entry().is_none();
        let name: Arc<str> = name.into();
        Ok(CompiledComponent {
            observer: engines.observer(&name, &methods),
            name,
            methods,
            imports,
            concurrent: Linked { pre, exports },
            copy_on_write,
            bytes: Mutex::new(threaded.then(|| Arc::from(bytes))),
            sync: Retry::new(VARIANT_RETRY),
            engines,
        })
    }

    /// What an instance in `role` is made from: threaded actors use the
    /// sync engine when their component links there (a sync call costs a
    /// quarter as much), everything else the concurrent engine.
    pub(crate) async fn linked_for(&self, role: Role) -> &Linked {
        match role {
            Role::ThreadedActor => self.sync_variant().await.unwrap_or(&self.concurrent),
            Role::AsyncActor | Role::Driver => &self.concurrent,
        }
    }

    /// This component compiled for the sync engine, made (or read from the
    /// cache) when the first threaded actor spawns. `None` for async
    /// components and programs, and for one that imports an `async func`
    /// (it does not link there).
    pub(crate) async fn sync_variant(&self) -> Option<&Linked> {
        self.sync
            .get(async || {
                let Some(bytes) = self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clone()
                else {
                    return Attempt::Never;
                };
                let Some(sync) = self.engines.sync_for(self.copy_on_write).await else {
                    // Retried: the sync engine may be made later.
                    return Attempt::Failed;
                };
                let attempt = self.link_variant(sync, bytes).await;
                if !matches!(attempt, Attempt::Failed) {
                    self.bytes.lock().unwrap_or_else(|e| e.into_inner()).take();
                }
                attempt
            })
            .await
    }

    async fn link_variant(&self, sync: &EngineLinker, bytes: Arc<[u8]>) -> Attempt<Linked> {
        let (engines, engine) = (self.engines.clone(), sync.engine.clone());
        let compiled = tokio::task::spawn_blocking(move || engines.compile(&engine, &bytes)).await;
        let component = match compiled {
            Ok(Ok(component)) => component,
            Ok(Err(e)) => {
                tracing::debug!(component = %self.name, "no threaded variant: {e:#}");
                return Attempt::Never;
            }
            Err(e) => {
                tracing::warn!(component = %self.name, "compiling the threaded variant failed: {e}");
                return Attempt::Failed;
            }
        };
        let pre = match sync.linker.instantiate_pre(&component) {
            Ok(pre) => pre,
            Err(e) => {
                tracing::debug!(
                    component = %self.name,
                    "no threaded variant (it imports an async func?): {e:#}"
                );
                return Attempt::Never;
            }
        };
        match self
            .methods
            .iter()
            .map(|m| export_index(&component, m.name()))
            .collect::<Option<Vec<_>>>()
        {
            Some(exports) => Attempt::Made(Linked { pre, exports }),
            None => Attempt::Never,
        }
    }
}

/// Every function export (`name`, or `interface#name` for a function of an
/// exported interface), as methods, with their export indices.
fn read_methods(
    component: &Component,
    linked_type: &wasmtime::component::types::Component,
    engine: &wasmtime::Engine,
) -> std::result::Result<(Vec<Method>, Vec<ComponentExportIndex>), String> {
    let mut methods = Vec::new();
    let mut exports = Vec::new();
    let names = resource_names(linked_type, engine);
    let mut add = |name: String, func: &wasmtime::component::types::ComponentFunc, export| {
        let index = u32::try_from(methods.len()).map_err(|_| "too many exports".to_string())?;
        methods.push(Method::new(name, func, index, &names));
        exports.push(export);
        Ok::<_, String>(())
    };
    for (export_name, item) in linked_type.exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(func) => {
                let export = component
                    .get_export_index(None, export_name)
                    .ok_or_else(|| format!("export `{export_name}` vanished"))?;
                add(export_name.to_string(), &func, export)?;
            }
            ComponentItem::ComponentInstance(instance) => {
                let Some(instance_index) = component.get_export_index(None, export_name) else {
                    continue;
                };
                for (func_name, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = item.ty
                        && let Some(export) =
                            component.get_export_index(Some(&instance_index), func_name)
                    {
                        add(format!("{export_name}#{func_name}"), &func, export)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok((methods, exports))
}

/// The resource types the component imports and exports (as linked, so an
/// imported `object-ref` is the host's), by their WIT names.
fn resource_names(
    linked_type: &wasmtime::component::types::Component,
    engine: &wasmtime::Engine,
) -> ResourceNames {
    fn walk(
        names: &mut ResourceNames,
        name: &str,
        item: &ComponentItem,
        engine: &wasmtime::Engine,
    ) {
        match item {
            ComponentItem::Resource(ty) => names.add(*ty, name),
            ComponentItem::ComponentInstance(instance) => {
                for (name, item) in instance.exports(engine) {
                    walk(names, name, &item.ty, engine);
                }
            }
            _ => {}
        }
    }
    let mut names = ResourceNames::default();
    names.actor = Some(wasmtime::component::ResourceType::host::<
        crate::guest::ActorResource,
    >());
    for (name, item) in linked_type
        .imports(engine)
        .chain(linked_type.exports(engine))
    {
        walk(&mut names, name, &item.ty, engine);
    }
    names
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
