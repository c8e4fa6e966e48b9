//! The commands and their own flags (clap derive). The training settings' flags and the grid
//! axes' flags are not here: they are built from their declarations ([`super::settings`],
//! [`super::axes`]) and added to each command by [`super::command`], so that each command
//! offers exactly the settings it honours.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use meanfield_study::chaos::ChaosStudy;
use meanfield_study::coupling::CouplingStudy;
use meanfield_study::figures::{Figure, Scale};
use meanfield_study::tails::TailStudy;
use meanfield_train::data::DatasetKind;
use meanfield_train::model::Readout;
use meanfield_train::{Backend, Dynamics, Engine};
use std::path::PathBuf;
use std::str::FromStr;
use strum::VariantNames;

/// A value parser for an enum with a fixed list of values, so `--help` lists them and a wrong
/// value is refused with the list (the enum's own names, strum's [`VariantNames`]).
pub fn choices<T>() -> impl TypedValueParser<Value = T>
where
    T: VariantNames + FromStr + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(T::VARIANTS).map(|name| match name.parse::<T>() {
        Ok(value) => value,
        Err(_) => unreachable!("clap accepts only a listed name, and each parses"),
    })
}

#[derive(Parser)]
#[command(
    name = "experiments",
    version,
    about = "Train wide two-layer networks in the mean-field regime with width-scaled SGD (De Bortoli et al., NeurIPS 2020)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. The five training commands differ only in their preset; the five figure
/// commands only in their [`Figure`].
#[derive(Subcommand)]
pub enum Command {
    /// Train on MNIST (paper defaults: α=0, M=100, T=100, γ=1).
    Mnist(Train),
    /// Train on Fashion-MNIST (MNIST defaults).
    FashionMnist(Train),
    /// Train on CIFAR-10 (Table 1: γ=0.1, T=10000, averaging from step 1000).
    Cifar(Train),
    /// Train on the synthetic random-teacher task (no files needed).
    Synthetic(Train),
    /// Train on your own NumPy arrays in --data-dir: train_x.npy, train_y.npy (optional test_x.npy, test_y.npy).
    Arrays(Train),
    /// Train one run from a complete setting, no preset: --config FILE is a run's config.toml or a job of --plan.
    Run(Train),
    /// Download (or copy from the offline sources) a dataset into the data directory and check it.
    Fetch {
        /// mnist, fashion-mnist or cifar10.
        dataset: DatasetKind,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// cifar10: download the archive from this URL instead (a mirror; also
        /// $MEANFIELD_CIFAR10_URL). It must have the published MD5 unless --md5 says otherwise.
        #[arg(long)]
        url: Option<String>,
        /// cifar10: the MD5 the archive must have (also $MEANFIELD_CIFAR10_MD5) [default: the
        /// published one of the chosen version].
        #[arg(long)]
        md5: Option<String>,
        /// cifar10: the Python version (cifar-10-python.tar.gz) instead of the binary one.
        #[arg(long)]
        python: bool,
        /// No progress or messages on stderr (errors still are).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Time the training step (no evaluation) per backend, engine, width and input size.
    Bench(BenchArgs),
    /// Propagation of chaos: W2 of each width's particles to a reference and between seeds, and the rate in N.
    Chaos(ChaosArgs),
    /// Sizes of pre-activations, logits and per-particle updates after k steps, across widths.
    CoordCheck(CoordCheckArgs),
    /// Heavy tails at β = 1: Hill's tail index of the particle law against γ/M (and N), and where it crosses 2.
    Tails(TailsArgs),
    /// The paper's step (5) measured: SGD and the particle diffusion (6) side by side across γ (law distance, run spreads, SGD's cross-particle noise correlation).
    SgdVsDiffusion(SgdVsDiffusionArgs),
    /// Theorems 1 and 2 measured: the synchronous-coupling distance of each width to a wide reference from the same initial particles, and its exponents in N and M.
    Coupling(CouplingArgs),
    /// W2 of one coordinate and sliced W2 between two saved weight files (.npy, [N, d]).
    Distance(DistanceArgs),
    /// List the runs under a folder (or one run directory): setting, status, steps, and every problem found (a file not as written, a run of another program version).
    Runs {
        /// The folder holding run directories, or a run directory.
        #[arg(default_value = "runs")]
        dir: PathBuf,
    },
    /// The paper's Figure 1: histograms of hidden coordinate (1,1) for β × N over the limit densities.
    Figure1(FigureArgs),
    /// The paper's Figure 2: identical initial particles, N = 10^6, spread across 7 runs for β = 0.75 and 1.
    Figure2(FigureArgs),
    /// The paper's Figure 3: β = 1 for γ = 1, 0.1, 0.01 against the β < 1 limit.
    Figure3(FigureArgs),
    /// The paper's Figure S5: batch sizes M = 1..1000 for β = 0.75 and 1 against the β < 1 limit.
    #[command(name = "figure-s5")]
    FigureS5(FigureArgs),
    /// The paper's Table 1: CIFAR-10 accuracy of the averaged weights for N × β.
    Table1(FigureArgs),
}

impl Command {
    /// A training command's preset and flags.
    pub fn training(&self) -> Option<(&'static str, &Train)> {
        match self {
            Command::Mnist(a) => Some(("mnist", a)),
            Command::FashionMnist(a) => Some(("fashion-mnist", a)),
            Command::Cifar(a) => Some(("cifar", a)),
            Command::Synthetic(a) => Some(("synthetic", a)),
            Command::Arrays(a) => Some(("arrays", a)),
            _ => None,
        }
    }

