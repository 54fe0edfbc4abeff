//! Methods: a component's exports, their WIT signatures, and reading
//! arguments for them (WAVE, JSON, or Rust values).
//!
//! A [`MethodTable`] is built once per component, at load: calls find their
//! method by one hash lookup and carry its index from there on, so neither
//! the caller nor the scheduler scans names per call.

use std::collections::HashMap;
use std::fmt;

use wasmtime::component::{ResourceType, Type, Val};

use super::args::{ActorArg, Arg};
use crate::error::{Error, Result};
use crate::object_ref::{ObjectRef, ObjectRefResource};
use crate::value::{Mismatch, json, typecheck};

/// How an actor's calls are scheduled, decided by its exports.
///
/// ```
/// use wactor::ActorKind;
/// assert_eq!(ActorKind::Async.default_max_concurrency(), 1000);
/// assert_eq!(ActorKind::Threaded.default_max_concurrency(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The handle type in `result` that could not leave the actor, if any.
    unreturnable: Option<String>,
    /// The item type, if it returns a stream the host can read.
    stream: Option<StreamItem>,
    /// Each parameter's type as WIT writes it, then the result's.
    shown: Vec<String>,
    is_async: bool,
    index: u32,
    /// Which parameters are `own<actor>` (wactor's own `actor` resource).
    actor_params: Vec<bool>,
}

impl Method {
    /// A method description, the `index`-th export of its component.
    pub(crate) fn new(
        name: String,
        func: &wasmtime::component::types::ComponentFunc,
        index: u32,
        names: &ResourceNames,
    ) -> Method {
        let result = func.results().next();
        let is_async = func.async_();
        let stream = match &result {
            Some(Type::Stream(s)) if is_async => StreamItem::of(s.ty().as_ref()),
            _ => None,
        };
        let unreturnable = match &result {
            Some(ty) if ref_param(ty) == Some(RefParam::Own) => None,
            Some(_) if stream.is_some() => None,
            Some(ty @ Type::Stream(_)) if !is_async => Some(format!(
                "{} from a sync func (only an `async func` can go on writing a stream after it \
                 returns)",
                names.show(ty)
            )),
            Some(ty @ Type::Stream(_)) => Some(format!(
                "{} (the host reads stream items of type bool, integers, floats, char, string \
                 and list<u8>: stream other values as JSON, in a stream<string>)",
                names.show(ty)
            )),
            Some(ty) => first_handle(ty).map(|h| {
                if h == *ty {
                    names.show(&h)
                } else {
                    format!("{} inside {}", names.show(&h), names.show(ty))
                }
            }),
            None => None,
        };
        let params: Vec<(String, Type)> = func.params().map(|(n, t)| (n.to_string(), t)).collect();
        let shown = params
            .iter()
            .map(|(_, t)| t)
            .chain(&result)
            .map(|t| names.show(t))
            .collect();
        let actor_params = params
            .iter()
            .map(|(_, t)| matches!(t, Type::Own(r) if names.actor == Some(*r)))
            .collect();
        Method {
            name,
            params,
            result,
            unreturnable,
            stream,
            shown,
            is_async,
            index,
            actor_params,
        }
    }

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

    /// Whether it can be called from outside its actor: not if its result
    /// holds a handle other than one top-level `object-ref` (such a call is
    /// refused with [`Error::UnreturnableResult`]).
    pub fn is_callable(&self) -> bool {
        self.unreturnable.is_none()
    }

    /// Whether it returns a `stream<T>` the host reads item by item
    /// ([`ActorHandle::call_stream`](crate::ActorHandle::call_stream)).
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// The item type of the stream it returns, if it returns one.
    pub(crate) fn stream_item(&self) -> Option<StreamItem> {
        self.stream
    }

    /// Its position among its component's methods.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// How the parameter at `index` takes an ObjectRef, if it is of type
    /// `object-ref` (and not of some other resource type).
    pub(crate) fn ref_param(&self, index: usize) -> Option<RefParam> {
        ref_param(&self.params.get(index)?.1)
    }

    /// Whether the parameter at `index` takes an actor handle (`own<actor>`).
    pub(crate) fn actor_param(&self, index: usize) -> bool {
        self.actor_params.get(index).copied().unwrap_or(false)
    }

