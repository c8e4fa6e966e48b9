//! Densities of one coordinate across the particles: a histogram on a fixed window and a
//! Gaussian kernel density estimate (the paper's "limit density" drawn over each histogram).

use crate::ChaosError;

/// A histogram normalised as a density over the whole sample: the bars integrate to the
/// fraction of the sample inside `[lo, hi)`, which is reported (a fixed window, as the paper's
/// axes, may clip the tails).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    /// Density of each of the equal-width bins.
    pub density: Vec<f64>,
    /// Fraction of the sample inside the window.
    pub inside: f64,
}

impl Histogram {
    pub fn bin_width(&self) -> f64 {
        (self.hi - self.lo) / self.density.len() as f64
    }

    /// Left edge of bin `i`.
    pub fn left(&self, i: usize) -> f64 {
        self.lo + i as f64 * self.bin_width()
    }
}

fn check(sample: &[f64], what: &'static str) -> Result<(), ChaosError> {
    if sample.is_empty() {
        return Err(ChaosError::Empty { what });
    }
    if let Some(index) = sample.iter().position(|v| !v.is_finite()) {
        return Err(ChaosError::NotFinite { what, index });
    }
    Ok(())
}

/// Histogram of `sample` on `[lo, hi)` with `bins` equal bins.
pub fn histogram(sample: &[f64], lo: f64, hi: f64, bins: usize) -> Result<Histogram, ChaosError> {
    check(sample, "the histogram's sample")?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) || bins == 0 {
        return Err(ChaosError::Window { lo, hi, bins });
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    let mut inside = 0usize;
    for &v in sample {
        if v >= lo && v < hi {
            let i = (((v - lo) / width) as usize).min(bins - 1);
            counts[i] += 1;
            inside += 1;
        }
    }
    let n = sample.len() as f64;
    Ok(Histogram {
        lo,
        hi,
        density: counts.iter().map(|&c| c as f64 / (n * width)).collect(),
        inside: inside as f64 / n,
    })
}

/// Silverman's rule of thumb, 0.9·min(sd, IQR/1.34)·n^(−1/5), the bandwidth of [`kde`] when
/// none is given. Falls back to the standard deviation (then to 1e-12) for degenerate samples.
pub fn silverman_bandwidth(sample: &[f64]) -> f64 {
    let n = sample.len() as f64;
    let mean = sample.iter().sum::<f64>() / n;
    let sd = (sample.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let mut s = sample.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f64| s[((f * (n - 1.0)).round() as usize).min(s.len() - 1)];
    let iqr = q(0.75) - q(0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    (0.9 * spread * n.powf(-0.2)).max(1e-12)
}

/// Gaussian kernel density estimate of `sample` at each point of `at`, with `bandwidth` (or
/// [`silverman_bandwidth`]). Exact sum over the sample: O(len(sample) · len(at)).
pub fn kde(sample: &[f64], at: &[f64], bandwidth: Option<f64>) -> Result<Vec<f64>, ChaosError> {
    check(sample, "the density's sample")?;
    let h = bandwidth.unwrap_or_else(|| silverman_bandwidth(sample));
    let norm = 1.0 / (sample.len() as f64 * h * (2.0 * std::f64::consts::PI).sqrt());
    // Sorted, so each point only sums over the sample within 8 bandwidths (the rest adds
    // less than e^-32 each).
    let mut s = sample.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Ok(at
        .iter()
        .map(|&x| {
            let from = s.partition_point(|&v| v < x - 8.0 * h);
            let to = s.partition_point(|&v| v <= x + 8.0 * h);
            s[from..to]
                .iter()
                .map(|&v| (-0.5 * ((x - v) / h).powi(2)).exp())
                .sum::<f64>()
                * norm
        })
        .collect())
}

/// `points` equally spaced points from `lo` to `hi` inclusive.
pub fn linspace(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    match points {
        0 => vec![],
        1 => vec![lo],
        _ => (0..points)
            .map(|i| lo + (hi - lo) * i as f64 / (points - 1) as f64)
            .collect(),
    }
}
