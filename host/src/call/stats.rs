//! What an actor has done with its calls: [`ActorStats`], and the counters
//! behind it.
//!
//! The counters sit on two cache lines: one written by callers (calls
//! submitted), one by the scheduler (calls started, skipped, finished,
//! failed, requeued). A caller on one core and a scheduler on another then
//! never write the same line. A call that runs costs one count on each
//! side and one more when it ends: `queued` and `running` are derived
//! (`submitted - started - skipped`; `started - ended`), so no counter is
//! written twice per call or by both sides.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of an actor's calls, e.g. for metrics. Every call accepted is
/// first `queued`, then `running`, then `finished` (it returned a value) or
/// `failed` (any error: the method's `err`, a trap, a deadline, a
/// cancellation, the actor's death); a call retried after a restart goes
/// back to `queued`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let actor = runtime.load(wactor_examples::FAULTY)?.spawn(Default::default())?;
/// actor.call("divide", (6i64, 3i64))?.await?;
/// let _ = actor.call("divide", (1i64, 0i64))?.await;
/// let stats = actor.stats();
/// assert_eq!((stats.finished, stats.failed, stats.queued, stats.running), (1, 1, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorStats {
    /// Calls submitted and not yet started.
    pub queued: u64,
    /// Calls running now.
    pub running: u64,
    /// Calls that returned a value.
    pub finished: u64,
    /// Calls that ended with an error.
    pub failed: u64,
    /// Times the actor was restarted after a trap.
    pub restarts: u64,
}

/// A value alone on its cache line (64 bytes on x86-64 and most arm64).
#[derive(Default)]
#[repr(align(64))]
struct CacheLine<T>(T);

#[derive(Default)]
struct CallerSide {
    submitted: AtomicU64,
    /// A value `taken` had, read by some caller: `taken` only grows, so
    /// this is a lower bound that spares callers the scheduler's line.
    taken_seen: AtomicU64,
}

#[derive(Default)]
struct SchedulerSide {
    /// Calls taken out of the queue and started (again, for a retry).
    started: AtomicU64,
    /// Calls taken out of the queue without starting (cancelled while
    /// queued, or failed with the actor's death); each is also `failed`.
    skipped: AtomicU64,
    finished: AtomicU64,
    failed: AtomicU64,
    /// Started calls that went back to the queue (a retry).
    requeued: AtomicU64,
}

impl SchedulerSide {
    /// Calls taken out of the queue, to run or to be dropped.
    fn taken(&self) -> u64 {
        let skipped = self.skipped.load(Ordering::Acquire);
        self.started.load(Ordering::Acquire) + skipped
    }

    /// Calls running now. The counts that end calls are read before the
    /// one that starts them, so a call that ends meanwhile is still seen
    /// running, never the other way round.
    fn running(&self) -> u64 {
        let skipped = self.skipped.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        let finished = self.finished.load(Ordering::Acquire);
        let requeued = self.requeued.load(Ordering::Acquire);
        let started = self.started.load(Ordering::Acquire);
        let ended = (finished + failed).saturating_sub(skipped) + requeued;
        started.saturating_sub(ended)
    }
}

/// The live counters of one actor.
#[derive(Default)]
pub(crate) struct CallCounters {
    callers: CacheLine<CallerSide>,
    scheduler: CacheLine<SchedulerSide>,
    restarts: AtomicU64,
}

impl CallCounters {
    /// Counts a call submitted, unless `limit` calls are queued already:
    /// then nothing is counted and the limit comes back.
    ///
    /// The check reads the scheduler's line only when the queue may be
    /// full by the caller's own (stale, low) view of `taken`: about once
    /// per `limit` calls while the actor keeps up.
    pub(crate) fn admit(&self, limit: Option<usize>) -> Result<(), usize> {
        let callers = &self.callers.0;
        let before = callers.submitted.fetch_add(1, Ordering::Relaxed);
        let Some(limit) = limit else {
            return Ok(());
        };
        let limit_u64 = limit as u64;
        if before.saturating_sub(callers.taken_seen.load(Ordering::Relaxed)) < limit_u64 {
            return Ok(());
        }
        let taken = self.scheduler.0.taken();
        callers.taken_seen.fetch_max(taken, Ordering::Relaxed);
        if before.saturating_sub(taken) < limit_u64 {
            Ok(())
        } else {
            callers.submitted.fetch_sub(1, Ordering::Relaxed);
            Err(limit)
        }
    }

