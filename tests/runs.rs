//! One run through the binary: every file it writes, `--init-from`, learning, the same weights
//! with 1 or 2 threads, divergence, widths that cannot fit, clear errors for bad input.
//! MNIST is fetched into the workspace's `data/` by the binary itself when missing (`.ci/run`
//! does it up front).

// One harness for every test file of the binary; each uses part of it.
#[allow(dead_code)]
mod support;
use support::*;

#[test]
fn mnist_run_writes_every_output_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut args = small_mnist_run(&out);
    args.push("--quiet".into());
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for f in ["config.toml", "metrics.csv", "summary.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(npy_shape(&out.join("hidden.npy")), vec![64, 784]);
    assert_eq!(npy_shape(&out.join("readout.npy")), vec![64, 10]);
    assert_eq!(npy_shape(&out.join("hidden_avg.npy")), vec![64, 784]);
    assert_eq!(npy_shape(&out.join("readout_avg.npy")), vec![64, 10]);
    let s = summary(&out);
    assert_eq!(s["status"], "finished");
    assert_eq!(s["steps"], 30);
    // n_T for N = 64, β = 0.75, γ = 1, T = 100: floor(100 · 64^0.25) = floor(282.84) = 282.
    assert_eq!(s["horizon_steps"], 282);
    assert_eq!(s["train_examples"], 2000);
    assert!(s["averaged"]["test_accuracy"].is_number());
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("step,time,step_size,batch_loss"));
    assert_eq!(lines.len(), 1 + 31, "header, step 0, then steps 1..30");
    // Evaluation rows at 0, 10, 20, 30 have a test accuracy (the last column).
    let evaluated = lines[1..].iter().filter(|l| !l.ends_with(',')).count();
    assert_eq!(evaluated, 4, "{csv}");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("beta = 0.75") && config.contains("width = 64"),
        "{config}"
    );
}

/// The particle diffusion through the binary: it trains, says so in config.toml and
/// summary.json, learns at a small γ as SGD does, and its settings are checked with the way out.
#[test]
fn diffusion_runs_through_the_binary() {
    let data = mnist();
    let tmp = tempfile::tempdir().unwrap();
    let run_with = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "mnist",
            "--width",
            "200",
            "--gamma",
            "0.1",
            "--train-subset",
            "1000",
            "--test-subset",
            "500",
            "--steps",
            "100",
            "--data-dir",
            &data,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        ok(&args);
        out
    };
    let diffusion = run_with(
        "diffusion",
        &[
            "--dynamics",
            "diffusion",
            "--drift-set",
            "full",
            "--noise-set",
            "200",
        ],
    );
    let config = std::fs::read_to_string(diffusion.join("config.toml")).unwrap();
    assert!(
        config.contains("dynamics = \"diffusion\"")
            && config.contains("drift_set = \"full\"")
            && config.contains("noise_set = 200"),
        "{config}"
    );
    let s = summary(&diffusion);
    assert_eq!(s["dynamics"], "diffusion");
    let sgd = summary(&run_with("sgd", &[]));
    assert_eq!(sgd["dynamics"], "sgd");
    // 100 steps at γ = 0.1 on 1000 images: both well above chance (0.1); measured 2026-12-02
    // at 0.84 (diffusion) and 0.82 (SGD).
    for s in [&s, &sgd] {
        let acc = s["last"]["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.6, "test accuracy {acc}");
    }
    let err = stderr_of_failure(&[
        "mnist",
        "--drift-set",
        "full",
        "--data-dir",
        &data,
        "--steps",
        "1",
    ]);
    assert!(err.contains("--dynamics diffusion"), "{err}");
    let err = stderr_of_failure(&[
        "mnist",
        "--dynamics",
        "diffusion",
        "--noise-set",
        "some",
        "--data-dir",
        &data,
        "--steps",
        "1",
    ]);
    assert!(err.contains("full") && err.contains("batch"), "{err}");
    let err = stderr_of_failure(&[
        "mnist",
        "--dynamics",
        "diffusion",
        "--engine",
        "autodiff",
        "--data-dir",
        &data,
        "--steps",
        "1",
    ]);
    assert!(err.contains("--engine closed-form"), "{err}");
}

