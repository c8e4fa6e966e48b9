//! The Flex products (`meanfield_model::flex_products`): the forward `W xᵀ` and the fused update
//! `a·W + b·Dᵀx` against float64 recomputations on awkward layouts, and the same bits whatever
//! the number of blocks they are split into (so the weights do not depend on the thread count).

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::flex_products::{
    MIN_BLOCK_ROWS, add_transposed_product, add_transposed_product_in, product_transposed,
    product_transposed_in,
};
use meanfield_model::net::to_vec;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn tensor(v: &[f64], shape: [usize; 2]) -> Tensor<2> {
    let v: Vec<f32> = v.iter().map(|&a| a as f32).collect();
    Tensor::<2>::from_data(TensorData::new(v, shape), &Device::flex())
}

fn uniform(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Values exactly representable in f32, so the float64 reference sees the kernel's inputs.
    (0..len)
        .map(|_| rng.random_range(-1.0..1.0f32) as f64)
        .collect()
}

/// The forward product W xᵀ against a float64 recomputation, with x a column slice (row stride
/// larger than its width) and W a transposed view (column-major), in one block and in three.
#[test]
fn forward_matches_float64_on_strided_inputs() {
    let (n, p, m) = (3 * MIN_BLOCK_ROWS + 5, 19, 7);
    let x_wide = uniform(m * (p + 4), 1); // [m, p + 4]
    let w_t = uniform(p * n, 2); // Wᵀ [p, n]
    let x = tensor(&x_wide, [m, p + 4]).slice([0..m, 2..p + 2]);
    let w = tensor(&w_t, [p, n]).transpose();
    for blocks in [1, 3] {
        let out = product_transposed_in(&w, &x, blocks);
        assert_eq!(out.dims(), [n, m], "particle-major: W xᵀ");
        let got = to_vec(out);
        for i in 0..m {
            for k in 0..n {
                let want: f64 = (0..p)
                    .map(|j| x_wide[i * (p + 4) + j + 2] * w_t[j * n + k])
                    .sum();
                // A 19-term f32 sum of products of values in (−1, 1): 1e-5 absolute.
                let g = got[k * m + i] as f64;
                assert!(
                    (g - want).abs() < 1e-5,
                    "blocks {blocks}, ({i}, {k}): {g} vs {want}"
                );
            }
        }
    }
}

/// The step's shapes (M = 100, p = 784, N = 1000): both products give the same bits in 1, 2, 3
/// and 7 blocks (7 blocks of 143 rows: every block above gemm's 64-row small-matrix path), and
/// the forward agrees with Burn's own matmul to rounding.
#[test]
fn products_do_not_depend_on_the_split() {
    let (n, p, m) = (1000, 784, 100);
    let x = tensor(&uniform(m * p, 3), [m, p]);
    let w = tensor(&uniform(n * p, 4), [n, p]);
    let d = tensor(&uniform(m * n, 5), [m, n]);
    let forward = to_vec(product_transposed_in(&w, &x, 1));
    let update = to_vec(add_transposed_product_in(w.clone(), &d, &x, 0.9, -0.01, 1));
    for blocks in [2, 3, 7] {
        let f = to_vec(product_transposed_in(&w, &x, blocks));
        assert!(
            f == forward,
            "forward in {blocks} blocks differs from one block"
        );
        let u = to_vec(add_transposed_product_in(
            w.clone(),
            &d,
            &x,
            0.9,
            -0.01,
            blocks,
        ));
        assert!(
            u == update,
            "update in {blocks} blocks differs from one block"
        );
    }
    assert!(
        to_vec(product_transposed(&w, &x)) == forward,
        "default split differs"
    );
    // Burn's matmul (Flex's gemm call, threaded by gemm): the same sums up to order, 1e-4 on
    // values of order sqrt(784)/3 ≈ 9 (f32 rounding of a 784-term sum).
    let burn = to_vec(w.clone().matmul(x.clone().transpose()));
    for (a, b) in forward.iter().zip(&burn) {
        assert!((a - b).abs() < 1e-4, "{a} vs Burn's {b}");
    }
}

/// The fused kernel against a float64 recomputation of a·W + b·Dᵀx, with every input in an
/// awkward layout: W a transposed view (not contiguous: the kernel copies it first), D a
/// transposed view (strided lhs), x a column slice (row stride larger than its width).
#[test]
fn update_matches_float64_on_strided_inputs() {
    let device = Device::flex();
    let (n, p, m) = (37, 11, 5);
    let val = |i: usize, k: usize| ((i * k + 3) % 17) as f64 / 17.0 - 0.5;
    let w_t: Vec<f64> = (0..p * n).map(|i| val(i, 7)).collect(); // Wᵀ [p, n]
    let d_t: Vec<f64> = (0..n * m).map(|i| val(i, 5)).collect(); // Dᵀ [n, m]
    let x_wide: Vec<f64> = (0..m * (p + 4)).map(|i| val(i, 3)).collect(); // [m, p + 4]
    let tensor = |v: &[f64], shape: [usize; 2]| {
        let v: Vec<f32> = v.iter().map(|&a| a as f32).collect();
        Tensor::<2>::from_data(TensorData::new(v, shape), &device)
    };
    let w = tensor(&w_t, [p, n]).transpose();
    let d = tensor(&d_t, [n, m]).transpose();
    let x = tensor(&x_wide, [m, p + 4]).slice([0..m, 2..p + 2]);
    let (a, b) = (0.9f32, -0.37f32);
    let out = add_transposed_product(w, &d, &x, a, b);
    assert_eq!(out.dims(), [n, p]);
    let got = to_vec(out);
    for i in 0..n {
        for j in 0..p {
            let dx: f64 = (0..m)
                .map(|k| d_t[i * m + k] * x_wide[k * (p + 4) + j + 2])
                .sum();
            let want = a as f64 * w_t[j * n + i] + b as f64 * dx;
            // f32 inputs and a 5-term f32 sum of O(1) values: 1e-6 absolute.
            let g = got[i * p + j] as f64;
            assert!((g - want).abs() < 1e-6, "({i}, {j}): {g} vs {want}");
        }
    }
}

/// A shared W1 is copied before the in-place write: the other handle keeps the old values.
#[test]
fn update_leaves_other_handles_alone() {
    let device = Device::flex();
    let w = Tensor::<2>::ones([4, 3], &device);
    let keep = w.clone();
    let d = Tensor::<2>::ones([2, 4], &device);
    let x = Tensor::<2>::ones([2, 3], &device);
    let out = add_transposed_product(w, &d, &x, 1.0, -0.5);
    // 1 − 0.5 · (1·1 + 1·1) = 0.
    assert_eq!(to_vec(out), vec![0.0; 12]);
    assert_eq!(to_vec(keep), vec![1.0; 12]);
}
