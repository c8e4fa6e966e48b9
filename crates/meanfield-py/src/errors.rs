//! The libraries' errors as Python exceptions: what the caller gave that cannot be used
//! (settings and their ranges, arrays, folders that are not the program's) is a `ValueError`; a file that cannot
//! be read or written, or data that is missing or damaged, an `OSError`; a stop the caller asked
//! for (Ctrl-C) a `KeyboardInterrupt`; anything else (a damaged run, a diverged one, another
//! process training the run) a `RuntimeError`. The message is the library's, which names the
//! thing and the fix.

use meanfield_chaos::ChaosError;
use meanfield_data::DataError;
use meanfield_study::StudyError;
use meanfield_train::TrainError;
use pyo3::PyErr;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};

pub fn chaos(e: ChaosError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

pub fn data(e: DataError) -> PyErr {
    match &e {
        DataError::Io { .. }
        | DataError::Missing { .. }
        | DataError::Fetch { .. }
        | DataError::Checksum { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

pub fn train(e: TrainError) -> PyErr {
    use TrainError as E;
    match e {
        E::Data(d) => data(d),
        // A stop the caller asked for (Ctrl-C): the library's message says where the
        // checkpoint is and how to continue.
        E::Interrupted { .. } | E::StoppedWaiting { .. } => {
            PyKeyboardInterrupt::new_err(e.to_string())
        }
        E::Read { .. } | E::Write { .. } => PyOSError::new_err(e.to_string()),
        E::Model(_)
        | E::Optim(_)
        | E::Config { .. }
        | E::Backend { .. }
        | E::NotOurs { .. }
        | E::Inside { .. }
        | E::NotAFolder { .. }
        | E::SystemLocation { .. }
        | E::ForeignRun { .. }
        | E::TooLarge { .. }
        | E::BufferTooSmall { .. }
        | E::NothingToResume { .. } => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

pub fn study(e: StudyError) -> PyErr {
    match e {
        StudyError::Train(t) => train(t),
        StudyError::Interrupted => PyKeyboardInterrupt::new_err(e.to_string()),
        StudyError::Chaos(c) => chaos(c),
        StudyError::Data(d) => data(d),
        StudyError::Invalid(_) | StudyError::Model(_) | StudyError::Optim(_) => {
            PyValueError::new_err(e.to_string())
        }
        StudyError::Write { .. } => PyOSError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

/// A value the library could not turn into a Python object (never expected: the results are
/// plain serde values).
pub fn convert(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("converting a result to Python: {e}"))
}
