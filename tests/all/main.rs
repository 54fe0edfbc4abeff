//! Integration tests: the example actors, built from `examples/actors`, run
//! through the real host.

mod async_actor;
mod caller_runs;
mod capabilities;
mod chaos;
mod concurrency_groups;
mod embedder_capabilities;
mod errors;
mod fairness;
mod guest_runtime;
mod languages;
mod network;
mod object_refs;
mod ordering;
mod pools;
mod python;
mod runtime;
mod streams;
mod threaded_actor;
