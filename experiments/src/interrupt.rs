//! Ctrl-C: the program's only process-wide stop flag. The first SIGINT requests a stop on the
//! [`StopHandle`] every run of this process holds (each writes a checkpoint after its current
//! step and stops; grids start no new run); a second one exits at once.

use meanfield_train::StopHandle;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static STOP: OnceLock<StopHandle> = OnceLock::new();
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigint(_: libc::c_int) {
    // Only async-signal-safe work here: atomic loads and stores, _exit.
    if INTERRUPTS.fetch_add(1, Ordering::SeqCst) > 0 {
        unsafe { libc::_exit(130) };
    }
    if let Some(stop) = STOP.get() {
        stop.request();
    }
}

/// Installs the handler and returns the handle it requests a stop on.
pub fn install() -> StopHandle {
    let stop = STOP.get_or_init(StopHandle::new).clone();
    // SAFETY: the handler only touches atomics and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    stop
}
