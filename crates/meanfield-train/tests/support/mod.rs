//! Helpers the library's run tests share: which files a run's result is, and comparing them
//! byte for byte between two runs.

use meanfield_train::weights;
use std::path::Path;

/// A finished run's weight files: the weights and their Polyak averages.
pub const WEIGHTS: [&str; 4] = [
    weights::HIDDEN,
    weights::READOUT,
    weights::HIDDEN_AVG,
    weights::READOUT_AVG,
];

/// Everything a finished run's result is: [`WEIGHTS`] and the metrics.
pub const RESULTS: [&str; 5] = [
    weights::HIDDEN,
    weights::READOUT,
    weights::HIDDEN_AVG,
    weights::READOUT_AVG,
    meanfield_train::layout::METRICS,
];

/// Asserts that runs `a` and `b` hold the same `files`, byte for byte; `how` (what made the
/// two runs) goes into the message.
pub fn assert_same_files(a: &Path, b: &Path, files: &[&str], how: &str) {
    for f in files {
        let (x, y) = (read(a, f), read(b, f));
        assert!(
            x == y,
            "{f} differs between {} and {} ({how})",
            a.display(),
            b.display()
        );
    }
}

/// The bytes of file `f` of run directory `dir`.
pub fn read(dir: &Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}