    /// The WIT signature, e.g. `async func(millis: u64) -> u32`.
    pub fn signature(&self) -> String {
        let params: Vec<_> = self
            .params
            .iter()
            .zip(&self.shown)
            .map(|((n, _), t)| format!("{n}: {t}"))
            .collect();
        let mut sig = format!(
            "{}func({})",
            if self.is_async { "async " } else { "" },
            params.join(", ")
        );
        if let Some(result) = self.result.as_ref().and(self.shown.last()) {
            sig.push_str(" -> ");
            sig.push_str(result);
        }
        sig
    }

    fn bad_arguments(&self, reason: String) -> Error {
        Error::BadArguments {
            method: self.name.clone(),
            signature: self.signature(),
            reason,
        }
    }

    fn wrong_arity(&self, got: usize) -> Error {
        Error::WrongArity {
            method: self.name.clone(),
            signature: self.signature(),
            expected: self.params.len(),
            got,
        }
    }

    /// [`Error::WrongType`] for the JSON `item` given for `param`.
    fn wrong_json(&self, param: &str, item: &serde_json::Value, expected: String) -> Error {
        let got = format!("JSON `{}`", crate::value::abbreviate(&item.to_string(), 60));
        self.wrong_type(
            param,
            Mismatch {
                at: String::new(),
                got,
                expected,
            },
        )
    }

    fn wrong_type(&self, param: &str, m: Mismatch) -> Error {
        Error::WrongType {
            method: self.name.clone(),
            param: format!("{param}{}", m.at),
            expected: m.expected,
            got: m.got,
        }
    }

    /// Parses arguments written in WAVE, the syntax of `wasmtime run
    /// --invoke`: either the whole call (`run-task(1000)`) or just the
    /// argument list (`(1000)` or `1000`).
    ///
    /// # Errors
    ///
    /// [`Error::BadArguments`] with the parser's message and where in the
    /// text it stopped.
    pub fn parse_args(&self, text: &str) -> Result<Vec<Val>> {
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
        let in_call = |e: &dyn fmt::Display| self.bad_arguments(format!("{e} in `{call}`"));
        let parsed = wasm_wave::untyped::UntypedFuncCall::parse(&call).map_err(|e| in_call(&e))?;
        let types: Vec<Type> = self.params.iter().map(|(_, t)| t.clone()).collect();
        parsed.to_wasm_params(types.iter()).map_err(|e| in_call(&e))
    }

