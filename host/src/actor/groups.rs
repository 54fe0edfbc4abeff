//! Concurrency groups (Ray's `concurrency_groups`): named sets of methods,
//! each with its own limit on the calls it runs at once.
//!
//! Why: one limit per actor lets a flood of slow calls (a long `spin`, a
//! stream) take every slot, so a quick `ping` or `status` waits behind all
//! of them. A group gives those slow methods their own slots, and the
//! others keep theirs. Each group has its own FIFO queue, so a full group
//! holds back only its own calls.
//!
//! Group 0 is the default group: every method not named in a group, with
//! the actor's `max_concurrency`. For an async actor the groups interleave
//! on its one instance; for a threaded actor each group has its own pool
//! of instances (so the instances of one group never run another group's
//! methods, and the actor needs the sum of the limits in instance slots).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::call::MethodTable;
use crate::error::{Error, Result};

/// The most concurrency groups one actor may have: each is a queue the
/// scheduler polls, so a guest cannot make the host poll without bound.
pub const MAX_CONCURRENCY_GROUPS: usize = 64;

/// A concurrency group as the spawner asked for it, by method names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GroupSpec {
    pub(crate) name: String,
    pub(crate) max_concurrency: usize,
    pub(crate) methods: Vec<String>,
}

/// An actor's groups, resolved against its methods: which group each method
/// is in, and each group's limit. Always holds the default group (index 0).
#[derive(Debug)]
pub(crate) struct ConcurrencyGroups {
    names: Vec<Arc<str>>,
    limits: Vec<usize>,
    /// The group of each method, by method index.
    of_method: Vec<u16>,
    /// Calls running in each group now (kept by the scheduler), so that a
    /// wait on a call queued in a full group is seen to be stuck.
    running: Vec<AtomicU64>,
}

impl ConcurrencyGroups {
    /// Only the default group, of `max_concurrency`.
    pub(crate) fn single(max_concurrency: usize) -> ConcurrencyGroups {
        ConcurrencyGroups {
            names: vec!["default".into()],
            limits: vec![max_concurrency],
            of_method: Vec::new(),
            running: vec![AtomicU64::new(0)],
        }
    }

