//! W2 and sliced W2 against closed forms, and the fitted rate on i.i.d. samples.

use meanfield_chaos::{
    Cloud, fit_rate, histogram, kde, linspace, sliced_w2, sliced_w2_seeds, w2_1d,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

fn normal(n: usize, m: f64, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let law = Normal::new(m, s).unwrap();
    (0..n).map(|_| law.sample(&mut rng)).collect()
}

/// W2(N(m1, s1²), N(m2, s2²)) = sqrt((m1 − m2)² + (s1 − s2)²). With 2·10^5 samples each, the
/// empirical distance is within ~0.01 of it (sampling error of the quantiles).
#[test]
fn gaussians_match_the_closed_form() {
    for &(m1, s1, m2, s2) in &[
        (0.0, 1.0, 1.0, 1.0),
        (0.0, 1.0, 0.0, 2.0),
        (-1.0, 0.5, 2.0, 1.5),
    ] {
        let a = normal(200_000, m1, s1, 1);
        let b = normal(200_000, m2, s2, 2);
        let exact = (m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2);
        let got = w2_1d(&a, &b).unwrap();
        assert!(
            (got - exact.sqrt()).abs() < 0.02,
            "{got} vs {}",
            exact.sqrt()
        );
    }
}

#[test]
fn self_distance_is_zero_and_distance_is_symmetric() {
    let a = normal(1000, 0.0, 1.0, 3);
    let b = normal(777, 0.5, 2.0, 4);
    assert_eq!(w2_1d(&a, &a).unwrap(), 0.0);
    assert!((w2_1d(&a, &b).unwrap() - w2_1d(&b, &a).unwrap()).abs() < 1e-12);
    let fa: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    let c = Cloud::new(&fa, 4).unwrap();
    assert_eq!(sliced_w2(c, c, 50, 0).unwrap(), 0.0);
}

/// Shifting a cloud by v moves every projection by θ·v, so SW2² = E(θ·v)² = |v|²/d exactly in
/// expectation over θ; with 4000 directions the estimate is within a few percent. Rotating
/// both clouds leaves the sliced distance unchanged in law (the directions are isotropic).
#[test]
fn sliced_w2_of_shifted_and_rotated_clouds() {
    let d = 3;
    let x: Vec<f32> = normal(3000, 0.0, 1.0, 5)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let v = [3.0f32, -1.0, 2.0];
    let shifted: Vec<f32> = x
        .chunks_exact(d)
        .flat_map(|r| (0..d).map(move |i| r[i] + v[i]))
        .collect();
    let sw = sliced_w2(
        Cloud::new(&x, d).unwrap(),
        Cloud::new(&shifted, d).unwrap(),
        4000,
        7,
    )
    .unwrap();
    let expected = (14.0f64 / 3.0).sqrt();
    assert!((sw / expected - 1.0).abs() < 0.03, "{sw} vs {expected}");
    // A rotation about the z axis by 90°: (x, y, z) → (−y, x, z), applied to both clouds.
    let rot = |c: &[f32]| -> Vec<f32> {
        c.chunks_exact(d)
            .flat_map(|r| [-r[1], r[0], r[2]])
            .collect()
    };
    let (rx, rs) = (rot(&x), rot(&shifted));
    let sw_rot = sliced_w2(
        Cloud::new(&rx, d).unwrap(),
        Cloud::new(&rs, d).unwrap(),
        4000,
        8,
    )
    .unwrap();
    assert!(
        (sw_rot / expected - 1.0).abs() < 0.03,
        "{sw_rot} vs {expected}"
    );
}

/// For i.i.d. samples of U(0, 1), E W2²(empirical, law) = 1/(6n), so W2 ~ n^(−1/2): the fitted
/// slope of log W2 against log n (distances to a 10^6-sample reference, 8 repeats averaged per n)
/// is near −1/2.
#[test]
fn iid_samples_give_slope_near_minus_half() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let u = Uniform::new(0.0, 1.0).unwrap();
    let reference: Vec<f64> = (0..1_000_000).map(|_| u.sample(&mut rng)).collect();
    let mut points = Vec::new();
    for n in [250usize, 500, 1000, 2000, 4000, 8000] {
        let mean_sq: f64 = (0..8)
            .map(|_| {
                let s: Vec<f64> = (0..n).map(|_| u.sample(&mut rng)).collect();
                w2_1d(&s, &reference).unwrap().powi(2)
            })
            .sum::<f64>()
            / 8.0;
        points.push((n as f64, mean_sq.sqrt()));
    }
    let fit = fit_rate(&points).unwrap();
    assert!(
        (fit.slope + 0.5).abs() < 0.1,
        "slope {} ({:?})",
        fit.slope,
        fit
    );
    assert!(fit.ci_low < fit.slope && fit.slope < fit.ci_high);
}

