//! One run's particles split over S processes (shards), each holding a block of rows of W1 and
//! W2 (docs/cluster.md, "One run over several processes").
//!
//! The logits are a sum over particles, so a shard computes its partial logits [M, C], the
//! shards exchange them (one all-gather of M·C floats a step, summed in rank order, so every
//! shard gets the same bits and a run is reproducible), and each shard updates its own block.
//! No gradient is ever sent. Every shard draws the same batches; particle k starts from its own
//! initial stream k and the diffusion's multipliers of particle k come from stream k, so a
//! sharded run trains the particles of the unsharded run.
//!
//! How the processes talk is a [`Collective`]: the binary provides one over MPI (feature
//! `mpi`); [`LocalGroup`] runs the shards as threads of one process (tests). This crate holds
//! no process-wide state.

use crate::TrainError;
use burn::tensor::{Tensor, TensorData};
use meanfield_model::PartialSum;
use meanfield_model::net::to_vec;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// The processes of one run, and the one exchange a sharded run needs.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This process's rank, 0..size.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Every process's `local` (the same length on every process), concatenated in rank
    /// order. Every process must call it, in the same order as the others.
    fn all_gather(&self, local: &[f32]) -> Vec<f32>;
    /// What one member is, in messages: "process" (MPI), or "block" for the threads of one
    /// process ([`LocalGroup`]: a run split over one device's buffers).
    fn member(&self) -> &'static str {
        "process"
    }

    /// Whether the members are threads of one process, sharing its memory.
    fn shares_memory(&self) -> bool {
        false
    }

    /// Tells every member that this one stopped (its error or panic ends the run): members
    /// waiting in [`Collective::all_gather`], and any that call it later, unwind with
    /// [`Aborted`] instead of waiting for ever. A no-op for MPI, whose processes the launcher
    /// stops.
    fn abort(&self) {}
}

/// What a run split over several members (MPI processes or blocks of one device) cannot
/// compute, in words; `None` when nothing stands in the way.
pub fn split_obstacle(config: &crate::TrainConfig) -> Option<&'static str> {
    if config.engine != crate::Engine::ClosedForm {
        Some(
            "a split run needs the closed-form engine (`engine` closed-form): autodiff computes the logits in one graph",
        )
    } else if config.temperature > 0.0 {
        Some(
            "the Langevin noise (`temperature` > 0) is drawn from one stream for the whole W1, so a split would change it: run it in one piece",
        )
    } else {
        None
    }
}

/// The panic payload of a member of a [`LocalGroup`] unwound because another member stopped
/// ([`Collective::abort`]); the run's outcome is that member's error.
#[derive(Debug)]
pub struct Aborted;

/// This process's share of a run of width N: its rank, and the exchange with the others.
#[derive(Debug, Clone)]
pub struct Shard {
    comm: Arc<dyn Collective>,
    width: usize,
    /// Nanoseconds spent in the logits' exchange ([`PartialSum::sum`]), waiting for the other
    /// processes included.
    exchange_nanos: Arc<AtomicU64>,
}

