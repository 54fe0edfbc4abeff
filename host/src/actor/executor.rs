//! The threads actors run on: the caller's tokio runtime, or one of our own.
//!
//! Every actor holds its runtime's [`Executor`], so a handle alone keeps
//! the threads its actor needs (`let a = Runtime::new()?.load(p)?.spawn(o)?`
//! works), and when the last handle, component and runtime are gone the
//! threads of a runtime we started stop too.

/// The tokio runtime actors are spawned on.
pub(crate) enum Executor {
    /// The runtime the [`Runtime`](crate::Runtime) was built in.
    Borrowed(tokio::runtime::Handle),
    /// A runtime of our own, started because there was none.
    Owned(Option<tokio::runtime::Runtime>),
}

impl Executor {
    /// The runtime we are inside, if any; else a new multi-threaded one
    /// with `worker_threads` threads (default: one per core).
    pub(crate) fn current_or_new(worker_threads: Option<usize>) -> std::io::Result<Executor> {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return Ok(Executor::Borrowed(handle));
        }
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("wactor-worker");
        if let Some(n) = worker_threads {
            builder.worker_threads(n);
        }
        Ok(Executor::Owned(Some(builder.build()?)))
    }

    /// A handle to spawn tasks with.
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        match self {
            Executor::Borrowed(handle) => handle,
            Executor::Owned(rt) => rt.as_ref().expect("only taken in drop").handle(),
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // `shutdown_background` never blocks, so the last actor may drop the
        // executor from one of its own worker threads. Pending calls resolve
        // with a shutdown error as their promises are dropped.
        if let Executor::Owned(rt) = self
            && let Some(rt) = rt.take()
        {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Executor::Borrowed(_) => "Executor::Borrowed",
            Executor::Owned(_) => "Executor::Owned",
        })
    }
}
