//! Every setting of a training run, with its default, and how a run's config is resolved:
//!
//! ```text
//! defaults (on TrainConfig's fields)  <  preset (configs/<name>.toml)  <  --config FILE  <  flags
//! ```
//! Each layer is a TOML table; unknown keys and wrong types are errors (never ignored). The
//! resolved config is written to the run directory as `config.toml`.

use crate::diffusion::{Dynamics, ExampleSet};
use crate::setting::{Flag, Role, Setting, Value, at_least_one, finite_non_negative};
use crate::{Backend, TrainError};
use meanfield_data::arrays::ArraysConfig;
use meanfield_data::synthetic::SyntheticConfig;
use meanfield_data::{DatasetKind, Sampling};
use meanfield_model::{Activation, Init, MeanFieldNetConfig, Readout};
use meanfield_optim::ScheduleConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use strum::VariantNames;

/// How gradients are computed. Both apply the same [`meanfield_optim::ScaledSgd`] update.
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
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Engine {
    /// The closed-form gradient of the two-layer net (two products and a mask); no graph.
    #[default]
    ClosedForm,
    /// Burn's autodiff and its `ModuleOptimizer`: the generic path any Burn module can use.
    Autodiff,
}

/// Declares the settings struct: each field with its default after `=` (as Burn's
/// `#[config(default = …)]`), then, after `=>`, the rest of its [`Setting`] (its flag, its
/// role in the identity, its own range). Derives `Default` and [`SETTINGS`]: a setting is
/// declared once, here, and the flags, help defaults, range checks and identity follow.
/// Attributes and doc comments pass through to the field.
macro_rules! settings {
    (
        $(#[$struct_attr:meta])*
        pub struct $name:ident {
            $($(#[$field_attr:meta])* pub $field:ident: $ty:ty = $default:expr
                => { $($setting:tt)* },)*
        }
    ) => {
        $(#[$struct_attr])*
        pub struct $name {
            $($(#[$field_attr])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                }
            }
        }

        /// Every setting of [`TrainConfig`], in the order of its fields (and of `config.toml`).
        pub const SETTINGS: &[Setting] = &[
            $(Setting { key: stringify!($field), $($setting)* ..Setting::BASE },)*
        ];
    };
}

settings! {
/// A training run's settings, each with the program's default (`TrainConfig::default()`) after
/// its `=` and what else it is ([`Setting`]) after its `=>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The dataset (each training command's preset names it; `run` reads it from its file).
    pub dataset: DatasetKind = DatasetKind::Mnist => {},
    /// N, hidden neurons.
    pub width: usize = 1000 => {
        flag: Some(Flag::new("N, the number of hidden neurons", Value::Count)),
        check: |c| at_least_one(c.width as u64),
    },
    /// α of eq. (2).
    pub alpha: f64 = 0.0 => {
        flag: Some(Flag::new("α in [0, 1): the step decays like n^(-α)", Value::Real)),
    },
    /// β of eq. (2).
    pub beta: f64 = 1.0 => {
        flag: Some(Flag::new("β in [0, 1]: the step grows like N^β", Value::Real)),
    },
    /// γ of eq. (2).
    pub gamma: f64 = 1.0 => {
        flag: Some(Flag::new("γ > 0, the base step", Value::Real)),
    },
    /// M, the batch size.
    pub batch: usize = 100 => {
        flag: Some(Flag::new("M, the batch size", Value::Count)),
        check: |c| at_least_one(c.batch as u64).map_err(|_| "the batch size M must be ≥ 1".into()),
    },
    /// T, the continuous-time horizon; the run takes n_T = floor(T / γ_αβ(N)) steps.
    pub horizon: f64 = 100.0 => {
        flag: Some(Flag::new(
            "T, the continuous-time horizon; n_T = floor(T / γ_αβ(N)) steps",
            Value::Real,
        )),
    },
    /// Overrides n_T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64> = None => {
        flag: Some(Flag::new("Run exactly this many steps instead of n_T", Value::Count)),
        check: |c| match c.steps {
            Some(s) if s > MAX_HORIZON_STEPS => Err(format!(
                "{s} steps is more than {MAX_HORIZON_STEPS}: a run that cannot finish (weeks of training and a metrics.csv of tens of GB per 10^9 steps). Give fewer steps, or set the continuous time with `horizon`"
            )),
            _ => Ok(()),
        },
    },
    /// Seed of everything random in the run: the initial particles and the batch order (and
    /// the Langevin noise), unless `init_seed` or `data_seed` says otherwise.
    pub seed: u64 = 0 => {
        flag: Some(Flag::new(
            "Seed of everything random: the initial particles and the batch order",
            Value::Count,
        )),
    },
    /// Seed of the initial particles (particle k depends only on this seed and k); `seed`
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_seed: Option<u64> = None => {
        flag: Some(Flag::new(
            "Seed of the initial particles only (particle k depends on this seed and k alone, so a width-N run starts from the first N particles of any wider one)",
            Value::Count,
        ).default_note("--seed")),
    },
    /// Seed of the batch order, the Langevin noise and the diffusion's noise; `seed` when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64> = None => {
        flag: Some(Flag::new(
            "Seed of the batch order, the Langevin noise and the diffusion's noise only",
            Value::Count,
        ).default_note("--seed")),
    },
    pub readout: Readout = Readout::Trainable => {
        flag: Some(Flag::new(
            "trainable (both layers, the authors' code) or fixed (the theory)",
            Value::Choice(<Readout as VariantNames>::VARIANTS),
        )),
    },
    /// Law of the hidden weights.
    pub init: Init = Init::Pytorch => {
        flag: Some(Flag::new(
            "Law of the hidden weights: pytorch, normal:<std>, uniform:<a>, const:<c>",
            Value::Text,
        )),
    },
    /// Law of the readout.
    pub readout_init: Init = Init::Pytorch => {
        flag: Some(Flag::new(
            "Law of the readout (same forms; a fixed readout needs an N-independent one)",
            Value::Text,
        )),
    },
    pub activation: Activation = Activation::Relu => {
        flag: Some(Flag::new(
            "The activation",
            Value::Choice(<Activation as VariantNames>::VARIANTS),
        )),
    },
    /// λ of the penalty λ/2·|w|² per particle (eq. 1); 0 disables it.
    pub penalty: f64 = 0.0 => {
        flag: Some(Flag::new("λ of the penalty λ/2·|w|² per particle (eq. 1)", Value::Real)),
        check: |c| finite_non_negative(c.penalty),
    },
    /// Langevin temperature τ ≥ 0 (supplement S2): Gaussian noise sqrt(2 η_n τ) per coordinate
    /// and step, η_n the per-particle step; 0 is plain SGD.
    pub temperature: f64 = 0.0 => {
        flag: Some(Flag::new(
            "Langevin temperature τ ≥ 0: adds N(0, 2·η_n·τ) noise per coordinate and step, η_n = step/N (supplement S2)",
            Value::Real,
        )),
        check: |c| finite_non_negative(c.temperature),
    },
    /// First step of Polyak averaging; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_from: Option<u64> = None => {
        flag: Some(Flag::new("Polyak-average the weights from this step on", Value::Count)
            .default_note("off")),
    },
    pub sampling: Sampling = Sampling::Epochs => {
        flag: Some(Flag::new(
            "epochs (reshuffled, the authors' loader) or iid (with replacement, the theory)",
            Value::Choice(<Sampling as VariantNames>::VARIANTS),
        )),
    },
    /// Full train/test evaluation every this many steps (0: only at the start and the end).
    pub eval_every: u64 = 0 => {
        flag: Some(Flag::new(
            "Evaluate on the full train and test sets every K steps (0: at the start and the end)",
            Value::Count,
        )),
        role: Role::Operational,
    },
    /// Write the batch loss to metrics.csv every this many steps. When no layer sets it,
    /// [`Backend::default_log_every`] of the run's backend (1 on a CPU, 100 on a GPU).
    pub log_every: u64 = Backend::default().default_log_every() => {
        flag: Some(Flag::new(
            "Write the batch loss to metrics.csv every K steps (each logged step waits for a GPU)",
            Value::Count,
        ).default_note("1 on flex and ndarray, 100 on wgpu and cuda")),
        role: Role::Operational,
        check: |c| at_least_one(c.log_every),
    },
    /// Write a checkpoint every this many steps (0: never); a run resumes from its last one.
    pub checkpoint_every: u64 = 1000 => {
        flag: Some(Flag::new(
            "Write a checkpoint every K steps (0: never); rerunning continues from it",
            Value::Count,
        )),
        role: Role::Operational,
    },
    /// The largest tensor one buffer of the device may hold, in bytes ([`crate::buffers`]):
    /// the device's storage-binding limit when `None` (none on a CPU). Set lower to try a GPU's
    /// limits on a CPU, or to stay below a driver's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_buffer_bytes: Option<u64> = None => {
        flag: Some(Flag::new(
            "The largest tensor one device buffer holds, in bytes",
            Value::Count,
        ).default_note("the GPU's storage-binding limit; none on flex and ndarray")),
        role: Role::Operational,
        check: |c| match c.max_buffer_bytes {
            Some(b) if b < 1 << 20 => Err(format!(
                "{b} bytes is below 1 MiB: no tensor of a run fits; give at least 1048576"
            )),
            _ => Ok(()),
        },
    },
    /// Use only the first K training images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize> = None => {
        flag: Some(Flag::new("Train on the first K training examples only", Value::Count)),
        check: |c| c.train_subset.map_or(Ok(()), |k| at_least_one(k as u64)),
    },
    /// Use only the first K test images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize> = None => {
        flag: Some(Flag::new("Test on the first K test examples only", Value::Count)),
        check: |c| c.test_subset.map_or(Ok(()), |k| at_least_one(k as u64)),
    },
    pub backend: Backend = Backend::default() => {
        flag: Some(Flag::new(
            "flex or ndarray (CPU, always built), wgpu or cuda (cargo features)",
            Value::Choice(<Backend as VariantNames>::VARIANTS),
        )),
    },
    pub engine: Engine = Engine::default() => {
        flag: Some(Flag::new(
            "closed-form (the net's exact gradient) or autodiff (Burn's autodiff + optimizer API)",
            Value::Choice(<Engine as VariantNames>::VARIANTS),
        )),
    },
    /// `sgd` (eq. 2) or `diffusion` (the particle system (6), [`crate::diffusion`]).
    #[serde(default, skip_serializing_if = "Dynamics::is_sgd")]
    pub dynamics: Dynamics = Dynamics::Sgd => {
        flag: Some(Flag::new(
            "sgd (eq. 2: one batch shared by all particles) or diffusion (the paper's particle system (6): each particle its own Gaussian noise of covariance Σ/M; docs/diffusion.md)",
            Value::Choice(<Dynamics as VariantNames>::VARIANTS),
        )),
    },
    /// The diffusion's drift set: `batch` (M examples drawn per step), K drawn, or `full`.
    #[serde(default, skip_serializing_if = "ExampleSet::is_batch")]
    pub drift_set: ExampleSet = ExampleSet::Batch => {
        flag: Some(Flag::new(
            "The diffusion's drift set: batch (M examples drawn per step), K drawn per step, or full (the whole training set: exact)",
            Value::Text,
        )),
    },
    /// The diffusion's noise set (its covariance Σ is estimated over it): as `drift_set`.
    #[serde(default, skip_serializing_if = "ExampleSet::is_batch")]
    pub noise_set: ExampleSet = ExampleSet::Batch => {
        flag: Some(Flag::new(
            "The diffusion's noise set, over which each particle's gradient covariance Σ is taken: batch, K, or full",
            Value::Text,
        )),
    },
    pub data_dir: PathBuf = PathBuf::from("data") => {
        flag: Some(Flag::new(
            "Where datasets live; for `arrays`, the folder with the .npy files",
            Value::Path,
        )),
        role: Role::Operational,
    },
    /// Parent of automatically named run directories.
    pub runs_dir: PathBuf = PathBuf::from("runs") => {
        flag: Some(Flag::new(
            "Parent of the automatically named run directories",
            Value::Path,
        )),
        role: Role::Operational,
    },
    /// The run directory; `runs_dir/<automatic name>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf> = None => {
        flag: Some(Flag::new("The run directory", Value::Path)
            .default_note("<runs-dir>/<dataset>-N<width>-beta<β>-seed<seed>-<hash>")),
        role: Role::Operational,
    },
    /// Start from `hidden.npy` and `readout.npy` in this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf> = None => {
        flag: Some(Flag::new(
            "Start from hidden.npy and readout.npy in this folder (a run directory's are checked against its manifest)",
            Value::Path,
        )),
    },
    /// The synthetic teacher task (used when dataset = "synthetic").
    pub synthetic: SyntheticConfig = SyntheticConfig::default() => {},
    /// Normalisation and class count of your own arrays (used when dataset = "arrays"; the
    /// files are in `data_dir`).
    #[serde(default, skip_serializing_if = "ArraysConfig::is_default")]
    pub arrays: ArraysConfig = ArraysConfig::default() => {
        table_flags: &[
            ("normalize", Flag::new(
                "Your arrays: none, standardize (per feature, with the training set's mean and sd) or affine:<mean>:<std>",
                Value::Text,
            ).default_note("none").only_for(DatasetKind::Arrays)),
            ("classes", Flag::new("Your arrays: the number of classes", Value::Count)
                .default_note("the largest label + 1").only_for(DatasetKind::Arrays)),
        ],
    },
    /// Save the particles at K + 1 evenly spaced times t_j = j·T/K (the step ⌊t_j/γ_αβ(N)⌋, so
    /// every width shares the time grid) under `snapshots/` of the run directory; none when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<u64> = None => {
        flag: Some(Flag::new(
            "Save the particles at K + 1 evenly spaced times t_j = jT/K under snapshots/",
            Value::Count,
        )),
        check: |c| match c.snapshots {
            Some(0) => Err("K must be ≥ 1 (K + 1 snapshots at t = 0, T/K, …, T)".into()),
            _ => Ok(()),
        },
    },
    /// Save only the first R particles in each snapshot (all when absent): a reference run
    /// needs only as many as the widest run it is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_rows: Option<usize> = None => {
        check: |c| c.snapshot_rows.map_or(Ok(()), |r| at_least_one(r as u64)),
    },
    /// Every particle starts at the same point (both inits `const:`), so all N stay identical
    /// and the run is exactly one particle stepping with γN^(β−1)(n + 1/γ_αβ(N))^(−α): train
    /// a width-1 network standing for `width` particles (Figure 2 at N = 10^6 for the cost of
    /// N = 1). The saved weights then have one row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identical_particles: bool = false => {},
}
}