    /// Reads arguments encoded as a JSON array (see `docs/values.md`), one
    /// element per parameter. A parameter of type `object-ref` takes
    /// `{"$ref": i}`, meaning `refs[i]`; one of type `actor` takes
    /// `{"$actor": i}`, meaning `actors[i]`.
    pub(crate) fn args_from_json(
        &self,
        text: &str,
        refs: &[ObjectRef],
        actors: &[ActorArg],
    ) -> Result<Vec<Arg>> {
        self.check_returnable()?;
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            self.bad_arguments(format!(
                "the arguments are not valid JSON ({e}): {}",
                crate::value::abbreviate(text, 200)
            ))
        })?;
        let serde_json::Value::Array(items) = json else {
            return Err(self.bad_arguments(format!(
                "the arguments must be a JSON array, one element per parameter, not {}",
                crate::value::abbreviate(text, 200)
            )));
        };
        if items.len() != self.params.len() {
            return Err(self.wrong_arity(items.len()));
        }
        let mut args = Vec::with_capacity(items.len());
        for (i, ((param, ty), item)) in self.params.iter().zip(&items).enumerate() {
            let arg = match ty {
                Type::Own(_) if self.actor_param(i) => {
                    let index = item.get("$actor").and_then(serde_json::Value::as_u64);
                    match index.and_then(|i| actors.get(usize::try_from(i).ok()?)) {
                        Some(a) => Arg::Actor(a.clone()),
                        None => {
                            let expected = format!(
                                "an actor: {{\"$actor\": i}} with i below {}",
                                actors.len()
                            );
                            return Err(self.wrong_json(param, item, expected));
                        }
                    }
                }
                Type::Own(_) | Type::Borrow(_) if self.ref_param(i).is_none() => {
                    // Only ObjectRefs cross between actors: a handle of
                    // another resource type would reach the callee as the
                    // wrong type and kill it.
                    let expected = format!(
                        "{} (a resource other than object-ref and actor, which cannot be passed \
                         between actors)",
                        self.shown[i]
                    );
                    return Err(self.wrong_json(param, item, expected));
                }
                Type::Own(_) | Type::Borrow(_) => {
                    let index = item.get("$ref").and_then(serde_json::Value::as_u64);
                    match index.and_then(|i| refs.get(usize::try_from(i).ok()?)) {
                        Some(r) => Arg::Ref(r.clone()),
                        None => {
                            let expected = format!(
                                "an object-ref: {{\"$ref\": i}} with i below {}",
                                refs.len()
                            );
                            return Err(self.wrong_json(param, item, expected));
                        }
                    }
                }
                ty => Arg::Val(json::from_json(item, ty).map_err(|m| self.wrong_type(param, m))?),
            };
            args.push(arg);
        }
        Ok(args)
    }

    /// Reads arguments written as a JSON array, one element per parameter,
    /// in the encoding guests use (`docs/values.md`), checked against the
    /// signature.
    ///
    /// # Errors
    ///
    /// [`Error::BadArguments`] for text that is not a JSON array,
    /// [`Error::WrongArity`] and [`Error::WrongType`] for values that do not
    /// fit the signature.
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
        self.args_from_json(text, &[], &[])
    }

    /// Refuses a method whose result holds a handle that cannot leave the
    /// actor: run, it would leave that handle in the callee's table (nothing
    /// could ever release it) and its caller would get nothing usable.
    pub(crate) fn check_returnable(&self) -> Result<()> {
        match &self.unreturnable {
            None => Ok(()),
            Some(what) => Err(Error::UnreturnableResult {
                method: self.name.clone(),
                signature: self.signature(),
                what: what.clone(),
            }),
        }
    }

    /// Checks arguments against the parameters.
    pub(crate) fn check_args(&self, args: &[Arg]) -> Result<()> {
        self.check_returnable()?;
        if args.len() != self.params.len() {
            return Err(self.wrong_arity(args.len()));
        }
        for (i, ((param, ty), arg)) in self.params.iter().zip(args).enumerate() {
            let checked = match (arg, ty) {
                (Arg::Val(v), ty) => typecheck(v, ty),
                (Arg::Ref(_), _) if self.ref_param(i).is_some() => Ok(()),
                (Arg::Actor(_), _) if self.actor_param(i) => Ok(()),
                (Arg::Actor(_), _) => Err(Mismatch {
                    at: String::new(),
                    got: "an actor".into(),
                    expected: self.shown[i].clone(),
                }),
                (Arg::Ref(_), _) => Err(Mismatch {
                    at: String::new(),
                    got: "an object-ref".into(),
                    expected: self.shown[i].clone(),
                }),
            };
            checked.map_err(|m| self.wrong_type(param, m))?;
        }
        Ok(())
    }
}

/// The WIT names of the resource types a component imports and exports,
/// to show them in signatures (`func(a: actor)`); one without a name
/// shows as `own<resource>`.
#[derive(Debug, Default)]
pub(crate) struct ResourceNames {
    names: Vec<(ResourceType, String)>,
    /// wactor's `actor` resource as linked, whose handles may be passed.
    pub(crate) actor: Option<ResourceType>,
}

impl ResourceNames {
    /// Names `ty` `name`, unless it has a name already.
    pub(crate) fn add(&mut self, ty: ResourceType, name: &str) {
        if self.name(&ty).is_none() {
            self.names.push((ty, name.to_string()));
        }
    }

    fn name(&self, r: &ResourceType) -> Option<&str> {
        self.names
            .iter()
            .find(|(t, _)| t == r)
            .map(|(_, n)| n.as_str())
    }

    /// `ty` as WIT writes it, naming known resources.
    fn show(&self, ty: &Type) -> String {
        crate::value::wit_type_naming(ty, &|r| self.name(r).map(str::to_string))
    }
}

/// The item types of a `stream<T>` the host reads: wasmtime reads stream
/// items only into Rust types known when the host is compiled (it has no
/// reader of dynamic `Val`s yet, wasmtime#11161), so records, variants and
/// the like cannot be read; they can travel as JSON in a `stream<string>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamItem {
    Bool,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F32,
    F64,
    Char,
    String,
    Bytes,
}

