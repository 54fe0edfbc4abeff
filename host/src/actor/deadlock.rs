//! Deadlocks across actors: a wait-for graph of the waits guests make.
//!
//! A call that waits holds its slot (an async actor's `max_concurrency`, a
//! threaded actor's instance) for as long as it waits. So when every slot of
//! actor A is held by a call waiting on B, and every slot of B by a call
//! waiting on a call queued behind A, nothing can ever move: Ray hangs
//! there. We refuse the newest of those waits with `would-block`, naming the
//! cycle, so its call can go on (and usually end, freeing its slot).
//!
//! **What is recorded.** Only waits that could last forever: `awaiting.get`,
//! `awaiting.wait` and `get-blocking` without a timeout, on a ref that is
//! not ready. A wait with a timeout ends by itself, and a call that sleeps or
//! computes is not waiting, so an actor with either is never part of a
//! deadlock.
//!
//! **When an actor is stuck.** It has at least as many recorded waits as
//! running calls (every running call waits), and none of its waits can be
//! satisfied unless a stuck actor moves: the refs it waits for are calls
//! running on stuck actors, or queued on stuck actors whose slots are all
//! taken (a ref's call depends on its actor until it resolves or hands its
//! result off to another ref). The stuck set is the greatest such set,
//! found by removing actors that can move until none is left to remove; any
//! cycle in it is a deadlock. The host cannot tell which of an async
//! actor's calls made a wait (the component model does not say), hence the
//! counting.
//!
//! **Why a second look.** The counters and the graph are read without
//! stopping the actors, so a call that has just ended may still count as
//! running. A deadlock is only reported when the same wait is the newest of
//! a cycle on two scans one period apart and no actor of the cycle started
//! or ended a call in between: a real deadlock stays, a race does not. With
//! a period of 200 ms a deadlock is refused within half a second.
//!
//! **What it may get wrong.** A call of an async actor that waits on two
//! refs at once (two concurrent `get`s) counts as two waiting calls; if
//! another call of that actor computes without finishing across both scans
//! while the rest is stuck, the newest wait is refused though the computing
//! call might have freed a slot later.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use super::ActorShared;
use crate::error::Error;
use crate::ids::ActorId;
use crate::object_ref::ObjectRef;

/// How often the graph is scanned while any wait is recorded.
const SCAN_PERIOD: Duration = Duration::from_millis(200);

/// The process's graph: refs and actors are process-wide, and so are waits.
static GRAPH: LazyLock<WaitGraph> = LazyLock::new(WaitGraph::default);

/// Runs `wait`, `actor`'s guest waiting with no timeout until `needed` of
/// `refs` are ready, recorded in the graph while it runs (unless that many
/// are ready already); an error if it is refused as part of a deadlock.
pub(crate) async fn recorded<T>(
    actor: &Arc<ActorShared>,
    refs: &[ObjectRef],
    needed: usize,
    wait: impl Future<Output = T>,
) -> Result<T, Error> {
    match Waiting::start(actor, refs, needed) {
        None => Ok(wait.await),
        Some(waiting) => waiting.or_refused(wait).await,
    }
}

/// A recorded wait, taken out of the graph when dropped (the wait ended, or
/// its future was dropped).
struct Waiting {
    actor: ActorId,
    seq: u64,
    /// Resolves with the error if the wait is refused as a deadlock.
    refused: oneshot::Receiver<Error>,
}

impl Waiting {
    /// Records that `actor`'s guest waits, with no timeout, until `needed`
    /// of `refs` are ready. `None` if that is already so.
    fn start(actor: &Arc<ActorShared>, refs: &[ObjectRef], needed: usize) -> Option<Waiting> {
        if refs.iter().filter(|r| r.is_ready()).count() >= needed {
            return None;
        }
        Some(GRAPH.record(actor, refs, needed))
    }

