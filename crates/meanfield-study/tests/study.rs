//! The chaos study and the coordinate check on a tiny synthetic grid: every file is written,
//! a second call reuses the finished runs, and the numbers are sane.

use meanfield_study::chaos::ChaosStudy;
use meanfield_study::coord_check::{CoordCheck, CoordRow};
use meanfield_train::TrainConfig;
use std::sync::Mutex;

fn synthetic() -> TrainConfig {
    let mut c = TrainConfig::resolve(vec![(
        "synthetic".into(),
        TrainConfig::preset("synthetic").unwrap(),
    )])
    .unwrap();
    c.synthetic.train = 1000;
    c.synthetic.test = 200;
    c.readout = meanfield_model::Readout::Fixed;
    c.readout_init = meanfield_model::Init::Uniform(1.0);
    c.beta = 0.75;
    c.horizon = 2.0;
    c
}

#[test]
fn chaos_study_writes_everything_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let study = ChaosStudy {
        base: synthetic(),
        widths: vec![20, 40, 80, 160],
        seeds: vec![0, 1],
        reference: None,
        projections: 50,
        projection_seeds: vec![0, 1],
        coordinate: 0,
        jobs: 2,
        out: dir.path().join("study"),
    };
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let result = study.run(&log).unwrap();
    for f in [
        "distances.csv",
        "fits.json",
        "chaos.svg",
        "chaos.png",
        "report.md",
    ] {
        assert!(dir.path().join("study").join(f).is_file(), "{f} missing");
    }
    let png = std::fs::read(dir.path().join("study/chaos.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // 8 runs; 7 to the reference (N = 160, seed 0 is the reference), 4 seed pairs.
    assert_eq!(
        result
            .rows
            .iter()
            .filter(|r| r.kind == "to-reference")
            .count(),
        7
    );
    assert_eq!(
        result
            .rows
            .iter()
            .filter(|r| r.kind == "between-seeds")
            .count(),
        4
    );
    assert!(
        result
            .rows
            .iter()
            .all(|r| r.sliced_w2_mean > 0.0 && r.w2_coordinate > 0.0)
    );
    // Independent initialisations: the distance between seeds falls as N grows.
    let fit = result.fits.between_seeds_sliced.expect("four widths fit");
    assert!(fit.slope < 0.0, "slope {}", fit.slope);
    assert_eq!(
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("trained"))
            .count(),
        8
    );
    lines.lock().unwrap().clear();
    study.run(&log).unwrap();
    assert_eq!(
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("reused"))
            .count(),
        8
    );
}

#[test]
fn coordinate_check_is_flat_in_width_for_the_theory_setting() {
    let dir = tempfile::tempdir().unwrap();
    // β = 1: every width advances the same continuous time per step (γ_αβ(N) = γ), so the
    // sizes after k steps are comparable across N.
    let check = CoordCheck {
        base: TrainConfig {
            beta: 1.0,
            ..synthetic()
        },
        widths: vec![50, 200, 800],
        steps: 5,
        out: dir.path().join("cc"),
    };
    let rows = check.run(&|_| {}).unwrap();
    for f in ["coord_check.csv", "coord_check.svg", "coord_check.png"] {
        assert!(dir.path().join("cc").join(f).is_file(), "{f} missing");
    }
    let last: Vec<_> = rows.iter().filter(|r| r.step == 5).collect();
    assert_eq!(last.len(), 3);
    // Flat: across a 16x range of widths each size changes by less than a factor 2 (sampling
    // noise of the N particles is O(N^-1/2)); a wrong scaling would change by ~4x or more.
    type Size = fn(&CoordRow) -> f64;
    let sizes: [Size; 3] = [|r| r.pre_activation, |r| r.logits, |r| r.update];
    for f in sizes {
        let (a, b) = (f(last[0]), f(last[2]));
        assert!(a > 0.0 && b > 0.0 && (a / b).max(b / a) < 2.0, "{a} vs {b}");
    }
}
