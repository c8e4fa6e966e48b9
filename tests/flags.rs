//! Every flag of every command, walked from the command line's own definition (each command's
//! `--help`): for each, a probe proves that it changes what the command plans or does, or that
//! the command refuses it. A flag with no probe fails the test, so a new flag comes with one.
//!
//! Cheap by design: training commands run one step of a tiny synthetic task (the MNIST and
//! CIFAR-10 commands through `--config` with the synthetic dataset, so no data is read);
//! grids are planned (`--plan`), not trained, except for the flags that change only what is
//! measured, which compare the results of one tiny trained grid.

use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[allow(dead_code)]
mod support;
use support::{bin, copy_dir, npy_bytes as npy, run};

/// The long flags a command's `--help` lists (its clap definition as the user sees it).
fn flags_of(command: &str) -> Vec<String> {
    let out = bin().args([command, "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-q, ").unwrap_or(l);
            let flag = l.strip_prefix("--")?;
            let name: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (name != "help" && name != "version").then_some(name)
        })
        .collect()
}

/// The subcommands `experiments --help` lists.
fn commands() -> Vec<String> {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let from = help.find("Commands:").unwrap();
    help[from..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect()
}

/// Arguments in order: positional words (a name starting with `=`, the command first) and
/// flags by name, each with its value (`None`: a switch).
#[derive(Clone, Debug)]
struct Args(Vec<(String, Option<String>)>);

impl Args {
    fn new(command: &str) -> Self {
        Args(vec![(format!("={command}"), None)])
    }
    fn word(mut self, word: &str) -> Self {
        self.0.push((format!("={word}"), None));
        self
    }
    fn set(mut self, flag: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(f, _)| f == flag) {
            Some(slot) => slot.1 = Some(value),
            None => self.0.push((flag.into(), Some(value))),
        }
        self
    }
    fn switch(mut self, flag: &str) -> Self {
        self.0.push((flag.into(), None));
        self
    }
    fn without(mut self, flag: &str) -> Self {
        self.0.retain(|(f, _)| f != flag);
        self
    }
    fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (name, value) in &self.0 {
            match name.strip_prefix('=') {
                Some(word) => w.push(word.to_string()),
                None => {
                    w.push(format!("--{name}"));
                    w.extend(value.clone());
                }
            }
        }
        w
    }
    /// The same arguments with `from` written as `to` in every value and word.
    fn moved(&self, from: &str, to: &str) -> Self {
        Args(
            self.0
                .iter()
                .map(|(f, v)| (f.replace(from, to), v.as_ref().map(|v| v.replace(from, to))))
                .collect(),
        )
    }
}

/// What a run of the command left that a flag may change: its exit, its output and every file
/// it wrote, each with what changes from one call to the next (times, rates, the manifests'
/// digests of files holding them) taken out ([`untimed`]), so two calls of one command line
/// compare equal (checked for every command, [`every_flag_is_honoured_or_refused`]).
#[derive(Debug, PartialEq)]
struct Seen {
    ok: bool,
    stdout: String,
    stderr: String,
    files: BTreeMap<String, String>,
}

