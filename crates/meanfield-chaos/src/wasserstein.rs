//! Exact Wasserstein-2 distance between two empirical laws on the real line.
//!
//! For laws μ = (1/n) Σ δ_{a_i} and ν = (1/m) Σ δ_{b_j}, W2² = ∫₀¹ (F_μ⁻¹(u) − F_ν⁻¹(u))² du,
//! where the quantile functions are step functions: after sorting, F_μ⁻¹ = a_(i) on
//! ((i−1)/n, i/n]. The integral is a finite sum over the merged breakpoints {i/n} ∪ {j/m};
//! for n = m it is (1/n) Σ (a_(i) − b_(i))².

use crate::ChaosError;

fn sorted(values: &[f64], what: &'static str) -> Result<Vec<f64>, ChaosError> {
    if values.is_empty() {
        return Err(ChaosError::Empty { what });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ChaosError::NotFinite { what, index });
    }
    let mut v = values.to_vec();
    v.sort_by(|x, y| x.total_cmp(y));
    Ok(v)
}

/// Squared W2 between two sorted samples (exact).
pub(crate) fn w2_squared_sorted(a: &[f64], b: &[f64]) -> f64 {
    if a.len() == b.len() {
        return a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    }
    quantile_integral(a, b, 0.0, 1.0, |d| d * d)
}

/// ∫_lo^hi f(F⁻¹(u) − G⁻¹(u)) du for two sorted samples (exact: the quantile functions are
/// step functions). W2² is f(d) = d² over [0, 1], W1 is |d|.
pub(crate) fn quantile_integral(
    a: &[f64],
    b: &[f64],
    lo: f64,
    hi: f64,
    f: impl Fn(f64) -> f64,
) -> f64 {
    let (n, m) = (a.len(), b.len());
    // Walk the merged breakpoints i/n and j/m; compare with integers i·m vs j·n to avoid
    // rounding in the breakpoints.
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev = 0.0f64;
    let mut total = 0.0;
    while i < n && j < m {
        let next_a = (i + 1) * m;
        let next_b = (j + 1) * n;
        let next = next_a.min(next_b);
        let u = next as f64 / (n * m) as f64;
        let width = u.min(hi) - prev.max(lo);
        if width > 0.0 {
            total += width * f(a[i] - b[j]);
        }
        prev = u;
        if next_a == next {
            i += 1;
        }
        if next_b == next {
            j += 1;
        }
    }
    total
}

/// A distance of finite samples that came out infinite: their differences (or squares)
/// overflow f64, which no particle weights approach; refused rather than returned.
pub(crate) fn finite(distance: f64) -> Result<f64, ChaosError> {
    if distance.is_finite() {
        Ok(distance)
    } else {
        Err(ChaosError::Invalid(
            "the samples' differences overflow f64 (values near 1e154 or beyond): rescale them first".into(),
        ))
    }
}

/// W2 between the empirical laws of `a` and `b` (any sizes), exact.
pub fn w2_1d(a: &[f64], b: &[f64]) -> Result<f64, ChaosError> {
    let a = sorted(a, "the first sample")?;
    let b = sorted(b, "the second sample")?;
    finite(w2_squared_sorted(&a, &b).sqrt())
}

pub(crate) fn sort_checked(values: &[f64], what: &'static str) -> Result<Vec<f64>, ChaosError> {
    sorted(values, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases_by_hand() {
        // Equal sizes: sorted pairs (0,1), (2,2): W2² = (1 + 0)/2.
        assert!((w2_1d(&[2.0, 0.0], &[1.0, 2.0]).unwrap() - 0.5f64.sqrt()).abs() < 1e-15);
        // δ_0 vs (δ_0 + δ_1)/2: W2² = 1/2 · 1 = 0.5.
        assert!((w2_1d(&[0.0], &[0.0, 1.0]).unwrap() - 0.5f64.sqrt()).abs() < 1e-15);
        // {0, 3} vs {0, 1, 2}: quantiles on (0,1/3]: 0 vs 0; (1/3,1/2]: 0 vs 1; (1/2,2/3]: 3 vs 1;
        // (2/3,1]: 3 vs 2 → W2² = 1/6·1 + 1/6·4 + 1/3·1 = 7/6.
        assert!(
            (w2_1d(&[3.0, 0.0], &[0.0, 1.0, 2.0]).unwrap() - (7.0f64 / 6.0).sqrt()).abs() < 1e-12
        );
        assert!(w2_1d(&[], &[1.0]).is_err());
        assert!(w2_1d(&[f64::NAN], &[1.0]).is_err());
    }
}