    /// Runs `wait` until it ends, or until this wait is refused as part of
    /// a deadlock; then the error says which.
    async fn or_refused<T>(mut self, wait: impl Future<Output = T>) -> Result<T, Error> {
        tokio::select! {
            biased;
            done = wait => Ok(done),
            Ok(error) = &mut self.refused => Err(error),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        GRAPH.forget(self.actor, self.seq);
    }
}

#[derive(Default)]
struct WaitGraph {
    state: Mutex<Graph>,
    /// Wakes the scanning thread when the first wait is recorded.
    work: Condvar,
}

#[derive(Default)]
struct Graph {
    next_seq: u64,
    actors: HashMap<ActorId, ActorWaits>,
    /// The newest wait of the cycle the last scan found, and the actors'
    /// progress then.
    suspect: Option<(u64, u64)>,
    scanning: bool,
    /// Whether the scanning thread sleeps until a wait is recorded: only
    /// then is it notified (a notification is a system call, and a wait is
    /// recorded for nearly every call between guests).
    idle: bool,
}

struct ActorWaits {
    actor: Arc<ActorShared>,
    waits: HashMap<u64, Wait>,
}

struct Wait {
    refs: Vec<ObjectRef>,
    needed: usize,
    refuse: Option<oneshot::Sender<Error>>,
}

impl WaitGraph {
    fn lock(&self) -> MutexGuard<'_, Graph> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, actor: &Arc<ActorShared>, refs: &[ObjectRef], needed: usize) -> Waiting {
        let mut graph = self.lock();
        let (seq, refused) = graph.insert(actor, refs, needed);
        if !graph.scanning {
            graph.scanning = true;
            if std::thread::Builder::new()
                .name("wactor-deadlocks".into())
                .spawn(|| GRAPH.scan_forever())
                .is_err()
            {
                // Without the thread, deadlocks go undetected but nothing
                // else changes; try again with the next wait.
                graph.scanning = false;
                tracing::warn!("cannot start the deadlock detector's thread");
            }
        }
        let wake = std::mem::take(&mut graph.idle);
        drop(graph);
        if wake {
            self.work.notify_one();
        }
        Waiting {
            actor: actor.id,
            seq,
            refused,
        }
    }

    fn forget(&self, actor: ActorId, seq: u64) {
        let mut graph = self.lock();
        if let Some(entry) = graph.actors.get_mut(&actor) {
            // An actor without waits stays until the next scan, so that
            // one that waits again and again keeps its entry.
            entry.waits.remove(&seq);
        }
    }

    fn scan_forever(&self) {
        let mut graph = self.lock();
        loop {
            graph.actors.retain(|_, a| !a.waits.is_empty());
            while graph.actors.is_empty() {
                graph.suspect = None;
                graph.idle = true;
                graph = self.work.wait(graph).unwrap_or_else(|e| e.into_inner());
            }
            drop(graph);
            std::thread::sleep(SCAN_PERIOD);
            graph = self.lock();
            graph.scan();
        }
    }
}

impl Graph {
    /// Records a wait of `actor`'s guest; its number, and where a refusal
    /// comes.
    fn insert(
        &mut self,
        actor: &Arc<ActorShared>,
        refs: &[ObjectRef],
        needed: usize,
    ) -> (u64, oneshot::Receiver<Error>) {
        let (refuse, refused) = oneshot::channel();
        self.next_seq += 1;
        let seq = self.next_seq;
        self.actors
            .entry(actor.id)
            .or_insert_with(|| ActorWaits {
                actor: actor.clone(),
                waits: HashMap::new(),
            })
            .waits
            .insert(
                seq,
                Wait {
                    refs: refs.to_vec(),
                    needed,
                    refuse: Some(refuse),
                },
            );
        (seq, refused)
    }

    /// One look: refuses the newest wait of a cycle seen twice unchanged.
    fn scan(&mut self) {
        let stuck = self.stuck();
        let Some(cycle) = self.cycle(&stuck) else {
            self.suspect = None;
            return;
        };
        let progress: u64 = cycle
            .iter()
            .map(|id| self.actors[id].actor.counters.progress())
            .sum();
        let newest = cycle
            .iter()
            .flat_map(|id| self.actors[id].waits.keys().copied())
            .max()
            .expect("every actor in the graph waits");
        if self.suspect != Some((newest, progress)) {
            self.suspect = Some((newest, progress));
            return;
        }
        self.suspect = None;
        let names: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(|id| &*self.actors[id].actor.name)
            .collect();
        let error = Error::WouldBlock {
            reason: format!(
                "deadlock: {} (every max_concurrency slot of each is taken by a call waiting \
                 on the next); this wait, the newest, is refused. Raise max_concurrency, or \
                 wait with a timeout",
                names.join(" waits on ")
            ),
        };
        tracing::warn!(target: "wactor::deadlock", cycle = %names.join(" -> "), "refusing the newest wait of a deadlock");
        if let Some(wait) = self
            .actors
            .values_mut()
            .find_map(|a| a.waits.get_mut(&newest))
            && let Some(refuse) = wait.refuse.take()
        {
            let _ = refuse.send(error);
        }
    }