    /// `specs` resolved against `methods`, after the default group of
    /// `max_concurrency`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for more than [`MAX_CONCURRENCY_GROUPS`]
    /// groups, a name that is empty, `default` or used twice, a limit of 0,
    /// a group with no methods, or a method that is unknown or in two groups.
    pub(crate) fn resolve(
        specs: &[GroupSpec],
        max_concurrency: usize,
        methods: &MethodTable,
    ) -> Result<ConcurrencyGroups> {
        let mut groups = ConcurrencyGroups::single(max_concurrency);
        if specs.is_empty() {
            return Ok(groups);
        }
        let invalid = |reason: String| Error::InvalidOption {
            option: "concurrency_group",
            reason,
        };
        if specs.len() > MAX_CONCURRENCY_GROUPS {
            return Err(invalid(format!(
                "{} groups asked for; an actor may have at most {MAX_CONCURRENCY_GROUPS}",
                specs.len()
            )));
        }
        groups.of_method = vec![0; methods.iter().len()];
        for (i, spec) in specs.iter().enumerate() {
            let shown = crate::value::abbreviate(&spec.name, 100);
            if let Some(problem) = crate::guest::name_problem(&spec.name) {
                return Err(invalid(format!(
                    "a group's name must be 1 to {} bytes without control characters; {problem}",
                    crate::MAX_NAME_LEN
                )));
            }
            if groups.names.iter().any(|n| **n == *spec.name) {
                return Err(invalid(format!(
                    "the group name `{shown}` is used twice (or is `default`, the name of the \
                     group of every other method)"
                )));
            }
            if spec.max_concurrency == 0 {
                return Err(invalid(format!(
                    "group `{shown}` has a limit of 0; it must be at least 1"
                )));
            }
            if spec.methods.is_empty() {
                return Err(invalid(format!("group `{shown}` names no methods")));
            }
            let index = u16::try_from(i + 1).expect("at most 64 groups");
            for name in &spec.methods {
                let Some(method) = methods.find(name) else {
                    return Err(invalid(format!(
                        "group `{shown}` names `{}`, which is not a method of this actor \
                         (its methods: {})",
                        crate::value::abbreviate(name, 100),
                        methods
                            .iter()
                            .map(|m| m.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                let slot = &mut groups.of_method[method.index() as usize];
                if *slot != 0 {
                    return Err(invalid(format!(
                        "method `{}` is in two groups, `{}` and `{shown}`",
                        method.name(),
                        groups.names[*slot as usize]
                    )));
                }
                *slot = index;
            }
            groups.names.push(spec.name.as_str().into());
            groups.limits.push(spec.max_concurrency);
            groups.running.push(AtomicU64::new(0));
        }
        Ok(groups)
    }

    /// How many groups, the default one included.
    pub(crate) fn len(&self) -> usize {
        self.limits.len()
    }

    /// The group `method` is in.
    pub(crate) fn of(&self, method: u32) -> usize {
        self.of_method
            .get(method as usize)
            .map_or(0, |&g| g as usize)
    }

    /// The limit of group `group`.
    pub(crate) fn limit(&self, group: usize) -> usize {
        self.limits[group]
    }

    /// The name of group `group` (`default` for 0).
    pub(crate) fn name(&self, group: usize) -> &str {
        &self.names[group]
    }

    /// Takes a slot of `group` for a call that starts; dropping the slot
    /// gives it back, however the call ends.
    pub(crate) fn enter(self: &Arc<Self>, group: usize) -> GroupSlot {
        self.running[group].fetch_add(1, Ordering::Relaxed);
        GroupSlot {
            groups: self.clone(),
            group,
        }
    }

    /// Whether every slot of `group` is taken.
    pub(crate) fn is_full(&self, group: usize) -> bool {
        self.running[group].load(Ordering::Relaxed) >= self.limits[group] as u64
    }

    /// Whether two more calls fit in `group`.
    pub(crate) fn has_room_for_two(&self, group: usize) -> bool {
        self.running[group].load(Ordering::Relaxed) + 1 < self.limits[group] as u64
    }
}

/// A running call's place in its group ([`ConcurrencyGroups::enter`]).
pub(crate) struct GroupSlot {
    groups: Arc<ConcurrencyGroups>,
    group: usize,
}

impl Drop for GroupSlot {
    fn drop(&mut self) {
        self.groups.running[self.group].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, n: usize, methods: &[&str]) -> GroupSpec {
        GroupSpec {
            name: name.into(),
            max_concurrency: n,
            methods: methods.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn table() -> Arc<MethodTable> {
        let runtime = crate::Runtime::new().unwrap();
        let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
        faulty.method_table().clone()
    }

    #[test]
    fn methods_outside_every_group_are_in_the_default_one() {
        let methods = table();
        let groups =
            ConcurrencyGroups::resolve(&[spec("slow", 2, &["spin"])], 7, &methods).unwrap();
        assert_eq!(groups.len(), 2);
        let spin = methods.find("spin").unwrap().index();
        let echo = methods.find("echo").unwrap().index();
        assert_eq!(
            (groups.of(spin), groups.limit(1), groups.name(1)),
            (1, 2, "slow")
        );
        assert_eq!(
            (groups.of(echo), groups.limit(0), groups.name(0)),
            (0, 7, "default")
        );
    }

    #[test]
    fn bad_groups_are_refused_with_the_reason() {
        let methods = table();
        let refused = |specs: &[GroupSpec]| match ConcurrencyGroups::resolve(specs, 1, &methods) {
            Err(Error::InvalidOption { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(&[spec("a", 1, &["nope"])]).contains("not a method"));
        assert!(refused(&[spec("a", 0, &["spin"])]).contains("at least 1"));
        assert!(refused(&[spec("a", 1, &[])]).contains("no methods"));
        assert!(refused(&[spec("default", 1, &["spin"])]).contains("used twice"));
        assert!(
            refused(&[spec("a", 1, &["spin"]), spec("b", 1, &["spin"])]).contains("two groups")
        );
        assert!(refused(&[spec("", 1, &["spin"])]).contains("1 to"));
        let many: Vec<_> = (0..65)
            .map(|i| spec(&format!("g{i}"), 1, &["spin"]))
            .collect();
        assert!(refused(&many).contains("at most 64"));
    }
}
