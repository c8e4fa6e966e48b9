//! Long calls (training, studies) on a worker thread, with the GIL released, while the calling
//! thread watches for Ctrl-C: Python runs its SIGINT handler only between bytecodes of the main
//! thread, so the caller checks for it every 50 ms. On KeyboardInterrupt the stop handle is
//! requested (every run writes a checkpoint after its current step and stops, a grid starts no
//! new run, a wait for another process's lock ends), the worker is waited for, and its own
//! error is raised: the library's "interrupted" (as a KeyboardInterrupt saying where the
//! checkpoint is), or a real failure of the same moment, never hidden by the interrupt. Any
//! other exception a signal handler of the caller's raises (a timeout's) stops the runs the
//! same way and is then raised itself. A run
//! that finished before it saw the stop raises the KeyboardInterrupt itself. Further Ctrl-C
//! while the worker finishes its step are absorbed: the command line's second Ctrl-C exits the
//! process, which a notebook's kernel must not.

use meanfield_train::StopHandle;
use pyo3::prelude::*;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `work` with a fresh stop handle on a worker thread; `Err(KeyboardInterrupt)` when the
/// user pressed Ctrl-C (after the work stopped), else the work's own result.
pub fn run<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(StopHandle) -> PyResult<T> + Send,
) -> PyResult<T> {
    let stop = StopHandle::new();
    let worker_stop = stop.clone();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        // Only this thread receives; the mutex makes the receiver shareable with `detach`.
        let rx = std::sync::Mutex::new(rx);
        scope.spawn(move || {
            // A panic is reported as an exception, not re-raised by the scope.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(worker_stop)))
                    .unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("a panic");
                        Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                            "internal error ({what}): this is a bug, please report it with the call"
                        )))
                    });
            let _ = tx.send(result);
        });
        let mut interrupted: Option<PyErr> = None;
        loop {
            match py.detach(|| {
                rx.lock()
                    .expect("only this thread takes it")
                    .recv_timeout(Duration::from_millis(50))
            }) {
                Ok(result) => {
                    return match (interrupted, result) {
                        // An exception of the caller's own signal handler (a timeout's,
                        // say) is theirs to see, after the runs stopped with checkpoints.
                        (Some(signal), _)
                            if !signal
                                .is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) =>
                        {
                            Err(signal)
                        }
                        (Some(_), Err(own)) => Err(own),
                        (Some(signal), Ok(_)) => Err(signal),
                        (None, result) => result,
                    };
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    unreachable!("the worker sends its result before it ends")
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        stop.request();
                        interrupted.get_or_insert(e);
                    }
                }
            }
        }
    })
}