    /// Counts a call queued again (a retry), past any limit.
    pub(crate) fn resubmitted(&self) {
        self.callers.0.submitted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts calls taken out of the queue without starting: cancelled
    /// while queued, or failed with the actor's death (count them with
    /// [`tally`](Self::tally) too).
    pub(crate) fn skipped(&self, n: u64) {
        self.scheduler.0.skipped.fetch_add(n, Ordering::Release);
    }

    /// Counts a call taken out of the queue and started.
    pub(crate) fn started(&self) {
        self.scheduler.0.started.fetch_add(1, Ordering::Release);
    }

    /// Counts a running call that went back to the queue.
    pub(crate) fn requeued(&self) {
        self.scheduler.0.requeued.fetch_add(1, Ordering::Release);
        self.resubmitted();
    }

    /// Counts a call that ended with a value (`ok`) or an error, whether
    /// it ran or not.
    pub(crate) fn tally(&self, ok: bool) {
        let s = &self.scheduler.0;
        if ok {
            s.finished.fetch_add(1, Ordering::Release);
        } else {
            s.failed.fetch_add(1, Ordering::Release);
        }
    }

    /// A number that grows whenever a call starts, ends or is requeued:
    /// unchanged between two looks means the actor made no progress.
    pub(crate) fn progress(&self) -> u64 {
        let s = &self.scheduler.0;
        [&s.started, &s.finished, &s.failed, &s.requeued]
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .sum()
    }

    /// Calls running now.
    pub(crate) fn running(&self) -> u64 {
        self.scheduler.0.running()
    }

    /// Takes one restart if `max` (-1: no limit) allows another; returns
    /// its number.
    pub(crate) fn try_restart(&self, max: i64) -> Option<u64> {
        self.restarts
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (max < 0 || n < max as u64).then_some(n + 1)
            })
            .ok()
            .map(|n| n + 1)
    }

    /// How many times the actor was restarted.
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Acquire)
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> ActorStats {
        let s = &self.scheduler.0;
        let running = s.running();
        let taken = s.taken();
        let submitted = self.callers.0.submitted.load(Ordering::Acquire);
        ActorStats {
            queued: submitted.saturating_sub(taken),
            running,
            finished: s.finished.load(Ordering::Acquire),
            failed: s.failed.load(Ordering::Acquire),
            restarts: self.restarts(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_refuses_past_the_limit_and_resumes_as_calls_are_taken() {
        let c = CallCounters::default();
        for _ in 0..3 {
            assert!(c.admit(Some(3)).is_ok());
        }
        assert_eq!(c.admit(Some(3)), Err(3));
        assert_eq!(c.snapshot().queued, 3);
        c.started();
        assert!(c.admit(Some(3)).is_ok());
        assert_eq!(c.admit(Some(3)), Err(3));
        assert!(c.admit(None).is_ok(), "no limit, no refusal");
    }

    #[test]
    fn every_call_ends_in_exactly_one_counter() {
        let c = CallCounters::default();
        for _ in 0..4 {
            c.admit(None).unwrap();
        }
        c.started();
        c.tally(true);
        c.started();
        c.tally(false);
        c.started();
        c.requeued();
        c.skipped(1);
        c.tally(false);
        assert_eq!(c.running(), 0);
        assert_eq!(
            c.snapshot(),
            ActorStats {
                queued: 1,
                running: 0,
                finished: 1,
                failed: 2,
                restarts: 0
            }
        );
    }

    #[test]
    fn restarts_stop_at_the_limit_unless_unlimited() {
        let c = CallCounters::default();
        assert_eq!(c.try_restart(2), Some(1));
        assert_eq!(c.try_restart(2), Some(2));
        assert_eq!(c.try_restart(2), None);
        assert_eq!(c.try_restart(-1), Some(3));
        assert_eq!(c.try_restart(0), None);
    }
}