    /// The actors whose running calls cannot move: every one waits, and
    /// only on calls of such actors that cannot end either (running there,
    /// or queued there with every slot taken).
    fn stuck(&self) -> HashSet<ActorId> {
        let mut stuck: HashSet<ActorId> = self
            .actors
            .iter()
            .filter(|(_, a)| {
                let running = a.actor.counters.running();
                running >= 1
                    && a.waits.len() as u64 >= running
                    && a.waits.values().all(|w| w.refuse.is_some())
            })
            .map(|(id, _)| *id)
            .collect();
        loop {
            let moving: Vec<ActorId> = stuck
                .iter()
                .filter(|id| !self.waits_only_on(id, &stuck))
                .copied()
                .collect();
            if moving.is_empty() {
                return stuck;
            }
            for id in moving {
                stuck.remove(&id);
            }
        }
    }

    /// Whether no wait of `id` can end unless an actor of `stuck` moves.
    fn waits_only_on(&self, id: &ActorId, stuck: &HashSet<ActorId>) -> bool {
        self.actors[id].waits.values().all(|w| {
            let can_move = w.refs.iter().filter(|r| !self.held(r, stuck)).count();
            can_move < w.needed
        })
    }

    /// Whether `r` cannot resolve while the `stuck` actors stay stuck: its
    /// call runs on one of them, or is queued on one with no free slot.
    fn held(&self, r: &ObjectRef, stuck: &HashSet<ActorId>) -> bool {
        match r.computed_by() {
            Some((by, started, group)) if stuck.contains(&by) => {
                let actor = &self.actors[&by].actor;
                started || actor.limits.groups.is_full(group)
            }
            _ => false,
        }
    }