/// The presets shipped in `configs/`, compiled into the program.
pub const PRESETS: [(&str, &str); 9] = [
    ("mnist", include_str!("../../../configs/mnist.toml")),
    (
        "fashion-mnist",
        include_str!("../../../configs/fashion-mnist.toml"),
    ),
    ("cifar", include_str!("../../../configs/cifar.toml")),
    ("synthetic", include_str!("../../../configs/synthetic.toml")),
    ("arrays", include_str!("../../../configs/arrays.toml")),
    (
        "chaos-quick",
        include_str!("../../../configs/chaos-quick.toml"),
    ),
    ("tails", include_str!("../../../configs/tails.toml")),
    (
        "sgd-vs-diffusion",
        include_str!("../../../configs/sgd-vs-diffusion.toml"),
    ),
    (
        "diffusion-quick",
        include_str!("../../../configs/diffusion-quick.toml"),
    ),
];

/// The most steps a run may take, from its horizon (T / γ_αβ(N)) or `steps`: 10^9 steps are
/// weeks of training at the smallest widths (about 3 ms a step at N = 1000 on 2 cores), and a
/// `metrics.csv` of tens of gigabytes at one row per step. More is a run that cannot finish.
pub const MAX_HORIZON_STEPS: u64 = 1_000_000_000;

