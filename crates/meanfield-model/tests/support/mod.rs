//! Draws and comparisons shared by the tests of the Flex kernels (`flex_products.rs`,
//! `flex_logits.rs`).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Ordinary draws in (−2, 2) with a special value once in about `rare` draws: ±0,
/// subnormals, large and tiny magnitudes, ±∞ and NaN. Long sums over frequent specials come
/// out NaN almost always, so `rare` should grow with the depth of the sums under test.
pub fn awkward_one_in(len: usize, seed: u64, rare: u32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let special = [
        0.0,
        -0.0,
        1e-40,
        -3e-42,
        f32::MIN_POSITIVE,
        3e38,
        -1e-30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    (0..len)
        .map(|_| {
            if rng.random_range(0..rare) == 0 {
                special[rng.random_range(0..special.len())]
            } else {
                rng.random_range(-2.0..2.0f32)
            }
        })
        .collect()
}

/// The first index where `a` and `b` differ: bits not equal, unless both are NaN (which NaN an
/// operation returns when several of its inputs are NaN is not fixed by IEEE 754; every other
/// result is).
pub fn same(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits() && !(a[i].is_nan() && b[i].is_nan()))
}

/// Panics unless more than half of `values` are finite (a test of rounding on mostly NaN or
/// infinite results would test little).
pub fn mostly_finite(values: &[f32], what: &str) {
    let finite = values.iter().filter(|v| v.is_finite()).count();
    assert!(
        finite * 2 > values.len(),
        "{what}: only {finite} of {} results finite (draws too wild to test rounding)",
        values.len()
    );
}