impl StreamItem {
    /// The kind for items of type `ty`, if the host can read them.
    fn of(ty: Option<&Type>) -> Option<StreamItem> {
        Some(match ty? {
            Type::Bool => StreamItem::Bool,
            Type::U8 => StreamItem::U8,
            Type::U16 => StreamItem::U16,
            Type::U32 => StreamItem::U32,
            Type::U64 => StreamItem::U64,
            Type::S8 => StreamItem::S8,
            Type::S16 => StreamItem::S16,
            Type::S32 => StreamItem::S32,
            Type::S64 => StreamItem::S64,
            Type::Float32 => StreamItem::F32,
            Type::Float64 => StreamItem::F64,
            Type::Char => StreamItem::Char,
            Type::String => StreamItem::String,
            Type::List(l) if l.ty() == Type::U8 => StreamItem::Bytes,
            _ => return None,
        })
    }
}

/// The first handle type (a resource, future, stream or error context)
/// anywhere inside `ty`.
fn first_handle(ty: &Type) -> Option<Type> {
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            Some(ty.clone())
        }
        Type::List(l) => first_handle(&l.ty()),
        Type::FixedLengthList(l) => first_handle(&l.ty()),
        Type::Map(m) => first_handle(&m.key()).or_else(|| first_handle(&m.value())),
        Type::Option(o) => first_handle(&o.ty()),
        Type::Record(r) => r.fields().find_map(|f| first_handle(&f.ty)),
        Type::Tuple(t) => t.types().find_map(|t| first_handle(&t)),
        Type::Variant(v) => v.cases().find_map(|c| c.ty.as_ref().and_then(first_handle)),
        Type::Result(r) => r
            .ok()
            .as_ref()
            .and_then(first_handle)
            .or_else(|| r.err().as_ref().and_then(first_handle)),
        _ => None,
    }
}

/// How a parameter takes an ObjectRef.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefParam {
    /// `object-ref` (`own`): the callee keeps the handle.
    Own,
    /// `borrow<object-ref>`: the callee may use it during the call only, so
    /// the host releases it when the call ends.
    Borrow,
}

/// Whether `ty` is the `object-ref` resource, and how it is passed. The
/// method's types come from the component as linked, where an imported
/// `object-ref` is the host's own resource type.
fn ref_param(ty: &Type) -> Option<RefParam> {
    let object_ref = ResourceType::host::<ObjectRefResource>();
    match ty {
        Type::Own(r) if *r == object_ref => Some(RefParam::Own),
        Type::Borrow(r) if *r == object_ref => Some(RefParam::Borrow),
        _ => None,
    }
}

/// A component's methods, with its kind, looked up by name in one step.
#[derive(Debug)]
pub(crate) struct MethodTable {
    methods: Vec<Method>,
    /// Every method's full name, and the bare function name of an
    /// interface's function when no other method has it.
    names: Names,
    kind: ActorKind,
}

/// The names a [`MethodTable`] finds methods by.
#[derive(Debug)]
enum Names {
    /// Up to [`FEW_NAMES`]: comparing a few short strings is faster than
    /// hashing one, and the lookup is on every call.
    Few(Vec<(Box<str>, u32)>),
    Many(HashMap<String, u32>),
}

/// Up to this many names are looked up by comparing them in turn.
const FEW_NAMES: usize = 8;

impl MethodTable {
    /// The table of `methods`, each with its index in the list.
    pub(crate) fn new(methods: Vec<Method>) -> MethodTable {
        let mut by_name: HashMap<String, u32> =
            methods.iter().map(|m| (m.name.clone(), m.index)).collect();
        let mut bare: HashMap<&str, Vec<u32>> = HashMap::new();
        for m in &methods {
            if let Some((_, func)) = m.name.rsplit_once('#') {
                bare.entry(func).or_default().push(m.index);
            }
        }
        for (func, indices) in bare {
            if let [only] = indices[..] {
                by_name.entry(func.to_string()).or_insert(only);
            }
        }
        let kind = if methods.iter().any(|m| m.is_async) {
            ActorKind::Async
        } else {
            ActorKind::Threaded
        };
        let names = if by_name.len() <= FEW_NAMES {
            Names::Few(by_name.into_iter().map(|(n, i)| (n.into(), i)).collect())
        } else {
            Names::Many(by_name)
        };
        MethodTable {
            methods,
            names,
            kind,
        }
    }

