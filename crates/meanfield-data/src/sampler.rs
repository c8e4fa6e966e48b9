//! Batches of M example indices, deterministic for a seed.
//!
//! - [`Sampling::Epochs`] (the authors' loader): a fresh random permutation each epoch, cut into
//!   batches of M; when fewer than M examples remain, they are dropped and a new epoch starts
//!   (so every batch has exactly M examples).
//! - [`Sampling::Iid`] (the theory): each index drawn uniformly with replacement.
//!
//! The sampler's whole state (ChaCha8 seed, stream position, permutation, cursor) is exposed
//! by [`Sampler::state`] so a run can be resumed exactly.

use crate::DataError;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Sampling {
    #[default]
    Epochs,
    Iid,
}

/// Everything needed to continue a sampler exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplerState {
    pub seed: [u8; 32],
    pub word_pos: u128,
    pub permutation: Vec<usize>,
    pub cursor: usize,
}

#[derive(Debug, Clone)]
pub struct Sampler {
    kind: Sampling,
    len: usize,
    batch: usize,
    rng: ChaCha8Rng,
    permutation: Vec<usize>,
    cursor: usize,
}

impl Sampler {
    /// A sampler over `len` examples with batches of `batch`, seeded by `seed`.
    pub fn new(kind: Sampling, len: usize, batch: usize, seed: u64) -> Result<Self, DataError> {
        if len == 0 {
            return Err(DataError::Empty {
                what: "training".into(),
                hint: ": nothing to sample batches from (check `train_subset` and the data files)",
            });
        }
        if batch == 0 {
            return Err(DataError::Invalid {
                what: "`batch`",
                reason: "the batch size M must be ≥ 1".into(),
            });
        }
        if batch > len && kind == Sampling::Epochs {
            return Err(DataError::BatchTooLarge {
                batch,
                len,
                what: "training".into(),
            });
        }
        Ok(Self {
            kind,
            len,
            batch,
            rng: ChaCha8Rng::seed_from_u64(seed),
            permutation: Vec::new(),
            cursor: 0,
        })
    }

    /// The next batch of indices.
    pub fn next_batch(&mut self) -> Vec<usize> {
        match self.kind {
            Sampling::Iid => (0..self.batch)
                .map(|_| self.rng.random_range(0..self.len))
                .collect(),
            Sampling::Epochs => {
                if self.permutation.is_empty() || self.cursor + self.batch > self.len {
                    self.permutation = (0..self.len).collect();
                    self.permutation.shuffle(&mut self.rng);
                    self.cursor = 0;
                }
                let out = self.permutation[self.cursor..self.cursor + self.batch].to_vec();
                self.cursor += self.batch;
                out
            }
        }
    }

    pub fn state(&self) -> SamplerState {
        SamplerState {
            seed: self.rng.get_seed(),
            word_pos: self.rng.get_word_pos(),
            permutation: self.permutation.clone(),
            cursor: self.cursor,
        }
    }

    pub fn restore(&mut self, state: SamplerState) {
        self.rng = ChaCha8Rng::from_seed(state.seed);
        self.rng.set_word_pos(state.word_pos);
        self.permutation = state.permutation;
        self.cursor = state.cursor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_visit_every_example_once() {
        let mut s = Sampler::new(Sampling::Epochs, 10, 5, 7).unwrap();
        let mut seen: Vec<usize> = s.next_batch();
        seen.extend(s.next_batch());
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn deterministic_and_resumable() {
        for kind in [Sampling::Epochs, Sampling::Iid] {
            let mut a = Sampler::new(kind, 37, 8, 3).unwrap();
            let mut b = Sampler::new(kind, 37, 8, 3).unwrap();
            for _ in 0..5 {
                assert_eq!(a.next_batch(), b.next_batch());
            }
            let state = a.state();
            let rest: Vec<_> = (0..7).map(|_| a.next_batch()).collect();
            let mut c = Sampler::new(kind, 37, 8, 99).unwrap();
            c.restore(state);
            let again: Vec<_> = (0..7).map(|_| c.next_batch()).collect();
            assert_eq!(rest, again, "{kind}");
            let mut d = Sampler::new(kind, 37, 8, 4).unwrap();
            assert_ne!(
                d.next_batch(),
                Sampler::new(kind, 37, 8, 3).unwrap().next_batch()
            );
        }
    }

    #[test]
    fn rejects_empty_and_oversized() {
        assert!(Sampler::new(Sampling::Epochs, 0, 1, 0).is_err());
        let err = Sampler::new(Sampling::Epochs, 10, 11, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`batch`"), "{err}");
    }
}
