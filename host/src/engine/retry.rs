//! A value made once, on first use, where making it may fail for a while
//! (memory mappings short, say) or for good (a component that cannot link
//! there). A failure is retried after a pause; a refusal is final; a value
//! made is read without a lock from then on.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What one attempt to make the value gave.
pub(crate) enum Attempt<T> {
    /// The value.
    Made(T),
    /// It can never be made here: stop asking.
    Never,
    /// It could not be made now: ask again after the pause.
    Failed,
}

/// A value made on first use, with failures retried after `pause`.
pub(crate) struct Retry<T> {
    /// `Some` once made; `None` once refused for good.
    settled: OnceLock<Option<T>>,
    /// When the last attempt failed, to pause before the next.
    failed_at: Mutex<Option<Instant>>,
    /// One attempt at a time.
    making: tokio::sync::Mutex<()>,
    pause: Duration,
}

impl<T> Retry<T> {
    /// The value if it was made, without trying.
    pub(crate) fn made(&self) -> Option<&T> {
        self.settled.get().and_then(Option::as_ref)
    }

    /// Nothing made yet; failed attempts are retried after `pause`.
    pub(crate) fn new(pause: Duration) -> Self {
        Retry {
            settled: OnceLock::new(),
            failed_at: Mutex::new(None),
            making: tokio::sync::Mutex::new(()),
            pause,
        }
    }

    /// The value, making it with `make` unless it was refused for good or
    /// failed less than the pause ago.
    pub(crate) async fn get(&self, make: impl AsyncFnOnce() -> Attempt<T>) -> Option<&T> {
        if let Some(settled) = self.settled.get() {
            return settled.as_ref();
        }
        let _one_at_a_time = self.making.lock().await;
        if let Some(settled) = self.settled.get() {
            return settled.as_ref();
        }
        {
            let failed_at = self.failed_at.lock().unwrap_or_else(|e| e.into_inner());
            if failed_at.is_some_and(|at| at.elapsed() < self.pause) {
                return None;
            }
        }
        match make().await {
            Attempt::Made(value) => self.settled.get_or_init(|| Some(value)).as_ref(),
            Attempt::Never => self.settled.get_or_init(|| None).as_ref(),
            Attempt::Failed => {
                *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(flavor = "current_thread")]
    async fn a_failure_is_retried_after_the_pause_and_a_success_is_kept() {
        let cell = Retry::new(Duration::from_millis(30));
        let attempts = AtomicU32::new(0);
        let flaky = async || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                Attempt::Failed
            } else {
                Attempt::Made(n)
            }
        };
        assert_eq!(cell.get(flaky).await, None);
        // Within the pause: not tried again.
        assert_eq!(cell.get(flaky).await, None);
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cell.get(flaky).await, Some(&1));
        assert_eq!(cell.get(flaky).await, Some(&1));
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert_eq!(cell.made(), Some(&1));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refusal_is_final() {
        let cell: Retry<u32> = Retry::new(Duration::ZERO);
        let attempts = AtomicU32::new(0);
        let never = async || {
            attempts.fetch_add(1, Ordering::SeqCst);
            Attempt::Never
        };
        assert_eq!(cell.get(never).await, None);
        assert_eq!(cell.get(never).await, None);
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
