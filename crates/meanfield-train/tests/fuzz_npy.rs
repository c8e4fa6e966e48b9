//! Fuzzing of the `.npy` weight reader, bounded for CI: seeded random and mutated files give a
//! value or an error naming the file, never a panic. (A seeded loop rather than proptest: see
//! crates/meanfield-data/tests/fuzz.rs.)

use meanfield_train::weights;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn npy_reader_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let valid_path = dir.path().join("valid.npy");
    weights::save(&valid_path, 2, 3, &[0.5, 1.0, -2.0, 3.0, 4.0, 5.0]).unwrap();
    let valid = std::fs::read(&valid_path).unwrap();
    let p = dir.path().join("fuzz.npy");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for case in 0..3_000 {
        let bytes: Vec<u8> = if case % 2 == 0 {
            (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect()
        } else {
            let mut b = valid.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            let cut = rng.random_range(1..=b.len());
            b.truncate(cut);
            b
        };
        std::fs::write(&p, &bytes).unwrap();
        match weights::load_matrix(&p) {
            Ok((data, [r, c])) => assert_eq!(data.len(), r * c),
            Err(e) => assert!(e.to_string().contains("fuzz.npy"), "case {case}: {e}"),
        }
    }
}