impl Shard {
    /// Shard `comm.rank()` of `comm.size()` of a network of `width` particles. Every shard
    /// needs at least one particle.
    pub fn new(comm: Arc<dyn Collective>, width: usize) -> Result<Self, TrainError> {
        if comm.size() == 0 || width < comm.size() {
            return Err(TrainError::Config {
                source_name: "shards".into(),
                message: format!(
                    "{} processes for N = {width} particles: every process needs at least one particle; start at most {width} processes",
                    comm.size()
                ),
            });
        }
        Ok(Shard {
            comm,
            width,
            exchange_nanos: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// The members, in words: "2 processes", "24 blocks".
    pub fn members(&self) -> String {
        let (n, word) = (self.size(), self.comm.member());
        let plural = match n {
            1 => "",
            _ if word.ends_with('s') => "es",
            _ => "s",
        };
        format!("{n} {word}{plural}")
    }

    /// Whether the members share one process's memory (blocks, threads of one process), so
    /// a memory check covers the whole run rather than one member's share.
    pub fn shares_memory(&self) -> bool {
        self.comm.shares_memory()
    }

    /// Whether this shard writes the run's own files (config, metrics, summary): rank 0.
    pub fn is_lead(&self) -> bool {
        self.rank() == 0
    }

    /// The particles this shard holds.
    pub fn rows(&self) -> Range<usize> {
        block(self.width, self.size(), self.rank())
    }

    /// Seconds this shard has spent exchanging partial logits so far (all-gather and waiting
    /// for the slowest shard), the cost of sharding a step.
    pub fn exchange_seconds(&self) -> f64 {
        self.exchange_nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }

    /// Every shard's `result`, agreed: each learns whether all succeeded. A failure here
    /// returns this shard's own error; a failure elsewhere returns
    /// [`TrainError::ShardFailed`] naming the shards that failed (which say why themselves).
    /// Every shard must call it at the same point, so none waits for one that gave up.
    pub fn agree<T>(&self, result: Result<T, TrainError>) -> Result<T, TrainError> {
        let flags = self
            .comm
            .all_gather(&[if result.is_ok() { 0.0 } else { 1.0 }]);
        let failed: Vec<usize> = (0..flags.len()).filter(|&r| flags[r] != 0.0).collect();
        match result {
            Err(e) => Err(e),
            Ok(_) if !failed.is_empty() => Err(TrainError::ShardFailed { ranks: failed }),
            Ok(v) => Ok(v),
        }
    }

    /// Whether any shard says `flag` (a stop request seen by one process stops all of them
    /// after the same step).
    pub fn any(&self, flag: bool) -> bool {
        self.comm
            .all_gather(&[if flag { 1.0 } else { 0.0 }])
            .iter()
            .any(|&v| v != 0.0)
    }

    /// Rank 0's `value`, on every shard (a decision the lead makes for all).
    pub fn lead_says(&self, value: u32) -> u32 {
        // u32 → f32 is exact below 2^24; the values sent are small codes.
        debug_assert!(value < 1 << 24);
        self.comm.all_gather(&[value as f32])[0] as u32
    }
}

/// `result`, agreed by every shard ([`Shard::agree`]) when the run is sharded.
pub fn agreed<T>(shard: Option<&Shard>, result: Result<T, TrainError>) -> Result<T, TrainError> {
    match shard {
        Some(s) => s.agree(result),
        None => result,
    }
}

/// `write` done by the lead shard only (or by an unsharded run), agreed by every shard: the
/// run's own files (config, metrics, summary) are written once.
pub fn on_lead(
    shard: Option<&Shard>,
    write: impl FnOnce() -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let result = if shard.is_none_or(Shard::is_lead) {
        write()
    } else {
        Ok(())
    };
    agreed(shard, result)
}

/// Rows of block `rank` of `width` rows split into `size` blocks: the first `width % size`
/// blocks hold one row more than the others, and the blocks follow each other in rank order.
pub fn block(width: usize, size: usize, rank: usize) -> Range<usize> {
    let (base, extra) = (width / size, width % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

impl PartialSum for Shard {
    fn total_width(&self) -> usize {
        self.width
    }

    fn largest_block(&self) -> usize {
        // The first blocks hold the extra rows ([`block`]).
        block(self.width, self.size(), 0).len()
    }

    /// All-gathers the shards' partial logits and adds them in rank order (the first block
    /// unchanged, so one shard gives back its own bits).
    fn sum(&self, partial: Tensor<2>) -> Tensor<2> {
        let dims = partial.dims();
        let device = partial.device();
        let local = to_vec(partial);
        let started = std::time::Instant::now();
        let all = self.comm.all_gather(&local);
        self.exchange_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let mut total = all[..local.len()].to_vec();
        for block in all.chunks(local.len()).skip(1) {
            for (t, v) in total.iter_mut().zip(block) {
                *t += v;
            }
        }
        Tensor::from_data(TensorData::new(total, dims), &device)
    }
}

/// S shards as threads of one process (tests, and trying the sharded path without MPI):
/// [`LocalGroup::members`] returns one [`Collective`] per thread.
#[derive(Debug)]
pub struct LocalGroup {
    rank: usize,
    size: usize,
    exchange: Arc<Exchange>,
}

#[derive(Debug, Default)]
struct Exchange {
    state: Mutex<Round>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct Round {
    /// Rounds completed.
    generation: u64,
    /// This round's contributions so far, by rank.
    slots: Vec<Option<Vec<f32>>>,
    /// The last completed round's result.
    result: Arc<Vec<f32>>,
    /// A member stopped: no round completes any more.
    aborted: bool,
}

impl LocalGroup {
    /// `size` members of one group; give member r to the thread that plays rank r.
    pub fn members(size: usize) -> Vec<Arc<dyn Collective>> {
        let exchange = Arc::new(Exchange {
            state: Mutex::new(Round {
                slots: vec![None; size],
                ..Round::default()
            }),
            done: Condvar::new(),
        });
        (0..size)
            .map(|rank| {
                Arc::new(LocalGroup {
                    rank,
                    size,
                    exchange: exchange.clone(),
                }) as Arc<dyn Collective>
            })
            .collect()
    }
}

impl Collective for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn member(&self) -> &'static str {
        "block"
    }

    fn shares_memory(&self) -> bool {
        true
    }

    fn abort(&self) {
        let mut round = self
            .exchange
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        round.aborted = true;
        self.exchange.done.notify_all();
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, local: &[f32]) -> Vec<f32> {
        let mut round = self
            .exchange
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let unwind = || std::panic::resume_unwind(Box::new(Aborted));
        if round.aborted {
            drop(round);
            unwind();
        }
        let generation = round.generation;
        round.slots[self.rank] = Some(local.to_vec());
        if round.slots.iter().all(Option::is_some) {
            let all: Vec<f32> = round
                .slots
                .iter_mut()
                .flat_map(|s| s.take().unwrap())
                .collect();
            round.result = Arc::new(all);
            round.generation += 1;
            self.exchange.done.notify_all();
        } else {
            while round.generation == generation {
                if round.aborted {
                    drop(round);
                    unwind();
                }
                round = self
                    .exchange
                    .done
                    .wait(round)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        round.result.as_ref().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member that stops releases the others: those waiting in the exchange and one that
    /// comes to it later unwind with [`Aborted`] instead of waiting for ever.
    #[test]
    fn a_member_that_stops_releases_the_others() {
        let members = LocalGroup::members(3);
        let released: Vec<bool> = std::thread::scope(|s| {
            let threads: Vec<_> = members
                .iter()
                .enumerate()
                .map(|(rank, m)| {
                    s.spawn(move || {
                        if rank == 0 {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            m.abort();
                            return true;
                        }
                        if rank == 2 {
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            m.all_gather(&[rank as f32])
                        }));
                        matches!(got, Err(p) if p.is::<Aborted>())
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(released, [true, true, true]);
    }

    /// Blocks cover 0..width in order, sizes differing by at most one (10 over 3: 4, 3, 3).
    #[test]
    fn blocks_tile_the_particles() {
        assert_eq!(
            (0..3).map(|r| block(10, 3, r)).collect::<Vec<_>>(),
            vec![0..4, 4..7, 7..10]
        );
        for (width, size) in [(1, 1), (7, 7), (100, 3), (5, 2)] {
            let blocks: Vec<_> = (0..size).map(|r| block(width, size, r)).collect();
            assert_eq!(blocks[0].start, 0);
            assert_eq!(blocks[size - 1].end, width);
            assert!(blocks.windows(2).all(|w| w[0].end == w[1].start));
            assert!(blocks.iter().all(|b| b.len() >= width / size));
        }
    }

    /// Three threads gather in rank order, many rounds in a row, and agree on failures.
    #[test]
    fn local_group_gathers_in_rank_order() {
        let group = LocalGroup::members(3);
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                std::thread::spawn(move || {
                    let shard = Shard::new(c.clone(), 9).unwrap();
                    for round in 0..50 {
                        let got = c.all_gather(&[c.rank() as f32, round as f32]);
                        assert_eq!(
                            got,
                            vec![0., round as f32, 1., round as f32, 2., round as f32]
                        );
                    }
                    let own: Result<(), TrainError> = if c.rank() == 1 {
                        Err(TrainError::Config {
                            source_name: "test".into(),
                            message: "rank 1 fails".into(),
                        })
                    } else {
                        Ok(())
                    };
                    let agreed = shard.agree(own);
                    (
                        c.rank(),
                        agreed.map_err(|e| e.to_string()),
                        shard.any(c.rank() == 2),
                    )
                })
            })
            .collect();
        for h in handles {
            let (rank, agreed, any) = h.join().unwrap();
            assert!(any);
            let err = agreed.unwrap_err();
            if rank == 1 {
                assert!(err.contains("rank 1 fails"), "{err}");
            } else {
                assert!(err.contains("process 1"), "{err}");
            }
        }
    }

    #[test]
    fn more_processes_than_particles_is_refused() {
        let c = LocalGroup::members(3).remove(0);
        let err = Shard::new(c, 2).unwrap_err().to_string();
        assert!(err.contains("at most 2 processes"), "{err}");
    }
}