/// `text` without what differs between two calls of one command: durations and rates
/// (`0.41s`, `791.3 steps/s`, `12 ms`), JSON fields of seconds and rates, and a benchmark's
/// measured columns ([`bench_keys`]).
fn untimed(text: &str) -> String {
    static PATTERNS: OnceLock<[Regex; 2]> = OnceLock::new();
    let [json, duration] = PATTERNS.get_or_init(|| {
        [
            Regex::new(r#""(\w*(?:seconds|per_second)\w*)"\s*:\s*[-0-9.eE+]+"#).unwrap(),
            Regex::new(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\s?(?:ms|s|steps/s|min)\b").unwrap(),
        ]
    });
    let text = json.replace_all(text, "\"$1\": #");
    duration.replace_all(&text, "#").into_owned()
}

/// A benchmark's rows (CSV on stdout) with only what does not depend on the machine's speed:
/// the case's columns and the peak's size.
fn bench_keys(stdout: &str) -> String {
    let mut r = csv::Reader::from_reader(stdout.as_bytes());
    let headers = r.headers().unwrap().clone();
    let keep = [
        "backend",
        "dynamics",
        "engine",
        "width",
        "input_dim",
        "batch",
        "readout",
        "peak_size",
    ];
    r.records()
        .map(|row| {
            let row = row.unwrap();
            headers
                .iter()
                .zip(row.iter())
                .filter(|(h, _)| keep.contains(h))
                .map(|(h, v)| format!("{h}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file under `dir` by path relative to it: text as text, anything else (weights) by a
/// hash of its bytes. Manifests are left out: they hold the digests of files with times in
/// them, and every file they list is compared itself.
fn files_of(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if name.ends_with("manifest.json") || name.ends_with(".lock") {
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let content = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    e.as_bytes().hash(&mut h);
                    format!("bytes {:016x}", h.finish())
                }
            };
            out.insert(name, content);
        }
    }
    out
}

/// How one flag is probed: the command without and with it (each in its own fresh folder,
/// substituted for `{dir}`), and what must differ.
struct Probe {
    without: Args,
    with: Args,
    /// Compared besides the files written (a behaviour seen only in the output).
    compare_output: bool,
    /// The command without the flag fails (`run` without `--config`); otherwise it must
    /// succeed, or the probe proves nothing.
    baseline_fails: bool,
}

/// The value a setting flag is probed with, and what else it needs to apply.
fn setting_value(flag: &str, dir: &str) -> Option<(String, Vec<(&'static str, String)>)> {
    let v = |s: &str| Some((s.to_string(), Vec::new()));
    match flag {
        "width" => v("12"),
        "alpha" => v("0.5"),
        "beta" => v("0.5"),
        "gamma" => v("0.5"),
        "batch" => v("20"),
        "horizon" => v("3"),
        "steps" => v("3"),
        "seed" | "init-seed" | "data-seed" => v("5"),
        "readout" => Some(("fixed".into(), vec![("readout-init", "uniform:1".into())])),
        "init" => v("normal:0.1"),
        "readout-init" => v("uniform:0.5"),
        "activation" => v("tanh"),
        "penalty" => v("0.1"),
        "temperature" => v("0.01"),
        "average-from" => v("2"),
        "sampling" => v("iid"),
        "eval-every" => v("1"),
        "log-every" => v("2"),
        "checkpoint-every" => v("1"),
        "train-subset" => v("100"),
        "test-subset" => v("20"),
        "max-buffer-bytes" => v("1048576"),
        "backend" => v("ndarray"),
        "engine" => v("autodiff"),
        "dynamics" => v("diffusion"),
        "drift-set" | "noise-set" => Some(("10".into(), vec![("dynamics", "diffusion".into())])),
        "data-dir" => v(&format!("{dir}/other-data")),
        "runs-dir" => v(&format!("{dir}/other-runs")),
        "out" => v(&format!("{dir}/other-out")),
        "snapshots" => Some(("1".into(), vec![("horizon", "2".into())])),
        "normalize" => v("standardize"),
        "classes" => v("5"),
        _ => None,
    }
}

/// A tiny synthetic task, as a settings file (for the commands whose preset names a dataset on
/// disk) and in a figure preset's layout.
fn write_inputs(dir: &Path) {
    std::fs::write(
        dir.join("synth.toml"),
        "dataset = \"synthetic\"\nsynthetic = { train = 200, test = 50 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("figure.toml"),
        "[train]\ndataset = \"synthetic\"\nhorizon = 2.0\nsynthetic = { train = 200, test = 50 }\ntrain_subset = 200\ntest_subset = 50\naverage_from = 1\n",
    )
    .unwrap();
    // Arrays for the `arrays` command: 60 examples of 4 features, 3 classes.
    let data = dir.join("arrays");
    std::fs::create_dir_all(&data).unwrap();
    let x: Vec<u8> = (0..240u32).map(|i| (i * 37 % 251) as u8).collect();
    let y: Vec<u8> = (0..60u32).map(|i| (i % 3) as u8).collect();
    std::fs::write(data.join("train_x.npy"), npy("|u1", "(60, 4)", &x)).unwrap();
    std::fs::write(data.join("train_y.npy"), npy("|u1", "(60,)", &y)).unwrap();
}

/// The command as a probe starts from: cheap, and free of the flag probed.
fn baseline(command: &str, inputs: &Path, dir: &str) -> Option<Args> {
    let synth = inputs.join("synth.toml").display().to_string();
    let figure = inputs.join("figure.toml").display().to_string();
    let arrays = inputs.join("arrays").display().to_string();
    let train = |a: Args| {
        a.set("width", "8")
            .set("steps", "1")
            .set("out", format!("{dir}/run"))
    };
    let study = |a: Args| {
        a.set("preset", "synthetic")
            .set("horizon", "2")
            .set("train-subset", "200")
            .set("plan", format!("{dir}/plan"))
            .set("out", format!("{dir}/study"))
            .set("config", synth.clone())
    };
    Some(match command {
        "mnist" | "fashion-mnist" | "cifar" | "synthetic" => {
            train(Args::new(command).set("config", synth.clone()))
        }
        "run" => train(Args::new(command).set("config", synth.clone())),
        "arrays" => train(
            Args::new(command)
                .set("data-dir", arrays)
                .set("batch", "30"),
        ),
        "chaos" => study(Args::new(command))
            .set("widths", "8,16")
            .set("seeds", "0"),
        "tails" => study(Args::new(command))
            .set("widths", "20,40")
            .set("gammas", "1")
            .set("batches", "20"),
        "sgd-vs-diffusion" => study(Args::new(command))
            .set("width", "8")
            .set("betas", "1")
            .set("gammas", "1")
            .set("data-seeds", "0,1"),
        "coupling" => study(Args::new(command))
            .set("widths", "8,16")
            .set("snapshots", "2"),
        "coord-check" => Args::new(command)
            .set("preset", "synthetic")
            .set("config", synth)
            .set("widths", "8,16")
            .set("steps", "2")
            .set("out", format!("{dir}/study")),
        "figure1" | "figure2" | "figure3" | "figure-s5" | "table1" => {
            let a = Args::new(command)
                .set("scale", "quick")
                .set("config", figure)
                .set("plan", format!("{dir}/plan"))
                .set("out", format!("{dir}/figure"))
                .set("runs-dir", format!("{dir}/runs"));
            match command {
                "figure1" => a
                    .set("betas", "0.5,1")
                    .set("widths", "8,16")
                    .set("reference-width", "16")
                    .set("reference-width-one", "64"),
                "figure2" => a.set("widths", "8").set("seeds", "0,1"),
                "figure3" => a.set("width", "8").set("reference-width", "16"),
                "figure-s5" => a
                    .set("width", "8")
                    .set("batches", "10,20")
                    .set("reference-width", "16"),
                _ => a.set("widths", "8,16"),
            }
        }
        "bench" => Args::new(command)
            .set("backends", "flex")
            .set("engines", "closed-form")
            .set("widths", "16")
            .set("input-dims", "8")
            .set("batch", "4")
            .set("seconds", "0.0001")
            .set("peak-size", "32"),
        _ => return None,
    })
}

/// The probe of `flag` in `command`, or `None` when there is none (the test then fails).
fn probe(command: &str, flag: &str, inputs: &Path, dir: &str) -> Option<Probe> {
    let base = baseline(command, inputs, dir);
    let differs = |without: Args, with: Args| {
        Some(Probe {
            without,
            with,
            compare_output: false,
            baseline_fails: false,
        })
    };
    let output = |without: Args, with: Args| {
        Some(Probe {
            without,
            with,
            compare_output: true,
            baseline_fails: false,
        })
    };
    if command == "coord-check" && flag == "data-dir" {
        // The data it measures on: two folders of your own arrays.
        let other = format!("{dir}/other-arrays");
        std::fs::create_dir_all(&other).unwrap();
        let x: Vec<u8> = (0..240u32).map(|i| (i * 91 % 247) as u8).collect();
        let y: Vec<u8> = (0..60u32).map(|i| ((i / 7) % 3) as u8).collect();
        std::fs::write(format!("{other}/train_x.npy"), npy("|u1", "(60, 4)", &x)).unwrap();
        std::fs::write(format!("{other}/train_y.npy"), npy("|u1", "(60,)", &y)).unwrap();
        let b = base?
            .without("config")
            .set("preset", "arrays")
            .set("batch", "30")
            .set("data-dir", inputs.join("arrays").display().to_string());
        return differs(b.clone(), b.set("data-dir", other));
    }
    match command {
        "fetch" => return fetch_probe(flag, dir),
        "distance" => return distance_probe(flag, dir),
        _ => {}
    }
    // The command's own flags first.
    match (command, flag) {
        (_, "init-from") => {
            // Start from the initial particles of a run of the same width and data.
            let b = base?;
            let init = format!("{dir}/init");
            let made = if is_training(command) {
                b.clone()
                    .without("runs-dir")
                    .set("steps", "0")
                    .set("out", init.clone())
            } else {
                Args::new("synthetic")
                    .set("config", inputs.join("synth.toml").display().to_string())
                    .set("width", "8")
                    .set("steps", "0")
                    .set("out", init.clone())
            };
            let made = run(&made.words());
            assert!(
                made.status.success(),
                "{}",
                String::from_utf8_lossy(&made.stderr)
            );
            return differs(b.clone(), b.set("init-from", init));
        }
        (_, "config") if command != "run" => {
            let b = base?;
            let other = format!("{dir}/other.toml");
            let text = if command.starts_with("figure") || command == "table1" {
                "[train]\ndataset = \"synthetic\"\nhorizon = 3.0\npenalty = 0.01\nsynthetic = { train = 200, test = 50 }\ntrain_subset = 200\ntest_subset = 50\naverage_from = 1\n"
            } else {
                "dataset = \"synthetic\"\nsynthetic = { train = 200, test = 50 }\nhorizon = 3.0\npenalty = 0.01\n"
            };
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&other, text).unwrap();
            return differs(b.clone(), b.set("config", other));
        }
        ("run", "config") => {
            // `run` without --config is refused; with it, it trains the file's setting.
            let b = base?;
            return Some(Probe {
                without: b.clone().without("config"),
                with: b,
                compare_output: true,
                baseline_fails: true,
            });
        }
        (_, "quiet") => {
            let b = base?;
            return output(b.clone(), b.switch("quiet"));
        }
        (_, "no-fetch") => {
            // Refused where the data is never fetched (the probes' synthetic task); the MNIST
            // command with an empty data folder proves it elsewhere (tests/data.rs, the cifar fetch).
            let b = base?;
            return output(b.clone(), b.switch("no-fetch"));
        }
        (_, "resume") => {
            let b = base?;
            return output(b.clone(), b.switch("resume"));
        }
        (_, "force") if is_training(command) => {
            // A second call reuses; with --force it trains again.
            let b = base?;
            let first = run(&b.words());
            assert!(
                first.status.success(),
                "{}",
                String::from_utf8_lossy(&first.stderr)
            );
            return output(b.clone(), b.switch("force"));
        }
        (_, "wait") => return None, // probed in `wait_waits_for_the_holder` below
        (_, "force") => {
            // On a finished tiny grid (trained, not planned): --force trains every run again.
            let b = trained(base?);
            let first = run(&b.words());
            assert!(
                first.status.success(),
                "{}",
                String::from_utf8_lossy(&first.stderr)
            );
            return output(b.clone(), b.switch("force"));
        }
        (_, "jobs") => {
            let b = trained(base?);
            return output(b.clone(), b.set("jobs", "2"));
        }
        (_, "plan") => {
            let b = base?;
            return output(trained(b.clone()), b);
        }
        (_, "assemble-only") => {
            let b = trained(base?);
            return output(b.clone(), b.switch("assemble-only"));
        }
        (_, "preset") => {
            // Another preset under the same synthetic task: its other settings change the runs.
            let b = base?;
            let other = if command == "coord-check" {
                "mnist"
            } else {
                "chaos-quick"
            };
            return differs(b.clone(), b.set("preset", other));
        }
        (_, "scale") => {
            // The windows and the protocol (said, and in the report), whatever the runs.
            let b = base?;
            return output(b.clone(), b.set("scale", "paper"));
        }
        (_, "reference-width") => {
            let b = base?;
            return differs(b.clone(), b.set("reference-width", "24"));
        }
        (_, "reference-width-one") => {
            let b = base?;
            return differs(b.clone(), b.set("reference-width-one", "96"));
        }
        ("coupling", "shared-noise") => {
            let b = base?;
            return differs(b.clone(), b.switch("shared-noise"));
        }
        ("coupling", "batch-sweep") => {
            let b = base?;
            return differs(b.clone(), b.set("batch-sweep", "10,20"));
        }
        ("coupling", "batch-sweep-width") => {
            let b = base?.set("batch-sweep", "10,20");
            return differs(b.clone(), b.set("batch-sweep-width", "8"));
        }
        ("chaos", "reference") => {
            // Against a finished run of the grid's own setting (the wider one): no reference
            // run is planned any more.
            let b = base?;
            let reference = format!("{dir}/reference");
            let made = run(&Args::new("synthetic")
                .set("config", inputs.join("synth.toml").display().to_string())
                .set("width", "32")
                .set("horizon", "2")
                .set("train-subset", "200")
                .set("out", reference.clone())
                .words());
            assert!(made.status.success());
            return differs(b.clone(), b.set("reference", reference));
        }
        (
            _,
            "coordinate"
            | "projections"
            | "projection-seeds"
            | "correlation-particles"
            | "correlation-examples",
        ) => {
            // Measured, not planned: the results of the trained tiny grid differ.
            let b = trained(base?);
            let value = match flag {
                "coordinate" => "3",
                "projections" => "7",
                "projection-seeds" => "5",
                "correlation-particles" => "4",
                _ => "50",
            };
            return differs(b.clone(), b.set(flag, value));
        }
        (_, "widths" | "betas" | "gammas" | "batches" | "seeds" | "data-seeds")
            if command != "bench" =>
        {
            let b = base?;
            let value = match flag {
                "widths" => "8,24",
                "betas" => "0.6,1",
                "gammas" => "1,0.5",
                "batches" => "10,40",
                "seeds" => "0,3",
                _ => "0,4",
            };
            return differs(b.clone(), b.set(flag, value));
        }
        ("bench", _) => {
            let b = base?;
            let value = match flag {
                "backends" => "ndarray",
                "engines" => "autodiff",
                "dynamics" => "diffusion",
                "widths" => "24",
                "input-dims" => "12",
                "batch" => "8",
                "readout" => "fixed",
                "seconds" => "0.2",
                "peak-size" => "48",
                "csv" => return differs(b.clone(), b.set("csv", format!("{dir}/bench.csv"))),
                _ => return None,
            };
            return output(b.clone(), b.set(flag, value));
        }
        _ => {}
    }
    // A training setting.
    let (value, mut with_also) = setting_value(flag, dir)?;
    if flag == "max-buffer-bytes" && is_training(command) {
        // A width whose step tensors (4000 rows of M = 100 floats, 1.6 MB) exceed 1 MiB: split
        // into 2 blocks (other output, and the float32 sums of another order).
        with_also.push(("width", "4000".into()));
    }
    if command == "figure2" && flag == "readout" {
        // Figure 2's readout starts at a constant already (N-independent, as a fixed one must).
        with_also.clear();
    }
    let mut without = base?;
    let mut with = without.clone();
    for (f, v) in &with_also {
        // sgd-vs-diffusion trains the diffusion itself (and refuses --dynamics).
        if *f == "dynamics" && command == "sgd-vs-diffusion" {
            continue;
        }
        without = without.set(f, v.clone());
        with = with.set(f, v.clone());
    }
    if flag == "runs-dir" && is_training(command) {
        // Automatic run directories go under it: no --out.
        without = without
            .without("out")
            .set("runs-dir", format!("{dir}/runs"));
        with = with.without("out");
    }
    with = with.set(flag, value);
    if command == "sgd-vs-diffusion" && flag == "dynamics" {
        return output(without, with);
    }
    differs(without, with)
}

fn is_training(command: &str) -> bool {
    matches!(
        command,
        "mnist" | "fashion-mnist" | "cifar" | "synthetic" | "arrays" | "run"
    )
}

/// A grid probe's command trained for real (no `--plan`).
fn trained(a: Args) -> Args {
    a.without("plan")
}

fn fetch_probe(flag: &str, dir: &str) -> Option<Probe> {
    // MNIST present (the workspace's data): without the flag it is checked and said ready.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let b = Args::new("fetch")
        .word("mnist")
        .set("data-dir", data.display().to_string());
    Some(Probe {
        without: b.clone(),
        with: match flag {
            "quiet" => b.switch("quiet"),
            "data-dir" => {
                // Another folder holding MNIST: checked there, and said ready there.
                let other = Path::new(dir).join("data/mnist");
                copy_dir(&data.join("mnist"), &other);
                b.set(
                    "data-dir",
                    Path::new(dir).join("data").display().to_string(),
                )
            }
            "url" => b.set("url", "http://127.0.0.1:9/x"),
            "md5" => b.set("md5", "0"),
            "python" => b.switch("python"),
            _ => return None,
        },
        compare_output: true,
        baseline_fails: false,
    })
}

fn distance_probe(flag: &str, dir: &str) -> Option<Probe> {
    std::fs::create_dir_all(dir).unwrap();
    let data: Vec<u8> = (0..40 * 6)
        .flat_map(|i| ((i as f32 * 0.37).sin()).to_le_bytes())
        .collect();
    let other: Vec<u8> = (0..40 * 6)
        .flat_map(|i| ((i as f32 * 0.91).cos()).to_le_bytes())
        .collect();
    let (a, b) = (format!("{dir}/a.npy"), format!("{dir}/b.npy"));
    std::fs::write(&a, npy("<f4", "(40, 6)", &data)).unwrap();
    std::fs::write(&b, npy("<f4", "(40, 6)", &other)).unwrap();
    let base = Args::new("distance").word(&a).word(&b);
    let value = match flag {
        "coordinate" => "2",
        "projections" => "11",
        "projection-seeds" => "7",
        _ => return None,
    };
    Some(Probe {
        without: base.clone(),
        with: base.set(flag, value),
        compare_output: true,
        baseline_fails: false,
    })
}

/// Runs `args` (whose folders are under `dir`) and what it left, with `dir` written out of
/// every text (so two cases compare by what they hold, not where) and times taken out.
fn see(command: &str, args: &Args, dir: &Path) -> Seen {
    std::fs::create_dir_all(dir).unwrap();
    let out = run(&args.words());
    let d = dir.display().to_string();
    let clean = |s: String| untimed(&s.replace(&d, "{dir}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Seen {
        ok: out.status.success(),
        stdout: if command == "bench" && out.status.success() {
            bench_keys(&stdout)
        } else {
            clean(stdout)
        },
        stderr: clean(String::from_utf8_lossy(&out.stderr).into_owned()),
        files: files_of(dir)
            .into_iter()
            .map(|(k, v)| (k, clean(v)))
            .collect(),
    }
}

/// The timed steps of every case of `experiments bench ARGS`, added up.
fn bench_iterations(args: &Args) -> u64 {
    let out = run(&args.words());
    assert!(out.status.success());
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let at = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "iterations")
        .unwrap();
    r.records()
        .map(|row| row.unwrap()[at].parse::<u64>().unwrap())
        .sum()
}

/// Whether `seen` is a refusal of `--flag`: a failure whose error line names the flag, not a
/// panic.
fn refuses(seen: &Seen, flag: &str) -> bool {
    !seen.ok
        && !seen.stderr.contains("panicked")
        && seen
            .stderr
            .lines()
            .any(|l| l.starts_with("error") && l.contains(&format!("--{flag}")))
}

/// Every flag of every command changes what it plans or does, or is refused. For each: the
/// command without the flag must succeed (its own control: run twice, it gives the same
/// [`Seen`]); with the flag it must either fail with an error naming the flag, or succeed and
/// leave other files (or, for a flag that acts on the output, other output).
#[test]
fn every_flag_is_honoured_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    write_inputs(&inputs);
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let mut walked = 0;
    for command in commands() {
        // The control: the baseline twice gives the same, so a difference below is the flag's.
        if let Some(b) = baseline(&command, &inputs, "{dir}") {
            let (x, y) = (
                tmp.path().join(format!("{command}-control/x")),
                tmp.path().join(format!("{command}-control/y")),
            );
            let args = |d: &Path| b.moved("{dir}", &d.display().to_string());
            let (sx, sy) = (see(&command, &args(&x), &x), see(&command, &args(&y), &y));
            assert!(sx.ok, "{command}: the baseline fails: {}", sx.stderr);
            assert_eq!(sx, sy, "{command}: two calls of the baseline differ");
        }
        for flag in flags_of(&command) {
            walked += 1;
            let case = tmp.path().join(format!("{command}-{flag}"));
            // Two folders, one per side, so a side's files never meet the other's.
            let (a, b) = (case.join("without"), case.join("with"));
            let Some(p) = probe(&command, &flag, &inputs, &a.display().to_string()) else {
                if flag != "wait" {
                    missing.push(format!("{command} --{flag}"));
                }
                continue;
            };
            let with = p
                .with
                .moved(&a.display().to_string(), &b.display().to_string());
            // The `with` side runs in its own folder: what it needs from the `without` side
            // (a probe's setup) is copied over.
            copy_dir(&a, &b);
            let seen_without = see(&command, &p.without, &a);
            let seen_with = see(&command, &with, &b);
            let case = format!(
                "{command} --{flag}\n  without: {:?}\n  with: {:?}",
                p.without.words(),
                with.words()
            );
            if seen_without.ok == p.baseline_fails {
                wrong.push(format!(
                    "{case}\n  the baseline {}: {}",
                    if p.baseline_fails {
                        "succeeds"
                    } else {
                        "fails"
                    },
                    seen_without.stderr.lines().last().unwrap_or("")
                ));
                continue;
            }
            if !seen_with.ok {
                if !refuses(&seen_with, &flag) {
                    wrong.push(format!(
                        "{case}\n  fails without naming --{flag}: {}",
                        seen_with.stderr.lines().last().unwrap_or("")
                    ));
                }
                continue;
            }
            if command == "bench" && flag == "seconds" {
                // Longer measurements: more timed steps per case (the times themselves vary).
                let (few, many) = (bench_iterations(&p.without), bench_iterations(&with));
                if many <= few {
                    wrong.push(format!("{case}\n  {many} timed steps against {few}"));
                }
                continue;
            }
            let changed = seen_without.ok != seen_with.ok
                || seen_without.files != seen_with.files
                || (p.compare_output
                    && (seen_without.stdout != seen_with.stdout
                        || seen_without.stderr != seen_with.stderr));
            if !changed {
                wrong.push(format!("{case}\n  accepted, and nothing changed"));
            }
        }
    }
    assert!(walked > 300, "only {walked} flags walked");
    assert!(missing.is_empty(), "flags without a probe: {missing:#?}");
    assert!(
        wrong.is_empty(),
        "flags ignored, or failing without being named:\n{}",
        wrong.join("\n")
    );
}

/// `--wait`: while another process trains the run, a second call without it is refused naming
/// the holder; with it, the call waits (and is still waiting a moment later).
#[test]
fn wait_waits_for_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run").display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        [
            "synthetic",
            "--width",
            "2000",
            "--steps",
            "100000",
            "--out",
            &out,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let mut holder = bin()
        .args(args(&["--quiet"]))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = PathBuf::from(&out).join(".lock");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |t| t.is_empty()) {
        assert!(
            start.elapsed().as_secs() < 30,
            "the holder never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let refused = run(&args(&[]));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is being trained by"));
    let mut waiter = bin()
        .args(args(&["--wait"]))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(waiter.try_wait().unwrap().is_none(), "--wait did not wait");
    waiter.kill().unwrap();
    holder.kill().unwrap();
    let _ = (waiter.wait(), holder.wait());
}

/// Every value of every list flag is run: each grid command planned with two values of each
/// axis it varies has as many runs at the one value as at the other, and some at each.
#[test]
fn every_value_of_a_list_is_planned() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    write_inputs(&inputs);
    let lists = [
        ("widths", "width", ["20", "24"]),
        ("betas", "beta", ["0.6", "0.9"]),
        ("gammas", "gamma", ["0.7", "0.4"]),
        ("batches", "batch", ["10", "30"]),
        ("seeds", "seed", ["3", "4"]),
        ("data-seeds", "data_seed", ["3", "4"]),
    ];
    let mut checked = 0;
    for command in commands() {
        let flags = flags_of(&command);
        if command == "bench" || !flags.iter().any(|f| f == "plan") {
            continue;
        }
        for (flag, setting, values) in &lists {
            if !flags.iter().any(|f| f == flag) {
                continue;
            }
            let dir = tmp.path().join(format!("{command}-{flag}"));
            let d = dir.display().to_string();
            let args = baseline(&command, &inputs, &d)
                .unwrap()
                .set(flag, values.join(","));
            let out = run(&args.words());
            assert!(
                out.status.success(),
                "{command} --{flag} {}: {}",
                values.join(","),
                String::from_utf8_lossy(&out.stderr)
            );
            let mut count = BTreeMap::new();
            for entry in std::fs::read_dir(dir.join("plan/configs")).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                let config: toml::Table = text.parse().unwrap();
                if let Some(v) = config.get(*setting) {
                    *count.entry(v.to_string()).or_insert(0) += 1;
                }
            }
            let at = |v: &str| {
                count
                    .iter()
                    .filter(|(k, _)| k.parse::<f64>().ok() == v.parse::<f64>().ok())
                    .map(|(_, n)| *n)
                    .sum::<usize>()
            };
            let (first, second) = (at(values[0]), at(values[1]));
            assert!(
                first > 0 && first == second,
                "{command} --{flag} {}: runs per value {count:?}",
                values.join(",")
            );
            checked += 1;
        }
    }
    // Every grid command's axes: figures (2 + 3 + 1 + 2 + 2), chaos 2, tails 3, coupling 2,
    // sgd-vs-diffusion 3.
    assert_eq!(checked, 20, "axes checked");
    // coord-check measures in memory: both widths in its numbers.
    let dir = tmp.path().join("coord-check");
    let args = baseline("coord-check", &inputs, &dir.display().to_string())
        .unwrap()
        .set("widths", "8,24");
    let out = run(&args.words());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("study/coord_check.csv")).unwrap();
    for w in ["8", "24"] {
        assert!(
            csv.lines().any(|l| l.starts_with(&format!("{w},"))),
            "{csv}"
        );
    }
}

/// `--force` on a finished grid trains every run again (and says so first); without it, every
/// run is reused.
#[test]
fn force_trains_every_run_of_a_finished_grid_again() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    write_inputs(&inputs);
    let dir = tmp.path().join("chaos").display().to_string();
    let args = trained(baseline("chaos", &inputs, &dir).unwrap()).set("seeds", "0,1");
    let lines = |extra: Option<&str>| {
        let mut a = args.clone();
        if let Some(f) = extra {
            a = a.switch(f);
        }
        let out = run(&a.words());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let count = |text: &str, word: &str| text.lines().filter(|l| l.contains(word)).count();
    let first = lines(None);
    assert_eq!(count(&first, "] trained "), 4, "{first}");
    let again = lines(None);
    assert_eq!(count(&again, "] reused "), 4, "{again}");
    let forced = lines(Some("force"));
    assert!(
        forced.contains("force: every run of the grid (4)"),
        "{forced}"
    );
    assert_eq!(count(&forced, "] trained "), 4, "{forced}");
    assert_eq!(count(&forced, "] reused "), 0, "{forced}");
}
