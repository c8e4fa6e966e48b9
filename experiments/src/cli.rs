//! Command-line flags. Every training flag is optional and only overrides the config layers
//! below it (defaults < preset < --config FILE < flags).

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use meanfield_study::figures::preset::Overrides;
use meanfield_study::figures::{Figure, Scale};
use meanfield_train::config::read_settings_file;
use meanfield_train::data::DatasetKind;
use meanfield_train::data::Sampling;
use meanfield_train::model::{Activation, Init, Readout};
use meanfield_train::{Backend, Dynamics, Engine, ExampleSet, TrainConfig};
use serde::Serialize;
use std::path::PathBuf;
use strum::VariantArray;

/// A value parser for an enum with a fixed list of values (its `ALL`), so `--help` lists them
/// and a wrong value is refused with the list: the values are declared once, next to the enum,
/// and written as the enum's `Display` (its config.toml spelling).
fn choices<T>(all: &'static [T]) -> impl TypedValueParser<Value = T>
where
    T: std::fmt::Display + Clone + Send + Sync + 'static,
{
    // clap keeps the names for the process's life; a handful of short strings, once.
    let names: Vec<&'static str> = all
        .iter()
        .map(|v| &*Box::leak(v.to_string().into_boxed_str()))
        .collect();
    PossibleValuesParser::new(names).map(move |name| {
        all.iter()
            .find(|v| v.to_string() == name)
            .expect("clap accepted only a listed name")
            .clone()
    })
}

/// The command line with each training flag's default appended to its help, read from the
/// setting it would start from: the subcommand's preset (`cifar`'s γ is 0.1), the study's
/// `--preset` default, or the program's defaults (`TrainConfig::default`) for `run` and the
/// figures (whose own presets may set more). Defaults are written once, in the config and the
/// presets; no help text repeats them.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sub| with_defaults(sub, &name));
    }
    cmd
}

