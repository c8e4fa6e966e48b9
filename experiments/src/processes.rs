//! The processes one command runs as: one (the usual case), or S processes started by
//! `mpirun -n S` or `srun` that train one run together, each holding a block of its particles
//! (built with `--features mpi`; docs/cluster.md). MPI is process-wide state, so it is set up
//! here, in the binary, and handed to the library as a [`Collective`].

use anyhow::Result;
use meanfield_train::shard::Collective;
use std::sync::Arc;

/// The environment variables an MPI launcher sets in every process it starts (Open MPI,
/// MPICH/Hydra and Slurm's PMI-2, PMIx), and the world size where the launcher says it.
const LAUNCHED: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"];

/// The world size an MPI launcher announced, if this process was started by one.
fn launched_size() -> Option<usize> {
    if !LAUNCHED.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .or(Some(1))
}

/// This program's processes.
pub struct Processes {
    #[cfg(feature = "mpi")]
    mpi: Option<(mpi::environment::Universe, Arc<mpi_world::World>)>,
}

impl Processes {
    /// Joins the MPI world when started by an MPI launcher (feature `mpi`); otherwise one
    /// process. Started by a launcher with more than one process but built without MPI, every
    /// process would train the whole run alone: refused, with the fix.
    pub fn start() -> Result<Self> {
        let size = launched_size();
        #[cfg(feature = "mpi")]
        {
            if size.is_none() {
                return Ok(Processes { mpi: None });
            }
            let world = mpi_world::World::join()?;
            Ok(Processes { mpi: Some(world) })
        }
        #[cfg(not(feature = "mpi"))]
        {
            if let Some(size) = size.filter(|&s| s > 1) {
                anyhow::bail!(
                    "started as one of {size} MPI processes, but this experiments binary was built without MPI: each process would train the whole run alone. Build it with `cargo build --release -p experiments --features mpi` (docs/cluster.md), or run it as one process"
                );
            }
            Ok(Processes {})
        }
    }

    /// The processes' exchange when there is more than this one (or when started by an MPI
    /// launcher at all: one MPI process trains as one shard, the path a sharded run takes).
    pub fn collective(&self) -> Option<Arc<dyn Collective>> {
        #[cfg(feature = "mpi")]
        if let Some((_, world)) = &self.mpi {
            return Some(world.clone() as Arc<dyn Collective>);
        }
        None
    }

    /// This process's rank (0 when alone).
    pub fn rank(&self) -> usize {
        self.collective().map_or(0, |c| c.rank())
    }

    /// How many processes there are.
    pub fn size(&self) -> usize {
        self.collective().map_or(1, |c| c.size())
    }

    /// Ends every process after an error in this one, so none waits for it in an exchange
    /// (MPI_Abort; mpirun then exits non-zero). Returns when there is only this process.
    pub fn abort_others(&self, code: i32) {
        #[cfg(feature = "mpi")]
        if let Some((_, world)) = &self.mpi
            && world.size() > 1
        {
            world.abort(code);
        }
        let _ = code;
    }
}

#[cfg(feature = "mpi")]
mod mpi_world {
    use anyhow::Result;
    use meanfield_train::shard::Collective;
    use mpi::topology::{Communicator, SimpleCommunicator};
    use mpi::traits::CommunicatorCollectives;
    use std::sync::{Arc, Mutex};

    /// MPI_COMM_WORLD behind a lock: MPI is initialised with MPI_THREAD_SERIALIZED, so any
    /// thread may call it, one at a time.
    pub struct World {
        comm: Mutex<SimpleCommunicator>,
        rank: usize,
        size: usize,
    }

    // SAFETY: the communicator is a handle into the MPI library, which was initialised with
    // MPI_THREAD_SERIALIZED (calls from any thread, never two at once); the mutex serialises
    // every call made through it.
    unsafe impl Send for World {}
    unsafe impl Sync for World {}

    impl std::fmt::Debug for World {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "MPI process {} of {}", self.rank, self.size)
        }
    }

    impl World {
        pub fn join() -> Result<(mpi::environment::Universe, Arc<World>)> {
            let (universe, threading) =
                mpi::initialize_with_threading(mpi::Threading::Serialized).ok_or_else(|| {
                    anyhow::anyhow!("MPI could not be initialised (was it already, or is the MPI installation broken? `mpirun -n 1 hostname` checks it)")
                })?;
            if threading < mpi::Threading::Serialized {
                anyhow::bail!(
                    "this MPI library offers {threading:?} threading; a sharded run needs MPI_THREAD_SERIALIZED"
                );
            }
            let comm = universe.world();
            let (rank, size) = (comm.rank() as usize, comm.size() as usize);
            Ok((
                universe,
                Arc::new(World {
                    comm: Mutex::new(comm),
                    rank,
                    size,
                }),
            ))
        }

        pub fn abort(&self, code: i32) -> ! {
            let comm = self.comm.lock().unwrap_or_else(|e| e.into_inner());
            comm.abort(code)
        }
    }

    impl Collective for World {
        fn rank(&self) -> usize {
            self.rank
        }

        fn size(&self) -> usize {
            self.size
        }

        fn all_gather(&self, local: &[f32]) -> Vec<f32> {
            let mut all = vec![0f32; local.len() * self.size];
            let comm = self.comm.lock().unwrap_or_else(|e| e.into_inner());
            comm.all_gather_into(local, &mut all[..]);
            all
        }
    }
}