/// Parses TOML text into a table; `name` is used in error messages.
pub fn parse_table(name: &str, text: &str) -> Result<toml::Table, TrainError> {
    text.parse::<toml::Table>().map_err(|e| TrainError::Config {
        source_name: name.to_string(),
        message: e.to_string(),
    })
}

/// The largest settings file read: a complete config.toml is about 2 KB, so a megabyte is a
/// file that is not one (or a device such as /dev/zero that never ends).
const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// The text of a settings file, read only up to [`MAX_SETTINGS_BYTES`].
fn read_settings_text(path: &Path) -> Result<String, TrainError> {
    use std::io::Read;
    let read_error = |source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_SETTINGS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_SETTINGS_BYTES {
        return Err(TrainError::Config {
            source_name: path.display().to_string(),
            message: format!(
                "is larger than {} MiB, which no settings file is (a config.toml is about 2 KB): give a TOML file of settings",
                MAX_SETTINGS_BYTES >> 20
            ),
        });
    }
    String::from_utf8(bytes).map_err(|e| TrainError::Config {
        source_name: path.display().to_string(),
        message: format!("is not UTF-8 text ({e}): give a TOML file of settings"),
    })
}

/// Reads a TOML file into a table.
pub fn read_table(path: &Path) -> Result<toml::Table, TrainError> {
    let text = read_settings_text(path)?;
    parse_table(&path.display().to_string(), &text)
}