/// The normal density, the reference for the histogram and the KDE.
fn normal_pdf(x: f64, m: f64, s: f64) -> f64 {
    (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

/// 10^5 draws of N(0.1, 0.05²): the KDE (Silverman bandwidth ≈ 0.0047, bias ≈ h²/2·|f''| ≈ 4%
/// of the peak at most) and the histogram (bin 0.01, sampling error ≈ 3% near the peak) are
/// within 8% of the peak density of the true one on ±2 sd; the histogram integrates to the
/// fraction inside its window, which for ±2 sd is P(|Z| < 2) = 0.9545.
#[test]
fn histogram_and_kde_of_a_gaussian() {
    let (m, s) = (0.1, 0.05);
    let x = normal(100_000, m, s, 11);
    let peak = normal_pdf(m, m, s);
    let grid = linspace(m - 2.0 * s, m + 2.0 * s, 41);
    let dens = kde(&x, &grid, None).unwrap();
    for (g, d) in grid.iter().zip(&dens) {
        assert!(
            (d - normal_pdf(*g, m, s)).abs() < 0.08 * peak,
            "kde at {g}: {d}"
        );
    }
    let h = histogram(&x, m - 2.0 * s, m + 2.0 * s, 20).unwrap();
    assert!((h.inside - 0.9545).abs() < 0.005, "inside {}", h.inside);
    let integral: f64 = h.density.iter().map(|d| d * h.bin_width()).sum();
    assert!((integral - h.inside).abs() < 1e-12);
    for (i, d) in h.density.iter().enumerate() {
        let mid = h.left(i) + h.bin_width() / 2.0;
        // A bin averages the density over its width: compare with the midpoint value, allowing
        // the curvature term too.
        assert!(
            (d - normal_pdf(mid, m, s)).abs() < 0.08 * peak,
            "bin {i}: {d}"
        );
    }
}

#[test]
fn histogram_rejects_bad_windows_and_samples() {
    assert!(histogram(&[0.0], 1.0, 1.0, 10).is_err());
    assert!(histogram(&[0.0], 0.0, 1.0, 0).is_err());
    assert!(histogram(&[], 0.0, 1.0, 10).is_err());
    assert!(histogram(&[f64::NAN], 0.0, 1.0, 10).is_err());
    assert!(kde(&[], &[0.0], None).is_err());
    // One value: the histogram puts all mass in its bin; the last bin is closed on the left.
    let h = histogram(&[0.25], 0.0, 1.0, 4).unwrap();
    assert_eq!(h.density, vec![0.0, 4.0, 0.0, 0.0]);
}

/// The spread over projection seeds: distinct seeds give the mean of their distances; a seed
/// given twice is refused (it would count one set of directions twice).
#[test]
fn projection_seeds_are_distinct() {
    let a: Vec<f32> = (0..60).map(|i| (i as f32 * 0.37).sin()).collect();
    let b: Vec<f32> = (0..60).map(|i| (i as f32 * 0.91).cos()).collect();
    let (ca, cb) = (Cloud::new(&a, 3).unwrap(), Cloud::new(&b, 3).unwrap());
    let two = sliced_w2_seeds(ca, cb, 16, &[4, 9]).unwrap();
    let each = [4, 9].map(|s| sliced_w2(ca, cb, 16, s).unwrap());
    // The mean of the two seeds' distances, to float64 rounding.
    assert!((two.mean - (each[0] + each[1]) / 2.0).abs() < 1e-12);
    assert_eq!(two.seeds, 2);
    let e = sliced_w2_seeds(ca, cb, 16, &[4, 9, 4])
        .unwrap_err()
        .to_string();
    assert!(e.contains("seed 4 twice"), "{e}");
}