#[test]
fn init_from_reproduces_a_run() {
    let data = mnist();
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).display().to_string();
    let common = [
        "--train-subset",
        "1000",
        "--test-subset",
        "200",
        "--seed",
        "7",
        "--data-dir",
        &data,
        "--quiet",
    ];
    // Step 0 only: the initial weights of seed 7.
    ok(&[
        &[
            "mnist",
            "--width",
            "32",
            "--steps",
            "0",
            "--out",
            &dir("init"),
        ],
        &common[..],
    ]
    .concat());
    ok(&[
        &[
            "mnist",
            "--width",
            "32",
            "--steps",
            "15",
            "--out",
            &dir("direct"),
        ],
        &common[..],
    ]
    .concat());
    ok(&[
        &[
            "mnist",
            "--width",
            "32",
            "--steps",
            "15",
            "--out",
            &dir("from"),
            "--init-from",
            &dir("init"),
        ],
        &common[..],
    ]
    .concat());
    for f in ["hidden.npy", "readout.npy"] {
        let a = npy_f32(&tmp.path().join("direct").join(f));
        let b = npy_f32(&tmp.path().join("from").join(f));
        assert_eq!(a, b, "{f}: --init-from did not reproduce the run");
    }
    // A wrong shape is a clear error.
    let err = stderr_of_failure(
        &[
            &[
                "mnist",
                "--steps",
                "1",
                "--out",
                &dir("bad"),
                "--init-from",
                &dir("init"),
                "--width",
                "33",
            ],
            &common[..],
        ]
        .concat(),
    );
    assert!(
        err.contains("hidden.npy") && err.contains("[32, 784]"),
        "{err}"
    );
}

/// With `--init-from` the weights come from files: a fixed readout needs no N-independent
/// `--readout-init` then (the law is not used; only the files' shapes and values are checked).
#[test]
fn init_from_with_a_fixed_readout_checks_only_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).display().to_string();
    let common = ["synthetic", "--width", "16", "--quiet"];
    ok(&[&common[..], &["--steps", "0", "--out", &dir("init")]].concat());
    // The default readout law (pytorch) with a fixed readout is refused without --init-from ...
    let err = stderr_of_failure(
        &[
            &common[..],
            &["--steps", "3", "--readout", "fixed", "--out", &dir("no")],
        ]
        .concat(),
    );
    assert!(err.contains("readout"), "{err}");
    // ... and accepted with it: the readout is the file's, and stays fixed.
    ok(&[
        &common[..],
        &[
            "--steps",
            "3",
            "--readout",
            "fixed",
            "--init-from",
            &dir("init"),
            "--out",
            &dir("fixed"),
        ],
    ]
    .concat());
    assert_eq!(
        npy_f32(&tmp.path().join("init/readout.npy")),
        npy_f32(&tmp.path().join("fixed/readout.npy"))
    );
}

#[test]
fn learns_on_a_few_thousand_mnist_images() {
    let data = mnist();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // β = 1, γ = 0.1, T = 30: 300 steps of M = 100 at N = 200 (measured here: 0.888 test
    // accuracy; γ = 1 on normalised MNIST is the noisy regime, ~0.3–0.5 after 100 steps).
    ok(&[
        "mnist",
        "--width",
        "200",
        "--gamma",
        "0.1",
        "--horizon",
        "30",
        "--train-subset",
        "5000",
        "--test-subset",
        "2000",
        "--data-dir",
        &data,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let s = summary(&out);
    assert_eq!(s["steps"], 300);
    let test_acc = s["last"]["test_accuracy"].as_f64().unwrap();
    assert!(test_acc > 0.8, "test accuracy {test_acc} after 300 steps");
}

/// The same seed gives the same weights whatever the number of threads.
#[test]
fn same_weights_with_one_or_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let dir = tmp.path().join(threads).display().to_string();
        let out = bin()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "synthetic",
                "--width",
                "3000",
                "--steps",
                "50",
                "--quiet",
                "--out",
                &dir,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        npy_f32(&tmp.path().join("1/hidden.npy")),
        npy_f32(&tmp.path().join("2/hidden.npy")),
        "hidden weights differ between 1 and 2 threads"
    );
}

