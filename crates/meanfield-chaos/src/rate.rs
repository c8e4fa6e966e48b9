//! Convergence rate: ordinary least squares of log W2 on log N.
//!
//! Theory (docs/paper.md): W2 to the limit shrinks like N^(−1/2), so the slope should be near −1/2.
//! The 95% interval is slope ± t_{0.975, k−2} · SE(slope), with Student's t quantile from a
//! table (k − 2 ≤ 30 degrees of freedom; the normal 1.96 beyond).

use crate::ChaosError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateFit {
    pub slope: f64,
    pub intercept: f64,
    /// Standard error of the slope (NaN with only two points).
    pub slope_std_error: f64,
    /// 95% confidence interval of the slope.
    pub ci_low: f64,
    pub ci_high: f64,
    pub points: usize,
}

/// t_{0.975, df} for df = 1..=30 (standard table values).
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// t_{0.975, df}: the table to 30 degrees of freedom, the normal 1.96 beyond.
fn t975(df: usize) -> f64 {
    if (1..=30).contains(&df) {
        T975[df - 1]
    } else {
        1.96
    }
}

/// The mean of independent estimates (one slope per replicate family) with its 95% interval
/// mean ± t_{0.975, n−1} · sd/√n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicateInterval {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The estimates, one per family.
    pub values: Vec<f64>,
}

/// [`ReplicateInterval`] of `values` (at least two, all finite).
pub fn replicate_interval(values: &[f64]) -> Result<ReplicateInterval, ChaosError> {
    let n = values.len();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ChaosError::NotFinite {
            what: "the estimates",
            index,
        });
    }
    if n < 2 {
        return Err(ChaosError::Invalid(format!(
            "an interval across replicate families needs at least 2 estimates, got {n}"
        )));
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    if !(mean.is_finite() && half.is_finite()) {
        return Err(ChaosError::Invalid(
            "the estimates' sum or spread overflows f64: rescale them first".into(),
        ));
    }
    Ok(ReplicateInterval {
        mean,
        ci_low: mean - half,
        ci_high: mean + half,
        values: values.to_vec(),
    })
}

/// (log x, log y) of the points with both positive and finite: what a fit sees.
fn log_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter(|(n, d)| *n > 0.0 && *d > 0.0 && n.is_finite() && d.is_finite())
        .map(|(n, d)| (n.ln(), d.ln()))
        .collect()
}

