//! Grids as job lists (`--plan DIR`): instead of training, a grid command writes every run it
//! needs as a self-contained job, for a Slurm array or GNU parallel, and the command that
//! assembles the result once the jobs are done (the same command with `--assemble-only`).
//!
//! `DIR/configs/<i>.toml` is run i's complete setting (its `config.toml`, with `out` set to the
//! run directory the grid expects); `DIR/jobs.txt` has one line per run,
//! `cd <working directory> && <job>`, the job command the binary gives with the run's config
//! file in it (`<binary> run --config DIR/configs/<i>.toml --quiet`); `DIR/slurm.sh`
//! is an array job over those lines; `DIR/README.md` says how to run them and how to assemble.
//! Paths are absolute, so the jobs run anywhere the same file system is mounted at the same
//! place. The runs of a grid do not depend on each other (a limit run is only needed to
//! assemble), so the jobs form one stage and may run in any order and at once; two jobs that
//! meet on one run directory are kept apart by its lock.

use crate::StudyError;
use meanfield_train::{TrainConfig, run_dir};
use std::path::{Path, PathBuf};

/// How a grid command treats its runs.
#[derive(Debug, Clone, PartialEq)]
pub enum GridMode {
    /// Train the runs that are not finished; with `force`, train every run of the grid again
    /// (the default: `force` off).
    Train { force: bool },
    /// Train nothing: write the runs as jobs into `dir`; `assemble` is the command that
    /// assembles the result afterwards, `job` the command that trains one run, with
    /// [`CONFIG_SLOT`] where its config file's path goes (the binary spells its own program and
    /// flags: `'<binary>' run --config {config} --quiet`).
    Plan {
        dir: PathBuf,
        assemble: String,
        job: String,
    },
    /// Train nothing: assemble from finished runs, and fail listing the runs that are missing.
    AssembleOnly,
}

fn absolute(path: &Path) -> Result<PathBuf, StudyError> {
    std::path::absolute(path).map_err(|source| StudyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `path` in single quotes for a shell (a quote inside written as '\'').
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl GridMode {
    /// The mode of a call that trains or assembles (not a plan: the Python package):
    /// `assemble_only` trains nothing, so `force` (train every run again) and `jobs` other than
    /// 1 (runs at once) cannot apply with it and are refused; `jobs` must be at least 1.
    pub fn for_call(assemble_only: bool, force: bool, jobs: usize) -> Result<Self, StudyError> {
        if jobs == 0 {
            return Err(StudyError::Invalid(
                "`jobs` must be at least 1 (the runs trained at once)".into(),
            ));
        }
        if assemble_only && force {
            return Err(StudyError::Invalid(
                "`assemble_only` trains nothing, so `force` (train every run again) cannot apply: give one of them".into(),
            ));
        }
        if assemble_only && jobs != 1 {
            return Err(StudyError::Invalid(
                "`assemble_only` trains nothing, so `jobs` (runs trained at once) cannot apply: leave it out".into(),
            ));
        }
        Ok(if assemble_only {
            GridMode::AssembleOnly
        } else {
            GridMode::Train { force }
        })
    }
}

impl Default for GridMode {
    fn default() -> Self {
        GridMode::Train { force: false }
    }
}

/// Where a [`GridMode::Plan`] job command takes its run's config file (quoted for a shell).
pub const CONFIG_SLOT: &str = "{config}";

/// Writes the job list for `configs` (distinct runs) into `dir`: one line per run, `job_command` with
/// the run's config file in its [`CONFIG_SLOT`]; returns the number of jobs.
pub fn write_plan(
    dir: &Path,
    configs: &[TrainConfig],
    assemble: &str,
    job_command: &str,
) -> Result<usize, StudyError> {
    let dir = absolute(dir)?;
    let cwd = absolute(Path::new("."))?;
    // Every run's folders are checked now (a runs directory of the user's is refused before
    // any job is written); the jobs create them.
    for config in configs {
        meanfield_train::run_dir::check_ownership(config)?;
    }
    crate::folders::claim_plan(&dir)?;
    // A plan written here before may have had more jobs: its configs past this plan's go (the
    // program's own names only, NNNN.toml).
    let configs_dir = dir.join("configs");
    meanfield_train::run_dir::remove_ours(&configs_dir, |name| {
        name.strip_suffix(".toml").is_some_and(|n| {
            n.len() == 4
                && n.bytes().all(|b| b.is_ascii_digit())
                && n.parse::<usize>().is_ok_and(|i| i > configs.len())
        })
    });
    crate::create_dir(&configs_dir)?;
    let mut jobs = String::new();
    for (i, config) in configs.iter().enumerate() {
        let job = TrainConfig {
            out: Some(absolute(&run_dir::run_dir(config))?),
            ..config.clone()
        };
        let path = dir.join("configs").join(format!("{:04}.toml", i + 1));
        crate::write_file(&path, job.to_toml().as_bytes())?;
        jobs.push_str(&format!(
            "cd {} && {}\n",
            quoted(&cwd),
            job_command.replace(CONFIG_SLOT, &quoted(&path))
        ));
    }
    let n = configs.len();
    crate::write_file(&dir.join("jobs.txt"), jobs.as_bytes())?;
    let slurm = format!(
        "#!/usr/bin/env bash\n\
         # One array task per line of jobs.txt. Adjust the resources to your cluster; each job\n\
         # trains one run with the machine's cores (a width-10^4 MNIST run needs about 1 GB).\n\
         #SBATCH --job-name=meanfield\n\
         #SBATCH --array=1-{n}\n\
         #SBATCH --cpus-per-task=2\n\
         #SBATCH --mem=8G\n\
         #SBATCH --output={dir}/logs/%a.log\n\
         set -euo pipefail\n\
         line=$(sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" '{dir}/jobs.txt')\n\
         bash -c \"$line\"\n",
        dir = dir.display()
    );
    crate::create_dir(&dir.join("logs"))?;
    crate::write_file(&dir.join("slurm.sh"), slurm.as_bytes())?;
    let readme = format!(
        "# Job list: {n} runs\n\n\
         Each line of `jobs.txt` trains one run (`configs/<i>.toml` is its complete setting). The\n\
         runs are independent: run them in any order, at once, on any machine that mounts this\n\
         folder and the runs directory at the same paths. A job that stops (a node dies, a time\n\
         limit) continues from its last checkpoint when run again; two jobs on one run are kept\n\
         apart by its lock.\n\n\
         - Slurm: `sbatch {dir}/slurm.sh`\n\
         - GNU parallel, K jobs at once on one machine: `parallel --jobs K < {dir}/jobs.txt`\n\
         - several machines with a shared directory: `parallel --jobs K --sshloginfile hosts < {dir}/jobs.txt`\n\n\
         Then assemble (trains nothing; lists any run still missing):\n\n\
         ```sh\n{assemble}\n```\n",
        dir = dir.display()
    );
    crate::write_file(&dir.join("README.md"), readme.as_bytes())?;
    Ok(n)
}