/// A step far too large makes the loss non-finite: the run stops with an error naming the step
/// and step size, and summary.json says "diverged".
#[test]
fn divergence_stops_the_run_and_marks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let err = stderr_of_failure(&[
        "synthetic",
        "--gamma",
        "1e30",
        "--init",
        "normal:10",
        "--steps",
        "50",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        err.contains("diverged at step") && err.contains("step size"),
        "{err}"
    );
    assert_eq!(summary(&dir)["status"], "diverged");
}

/// A width that cannot fit is refused before anything large is allocated: exit code 1 with
/// both numbers and the ways out, not an allocation abort (signal 6) with a backtrace.
#[test]
fn a_width_that_cannot_fit_is_refused() {
    let data = mnist();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("huge").display().to_string();
    let run = run(&[
        "mnist",
        "--width",
        "100000000",
        "--steps",
        "1",
        "--data-dir",
        &data,
        "--out",
        &out,
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("N = 100000000 does not fit")
            && err.contains("weights 317.6 GB")
            && err.contains("available")
            && err.contains("smaller --width")
            && !err.contains("memory allocation"),
        "{err}"
    );
}

/// Particles beyond one device buffer (a GPU's storage-binding limit, forced here on the CPU
/// with --max-buffer-bytes) are trained as blocks on the device, one thread each: the run of
/// the MPI shards in one process. Under the limit the run is the same bytes as without it;
/// what cannot be split is refused before anything is written.
#[test]
fn particles_beyond_one_device_buffer_train_in_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = |name: &str| tmp.path().join(name).display().to_string();
    let args = |width: &str, dir: &str, limit: bool, extra: &[&str]| {
        let mut a = vec!["synthetic", "--width", width, "--steps", "3", "--out", dir];
        if limit {
            a.extend(["--max-buffer-bytes", "1048576"]);
        }
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    // p = 32 < M = 100: the step's [N, M] pre-activations are the largest tensor, 400 bytes a
    // row; 1 MiB holds 2621 rows (1048576 / 400, by hand), so N = 4000 takes 2 blocks.
    let blocked = ok(&args("4000", &out("blocked"), true, &[]));
    let said = String::from_utf8_lossy(&blocked.stderr);
    assert!(said.contains("split into 2 blocks"), "{said}");
    // Finished: reused as it is, not split again.
    let again = ok(&args("4000", &out("blocked"), true, &[]));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("reused") && !said.contains("split into"),
        "{said}"
    );
    ok(&args("4000", &out("whole"), false, &[]));
    // The logits are summed over the blocks in block order: float32 rounding apart (the MPI
    // shards' tolerance, tests/mpi.rs), the same weights.
    for f in ["hidden.npy", "readout.npy"] {
        let a = npy_f32(&tmp.path().join("whole").join(f));
        let b = npy_f32(&tmp.path().join("blocked").join(f));
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / x.abs().max(1e-3))
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "{f}: {worst}");
    }
    // One block: the run's own bytes (its evaluation in smaller chunks: the losses to float32
    // rounding, 1e-6 relative; 5e-12 measured).
    ok(&args("2000", &out("limited"), true, &[]));
    ok(&args("2000", &out("free"), false, &[]));
    assert_same_files(
        &tmp.path().join("free"),
        &tmp.path().join("limited"),
        &["hidden.npy", "readout.npy"],
        "under the limit",
    );
    let rows = |dir: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(tmp.path().join(dir).join("metrics.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (free, limited) = (rows("free"), rows("limited"));
    assert_eq!(free.len(), limited.len());
    for (a, b) in free.iter().zip(&limited).skip(1) {
        for (x, y) in a.iter().zip(b) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{x} {y}"),
                _ => assert_eq!(x, y),
            }
        }
    }
    // Blocks need the closed-form engine (autodiff takes one graph): refused, nothing left.
    let err = stderr_of_failure(&args(
        "4000",
        &out("autodiff"),
        true,
        &["--engine", "autodiff"],
    ));
    assert!(err.contains("closed-form"), "{err}");
    assert!(
        !tmp.path().join("autodiff").exists(),
        "a refused run left a folder"
    );
    // Refused before anything is made, each naming the limit and a way out:
    // - 10^7 particles of 400 bytes under 1 MiB: 3816 blocks (10^7 / 2621, by hand), beyond
    //   the 64 threads one process splits a run into;
    // - the diffusion over the whole training set (synthetic: 10000 examples, p = 32) gathers
    //   10000 + 100 rows of 32 floats per step, 1292800 bytes, one tensor that no split of the
    //   particles shrinks.
    let cases: [(&[&str], &str, &str); 2] = [
        (&["--width", "10000000"], "3816 blocks", "mpirun"),
        (
            &[
                "--width",
                "100",
                "--dynamics",
                "diffusion",
                "--drift-set",
                "full",
            ],
            "1292800 bytes",
            "--drift-set",
        ),
    ];
    for (i, (extra, what, way)) in cases.iter().enumerate() {
        let dir = out(&format!("refused-{i}"));
        let mut a = vec!["synthetic", "--steps", "3", "--out", &dir];
        a.extend(["--max-buffer-bytes", "1048576"]);
        a.extend(extra.iter());
        let a: Vec<String> = a.into_iter().map(String::from).collect();
        let err = stderr_of_failure(&a);
        assert!(err.contains(what) && err.contains(way), "{err}");
        assert!(err.contains("a larger --max-buffer-bytes"), "{err}");
        assert!(
            !std::path::Path::new(&dir).exists(),
            "a refused run left {dir}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("no-data");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["synthetic".into(), "--beta".into(), "1.5".into()],
            "--beta",
        ),
        (
            vec!["synthetic".into(), "--alpha".into(), "1".into()],
            "--alpha",
        ),
        (
            vec!["synthetic".into(), "--gamma".into(), "-1".into()],
            "--gamma",
        ),
        (
            vec!["synthetic".into(), "--width".into(), "0".into()],
            "--width",
        ),
        (
            vec!["synthetic".into(), "--horizon".into(), "nan".into()],
            "--horizon",
        ),
        (
            vec!["synthetic".into(), "--init".into(), "gauss".into()],
            "pytorch",
        ),
        (
            vec!["synthetic".into(), "--readout".into(), "fixed".into()],
            "--readout-init",
        ),
        (
            vec!["synthetic".into(), "--backend".into(), "tpu".into()],
            "backend",
        ),
        (
            vec!["synthetic".into(), "--batch".into(), "20000".into()],
            "--batch",
        ),
        (
            vec![
                "mnist".into(),
                "--no-fetch".into(),
                "--data-dir".into(),
                empty.display().to_string(),
            ],
            "experiments fetch mnist",
        ),
        (
            vec![
                "cifar".into(),
                "--data-dir".into(),
                empty.display().to_string(),
                "--no-fetch".into(),
            ],
            "data_batch_1.bin",
        ),
    ];
    for (args, expect) in cases {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let err = stderr_of_failure(&args);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let err = stderr_of_failure(&["synthetic", "--backend", "wgpu"]);
        assert!(err.contains("--features wgpu"), "{err}");
    }
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(&cfg, "widht = 10\n").unwrap();
    let err = stderr_of_failure(&["synthetic", "--config", cfg.to_str().unwrap()]);
    assert!(err.contains("widht"), "{err}");
}

/// `--init-from` weights saved as float64 are refused with the dtype named.
#[test]
fn init_from_wrong_dtype_is_a_clear_error() {
    use npyz::WriterBuilder;
    let tmp = tempfile::tempdir().unwrap();
    let init = tmp.path().join("init");
    std::fs::create_dir_all(&init).unwrap();
    for (name, cols) in [("hidden.npy", 32usize), ("readout.npy", 10)] {
        let mut buf = Vec::new();
        {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[4, cols as u64])
                .writer(&mut buf)
                .begin_nd()
                .unwrap();
            w.extend((0..4 * cols).map(|i| i as f64)).unwrap();
            w.finish().unwrap();
        }
        std::fs::write(init.join(name), buf).unwrap();
    }
    let out = tmp.path().join("run").display().to_string();
    let err = stderr_of_failure(&[
        "synthetic",
        "--width",
        "4",
        "--steps",
        "1",
        "--init-from",
        init.to_str().unwrap(),
        "--out",
        &out,
    ]);
    assert!(
        err.contains("hidden.npy") && err.contains("float32"),
        "{err}"
    );
}