/// Reads a file of settings (`--config FILE`: a run's config.toml, a job of `--plan`, or a few
/// keys of your own) into a table, after checking it alone: an unknown key or a value of the
/// wrong type is reported at its line in that file, not in the merged setting.
pub fn read_settings_file(path: &Path) -> Result<toml::Table, TrainError> {
    let text = read_settings_text(path)?;
    let name = path.display().to_string();
    toml::from_str::<TrainConfig>(&text).map_err(|e| TrainError::Config {
        source_name: name.clone(),
        message: e.to_string(),
    })?;
    parse_table(&name, &text)
}

/// Checks a table of settings given by a program (the Python package's config dict or keyword
/// arguments) alone, as [`read_settings_file`] checks a file: an unknown key or a value of the
/// wrong type is reported with that key's own line, under `source_name`.
pub fn check_settings_table(source_name: &str, table: &toml::Table) -> Result<(), TrainError> {
    // A nested table given as a list would fill its fields by position.
    let defaults = toml::Table::try_from(TrainConfig::default()).expect("defaults serialise");
    if let Some(key) = table
        .iter()
        .find(|(k, v)| defaults.get(*k).is_some_and(toml::Value::is_table) && !v.is_table())
        .map(|(k, _)| k)
    {
        return Err(TrainError::Config {
            source_name: source_name.to_string(),
            message: format!(
                "`{key}` is a table of its own keys (a dict in Python, a [{key}] table in TOML), not a single value or a list"
            ),
        });
    }
    let text = toml::to_string(table).map_err(|e| TrainError::Config {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    toml::from_str::<TrainConfig>(&text)
        .map(|_| ())
        .map_err(|e| TrainError::Config {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })
}

/// The value at `path` (a key, or a nested table's key: `["arrays", "normalize"]`) of `table`.
pub fn table_get<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (last, parents) = path.split_last()?;
    let mut t = table;
    for p in parents {
        t = t.get(*p)?.as_table()?;
    }
    t.get(*last)
}

/// Refuses, in the settings a caller gave itself (`given`: flags, or the Python package's
/// keywords), a dataset's own setting (`arrays`' `normalize`, …) for a run on another
/// dataset, where it would change nothing.
pub fn check_dataset_settings(
    given: &toml::Table,
    dataset: meanfield_data::DatasetKind,
) -> Result<(), TrainError> {
    for (name, path, flag) in SETTINGS.iter().flat_map(|s| s.flags()) {
        if let Some(only) = flag.only_for
            && only != dataset
            && table_get(given, &path).is_some()
        {
            return Err(TrainError::Config {
                source_name: format!("`{name}`"),
                message: format!(
                    "applies to runs on {only} only, and this setting's dataset is {dataset}: leave it out"
                ),
            });
        }
    }
    use meanfield_data::DatasetKind as D;
    // A dataset's own table, for a run on another dataset (its keys without a flag of their
    // own, such as the synthetic task's, included; the flags were named above).
    for (table, only) in [("synthetic", D::Synthetic), ("arrays", D::Arrays)] {
        if given.contains_key(table) && dataset != only {
            return Err(TrainError::Config {
                source_name: format!("`{table}`"),
                message: format!(
                    "applies to runs on {only} only, and this setting's dataset is {dataset}: leave it out"
                ),
            });
        }
    }
    Ok(())
}

/// Refuses settings given over a file that names its run directory (`out`, as a job of a
/// plan does): the file trains that run, and a key of `over` that changes the setting would
/// train another one into it. `over` holding `out` itself names a new folder: allowed.
pub fn check_out_kept(
    source: &str,
    file: &toml::Table,
    over: &toml::Table,
) -> Result<(), TrainError> {
    if let Some(out) = file.get("out")
        && !over.contains_key("out")
    {
        let operational: Vec<&str> = crate::identity::operational().collect();
        if let Some(key) = over.keys().find(|k| !operational.contains(&k.as_str())) {
            return Err(TrainError::Config {
                source_name: source.to_string(),
                message: format!(
                    "names its run directory (out = {out}), and `{key}` changes the setting: another setting would be trained into that folder. Leave `{key}` out, or give `out` for the new run"
                ),
            });
        }
    }
    Ok(())
}

/// Merges `over` into `base`, recursing into nested tables.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl TrainConfig {
    /// The preset's table, by name.
    pub fn preset(name: &str) -> Result<toml::Table, TrainError> {
        let (_, text) =
            PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| TrainError::Config {
                    source_name: format!("preset {name:?}"),
                    message: format!(
                        "no such preset; known: {}",
                        PRESETS.map(|(n, _)| n).join(", ")
                    ),
                })?;
        parse_table(&format!("configs/{name}.toml"), text)
    }

    /// The setting of preset `name` alone: the defaults under its table, no file or flag over
    /// it.
    pub fn from_preset(name: &str) -> Result<Self, TrainError> {
        Self::resolve(vec![(name.to_string(), Self::preset(name)?)])
    }

    /// What a valid setting does that its user may not expect, one sentence each (the binary
    /// prints them before training): `steps` 0 (no step: the initial particles are the
    /// result), a `--steps` that ends the run before `--average-from`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.steps == Some(0) {
            out.push(
                "note: `steps` 0 takes no step: the run's hidden.npy and readout.npy are its initial particles (what another run's `init_from` can start from), and summary.json says finished after 0 steps".into(),
            );
        }
        if let (Some(steps), Some(n0)) = (self.steps, self.average_from)
            && n0 > steps
        {
            out.push(format!(
                "warning: `steps` {steps} ends the run before `average_from` {n0}: the Polyak average never starts, and summary.json's \"averaged\" will be null"
            ));
        }
        out
    }

    /// Defaults, then each layer in order (later wins); then validation.
    pub fn resolve(layers: Vec<(String, toml::Table)>) -> Result<Self, TrainError> {
        let mut table = toml::Table::try_from(Self::default()).expect("defaults serialise");
        let mut names = vec!["defaults".to_string()];
        let log_every_given = layers.iter().any(|(_, l)| l.contains_key("log_every"));
        for (name, layer) in layers {
            names.push(name);
            merge(&mut table, layer);
        }
        // Parsing the merged table's text (not the table itself) makes the error quote the
        // offending line, so "unknown variant `tpu`" comes with `backend = "tpu"`.
        let text = toml::to_string(&table).expect("a table serialises");
        let mut config: Self =
            toml::from_str(&text).map_err(|e: toml::de::Error| TrainError::Config {
                source_name: names.join(" + "),
                message: e.to_string(),
            })?;
        if !log_every_given {
            config.log_every = config.backend.default_log_every();
        }
        config.validate()?;
        Ok(config)
    }

    /// The seed of the initial particles.
    pub fn init_seed(&self) -> u64 {
        self.init_seed.unwrap_or(self.seed)
    }

    /// The seed of the batch order and the Langevin noise.
    pub fn data_seed(&self) -> u64 {
        self.data_seed.unwrap_or(self.seed)
    }

    /// The step-size schedule's settings.
    pub fn schedule(&self) -> ScheduleConfig {
        ScheduleConfig {
            gamma: self.gamma,
            alpha: self.alpha,
            beta: self.beta,
            width: self.width,
            horizon: self.horizon,
        }
    }

    /// Rows of the trained network: `width`, or 1 when one particle stands for all
    /// ([`TrainConfig::identical_particles`]).
    pub fn net_width(&self) -> usize {
        if self.identical_particles {
            1
        } else {
            self.width
        }
    }

    /// The step applied to the trained network at step n, from the N-network's step `lr`:
    /// `lr` itself, or the per-particle step lr/N for the one-particle reduction (a width-1
    /// network's gradient is the particle's own field, N times the N-network's gradient).
    pub fn applied_step(&self, lr: f64) -> f64 {
        if self.identical_particles {
            lr / self.width as f64
        } else {
            lr
        }
    }

    /// The network's settings for input dimension `input_dim` (width [`Self::net_width`]).
    pub fn net(&self, input_dim: usize, classes: usize) -> MeanFieldNetConfig {
        MeanFieldNetConfig::new(self.net_width(), input_dim)
            .with_classes(classes)
            .with_readout(self.readout)
            .with_hidden_init(self.init)
            .with_readout_init(self.readout_init)
            .with_activation(self.activation)
    }

    /// Checks every range (the schedule's, the network's, and the run's own).
    pub fn validate(&self) -> Result<(), TrainError> {
        let schedule = self.schedule().init()?;
        if self.steps.is_none() && schedule.horizon_steps() == 0 {
            return Err(meanfield_optim::OptimError::NoSteps {
                flag: "`horizon`",
                value: self.horizon,
            }
            .into());
        }
        let bad = |flag: &str, message: String| TrainError::Config {
            source_name: flag.to_string(),
            message,
        };
        // Each setting's own range, as declared.
        for setting in SETTINGS {
            (setting.check)(self).map_err(|m| bad(&format!("`{}`", setting.key), m))?;
        }
        if self.identical_particles {
            let why = if !matches!(self.init, Init::Const(_)) {
                Some(format!("`init` is {}", self.init))
            } else if !matches!(self.readout_init, Init::Const(_)) {
                Some(format!("`readout_init` is {}", self.readout_init))
            } else if self.temperature > 0.0 {
                Some("`temperature` > 0 moves each particle with its own noise".into())
            } else if self.init_from.is_some() {
                Some("`init_from` may hold distinct particles".into())
            } else {
                None
            };
            if let Some(why) = why {
                return Err(bad(
                    "identical_particles",
                    format!(
                        "needs particles that start and stay identical: both inits const:<c> and no noise, but {why}"
                    ),
                ));
            }
        }
        self.validate_dynamics()?;
        // Settings that cannot finish, or that would write absurd output.
        let horizon_ratio = self.horizon / schedule.time_step();
        // NaN (an infinite step count) is refused too.
        let finishes = horizon_ratio
            .partial_cmp(&(MAX_HORIZON_STEPS as f64))
            .is_some_and(|o| o.is_le());
        if self.steps.is_none() && !finishes {
            return Err(bad(
                "`horizon`/`gamma`",
                format!(
                    "T = {} at γ = {} gives n_T = {horizon_ratio:.3e} steps (γ_αβ(N) = {:.3e}), more than {MAX_HORIZON_STEPS}: a run that cannot finish. Check `gamma` and `horizon`, or give `steps` to run a fixed number of steps",
                    self.horizon,
                    self.gamma,
                    schedule.time_step()
                ),
            ));
        }
        let steps = self.steps.unwrap_or(schedule.horizon_steps());
        if let Some(rows) = self.snapshot_rows {
            if self.snapshots.is_none() {
                return Err(bad(
                    "`snapshot_rows`",
                    "keeps rows of the snapshots, and `snapshots` is not set: give `snapshots` K, or leave `snapshot_rows` out".into(),
                ));
            }
            if rows > self.net_width() {
                return Err(bad(
                    "`snapshot_rows`",
                    format!(
                        "{rows} rows of a network of {} particles: give at most {}, or leave it out (every particle)",
                        self.net_width(),
                        self.net_width()
                    ),
                ));
            }
        }
        if self.snapshots.is_some() && steps == 0 {
            return Err(bad(
                "`snapshots`",
                "a run of 0 steps takes no snapshot: leave `snapshots` out, or run at least one step".into(),
            ));
        }
        if let Some(k) = self.snapshots
            && k > steps
        {
            return Err(bad(
                "`snapshots`",
                format!(
                    "K = {k} asks for more snapshots than the run has steps ({steps}): choose K ≤ {steps} (one snapshot per step at most)"
                ),
            ));
        }
        if let (Some(k), Some(s)) = (self.snapshots, self.steps) {
            // Snapshots are on the time grid t_j = jT/K; a run stopped by `steps` before T
            // would silently write only the first of them.
            let last = schedule.steps_to(self.horizon);
            if s < last {
                let reached = (0..=k)
                    .filter(|j| schedule.steps_to(*j as f64 * self.horizon / k as f64) <= s)
                    .count();
                return Err(bad(
                    "`snapshots`",
                    format!(
                        "K = {k} puts snapshot j at t = j·T/K up to T = {} (step {last}), but `steps` {s} stops the run at t = {:.4}: only {reached} of the {} snapshots would be written. Leave `steps` out and set `horizon` to the time you want (the snapshots then span it), or run at least {last} steps",
                        self.horizon,
                        s as f64 * schedule.time_step(),
                        k + 1
                    ),
                ));
            }
        }
        // Beyond the horizon the average never starts: an error. A `--steps` shorter than
        // the averaging's start is a short trial run of a long protocol (`cifar --steps 5`
        // with Table 1's n0 = 1000): said by `warnings`, not refused.
        if let Some(n0) = self.average_from
            && self.steps.is_none()
            && n0 > steps
        {
            return Err(bad(
                "`average_from`",
                format!(
                    "n0 = {n0} is beyond the run's last step ({steps}): the average would never start. Choose n0 ≤ {steps}"
                ),
            ));
        }
        let net = self.net(self.synthetic.dim.max(1), 10);
        if self.init_from.is_some() {
            // The weights come from files: only their shapes and values are checked (on load),
            // not the laws they would have been drawn from.
            net.check_sizes()?;
        } else {
            net.validate()?;
        }
        Ok(())
    }

    /// The diffusion's settings: its sets apply to it alone; it needs the closed-form engine
    /// and particles that may differ.
    fn validate_dynamics(&self) -> Result<(), TrainError> {
        let bad = |flag: &str, message: String| TrainError::Config {
            source_name: flag.to_string(),
            message,
        };
        if self.dynamics.is_sgd() {
            for (flag, set) in [
                ("`drift_set`", self.drift_set),
                ("`noise_set`", self.noise_set),
            ] {
                if !set.is_batch() {
                    return Err(bad(
                        flag,
                        format!(
                            "{set} applies only to the particle diffusion: add `dynamics` diffusion, or leave it out (SGD steps on its batch)"
                        ),
                    ));
                }
            }
            return Ok(());
        }
        if self.engine != Engine::ClosedForm {
            return Err(bad(
                "`dynamics`",
                "the diffusion steps every particle with its own example weights, which the closed-form engine computes: use `engine` closed-form".into(),
            ));
        }
        if self.identical_particles {
            return Err(bad(
                "`dynamics`",
                "the diffusion moves each particle with its own noise, so identical particles do not stay identical: train the full width".into(),
            ));
        }
        if self.drift_set.size(self.batch, usize::MAX) == 0 {
            return Err(bad("`drift_set`", "needs at least 1 example".into()));
        }
        if self.noise_set.size(self.batch, usize::MAX) < 2 {
            return Err(bad(
                "`noise_set`",
                format!(
                    "{} example(s) cannot estimate a covariance: give at least 2 (or full)",
                    self.noise_set.size(self.batch, usize::MAX)
                ),
            ));
        }
        Ok(())
    }

    /// The resolved config as TOML (what `config.toml` holds).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_resolve() {
        for (name, _) in PRESETS {
            let c = TrainConfig::from_preset(name).unwrap();
            let again =
                TrainConfig::resolve(vec![("x".into(), parse_table("x", &c.to_toml()).unwrap())])
                    .unwrap();
            assert_eq!(c, again, "{name} round-trips through config.toml");
        }
        // Table 1 protocol (docs/paper.md): γ = 0.1, T = 10000, averaging from step 1000.
        let cifar = TrainConfig::from_preset("cifar").unwrap();
        assert_eq!(
            (cifar.gamma, cifar.horizon, cifar.average_from),
            (0.1, 10_000.0, Some(1000))
        );
        assert_eq!(cifar.dataset, DatasetKind::Cifar10);
    }

    /// The logging interval follows the backend unless a layer sets it: every step on a CPU,
    /// every [`crate::backend::GPU_LOG_EVERY`] (100) steps on a GPU; a given value always wins.
    #[test]
    fn log_every_defaults_by_backend() {
        let resolve = |text: &str| {
            TrainConfig::resolve(vec![("f".into(), parse_table("f", text).unwrap())])
                .unwrap()
                .log_every
        };
        assert_eq!(resolve(""), 1);
        assert_eq!(resolve("backend = \"flex\""), 1);
        assert_eq!(resolve("backend = \"wgpu\""), 100);
        assert_eq!(resolve("backend = \"cuda\""), 100);
        assert_eq!(resolve("backend = \"wgpu\"\nlog_every = 1"), 1);
        assert_eq!(resolve("log_every = 7"), 7);
        // A saved config.toml names its interval, so reading it back changes nothing.
        let gpu = TrainConfig::resolve(vec![(
            "f".into(),
            parse_table("f", "backend = \"wgpu\"").unwrap(),
        )])
        .unwrap();
        assert!(gpu.to_toml().contains("log_every = 100"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_rejected() {
        let err = TrainConfig::resolve(vec![(
            "f.toml".into(),
            parse_table("f", "widht = 5").unwrap(),
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("widht") && err.contains("f.toml"), "{err}");
        let err = TrainConfig::resolve(vec![(
            "f.toml".into(),
            parse_table("f", "width = \"big\"").unwrap(),
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("width") || err.contains("integer"), "{err}");
        let err = TrainConfig::resolve(vec![(
            "flags".into(),
            parse_table("f", "beta = 1.5").unwrap(),
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("`beta`") && err.contains("[0, 1]"), "{err}");
    }
}
