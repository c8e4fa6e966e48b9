//! Fuzzing of the IDX and CIFAR-10 readers, bounded for CI: seeded random and mutated inputs
//! (random bytes, byte flips, truncations, random headers with huge dimensions). Whatever the
//! bytes, the readers return a value or an error naming the file; they never panic and never
//! allocate from an unchecked header.
//!
//! (proptest was tried first: as a dev-dependency it changes the feature set of crates Burn
//! shares, so `cargo test` would build a second Burn. This seeded loop costs nothing to build.)

use meanfield_data::{cifar, idx};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const CASES: usize = 20_000;

fn mutate(rng: &mut ChaCha8Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    match rng.random_range(0..4u8) {
        0 => {
            let n = bytes.len().max(1);
            let i = rng.random_range(0..n);
            if i < bytes.len() {
                bytes[i] = rng.random();
            }
        }
        1 => {
            let cut = rng.random_range(0..=bytes.len());
            bytes.truncate(cut);
        }
        2 => {
            let extra = rng.random_range(1..16);
            bytes.extend((0..extra).map(|_| rng.random::<u8>()));
        }
        _ => {
            for _ in 0..rng.random_range(1..8) {
                let n = bytes.len().max(1);
                let i = rng.random_range(0..n);
                if i < bytes.len() {
                    bytes[i] ^= 1 << rng.random_range(0..8);
                }
            }
        }
    }
    bytes
}

#[test]
fn idx_reader_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let valid = idx::encode(&[3, 2, 2], &(0..12).collect::<Vec<u8>>());
    for case in 0..CASES {
        let bytes = match case % 3 {
            0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
            1 => mutate(&mut rng, valid.clone()),
            _ => {
                // A plausible header with arbitrary dimensions, then a short body.
                let ndim = rng.random_range(0..5u8);
                let mut b = vec![0, 0, 8, ndim];
                for _ in 0..ndim {
                    b.extend_from_slice(&rng.random::<u32>().to_be_bytes());
                }
                b.extend((0..rng.random_range(0..32)).map(|_| rng.random::<u8>()));
                b
            }
        };
        match idx::parse(&bytes, Path::new("fuzz.idx")) {
            Ok(a) => assert_eq!(a.data.len(), a.dims.iter().product::<usize>()),
            Err(e) => assert!(e.to_string().contains("fuzz.idx"), "case {case}: {e}"),
        }
    }
}

#[test]
fn cifar_reader_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut valid = Vec::new();
    for label in [1u8, 9] {
        valid.push(label);
        valid.extend((0..3072).map(|i| (i % 251) as u8));
    }
    for case in 0..2_000 {
        let bytes = if case % 2 == 0 {
            mutate(&mut rng, valid.clone())
        } else {
            (0..rng.random_range(0..7000))
                .map(|_| rng.random())
                .collect()
        };
        match cifar::parse(&bytes, Path::new("fuzz.bin")) {
            Ok((pixels, labels)) => {
                assert_eq!(pixels.len(), labels.len() * 3072);
                assert!(labels.iter().all(|l| *l < 10));
            }
            Err(e) => assert!(e.to_string().contains("fuzz.bin"), "case {case}: {e}"),
        }
    }
}
