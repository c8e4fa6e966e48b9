//! W2 and sliced W2 against closed forms, and the fitted rate on i.i.d. samples.

use meanfield_chaos::{Cloud, fit_rate, sliced_w2, w2_1d};
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