    /// How actors with these methods are scheduled.
    pub(crate) fn kind(&self) -> ActorKind {
        self.kind
    }

    /// Every method, in export order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Method> {
        self.methods.iter()
    }

    /// The method at `index`.
    pub(crate) fn get(&self, index: u32) -> &Method {
        &self.methods[index as usize]
    }

    /// The method called `name`: its full name, or the bare name of an
    /// interface's function that no other method shares.
    pub(crate) fn find(&self, name: &str) -> Option<&Method> {
        let index = match &self.names {
            Names::Few(few) => few.iter().find(|(n, _)| &**n == name).map(|(_, i)| *i),
            Names::Many(by_name) => by_name.get(name).copied(),
        };
        index.map(|i| self.get(i))
    }

    /// The method called `name`, or the error that lists the methods there
    /// are; `owner` names the actor or component in that error.
    pub(crate) fn resolve(&self, owner: &str, name: &str) -> Result<&Method> {
        self.find(name).ok_or_else(|| Error::UnknownMethod {
            actor: owner.to_string(),
            method: crate::value::abbreviate(name, 200).into_owned(),
            available: self.methods.iter().map(|m| m.name.clone()).collect(),
        })
    }

    /// The `wasi:cli/run` entry point, if the component is a program.
    pub(crate) fn command_entry(&self) -> Option<&Method> {
        self.methods
            .iter()
            .find(|m| m.name.starts_with("wasi:cli/run@") && m.name.ends_with("#run"))
    }

    /// Reads a call written as for `wasmtime run --invoke`: the method's
    /// name, then its arguments in WAVE (`run-task(1000)`, `peak()`, or a
    /// bare `peak`).
    pub(crate) fn parse_invoke(&self, owner: &str, text: &str) -> Result<(&Method, Vec<Val>)> {
        // `(` is ASCII, so both halves start at character boundaries.
        let (name, args) = match text.find('(') {
            Some(at) => text.split_at(at),
            None => (text, ""),
        };
        let method = self.resolve(owner, name.trim())?;
        let args = method.parse_args(args)?;
        Ok((method, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(names: &[&str]) -> MethodTable {
        let methods = names
            .iter()
            .enumerate()
            .map(|(i, n)| Method {
                name: n.to_string(),
                params: Vec::new(),
                result: None,
                unreturnable: None,
                stream: None,
                shown: Vec::new(),
                is_async: false,
                index: i as u32,
                actor_params: Vec::new(),
            })
            .collect();
        MethodTable::new(methods)
    }

    #[test]
    fn methods_are_found_by_full_name_and_by_unambiguous_bare_name() {
        let t = table(&["add", "my:pkg/a#run", "my:pkg/a#go", "my:pkg/b#go"]);
        assert_eq!(t.find("add").unwrap().index(), 0);
        assert_eq!(t.find("run").unwrap().index(), 1);
        assert_eq!(t.find("my:pkg/b#go").unwrap().index(), 3);
        assert!(t.find("go").is_none(), "`go` is ambiguous");
        assert!(matches!(
            t.resolve("x", "nope"),
            Err(Error::UnknownMethod { available, .. }) if available.len() == 4
        ));
    }

    #[test]
    fn an_invoke_text_never_panics_and_names_what_is_wrong() {
        let t = table(&["peak"]);
        for text in [
            "\u{3000}\u{3000}peak()",
            "\u{3000}peak",
            "(",
            "",
            ")(",
            "peak(",
            "\u{3000}(\u{3000}",
            "pe\u{3000}ak()",
        ] {
            let _ = t.parse_invoke("x", text);
        }
        assert!(t.parse_invoke("x", "  peak ( ) ").is_ok());
        assert!(t.parse_invoke("x", "peak").is_ok());
        // U+3000 is whitespace: the name trims to `peak`.
        assert!(t.parse_invoke("x", "\u{3000}\u{3000}peak()").is_ok());
        assert!(matches!(
            t.parse_invoke("x", "pe\u{3000}ak()"),
            Err(Error::UnknownMethod { .. })
        ));
    }
}
