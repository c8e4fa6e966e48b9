//! A stop handle: how a caller asks a run (or a grid of runs) to checkpoint and stop, in the
//! manner of burn-train's `Interrupter`. The library holds no process-wide flag: the binary's
//! Ctrl-C handler owns the only global and calls [`StopHandle::request`] on the handle it
//! passed in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cloneable; every clone sees the same request.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run holding this handle to write a checkpoint after its current step and
    /// stop, and grids to start no new run. Safe to call from any thread.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Self::request`] was called.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
