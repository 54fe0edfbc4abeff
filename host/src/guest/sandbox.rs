//! The limits of one instance: its memory budget (linear memories and
//! tables together) and the watch on how long it computes without yielding.
//! See `docs/sandbox.md` for every guarantee and its default.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default [`ActorOptions::memory_limit`](crate::ActorOptions::memory_limit):
/// 512 MiB per instance.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

/// The default [`ActorOptions::max_pending_calls`](crate::ActorOptions::max_pending_calls):
/// calls an actor queues before it refuses more with
/// [`Error::Backpressure`](crate::Error::Backpressure). A few hundred bytes
/// each, so a caller that never awaits cannot grow the host without bound.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 100_000;

/// The default [`ActorOptions::max_program_bytes`](crate::ActorOptions::max_program_bytes):
/// bytes of `put` values and queued call arguments a program's guests may
/// have the host hold at once, charged at their JSON size. 256 MiB.
pub const DEFAULT_MAX_PROGRAM_BYTES: usize = 256 << 20;

/// The longest actor name, in bytes: names are copied into every error
/// and every labelled line of output.
pub const MAX_NAME_LEN: usize = 256;

/// What is wrong with `name` as a name (of an actor, of a concurrency
/// group), if anything: it is empty, longer than [`MAX_NAME_LEN`] bytes,
/// or holds control characters. A name is printed in errors and labelled
/// lines, where a newline or an escape would let it pass for the host's
/// own output.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!(
            "it is {} bytes long, more than {MAX_NAME_LEN}",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some(format!(
            "`{}` holds control characters (newlines, escapes), which are not allowed in names",
            crate::value::escape_controls(name)
        ))
    } else {
        None
    }
}

/// Bytes a table element is charged for (a pointer), so tables count against
/// the same budget as linear memories.
const TABLE_ELEMENT_BYTES: usize = 8;

/// The memory all the instances of one runtime may use together: without
/// it, each instance keeps to its own limit, but a dozen of them can still
/// take the host's memory.
#[derive(Debug)]
pub(crate) struct SharedBudget {
    limit: usize,
    used: AtomicUsize,
}

impl SharedBudget {
    pub(crate) fn new(limit: usize) -> Self {
        SharedBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Charges `bytes`, unless that would pass the limit: then nothing is
    /// charged and what would have been used comes back.
    fn charge(&self, bytes: usize) -> Result<(), usize> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|next| *next <= self.limit)
            })
            .map(drop)
            .map_err(|used| used.saturating_add(bytes))
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes charged now, by every live instance.
    #[cfg_attr(not(feature = "cluster"), cfg(test))]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// The default [`RuntimeBuilder::max_memory`](crate::RuntimeBuilder::max_memory):
/// three quarters of the machine's physical memory (8 GiB where it cannot
/// be read).
pub(crate) fn default_max_memory() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        });
    total.map_or(8 << 30, |bytes| bytes / 4 * 3)
}

/// One instance's budget for linear memories and tables together, charged
/// to its runtime's [`SharedBudget`] too. Growing past either traps the
/// instance with a message that says "memory limit" and which limit, so
/// the actor dies with that cause and no other actor is touched. What it
/// charged is given back when the instance goes.
pub(crate) struct MemoryBudget {
    limit: usize,
    used: usize,
    shared: Arc<SharedBudget>,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize, shared: Arc<SharedBudget>) -> Self {
        MemoryBudget {
            limit,
            used: 0,
            shared,
        }
    }

    fn grow(&mut self, current: usize, desired: usize, what: &str) -> wasmtime::Result<bool> {
        let next = self.used.saturating_sub(current).saturating_add(desired);
        if next > self.limit {
            return Err(wasmtime::Error::msg(format!(
                "memory limit exceeded: growing a {what} would bring the actor's memories and \
                 tables to {next} bytes, over its limit of {} bytes (ActorOptions::memory_limit)",
                self.limit
            )));
        }
        if let Some(more) = next.checked_sub(self.used) {
            self.shared.charge(more).map_err(|total| {
                wasmtime::Error::msg(format!(
                    "memory limit exceeded: growing a {what} would bring the memories and tables \
                     of all actors to {total} bytes, over the runtime's limit of {} bytes \
                     (RuntimeBuilder::max_memory, wactor run --max-memory)",
                    self.shared.limit
                ))
            })?;
        } else {
            self.shared.release(self.used - next);
        }
        self.used = next;
        Ok(true)
    }
}

impl Drop for MemoryBudget {
    fn drop(&mut self) {
        self.shared.release(self.used);
    }
}

impl wasmtime::ResourceLimiter for MemoryBudget {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired, "linear memory")
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
            "table",
        )
    }
}

/// Tracks how long a guest has been computing without yielding, from the
/// epoch ticks it runs through: ticks that come one slice apart mean it ran
/// through the whole slice; a longer gap means it waited in between.
#[derive(Default)]
pub(crate) struct LagWatch {
    last_tick: Option<std::time::Instant>,
    stretch: std::time::Duration,
    warned: bool,
}

impl LagWatch {
    /// Starts a new stretch: a call finished or started, so whatever runs
    /// next has not been running long.
    pub(crate) fn reset(&mut self) {
        self.last_tick = None;
    }

    /// Records a tick; returns how long the guest has computed without a
    /// break, the first time that passes `threshold` in a stretch.
    pub(crate) fn tick(
        &mut self,
        slice: std::time::Duration,
        threshold: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        match self.last_tick {
            Some(last) if now.duration_since(last) <= slice * 2 => {
                self.stretch += now.duration_since(last);
            }
            _ => {
                self.stretch = std::time::Duration::ZERO;
                self.warned = false;
            }
        }
        self.last_tick = Some(now);
        if self.stretch >= threshold && !self.warned {
            self.warned = true;
            return Some(self.stretch);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn instances_share_the_runtime_budget_and_give_it_back_when_they_go() {
        let shared = Arc::new(SharedBudget::new(100));
        let mut a = MemoryBudget::new(80, shared.clone());
        let mut b = MemoryBudget::new(80, shared.clone());
        assert!(a.memory_growing(0, 60, None).unwrap());
        // Within b's own limit, but not within what is left of the runtime's.
        let err = b.memory_growing(0, 60, None).unwrap_err().to_string();
        assert!(
            err.contains("over the runtime's limit of 100 bytes"),
            "{err}"
        );
        assert!(b.memory_growing(0, 40, None).unwrap());
        assert_eq!(shared.used(), 100);
        // Past its own limit, the instance's limit is the one named.
        let err = a.memory_growing(60, 90, None).unwrap_err().to_string();
        assert!(err.contains("its limit of 80 bytes"), "{err}");
        drop(a);
        assert_eq!(shared.used(), 40);
        assert!(b.table_growing(0, 5, None).unwrap());
        assert_eq!(shared.used(), 80);
        drop(b);
        assert_eq!(shared.used(), 0);
    }
}
