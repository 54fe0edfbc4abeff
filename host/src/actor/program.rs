//! Programs: an actor the host spawned and every actor spawned from inside
//! it, however deep. A program may have at most so many actors alive at
//! once, so one guest cannot take every instance slot of the runtime and
//! starve the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::object_ref::ByteQuota;

/// The actors a program has alive, against its limit, and the bytes its
/// guests have the host hold.
#[derive(Debug)]
pub(crate) struct Program {
    limit: usize,
    live: AtomicUsize,
    bytes: Arc<ByteQuota>,
}

impl Program {
    /// A program that may have `limit` actors spawned by guests alive, and
    /// `bytes` of puts and queued arguments held.
    pub(crate) fn new(limit: usize, bytes: usize) -> Arc<Program> {
        Arc::new(Program {
            limit,
            live: AtomicUsize::new(0),
            bytes: ByteQuota::new(bytes),
        })
    }

    /// The program's allowance of bytes held in the host.
    pub(crate) fn bytes(&self) -> &Arc<ByteQuota> {
        &self.bytes
    }

    /// Counts one more actor, unless the program has `limit` already.
    ///
    /// # Errors
    ///
    /// [`Error::QuotaExceeded`] when the program is full.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<ProgramSlot> {
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .map_err(|_| Error::QuotaExceeded {
                what: "actors alive in this program",
                limit: self.limit,
                raise_with: "ActorOptions::max_actors",
            })?;
        Ok(ProgramSlot(self.clone()))
    }

    /// Actors alive now.
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

/// One actor's place in its program, given back when the actor's
/// scheduler ends (it died, or every handle was dropped).
#[derive(Debug)]
pub(crate) struct ProgramSlot(Arc<Program>);

impl Drop for ProgramSlot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_admits_up_to_its_limit_and_again_as_actors_end() {
        let program = Program::new(2, 1 << 20);
        let a = program.admit().unwrap();
        let _b = program.admit().unwrap();
        let err = program.admit().unwrap_err();
        assert!(
            matches!(err, Error::QuotaExceeded { limit: 2, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("ActorOptions::max_actors"),
            "{err}"
        );
        drop(a);
        assert_eq!(program.live(), 1);
        assert!(program.admit().is_ok());
    }
}
