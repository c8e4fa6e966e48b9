//! Means and standard deviations of samples: the one copy the studies and figures use.

/// The mean of `v`; `None` when it is empty.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The standard deviation of `v` about its mean with divisor n − `ddof` (0: the population's,
/// 1: the sample's); `None` when n ≤ `ddof`.
pub fn sd(v: &[f64], ddof: usize) -> Option<f64> {
    (v.len() > ddof).then(|| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - ddof) as f64).sqrt()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand computation: [1, 2, 3, 6] has mean 3 and squared deviations 4 + 1 + 0 + 9 = 14:
    // population sd √(14/4), sample sd √(14/3).
    #[test]
    fn hand_computed_moments() {
        let v = [1.0, 2.0, 3.0, 6.0];
        assert_eq!(mean(&v), Some(3.0));
        assert_eq!(sd(&v, 0), Some((14.0f64 / 4.0).sqrt()));
        assert_eq!(sd(&v, 1), Some((14.0f64 / 3.0).sqrt()));
        assert_eq!(mean(&[]), None);
        assert_eq!(sd(&[5.0], 1), None);
    }
}