/// Fits log(distance) = intercept + slope · log(width) over the points with distance > 0.
pub fn fit_rate(points: &[(f64, f64)]) -> Result<RateFit, ChaosError> {
    let pts = log_points(points);
    let k = pts.len();
    let distinct_x = pts.iter().any(|(x, _)| (x - pts[0].0).abs() > 1e-12);
    if k < 2 {
        return Err(ChaosError::TooFewPoints { needed: 2, got: k });
    }
    if !distinct_x {
        return Err(ChaosError::Invalid(format!(
            "the {k} points all have the same width: a slope needs at least two distinct widths"
        )));
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k as f64;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let (se, t) = if k > 2 {
        let rss: f64 = pts
            .iter()
            .map(|p| (p.1 - intercept - slope * p.0).powi(2))
            .sum();
        let df = k - 2;
        ((rss / df as f64 / sxx).sqrt(), t975(df))
    } else {
        (f64::NAN, f64::NAN)
    };
    Ok(RateFit {
        slope,
        intercept,
        slope_std_error: se,
        ci_low: slope - t * se,
        ci_high: slope + t * se,
        points: k,
    })
}

/// The fit's pointwise 95% confidence band for the mean of log(distance) at each x of `at`:
/// exp(ŷ(x) ± t·s·sqrt(1/k + (log x − mean log x)²/Sxx)) over the same points `fit_rate` was
/// given, as (x, low, high). Empty with two points (no residual degrees of freedom).
pub fn confidence_band(points: &[(f64, f64)], fit: &RateFit, at: &[f64]) -> Vec<(f64, f64, f64)> {
    let pts = log_points(points);
    let k = pts.len();
    if k < 3 || !fit.slope_std_error.is_finite() || fit.slope_std_error <= 0.0 {
        return Vec::new();
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k as f64;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    // The residual standard deviation s = se(slope)·√Sxx, and the t quantile the slope's
    // interval used.
    let s = fit.slope_std_error * sxx.sqrt();
    let t = (fit.slope - fit.ci_low) / fit.slope_std_error;
    at.iter()
        .filter(|x| **x > 0.0)
        .map(|&x| {
            let lx = x.ln();
            let y = fit.intercept + fit.slope * lx;
            let half = t * s * (1.0 / k as f64 + (lx - mx).powi(2) / sxx).sqrt();
            (x, (y - half).exp(), (y + half).exp())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// {1, 2, 3}: mean 2, sd 1, t_{0.975, 2} = 4.303, half-width 4.303/√3 = 2.4843 (by hand);
    /// one value, or a non-finite one, is refused.
    #[test]
    fn replicate_interval_by_hand() {
        let r = replicate_interval(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(r.mean, 2.0);
        assert!(
            (r.ci_high - 2.0 - 4.303 / 3f64.sqrt()).abs() < 1e-12,
            "{r:?}"
        );
        assert!(
            (r.ci_low - 2.0 + 4.303 / 3f64.sqrt()).abs() < 1e-12,
            "{r:?}"
        );
        assert!(replicate_interval(&[1.0]).is_err());
        assert!(replicate_interval(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn exact_power_law_is_recovered() {
        // d = 3 N^-0.5 exactly: slope −0.5, intercept ln 3, zero residual.
        let pts: Vec<(f64, f64)> = [100.0, 400.0, 1600.0f64]
            .iter()
            .map(|&n| (n, 3.0 / n.sqrt()))
            .collect();
        let fit = fit_rate(&pts).unwrap();
        assert!((fit.slope + 0.5).abs() < 1e-12);
        assert!((fit.intercept - 3f64.ln()).abs() < 1e-12);
        assert!(fit.slope_std_error.abs() < 1e-12);
        assert!(fit_rate(&pts[..1]).is_err());
    }

    /// The 95% interval of the slope shrinks as points are added: the same power law d = N^-1
    /// with the same multiplicative wobble (±10%, alternating), fitted on 4 and on 16 widths.
    #[test]
    fn interval_shrinks_with_more_points() {
        let pts = |k: usize| -> Vec<(f64, f64)> {
            (0..k)
                .map(|i| {
                    let n = 100.0 * 2f64.powf(i as f64 * 4.0 / k as f64);
                    let wobble = if i % 2 == 0 { 1.1 } else { 0.9 };
                    (n, wobble / n)
                })
                .collect()
        };
        let (few, many) = (fit_rate(&pts(4)).unwrap(), fit_rate(&pts(16)).unwrap());
        let width = |f: &RateFit| f.ci_high - f.ci_low;
        assert!(few.ci_low < -1.0 && -1.0 < few.ci_high, "{few:?}");
        assert!(many.ci_low < -1.0 && -1.0 < many.ci_high, "{many:?}");
        assert!(width(&many) < 0.5 * width(&few), "{few:?} vs {many:?}");
    }

    /// The band against its formula at the points' mean log x (half-width t·s/√k) and its
    /// widening away from it; empty for an exact two-point fit.
    #[test]
    fn confidence_band_is_narrowest_at_the_mean_and_contains_the_fit() {
        // d = N^-1 with ±10% alternating wobble at N = 100, 200, 400, 800.
        let pts: Vec<(f64, f64)> = [100.0, 200.0, 400.0, 800.0f64]
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, (1.0 + if i % 2 == 0 { 0.1 } else { -0.1 }) / n))
            .collect();
        let fit = fit_rate(&pts).unwrap();
        let centre = (100f64.ln() + 800f64.ln()) / 2.0;
        let band = confidence_band(&pts, &fit, &[centre.exp(), 100.0, 800.0]);
        assert_eq!(band.len(), 3);
        let width = |b: &(f64, f64, f64)| (b.2 / b.1).ln();
        // At the mean: 2·t·s/√k with t = T975[1] (df 2) and s from the residuals.
        let rss: f64 = pts
            .iter()
            .map(|(n, d)| (d.ln() - fit.intercept - fit.slope * n.ln()).powi(2))
            .sum();
        let expected = 2.0 * 4.303 * (rss / 2.0).sqrt() / 2.0;
        assert!(
            (width(&band[0]) - expected).abs() < 1e-9,
            "{} vs {expected}",
            width(&band[0])
        );
        assert!(width(&band[1]) > width(&band[0]) && width(&band[2]) > width(&band[0]));
        for (x, lo, hi) in &band {
            let y = (fit.intercept + fit.slope * x.ln()).exp();
            assert!(*lo < y && y < *hi);
        }
        assert!(confidence_band(&pts[..2], &fit_rate(&pts[..2]).unwrap(), &[150.0]).is_empty());
    }
}
