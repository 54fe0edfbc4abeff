//! Bytes a program holds in the host: its `put` values, the arguments of
//! its queued calls and the values of its calls, charged at what they take
//! (a put's JSON text; arguments and values decoded).
//!
//! A guest can make the host keep data without bound in three ways that no
//! instance limit sees: refs to `put` values it never drops, calls it
//! queues without awaiting, and refs to results it never drops (a small
//! `list<u8>` in a callee's memory is 32 bytes an item as host values).
//! Each is charged to the guest's program when made and given back when
//! the host lets go of the bytes (the last handle to the ref is dropped;
//! the call starts), so a guest past its quota gets `overloaded` and the
//! host is unharmed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// A program's allowance of bytes held in the host.
#[derive(Debug)]
pub(crate) struct ByteQuota {
    limit: usize,
    used: AtomicUsize,
}

impl ByteQuota {
    /// An allowance of `limit` bytes.
    pub(crate) fn new(limit: usize) -> Arc<ByteQuota> {
        Arc::new(ByteQuota {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Takes `bytes` from the allowance until the [`Charge`] is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::QuotaExceeded`] if they do not fit.
    pub(crate) fn charge(self: &Arc<Self>, bytes: usize) -> Result<Charge> {
        self.take(bytes)?;
        Ok(Charge {
            quota: self.clone(),
            bytes,
        })
    }

    /// Takes `bytes` from the allowance, if they fit.
    fn take(&self, bytes: usize) -> Result<()> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .map(drop)
            .map_err(|_| Error::QuotaExceeded {
                what: "bytes held by this program's puts, queued call arguments and results",
                limit: self.limit,
                raise_with: "ActorOptions::max_program_bytes, or wactor run --max-program-bytes",
            })
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes taken from a [`ByteQuota`], given back on drop.
#[derive(Debug)]
pub(crate) struct Charge {
    quota: Arc<ByteQuota>,
    bytes: usize,
}

impl Charge {
    /// Takes `more` bytes from the same allowance, for as long as this
    /// charge is held.
    ///
    /// # Errors
    ///
    /// [`Error::QuotaExceeded`] if they do not fit; the charge is as it was.
    pub(crate) fn grow(&mut self, more: usize) -> Result<()> {
        self.quota.take(more)?;
        self.bytes += more;
        Ok(())
    }

    /// The allowance it is taken from.
    pub(crate) fn quota(&self) -> &Arc<ByteQuota> {
        &self.quota
    }

    /// The bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.quota.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fit_up_to_the_limit_and_come_back_when_dropped() {
        let quota = ByteQuota::new(100);
        let a = quota.charge(60).unwrap();
        let err = quota.charge(41).unwrap_err();
        assert!(
            matches!(err, Error::QuotaExceeded { limit: 100, .. }),
            "{err:?}"
        );
        let b = quota.charge(40).unwrap();
        assert_eq!(quota.used(), 100);
        drop(a);
        assert_eq!(quota.used(), 40);
        drop(b);
        assert_eq!(quota.used(), 0);
        let mut c = quota.charge(10).unwrap();
        c.grow(80).unwrap();
        assert!(c.grow(11).is_err());
        assert_eq!((c.bytes(), quota.used()), (90, 90));
        drop(c);
        assert_eq!(quota.used(), 0);
        assert!(quota.charge(usize::MAX).is_err(), "no overflow");
    }
}
