//! The limits of one instance: its memory budget (linear memories and
//! tables together) and the watch on how long it computes without yielding.
//! See `docs/sandbox.md` for every guarantee and its default.

/// The default [`ActorOptions::memory_limit`](crate::ActorOptions::memory_limit):
/// 512 MiB per instance.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

/// The default [`ActorOptions::max_pending_calls`](crate::ActorOptions::max_pending_calls):
/// calls an actor queues before it refuses more with
/// [`Error::Backpressure`](crate::Error::Backpressure). A few hundred bytes
/// each, so a caller that never awaits cannot grow the host without bound.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 100_000;

/// The longest actor name, in bytes: names are copied into every error
/// and every labelled line of output.
pub const MAX_NAME_LEN: usize = 256;

/// Bytes a table element is charged for (a pointer), so tables count against
/// the same budget as linear memories.
const TABLE_ELEMENT_BYTES: usize = 8;

/// One instance's budget for linear memories and tables together. Growing
/// past it traps the instance with a message that says "memory limit", so
/// the actor dies with that cause and no other actor is touched.
pub(crate) struct MemoryBudget {
    limit: usize,
    used: usize,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize) -> Self {
        MemoryBudget { limit, used: 0 }
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
        self.used = next;
        Ok(true)
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
