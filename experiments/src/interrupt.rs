//! Stop signals: the program's only process-wide stop flag. The first SIGINT (Ctrl-C), SIGTERM
//! (Slurm's time limit or preemption, `timeout`, systemd, `kill`) or SIGHUP (a closed terminal)
//! requests a stop on the [`StopHandle`] every run of this process holds (each writes a
//! checkpoint after its current step and stops; grids start no new run); a second signal exits
//! at once. The process then exits with 128 + the signal's number (130, 143, 129), as a shell
//! reports a process killed by it, so schedulers and scripts can tell "stopped, resumable" from
//! a failure (exit 1).

use meanfield_train::StopHandle;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

static STOP: OnceLock<StopHandle> = OnceLock::new();
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static FIRST: AtomicI32 = AtomicI32::new(0);

/// The signals that stop a run with a checkpoint.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: atomic loads and stores, _exit.
    if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
        unsafe { libc::_exit(128 + signal) };
    }
    FIRST.store(signal, Ordering::SeqCst);
    if let Some(stop) = STOP.get() {
        stop.request();
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP and returns the handle it requests a
/// stop on.
pub fn install() -> StopHandle {
    let stop = STOP.get_or_init(StopHandle::new).clone();
    for signal in STOP_SIGNALS {
        // SAFETY: the handler only touches atomics and calls _exit, both async-signal-safe.
        unsafe {
            libc::signal(signal, on_signal as *const () as libc::sighandler_t);
        }
    }
    stop
}

/// The exit code for a run stopped by a signal: 128 + the first signal received, if any.
pub fn exit_code() -> Option<u8> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        signal => u8::try_from(128 + signal).ok(),
    }
}