    /// A figure command's figure and flags.
    pub fn figure(&self) -> Option<(Figure, &FigureArgs)> {
        match self {
            Command::Figure1(a) => Some((Figure::Figure1, a)),
            Command::Figure2(a) => Some((Figure::Figure2, a)),
            Command::Figure3(a) => Some((Figure::Figure3, a)),
            Command::FigureS5(a) => Some((Figure::FigureS5, a)),
            Command::Table1(a) => Some((Figure::Table1, a)),
            _ => None,
        }
    }
}

/// How one training run is carried out (its settings are the setting flags).
#[derive(Args, Debug, Clone, Default)]
pub struct Train {
    /// A TOML file of settings (same keys as config.toml), applied over the preset (`run`: the whole setting).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Require a checkpoint in the run directory and continue from it.
    #[arg(long)]
    pub resume: bool,
    /// Train again from step 0 even if the run directory holds a finished run or a checkpoint (says what it removes).
    #[arg(long)]
    pub force: bool,
    /// When another process is training this run: wait for it, then reuse its finished run
    /// (without --wait that is an error naming the process).
    #[arg(long)]
    pub wait: bool,
    /// Do not fetch missing MNIST, Fashion-MNIST or CIFAR-10 files (CIFAR-10 from
    /// $MEANFIELD_CIFAR10_URL when set, checked against $MEANFIELD_CIFAR10_MD5).
    #[arg(long)]
    pub no_fetch: bool,
    /// No progress or messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How a grid command (a study or a figure) carries out its runs; their shared settings are
/// the setting flags, the lists it varies are its axis flags.
#[derive(Args, Debug, Clone, Default)]
pub struct GridArgs {
    /// A TOML file of settings for every run (config.toml's keys; for a figure, the preset's layout), over the preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The folder of the results (report.md, CSVs, charts) [default: under studies/ or figures/, named by the setting].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs trained at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize), conflicts_with_all = ["plan", "assemble_only"])]
    pub jobs: usize,
    /// Train every run of the grid again from step 0 (finished runs are otherwise reused, checkpointed ones continued).
    #[arg(long, conflicts_with_all = ["plan", "assemble_only"])]
    pub force: bool,
    /// Train nothing: write the grid's runs as jobs into DIR (jobs.txt, a Slurm array script,
    /// the GNU parallel line, and the command that assembles the result afterwards).
    #[arg(long, value_name = "DIR")]
    pub plan: Option<PathBuf>,
    /// Train nothing: assemble from finished runs, and fail listing the runs still missing.
    #[arg(long, conflicts_with = "plan")]
    pub assemble_only: bool,
    /// Do not fetch a missing dataset.
    #[arg(long)]
    pub no_fetch: bool,
    /// No progress lines on stderr (the results and errors still are).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Flags of the figure commands (`figure1`, `figure2`, `figure3`, `figure-s5`, `table1`). The
/// protocol comes from `configs/<figure>.toml`; each flag given overrides it.
#[derive(Args, Debug, Clone)]
pub struct FigureArgs {
    /// `paper` (the paper's exact protocol) or `quick` (smaller N, fewer steps, an MNIST subset:
    /// minutes on a 2-core CPU; the report says so).
    #[arg(long, value_enum, default_value_t = Scale::Paper)]
    pub scale: Scale,
    /// Width of the run whose density stands for the β < 1 limit [default: the preset's].
    #[arg(long)]
    pub reference_width: Option<usize>,
    /// Width of the β = 1 limit run (it may not equal a panel's) [default: the preset's: 500000 at paper scale, 50000 at quick].
    #[arg(long)]
    pub reference_width_one: Option<usize>,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// Flags of `experiments chaos`.
#[derive(Args, Debug, Clone)]
pub struct ChaosArgs {
    /// The preset the setting starts from (mnist, fashion-mnist, cifar, synthetic, chaos-quick).
    #[arg(long, default_value = ChaosStudy::PRESET)]
    pub preset: String,
    /// A finished run directory to measure against [default: the largest width, first seed].
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Directions per sliced-W2 estimate.
    #[arg(long, default_value_t = ChaosStudy::PROJECTIONS)]
    pub projections: usize,
    /// Projection seeds, comma-separated (the spread of the sliced W2 is over these).
    #[arg(long, value_delimiter = ',', default_values_t = ChaosStudy::PROJECTION_SEEDS.to_vec())]
    pub projection_seeds: Vec<u64>,
    /// Hidden coordinate for the 1-D W2 (0 is the paper's coordinate (1,1)).
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// Flags of `experiments tails`.
#[derive(Args, Debug, Clone)]
pub struct TailsArgs {
    /// The preset the setting starts from (`tails`: the paper's MNIST protocol at β = 1).
    #[arg(long, default_value = TailStudy::PRESET)]
    pub preset: String,
    /// Hidden coordinate (0 is the paper's coordinate (1,1)).
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// Flags of `experiments sgd-vs-diffusion`.
#[derive(Args, Debug, Clone)]
pub struct SgdVsDiffusionArgs {
    /// The preset the setting starts from (`sgd-vs-diffusion`: the theory's fixed readout, a
    /// 2000-image MNIST subset, T = 10, N = 1000, the diffusion with full drift and noise sets).
    #[arg(long, default_value = "sgd-vs-diffusion")]
    pub preset: String,
    /// Hidden coordinate of the 1-D W2 and the spreads (0 is the paper's (1,1)).
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    /// Directions of the sliced W2.
    #[arg(long, default_value_t = 100)]
    pub projections: usize,
    /// Particles (the first) in SGD's noise correlation.
    #[arg(long, default_value_t = 100)]
    pub correlation_particles: usize,
    /// Training examples (the first) in SGD's noise correlation.
    #[arg(long, default_value_t = 2000)]
    pub correlation_examples: usize,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// Flags of `experiments coord-check` (it measures in memory: no run directories, no grid).
#[derive(Args, Debug, Clone)]
pub struct CoordCheckArgs {
    /// The preset the setting starts from.
    #[arg(long, default_value = "chaos-quick")]
    pub preset: String,
    /// A TOML file of settings (config.toml's keys), over the preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The folder of the results [default: studies/coord-check-<dataset>-beta<β>[-alpha<α>][-diffusion]].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not fetch a missing dataset.
    #[arg(long)]
    pub no_fetch: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Flags of `experiments coupling`.
#[derive(Args, Debug, Clone)]
pub struct CouplingArgs {
    /// The preset the setting starts from (chaos-quick: the theory's fixed readout U(−1,1), an MNIST subset of 10000, T = 10).
    #[arg(long, default_value = CouplingStudy::PRESET)]
    pub preset: String,
    /// N_ref, the run that stands for the limit [default: 8 × the largest width].
    #[arg(long)]
    pub reference_width: Option<usize>,
    /// Each width on its reference's noise: the same batches (SGD) or the same Brownian motions (the diffusion) at the same times, Theorem 2's coupling. With several --data-seeds, each seed is one replicate family with a reference of its own.
    #[arg(long)]
    pub shared_noise: bool,
    /// Batch sizes M for D against M, comma-separated (at --batch-sweep-width; the widths' runs use --batch).
    #[arg(long, value_delimiter = ',')]
    pub batch_sweep: Vec<usize>,
    /// The width of the batch sweep [default: the largest width].
    #[arg(long, requires = "batch_sweep")]
    pub batch_sweep_width: Option<usize>,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// Flags of `experiments distance`.
#[derive(Args, Debug, Clone)]
pub struct DistanceArgs {
    /// First weight file (.npy float32 [N, d], e.g. runs/<run>/hidden.npy).
    pub a: PathBuf,
    /// Second weight file (same d).
    pub b: PathBuf,
    /// Column for the 1-D W2.
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    /// Directions per sliced-W2 estimate.
    #[arg(long, default_value_t = ChaosStudy::PROJECTIONS)]
    pub projections: usize,
    /// Projection seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ChaosStudy::PROJECTION_SEEDS.to_vec())]
    pub projection_seeds: Vec<u64>,
}

/// Flags of `experiments bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Backends to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "flex,ndarray",
          value_parser = choices::<Backend>())]
    pub backends: Vec<Backend>,
    /// Gradient engines, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "closed-form,autodiff",
          value_parser = choices::<Engine>())]
    pub engines: Vec<Engine>,
    /// Dynamics, comma-separated: sgd, diffusion (its step with K = M drift and noise examples;
    /// closed-form engine only). Diffusion rows say `closed-form/diffusion` in the engine column.
    #[arg(long, value_delimiter = ',', default_value = "sgd",
          value_parser = choices::<Dynamics>())]
    pub dynamics: Vec<Dynamics>,
    /// Widths N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub widths: Vec<usize>,
    /// Input dimensions p, comma-separated (784 MNIST, 3072 CIFAR-10).
    #[arg(long, value_delimiter = ',', default_value = "784,3072")]
    pub input_dims: Vec<usize>,
    /// Batch size M.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// The readout.
    #[arg(long, default_value = "trainable",
          value_parser = choices::<Readout>())]
    pub readout: Readout,
    /// Seconds to spend timing each case (sets the iteration count; at least 3 steps).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Side of the square matrix product that measures each backend's practical peak.
    #[arg(long, default_value_t = 2048)]
    pub peak_size: usize,
    /// Write the rows to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}