    /// A cycle of waits among `stuck` actors, in order, if there is one.
    fn cycle(&self, stuck: &HashSet<ActorId>) -> Option<Vec<ActorId>> {
        let mut path: Vec<ActorId> = vec![*stuck.iter().min()?];
        loop {
            let here = *path.last().expect("the path starts with one actor");
            // Each stuck actor waits on some stuck actor: follow its newest
            // wait's first such ref.
            let waits = &self.actors[&here].waits;
            let newest = waits.keys().max().expect("a stuck actor waits");
            let next = waits[newest]
                .refs
                .iter()
                .find(|r| self.held(r, stuck))
                .and_then(ObjectRef::computed_by)?
                .0;
            if let Some(start) = path.iter().position(|id| *id == next) {
                return Some(path.split_off(start));
            }
            path.push(next);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The graph driven by hand: actors with counters set as a scheduler
    //! would, refs made as calls make them, and scans called one by one.

    use super::*;
    use crate::actor::{Executor, Limits};
    use crate::call::MethodTable;
    use crate::object_ref::Promise;

    /// An actor of `slots` slots with `running` calls started.
    fn actor(name: &str, slots: usize, running: u32) -> Arc<ActorShared> {
        let limits = Limits {
            max_concurrency: slots,
            max_pending_calls: None,
            call_deadline: None,
            max_restarts: 0,
            max_task_retries: 0,
            max_value_size: 1 << 20,
            groups: Arc::new(crate::actor::ConcurrencyGroups::single(slots)),
        };
        let actor = Arc::new(ActorShared::new(
            ActorId::next(),
            name.into(),
            "test".into(),
            Arc::new(MethodTable::new(Vec::new())),
            limits,
            Arc::new(Executor::new(None, Some(1)).expect("an executor")),
        ));
        for _ in 0..running {
            start(&actor);
        }
        actor
    }

    fn start(actor: &ActorShared) {
        actor.counters.admit(None).expect("admitted");
        actor.counters.started();
        // As `lifecycle::start` does; the call runs for the test's life.
        std::mem::forget(actor.limits.groups.enter(0));
    }

    /// A call on `actor`, queued (not started).
    fn queued_on(actor: &ActorShared) -> (ObjectRef, Promise) {
        ObjectRef::pending(Some((actor.id, actor.name.clone(), 0)))
    }

    /// A call on `actor`, running.
    fn running_on(actor: &ActorShared) -> (ObjectRef, Promise) {
        let (r, promise) = queued_on(actor);
        promise.mark_started();
        (r, promise)
    }

    fn refused(rx: &mut oneshot::Receiver<Error>) -> Option<String> {
        rx.try_recv().ok().map(|e| e.to_string())
    }

    #[tokio::test]
    async fn a_cycle_of_full_actors_is_refused_at_its_newest_wait_on_the_second_look() {
        let (a, b) = (actor("a", 1, 1), actor("b", 1, 1));
        let (to_b, _pb) = running_on(&b);
        let (to_a, _pa) = queued_on(&a);
        let mut graph = Graph::default();
        let (_, mut a_waits) = graph.insert(&a, &[to_b], 1);
        let (_, mut b_waits) = graph.insert(&b, &[to_a], 1);
        graph.scan();
        assert_eq!(refused(&mut b_waits), None, "one look is not enough");
        graph.scan();
        let why = refused(&mut b_waits).expect("the newest wait is refused");
        assert!(why.contains("deadlock: a waits on b waits on a"), "{why}");
        assert_eq!(refused(&mut a_waits), None, "only the newest");
    }

    #[tokio::test]
    async fn progress_between_two_looks_puts_the_refusal_off() {
        let (a, b) = (actor("a", 1, 1), actor("b", 1, 1));
        let (to_b, _pb) = running_on(&b);
        let (to_a, _pa) = queued_on(&a);
        let mut graph = Graph::default();
        let (_, _a_waits) = graph.insert(&a, &[to_b], 1);
        let (_, mut b_waits) = graph.insert(&b, &[to_a], 1);
        graph.scan();
        // A call of `a` ended and another started: `a` moved.
        a.counters.tally(true);
        start(&a);
        graph.scan();
        assert_eq!(refused(&mut b_waits), None);
        graph.scan();
        assert!(refused(&mut b_waits).is_some(), "stuck again, twice");
    }

    #[tokio::test]
    async fn a_call_queued_where_a_slot_is_free_or_a_call_that_computes_is_no_deadlock() {
        // `b` has a free slot: the call queued there will start.
        let (a, b) = (actor("a", 1, 1), actor("b", 2, 1));
        let (to_b, _pb) = queued_on(&b);
        let (to_a, _pa) = queued_on(&a);
        let mut graph = Graph::default();
        let (_, mut a_waits) = graph.insert(&a, &[to_b], 1);
        let (_, mut b_waits) = graph.insert(&b, std::slice::from_ref(&to_a), 1);
        assert!(graph.stuck().is_empty());
        // `c` runs two calls and only one waits: the other computes.
        let c = actor("c", 2, 2);
        let (to_c, _pc) = running_on(&c);
        graph.insert(&a, &[to_c], 1);
        graph.insert(&c, &[to_a], 1);
        for _ in 0..3 {
            graph.scan();
        }
        assert_eq!((refused(&mut a_waits), refused(&mut b_waits)), (None, None));
    }

    #[tokio::test]
    async fn a_ref_that_resolved_or_was_handed_off_can_move() {
        let (a, b) = (actor("a", 1, 1), actor("b", 1, 1));
        let (to_b, pb) = running_on(&b);
        let (to_a, pa) = queued_on(&a);
        let (elsewhere, _pe) = ObjectRef::pending(None);
        pb.resolve(Ok(wasmtime::component::Val::U32(1)));
        pa.forward(&elsewhere);
        let mut graph = Graph::default();
        graph.insert(&a, &[to_b], 1);
        graph.insert(&b, &[to_a], 1);
        assert!(graph.stuck().is_empty());
    }

    #[tokio::test]
    async fn a_wait_for_some_of_many_is_stuck_only_if_too_few_can_come() {
        let (a, b) = (actor("a", 1, 1), actor("b", 1, 1));
        let (to_b, _pb) = running_on(&b);
        let (to_a, _pa) = queued_on(&a);
        let (free, _pf) = ObjectRef::pending(None);
        let mut graph = Graph::default();
        // One of two, and one of them can come from outside: not stuck.
        graph.insert(&a, &[to_b.clone(), free.clone()], 1);
        graph.insert(&b, std::slice::from_ref(&to_a), 1);
        assert!(graph.stuck().is_empty());
        // Both of two: the free one is not enough.
        let mut graph = Graph::default();
        graph.insert(&a, &[to_b, free], 2);
        graph.insert(&b, &[to_a], 1);
        assert_eq!(graph.stuck().len(), 2);
    }

    #[tokio::test]
    async fn a_chain_into_a_cycle_refuses_a_wait_of_the_cycle() {
        let (a, b, c) = (actor("a", 1, 1), actor("b", 1, 1), actor("c", 1, 1));
        let (to_b, _pb) = running_on(&b);
        let (to_a, _pa) = queued_on(&a);
        let (to_a_too, _pa2) = queued_on(&a);
        let mut graph = Graph::default();
        let (_, mut a_waits) = graph.insert(&a, &[to_b], 1);
        let (_, mut b_waits) = graph.insert(&b, &[to_a], 1);
        // `c` waits on the cycle (and is stuck too) with the newest wait,
        // but refusing it would free nothing of the cycle.
        let (_, mut c_waits) = graph.insert(&c, &[to_a_too], 1);
        assert_eq!(graph.stuck().len(), 3);
        graph.scan();
        graph.scan();
        assert_eq!(refused(&mut c_waits), None);
        assert_eq!(refused(&mut a_waits), None);
        assert!(refused(&mut b_waits).is_some());
    }
}