/// Parses the command line `words` (the program, then its arguments) with [`command`]'s help.
pub fn parse(words: &[String]) -> Cli {
    let matches = command().get_matches_from(words);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Settings whose default is not one value (said in the flag's own help instead).
const DEFAULT_DESCRIBED: [&str; 1] = ["log_every"];

fn with_defaults(sub: clap::Command, name: &str) -> clap::Command {
    let preset_flag = sub
        .get_arguments()
        .find(|a| a.get_id() == "preset")
        .and_then(|a| a.get_default_values().first())
        .map(|v| v.to_string_lossy().into_owned());
    let preset = match name {
        "mnist" | "fashion-mnist" | "cifar" | "synthetic" | "arrays" => Some(name.to_string()),
        _ => preset_flag,
    };
    let (source, layers) = match &preset {
        Some(p) => match TrainConfig::preset(p) {
            Ok(table) => (format!("preset {p}"), vec![(p.clone(), table)]),
            Err(_) => return sub,
        },
        None if name.starts_with("figure") || name == "table1" => (
            "program default; the figure's preset may set it".to_string(),
            Vec::new(),
        ),
        None => ("default".to_string(), Vec::new()),
    };
    let Ok(config) = TrainConfig::resolve(layers) else {
        return sub;
    };
    let Ok(mut table) = toml::Table::try_from(&config) else {
        return sub;
    };
    // Settings config.toml leaves out at their default (so older run names stay the same).
    for (key, value) in [
        ("dynamics", config.dynamics.to_string()),
        ("drift_set", config.drift_set.to_string()),
        ("noise_set", config.noise_set.to_string()),
    ] {
        table.entry(key).or_insert(toml::Value::String(value));
    }
    // A flag with a default of its own (bench's `--batch`) shows that one, from clap.
    let ids: Vec<String> = sub
        .get_arguments()
        .filter(|a| a.get_default_values().is_empty())
        .map(|a| a.get_id().to_string())
        .filter(|id| table.contains_key(id) && !DEFAULT_DESCRIBED.contains(&id.as_str()))
        .collect();
    let mut sub = sub;
    for id in ids {
        let value = match &table[&id] {
            toml::Value::String(s) => s.clone(),
            // 1 and 10000, not 1.0 and 10000.0 (the flag takes either).
            toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                format!("{}", *f as i64)
            }
            other => other.to_string(),
        };
        sub = sub.mut_arg(&id, |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            a.help(format!("{help} [{source}: {value}]"))
        });
    }
    sub
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

/// The subcommands. The four training commands differ only in their preset; the five figure
/// commands only in their [`Figure`].
#[derive(Subcommand)]
pub enum Command {
    /// Train on MNIST (paper defaults: α=0, M=100, T=100, γ=1).
    Mnist(Box<TrainArgs>),
    /// Train on Fashion-MNIST (MNIST defaults).
    FashionMnist(Box<TrainArgs>),
    /// Train on CIFAR-10 (Table 1: γ=0.1, T=10000, averaging from step 1000).
    Cifar(Box<TrainArgs>),
    /// Train on the synthetic random-teacher task (no files needed).
    Synthetic(Box<TrainArgs>),
    /// Train on your own NumPy arrays in --data-dir: train_x.npy, train_y.npy (optional test_x.npy, test_y.npy).
    Arrays(Box<TrainArgs>),
    /// Train one run from a complete setting, no preset: --config FILE is a run's config.toml or a job of --plan.
    Run(Box<TrainArgs>),
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
    Chaos(Box<ChaosArgs>),
    /// Sizes of pre-activations, logits and per-particle updates after k steps, across widths.
    CoordCheck(Box<CoordCheckArgs>),
    /// Heavy tails at β = 1: Hill's tail index of the particle law against γ/M (and N), and where it crosses 2.
    Tails(Box<TailsArgs>),
    /// The paper's step (5) measured: SGD and the particle diffusion (6) side by side across γ (law distance, run spreads, SGD's cross-particle noise correlation).
    SgdVsDiffusion(Box<SgdVsDiffusionArgs>),
    /// Theorems 1 and 2 measured: the synchronous-coupling distance of each width to a wide reference from the same initial particles, and its exponents in N and M.
    Coupling(Box<CouplingArgs>),
    /// W2 of one coordinate and sliced W2 between two saved weight files (.npy, [N, d]).
    Distance(DistanceArgs),
    /// List the runs under a folder: setting, status, steps, and every problem found (damaged weights, runs of another program version).
    Runs {
        /// The folder holding run directories.
        #[arg(default_value = "runs")]
        dir: PathBuf,
    },
    /// The paper's Figure 1: histograms of hidden coordinate (1,1) for β × N over the limit densities.
    Figure1(Box<FigureArgs>),
    /// The paper's Figure 2: identical initial particles, N = 10^6, spread across 7 runs for β = 0.75 and 1.
    Figure2(Box<FigureArgs>),
    /// The paper's Figure 3: β = 1 for γ = 1, 0.1, 0.01 against the β < 1 limit.
    Figure3(Box<FigureArgs>),
    /// The paper's Figure S5: batch sizes M = 1..1000 for β = 0.75 and 1 against the β < 1 limit.
    #[command(name = "figure-s5")]
    FigureS5(Box<FigureArgs>),
    /// The paper's Table 1: CIFAR-10 accuracy of the averaged weights for N × β.
    Table1(Box<FigureArgs>),
}

impl Command {
    /// A training command's preset and flags.
    pub fn training(&self) -> Option<(&'static str, &TrainArgs)> {
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

/// How a grid command treats its runs: train them (default), write them as jobs, or only
/// assemble from finished runs.
#[derive(Args, Debug, Clone, Default)]
pub struct PlanArgs {
    /// Train nothing: write the grid's runs as jobs into DIR (jobs.txt, a Slurm array script,
    /// the GNU parallel line, and the command that assembles the result afterwards).
    #[arg(long, value_name = "DIR")]
    pub plan: Option<PathBuf>,
    /// Train nothing: assemble from finished runs, and fail listing the runs still missing.
    #[arg(long, conflicts_with = "plan")]
    pub assemble_only: bool,
}

/// Flags of the figure commands (`figure1`, `figure2`, `figure3`, `figure-s5`, `table1`). The
/// protocol comes from `configs/<figure>.toml`; each flag given overrides it.
#[derive(Args, Debug, Clone)]
pub struct FigureArgs {
    /// `paper` (the paper's exact protocol) or `quick` (smaller N, fewer steps, an MNIST subset:
    /// minutes on a 2-core CPU; the report says so).
    #[arg(long, value_enum, default_value_t = Scale::Paper)]
    pub scale: Scale,
    /// The grid's axes (each overrides the preset's).
    #[command(flatten)]
    pub axes: Overrides,
    /// Runs at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Parent of the run directories, shared by all figures so common runs are reused.
    #[arg(long, default_value = "figures/runs")]
    pub runs_dir: PathBuf,
    /// Training flags for every run (--backend, --engine, ...); --out is the figure folder
    /// [default: figures/<figure>-<scale>]; --config FILE is a file in the preset's layout.
    #[command(flatten)]
    pub grid: PlanArgs,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `experiments chaos`.
#[derive(Args, Debug, Clone)]
pub struct ChaosArgs {
    /// The preset the setting starts from (mnist, fashion-mnist, cifar, synthetic, chaos-quick).
    #[arg(long, default_value = "chaos-quick")]
    pub preset: String,
    /// Widths N, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "250,500,1000,2000,4000,8000"
    )]
    pub widths: Vec<usize>,
    /// Seeds, comma-separated (each width is run once per seed).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub seeds: Vec<u64>,
    /// A finished run directory to measure against [default: the largest width, first seed].
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Directions per sliced-W2 estimate.
    #[arg(long, default_value_t = 200)]
    pub projections: usize,
    /// Projection seeds, comma-separated (the spread of the sliced W2 is over these).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub projection_seeds: Vec<u64>,
    /// Hidden coordinate for the 1-D W2 (0 is the paper's coordinate (1,1)).
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    /// Runs at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Training flags (--beta, --gamma, ...); --out is the study folder [default: studies/chaos-<dataset>-beta<β>].
    #[command(flatten)]
    pub grid: PlanArgs,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `experiments tails`.
#[derive(Args, Debug, Clone)]
pub struct TailsArgs {
    /// The preset the setting starts from (`tails`: the paper's MNIST protocol at β = 1).
    #[arg(long, default_value = "tails")]
    pub preset: String,
    /// Widths N, comma-separated (two or more check that the index is stable in N).
    #[arg(long, value_delimiter = ',', default_value = "5000,10000")]
    pub widths: Vec<usize>,
    /// Step sizes γ, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,0.5,0.3,0.1")]
    pub gammas: Vec<f64>,
    /// Batch sizes M, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub batches: Vec<usize>,
    /// Hidden coordinate (0 is the paper's coordinate (1,1)).
    #[arg(long, default_value_t = 0)]
    pub coordinate: usize,
    /// Runs at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[command(flatten)]
    pub grid: PlanArgs,
    /// Training flags; --out is the study folder [default: studies/tails-<dataset>-beta<β>].
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `experiments sgd-vs-diffusion`.
#[derive(Args, Debug, Clone)]
pub struct SgdVsDiffusionArgs {
    /// The preset the setting starts from (`sgd-vs-diffusion`: the theory's fixed readout, a
    /// 2000-image MNIST subset, T = 10, N = 1000, the diffusion with full drift and noise sets).
    #[arg(long, default_value = "sgd-vs-diffusion")]
    pub preset: String,
    /// Exponents β, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,0.75")]
    pub betas: Vec<f64>,
    /// Step sizes γ, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,0.3,0.1,0.03")]
    pub gammas: Vec<f64>,
    /// S, runs per dynamics and (β, γ) (data seeds 0..S).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
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
    /// Runs at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[command(flatten)]
    pub grid: PlanArgs,
    /// Training flags (--width, --drift-set, --noise-set, ...); --out is the study folder
    /// [default: studies/sgd-vs-diffusion-<dataset>-N<width>].
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `experiments coord-check`.
#[derive(Args, Debug, Clone)]
pub struct CoordCheckArgs {
    /// The preset the setting starts from.
    #[arg(long, default_value = "chaos-quick")]
    pub preset: String,
    /// Widths N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "250,1000,4000,16000")]
    pub widths: Vec<usize>,
    /// Steps k before measuring.
    #[arg(long, default_value_t = 10)]
    pub k: u64,
    /// Training flags; --out is the output folder [default: studies/coord-check-<dataset>-beta<β>].
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `experiments coupling`.
#[derive(Args, Debug, Clone)]
pub struct CouplingArgs {
    /// The preset the setting starts from (chaos-quick: the theory's fixed readout U(−1,1), an MNIST subset of 10000, T = 10).
    #[arg(long, default_value = "chaos-quick")]
    pub preset: String,
    /// Widths N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000,2000,4000")]
    pub widths: Vec<usize>,
    /// N_ref, the run that stands for the limit [default: 8 × the largest width].
    #[arg(long)]
    pub reference_width: Option<usize>,
    /// S, independent data seeds per width (ignored with --shared-batches).
    #[arg(long, default_value_t = 2)]
    pub seeds: u64,
    /// One data seed for every run (at β = 1 every width then takes the same batches at the same times).
    #[arg(long)]
    pub shared_batches: bool,
    /// Batch sizes M for D against M, comma-separated (at --batch-width).
    #[arg(long, value_delimiter = ',')]
    pub batches: Vec<usize>,
    /// The width of the batch-size sweep [default: the largest width].
    #[arg(long)]
    pub batch_width: Option<usize>,
    /// Runs at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Training flags (--beta, --gamma, --seed or --init-seed for the shared initial particles,
    /// --snapshots K [default: 10], ...); --out is the study folder [default: studies/coupling-<dataset>-beta<β>].
    #[command(flatten)]
    pub grid: PlanArgs,
    #[command(flatten)]
    pub train: TrainArgs,
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
    #[arg(long, default_value_t = 200)]
    pub projections: usize,
    /// Projection seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub projection_seeds: Vec<u64>,
}

/// Flags of `experiments bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Backends to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "flex,ndarray")]
    pub backends: Vec<Backend>,
    /// Gradient engines, comma-separated: closed-form, autodiff.
    #[arg(long, value_delimiter = ',', default_value = "closed-form,autodiff")]
    pub engines: Vec<Engine>,
    /// Dynamics, comma-separated: sgd, diffusion (its step with K = M drift and noise examples;
    /// closed-form engine only). Diffusion rows say `closed-form/diffusion` in the engine column.
    #[arg(long, value_delimiter = ',', default_value = "sgd")]
    pub dynamics: Vec<meanfield_train::Dynamics>,
    /// Widths N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub widths: Vec<usize>,
    /// Input dimensions p, comma-separated (784 MNIST, 3072 CIFAR-10).
    #[arg(long, value_delimiter = ',', default_value = "784,3072")]
    pub input_dims: Vec<usize>,
    /// Batch size M.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// `trainable` or `fixed` readout.
    #[arg(long, default_value = "trainable")]
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

/// The `[arrays]` keys as flags (only for `experiments arrays`).
#[derive(Args, Serialize, Debug, Clone, Default)]
pub struct ArraysFlags {
    /// Arrays: none, standardize (per feature, with the training set's mean and sd) or affine:<mean>:<std> [default: none].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<String>,
    /// Arrays: the number of classes [default: the largest label + 1].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    classes: Option<usize>,
}

impl ArraysFlags {
    fn is_empty(&self) -> bool {
        self.normalize.is_none() && self.classes.is_none()
    }
}

/// Flags of a training run. Values are checked when the config is resolved, so a bad value
/// gets the same message from a flag and from a config file. Each flag given becomes the
/// `config.toml` key of the same name (serde); the others are left to the layers below.
#[derive(Args, Serialize, Debug, Clone)]
pub struct TrainArgs {
    /// N, the number of hidden neurons.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// β in [0, 1]: the step grows like N^β.
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    beta: Option<f64>,
    /// α in [0, 1): the step decays like n^(-α).
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    /// γ > 0, the base step.
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    /// M, the batch size.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<usize>,
    /// T, the continuous-time horizon; n_T = floor(T / γ_αβ(N)) steps.
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    horizon: Option<f64>,
    /// Run exactly this many steps instead of n_T.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<u64>,
    /// Seed of everything random: the initial particles and the batch order.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Seed of the initial particles only (particle k depends on this seed and k alone, so a
    /// width-N run starts from the first N particles of any wider one) [default: --seed].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_seed: Option<u64>,
    /// Seed of the batch order, the Langevin noise and the diffusion's noise only [default: --seed].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// Save the particles at K + 1 evenly spaced times t_j = jT/K under snapshots/.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<u64>,
    /// `trainable` (both layers, the authors' code) or `fixed` (the theory).
    #[arg(long, value_parser = choices(<Readout as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    readout: Option<Readout>,
    /// Law of the hidden weights: pytorch, normal:<std>, uniform:<a>, const:<c>.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<Init>,
    /// Law of the readout (same forms; a fixed readout needs an N-independent one).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    readout_init: Option<Init>,
    /// The activation.
    #[arg(long, value_parser = choices(<Activation as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    activation: Option<Activation>,
    /// λ of the penalty λ/2·|w|² per particle (eq. 1).
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    penalty: Option<f64>,
    /// Langevin temperature τ ≥ 0: adds N(0, 2·η_n·τ) noise per coordinate and step, η_n = step/N (supplement S2).
    #[arg(long, allow_negative_numbers = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    /// Polyak-average the weights from this step on (off unless set here or by the preset).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    average_from: Option<u64>,
    /// `epochs` (reshuffled, the authors' loader) or `iid` (with replacement, the theory).
    #[arg(long, value_parser = choices(<Sampling as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    sampling: Option<Sampling>,
    /// Evaluate on the full train and test sets every K steps (0: at the start and the end).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    eval_every: Option<u64>,
    /// Write a checkpoint every K steps (0: never); rerunning continues from it.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint_every: Option<u64>,
    /// Require a checkpoint in the run directory and continue from it.
    #[arg(long)]
    #[serde(skip)]
    pub resume: bool,
    /// Write the batch loss to metrics.csv every K steps [default: 1 on flex and ndarray, 100 on
    /// wgpu and cuda, where each logged step waits for the device].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_every: Option<u64>,
    /// Train on the first K training images only.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    train_subset: Option<usize>,
    /// Test on the first K test images only.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    test_subset: Option<usize>,
    /// flex or ndarray (CPU, always built), wgpu or cuda (cargo features).
    #[arg(long, value_parser = choices(<Backend as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<Backend>,
    /// closed-form (the net's exact gradient) or autodiff (Burn's autodiff + optimizer API).
    #[arg(long, value_parser = choices(<Engine as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<Engine>,
    /// sgd (eq. 2: one batch shared by all particles) or diffusion (the paper's particle system
    /// (6): each particle its own Gaussian noise of covariance Σ/M; docs/diffusion.md).
    #[arg(long, value_parser = choices(<Dynamics as VariantArray>::VARIANTS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamics: Option<Dynamics>,
    /// The diffusion's drift set: batch (M examples drawn per step), K drawn per step, or full
    /// (the whole training set: exact).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    drift_set: Option<ExampleSet>,
    /// The diffusion's noise set, over which each particle's gradient covariance Σ is taken:
    /// batch, K, or full.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_set: Option<ExampleSet>,
    /// Your own arrays: normalisation and class count.
    #[command(flatten)]
    #[serde(skip_serializing_if = "ArraysFlags::is_empty")]
    arrays: ArraysFlags,
    /// Where datasets live; for `arrays`, the folder with the .npy files.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Do not fetch missing MNIST, Fashion-MNIST or CIFAR-10 files (CIFAR-10 from
    /// $MEANFIELD_CIFAR10_URL when set, checked against $MEANFIELD_CIFAR10_MD5).
    #[arg(long)]
    #[serde(skip)]
    pub no_fetch: bool,
    /// The run directory [default: runs/<dataset>-N<width>-beta<β>-seed<seed>-<hash>].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    /// A TOML file of settings (same keys as config.toml), applied over the preset.
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Start from hidden.npy and readout.npy in this run directory.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    init_from: Option<PathBuf>,
    /// When another process is training this run: wait for it, then reuse its finished run
    /// (without --wait that is an error naming the process).
    #[serde(skip)]
    #[arg(long)]
    pub wait: bool,
    /// Train again even if the run directory holds a finished run.
    #[arg(long)]
    #[serde(skip)]
    pub force: bool,
    /// No progress or messages on stderr.
    #[arg(long, short)]
    #[serde(skip)]
    pub quiet: bool,
}

impl TrainArgs {
    /// Whether --gamma was given (studies that set γ per run refuse it).
    pub fn gamma_given(&self) -> bool {
        self.gamma.is_some()
    }

    /// Whether --batch was given (studies that set M per run refuse it).
    pub fn batch_given(&self) -> bool {
        self.batch.is_some()
    }

    /// Resolves defaults < preset < --config < flags into a checked config.
    pub fn resolve(&self, preset: &str) -> Result<TrainConfig> {
        self.resolve_layers(Some(preset))
    }

    /// Resolves defaults < --config < flags, without a preset (`experiments run`).
    pub fn resolve_without_preset(&self) -> Result<TrainConfig> {
        if self.config.is_none() {
            anyhow::bail!(
                "`experiments run` trains the setting of --config FILE (a run's config.toml, or configs/<i>.toml of a --plan): give --config"
            );
        }
        self.resolve_layers(None)
    }

    fn resolve_layers(&self, preset: Option<&str>) -> Result<TrainConfig> {
        let mut layers = Vec::new();
        if let Some(preset) = preset {
            layers.push((
                format!("configs/{preset}.toml"),
                TrainConfig::preset(preset)?,
            ));
        }
        if let Some(path) = &self.config {
            let table =
                read_settings_file(path).with_context(|| format!("--config {}", path.display()))?;
            layers.push((path.display().to_string(), table));
        }
        layers.push(("command-line flags".into(), self.flags()?));
        Ok(TrainConfig::resolve(layers)?)
    }

    /// The training flags given, as a table of `config.toml` keys, without --out (which the
    /// study commands use for their own folder).
    pub fn settings(&self) -> Result<toml::Table> {
        let mut t = self.flags()?;
        t.remove("out");
        Ok(t)
    }

    fn flags(&self) -> Result<toml::Table> {
        toml::Table::try_from(self).context("a flag's value does not fit in a config file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed value parses back to itself, so `--help`'s lists are the enums' values.
    #[test]
    fn enum_values_round_trip() {
        fn check<T: std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug>(
            all: &[T],
        ) {
            for v in all {
                let back: Option<T> = v.to_string().parse().ok();
                assert_eq!(back.as_ref(), Some(v), "{v}");
            }
        }
        check(<Readout as VariantArray>::VARIANTS);
        check(<Activation as VariantArray>::VARIANTS);
        check(<Sampling as VariantArray>::VARIANTS);
        check(<Backend as VariantArray>::VARIANTS);
        check(<Engine as VariantArray>::VARIANTS);
        check(<Dynamics as VariantArray>::VARIANTS);
    }

    /// The help's defaults come from the setting each command starts from.
    #[test]
    fn help_shows_the_presets_defaults() {
        let mut cmd = command();
        let help = |cmd: &mut clap::Command, sub: &str| {
            cmd.find_subcommand_mut(sub)
                .expect("a subcommand")
                .render_long_help()
                .to_string()
        };
        let cifar = help(&mut cmd, "cifar");
        assert!(cifar.contains("[preset cifar: 0.1]"), "{cifar}");
        assert!(
            cifar.contains("[possible values: trainable, fixed]"),
            "{cifar}"
        );
        assert!(
            cifar.contains("[possible values: flex, ndarray, wgpu, cuda]"),
            "{cifar}"
        );
        let mnist = help(&mut cmd, "mnist");
        assert!(
            mnist.contains("[preset mnist: 1]"),
            "γ = 1 on MNIST: {mnist}"
        );
        let coupling = help(&mut cmd, "coupling");
        assert!(
            coupling.contains("[preset chaos-quick: fixed]"),
            "{coupling}"
        );
        // Each flag states its default once (bench's --batch has its own clap default, which
        // the preset's must not repeat).
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        for name in names {
            let text = help(&mut cmd, &name);
            for paragraph in text.split("\n\n") {
                let defaults = paragraph.matches("[default").count()
                    + paragraph.matches("[preset ").count()
                    + paragraph.matches("[program default").count();
                assert!(defaults <= 1, "{name}: two defaults in {paragraph:?}");
            }
        }
        assert!(help(&mut cmd, "bench").contains("[default: 100]"));
    }
}
