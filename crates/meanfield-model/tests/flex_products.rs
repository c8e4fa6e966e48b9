//! The Flex products (`meanfield_model::flex_products`): the forward `W xᵀ` and the fused update
//! `a·W + b·Dᵀx` against float64 recomputations on awkward layouts, and the same bits whatever
//! the number of blocks they are split into (so the weights do not depend on the thread count),
//! and the update's own AVX-512 kernel (`meanfield_model::flex_update`) against `gemm`'s, bit for
//! bit, as the forward's (`meanfield_model::flex_forward`).

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::flex_products::{
    Kernel, MIN_BLOCK_ROWS, add_transposed_product, add_transposed_product_in,
    forward_kernel_applies, product_transposed, product_transposed_in,
};
use meanfield_model::net::to_vec;
use meanfield_model::{flex_forward, flex_update};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod support;
use support::{awkward_one_in, mostly_finite, same};

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
        let out = product_transposed_in(&w, &x, blocks, Kernel::Fastest);
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
/// and 7 blocks (7 blocks of 143 rows: every block above gemm's 64-row small-matrix path), with
/// either update kernel, and the forward agrees with Burn's own matmul to rounding.
#[test]
fn products_do_not_depend_on_the_split() {
    let (n, p, m) = (1000, 784, 100);
    let x = tensor(&uniform(m * p, 3), [m, p]);
    let w = tensor(&uniform(n * p, 4), [n, p]);
    let d = tensor(&uniform(m * n, 5), [m, n]);
    let forward = to_vec(product_transposed_in(&w, &x, 1, Kernel::Fastest));
    let update = |blocks, kernel| {
        to_vec(add_transposed_product_in(
            w.clone(),
            &d,
            &x,
            0.9,
            -0.01,
            blocks,
            kernel,
        ))
    };
    let one = update(1, Kernel::Gemm);
    for blocks in [1, 2, 3, 7] {
        let f = to_vec(product_transposed_in(&w, &x, blocks, Kernel::Fastest));
        assert!(
            f == forward,
            "forward in {blocks} blocks differs from one block"
        );
        for kernel in [Kernel::Gemm, Kernel::Fastest] {
            assert!(
                update(blocks, kernel) == one,
                "update in {blocks} blocks ({kernel:?}) differs from gemm in one block"
            );
        }
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

/// The update's AVX-512 kernel gives gemm's bits: every branch of its combine (a = 1, a = 0, a =
/// −0, any other a), depths 3 and 512 (the ends of what it takes), row counts that are not
/// multiples of its 12-row groups, column counts with masked tails (p = 17, 19, 51), two equal
/// panels (p = 3072 at M = 100) and two unequal ones (p = 3101: 1568 columns, then 1533 ending in a
/// masked tile), d in the step's layout (a transposed view) and contiguous, x a column slice (read
/// in place) and contiguous (at p = 3072 and 4160 its rows lie a multiple of 4 cache lines apart,
/// and blocks of 64 rows or more copy each panel: at 4160 three panels, the last narrower, 1408,
/// 1408 and 1344 columns; 35 rows read in place); values with ±0, subnormals, overflow, ±∞ and NaN.
/// Where `takes` says the kernel runs, the test checks that it does run (the case is not gemm
/// against gemm).
#[test]
fn update_kernel_gives_gemms_bits() {
    let device = Device::flex();
    let cases: [(usize, usize, usize); 9] = [
        (1000, 784, 100),
        (37, 19, 5),
        (150, 17, 3),
        (25, 51, 512),
        (130, 3072, 100),
        (20, 3101, 100),
        (70, 4160, 100),
        (13, 64, 7),
        (200, 2, 9),
    ];
    let mut ran = 0;
    for (case, &(n, p, m)) in cases.iter().enumerate() {
        let seed = 10 * case as u64;
        // Specials rare enough that most depth-M sums stay finite.
        let rare = 40 * (m as u32).div_ceil(8);
        let draw = |len, seed| awkward_one_in(len, seed, rare);
        let w = Tensor::<2>::from_data(TensorData::new(draw(n * p, seed), [n, p]), &device);
        let xs = [
            // A column slice of a wider [m, p + 3] (row stride p + 3): read in place.
            Tensor::<2>::from_data(
                TensorData::new(draw(m * (p + 3), seed + 1), [m, p + 3]),
                &device,
            )
            .slice([0..m, 1..p + 1]),
            // Contiguous: at p = 3072 and 4160 its rows lie a multiple of 4 cache lines apart,
            // and blocks of 64 rows or more copy each panel (`Panel`).
            Tensor::<2>::from_data(TensorData::new(draw(m * p, seed + 3), [m, p]), &device),
        ];
        let d_values = draw(n * m, seed + 2);
        let layouts = [
            // The step's: ∇H [M, N] as the transposed view of the particle-major [N, M].
            Tensor::<2>::from_data(TensorData::new(d_values.clone(), [n, m]), &device).transpose(),
            Tensor::<2>::from_data(TensorData::new(d_values, [m, n]), &device),
        ];
        // The kernel itself where it takes every block (`Own` panics otherwise), so the case is
        // not gemm against gemm.
        let own = |blocks: usize| {
            let per = n.div_ceil(blocks);
            let last = n - per * (n.div_ceil(per) - 1);
            flex_update::takes(per, p, m, 1) && flex_update::takes(last, p, m, 1)
        };
        for (x, d) in xs.iter().flat_map(|x| layouts.iter().map(move |d| (x, d))) {
            for a in [1.0f32, 0.0, -0.0, 0.999, -1.5] {
                for blocks in [1, 2] {
                    let b = -0.37f32;
                    let run = |kernel| {
                        to_vec(add_transposed_product_in(
                            w.clone(),
                            d,
                            x,
                            a,
                            b,
                            blocks,
                            kernel,
                        ))
                    };
                    let gemm = run(Kernel::Gemm);
                    let kernel = if own(blocks) {
                        Kernel::Own
                    } else {
                        Kernel::Fastest
                    };
                    let got = run(kernel);
                    if let Some(i) = same(&gemm, &got) {
                        panic!(
                            "N {n}, p {p}, M {m}, a {a}, {blocks} blocks ({kernel:?}): element \
                             {i}: gemm {} ({:#x}), kernel {} ({:#x})",
                            gemm[i],
                            gemm[i].to_bits(),
                            got[i],
                            got[i].to_bits()
                        );
                    }
                    mostly_finite(&got, &format!("N {n}, p {p}, M {m}"));
                }
            }
        }
        if own(1) {
            ran += 1;
        }
    }
    // With AVX-512F all nine take the kernel in one block ((200, 2, 9) has 400 > 256 elements;
    // its two blocks of 100 rows, 200 elements each, go to gemm); without it none does.
    let expected = if flex_update::available() { 9 } else { 0 };
    assert_eq!(ran, expected, "cases on the kernel's path");
}

/// The forward's AVX-512 kernel gives gemm's bits: batches with no partial vector (M = 16, 64,
/// 112), with the last 1–4 examples of a group's 4 rows in one shared vector (M = 3, 17, 20,
/// 100) and with one per row (M = 5, 24, 111), row counts that are not multiples of its 4-row
/// groups (down to 3 rows), one depth block (p = 3, 17, 100) and several (p = 784 and up:
/// gemm's blocks of `kc`, summed as gemm sums them), x in several panels of whole blocks with
/// each kind of last vector (p = 3072 and 3100 at M = 100 and 112, where 3100 ends in a
/// shorter block; 6200 at M = 24), W1 contiguous and a column slice, x a column slice; values
/// with ±0, subnormals, overflow, ±∞ and NaN. Where `takes` says the kernel runs, the test
/// checks that it does run (the case is not gemm against gemm).
#[test]
fn forward_kernel_gives_gemms_bits() {
    let device = Device::flex();
    let cases: [(usize, usize, usize); 16] = [
        (1000, 784, 100),
        (3, 784, 100),
        (131, 3072, 100),
        (131, 3100, 100),
        (66, 3072, 112),
        (70, 6200, 24),
        (70, 4100, 17),
        (150, 17, 3),
        (101, 3, 5),
        (90, 40, 16),
        (67, 33, 20),
        (66, 100, 24),
        (65, 50, 64),
        (9, 60, 111),
        (30, 784, 112),
        (130, 64, 2),
    ];
    let mut ran = 0;
    for (case, &(n, p, m)) in cases.iter().enumerate() {
        let seed = 300 + 10 * case as u64;
        // Specials rare enough that most depth-p sums stay finite.
        let rare = 40 * (p as u32).div_ceil(8);
        let draw = |len, seed| awkward_one_in(len, seed, rare);
        let t = |v: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(v, shape), &device)
        };
        let x = t(draw(m * (p + 3), seed + 1), [m, p + 3]).slice([0..m, 1..p + 1]);
        let ws = [
            t(draw(n * p, seed), [n, p]),
            // A column slice of a wider [n, p + 5] (row stride p + 5).
            t(draw(n * (p + 5), seed + 2), [n, p + 5]).slice([0..n, 2..p + 2]),
        ];
        for w in &ws {
            for blocks in [1, 2] {
                let own = forward_kernel_applies(w, &x, blocks);
                let kernel = if own { Kernel::Own } else { Kernel::Fastest };
                let gemm = to_vec(product_transposed_in(w, &x, blocks, Kernel::Gemm));
                let got = to_vec(product_transposed_in(w, &x, blocks, kernel));
                if let Some(i) = same(&gemm, &got) {
                    panic!(
                        "N {n}, p {p}, M {m}, {blocks} blocks ({kernel:?}): element {i} \
                         (particle {}, example {}): gemm {} ({:#x}), kernel {} ({:#x})",
                        i / m,
                        i % m,
                        gemm[i],
                        gemm[i].to_bits(),
                        got[i],
                        got[i].to_bits()
                    );
                }
                mostly_finite(&got, &format!("N {n}, p {p}, M {m}"));
            }
        }
        if flex_forward::takes(n, p, m, 1) {
            ran += 1;
        }
    }
    // With AVX-512 every case takes the kernel in one block; without it none does.
    let expected = if flex_forward::available() { 16 } else { 0 };
    assert_eq!(ran, expected, "cases on the kernel's path");
    // Some cases sum several depth blocks (the combine after the first block is tested), and
    // some end in a shorter one.
    let kc = |&(n, p, m): &(usize, usize, usize)| flex_forward::depth_block(m, n, p);
    let several = cases.iter().filter(|c| kc(c) < c.1).count();
    let shorter = cases.iter().filter(|c| c.1 % kc(c) != 0).count();
    assert!(
        several >= 4 && shorter >= 1,
        "{several} cases with several depth blocks, {shorter} ending in a shorter one"
    );
}

/// The forward with ReLU written by the kernel gives the bits of the two steps it replaces
/// (gemm's product, then Flex's ReLU through Burn's API): shapes with and without a shared last
/// vector, one and several depth blocks, one and two blocks of rows; H with negative, NaN and
/// infinite entries (NaN kept, negatives to +0), NaN among the examples of the last vector
/// (whose ReLU the kernel writes element by element), and a row of −0 (products that round to
/// −0, which ReLU turns to +0). Where the kernel does not apply (45 rows of 16 examples: gemm's
/// small-matrix path; 113 examples) it answers `None`.
#[test]
fn forward_with_relu_gives_the_two_steps_bits() {
    use meanfield_model::flex_products::product_transposed_relu_in;
    let device = Device::flex();
    let t =
        |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
    // A row of W1 whose products with x's (positive) values all round to −0.
    let tiny = -f32::from_bits(1);
    let (n, p, m) = (200, 40, 100);
    let zero_row: Vec<f32> = (0..n * p)
        .map(|e| if e < p { tiny } else { (e % 7) as f32 - 3.0 })
        .collect();
    let positive: Vec<f32> = (0..m * p).map(|e| 0.05 + (e % 8) as f32 * 0.05).collect();
    let crafted = (t(zero_row, [n, p]), t(positive, [m, p]));
    let drawn = [
        (1000, 784, 100),
        (131, 3072, 100),
        (90, 40, 16),
        (66, 100, 24),
    ]
    .map(|(n, p, m): (usize, usize, usize)| {
        let seed = 500 + n as u64;
        let rare = 40 * (p as u32).div_ceil(8);
        (
            t(awkward_one_in(n * p, seed, rare), [n, p]),
            t(awkward_one_in(m * p, seed + 1, rare), [m, p]),
        )
    });
    for (case, (w, x)) in drawn.iter().chain([&crafted]).enumerate() {
        let ([n, _], m) = (w.dims(), x.dims()[0]);
        for blocks in [1, 2] {
            let own = forward_kernel_applies(w, x, blocks);
            let got = product_transposed_relu_in(w, x, blocks);
            assert_eq!(got.is_some(), own, "case {case} in {blocks} blocks");
            let Some((h, relu)) = got else {
                continue;
            };
            let gemm = product_transposed_in(w, x, blocks, Kernel::Gemm);
            let two_steps = burn::tensor::activation::relu(gemm.clone());
            let (h, relu, gemm, two_steps) =
                (to_vec(h), to_vec(relu), to_vec(gemm), to_vec(two_steps));
            assert!(
                same(&gemm, &h).is_none(),
                "case {case}: H differs from gemm's"
            );
            if let Some(i) = same(&two_steps, &relu) {
                panic!(
                    "case {case}, {blocks} blocks: element {i}: H {}, ReLU {} ({:#x}), kernel {} \
                     ({:#x})",
                    h[i],
                    two_steps[i],
                    two_steps[i].to_bits(),
                    relu[i],
                    relu[i].to_bits()
                );
            }
            if case == drawn.len() {
                let minus_zero = h.iter().filter(|v| v.to_bits() == 0x8000_0000).count();
                assert_eq!(
                    minus_zero, m,
                    "the crafted row: {minus_zero} of {m} −0 in H"
                );
                continue;
            }
            let shared = 16 * (m / 16);
            let (negative, nan, nan_last) = (
                h.iter().filter(|v| **v < 0.0).count(),
                h.iter().filter(|v| v.is_nan()).count(),
                (0..n * m)
                    .filter(|e| e % m >= shared && h[*e].is_nan())
                    .count(),
            );
            assert!(
                negative > 0 && nan > 0 && (nan_last > 0 || shared == m),
                "case {case}: {negative} negative, {nan} NaN in H ({nan_last} in the last vector)"
            );
        }
    }
    // Refused: more than 112 examples (the kernel's widest batch).
    let (w, x) = (
        t(vec![1.0; 200 * 20], [200, 20]),
        t(vec![1.0; 113 * 20], [113, 20]),
    );
    assert!(product_transposed_relu_in(&w, &x, 1).is_none());
}

/// The shapes the forward kernel refuses, each where gemm takes another path or the kernel has
/// no tile (module docs of `flex_forward`): M = 1 or above 112, one row, depth ≤ 2, at most 256
/// elements, both sides at most 64 (gemm's small-matrix path), a strided W1 row; and backward
/// strides (W1 or x flipped along the depth), where `Fastest` gives gemm's bits.
#[test]
fn forward_kernel_refuses_gemms_other_paths() {
    assert_eq!(
        flex_forward::takes(1000, 784, 100, 1),
        flex_forward::available()
    );
    for (rows, p, m, w_k) in [
        (1000, 784, 1, 1),
        (1000, 784, 113, 1),
        (1, 784, 100, 1),
        (1000, 2, 100, 1),
        (100, 784, 2, 1),
        (64, 784, 64, 1),
        (1000, 784, 100, 2),
    ] {
        assert!(
            !flex_forward::takes(rows, p, m, w_k),
            "rows {rows}, p {p}, M {m}, W1 column stride {w_k}"
        );
    }
    let device = Device::flex();
    let (n, p, m) = (300, 40, 20);
    let t =
        |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
    let w = t(awkward_one_in(n * p, 11, 400), [n, p]);
    let x = t(awkward_one_in(m * p, 12, 400), [m, p]);
    for (name, w, x) in [
        ("W1 flipped", w.clone().flip([1]), x.clone()),
        ("x flipped", w.clone(), x.clone().flip([1])),
    ] {
        let gemm = to_vec(product_transposed_in(&w, &x, 1, Kernel::Gemm));
        let fastest = to_vec(product_transposed_in(&w, &x, 1, Kernel::Fastest));
        assert!(
            same(&gemm, &fastest).is_none(),
            "{name}: Fastest differs from gemm"
        );
    }
}

/// A backward stride along the update's depth (x or ∇H flipped over the batch: Flex's `flip`
/// is a view with a negative stride) makes `gemm` sum the batch from its end; the kernel, whose
/// chains run forward, leaves such operands to gemm, and `Fastest` gives gemm's bits. The same
/// for the ReLU-formed update's inputs.
#[test]
fn backward_strides_go_to_gemm() {
    use meanfield_model::flex_products::relu_update_applies;
    let device = Device::flex();
    let (n, p, m) = (300, 40, 20);
    let t =
        |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
    let w = t(awkward_one_in(n * p, 1, 400), [n, p]);
    let x = t(awkward_one_in(m * p, 2, 400), [m, p]);
    let d = t(awkward_one_in(m * n, 3, 400), [m, n]);
    for (name, d, x) in [
        ("x flipped", d.clone(), x.clone().flip([0])),
        ("∇H flipped", d.clone().flip([0]), x.clone()),
    ] {
        let run = |kernel| {
            to_vec(add_transposed_product_in(
                w.clone(),
                &d,
                &x,
                1.0,
                -0.5,
                1,
                kernel,
            ))
        };
        assert!(
            same(&run(Kernel::Gemm), &run(Kernel::Fastest)).is_none(),
            "{name}: Fastest differs from gemm"
        );
    }
    let h_t = t(awkward_one_in(n * m, 4, 400), [n, m]);
    let w2 = t(awkward_one_in(n * 10, 5, 400), [n, 10]);
    let g = t(awkward_one_in(m * 10, 6, 400), [m, 10]);
    assert_eq!(
        relu_update_applies(&w, &h_t, &w2, &g, &x, 1),
        flex_update::available()
    );
    assert!(!relu_update_applies(
        &w,
        &h_t,
        &w2,
        &g,
        &x.clone().flip([0]),
        1
    ));
    assert!(!relu_update_applies(
        &w,
        &h_t,
        &w2,
        &g.clone().flip([0]),
        &x,
        1
    ));
    assert!(!relu_update_applies(
        &w,
        &h_t,
        &w2.clone().flip([1]),
        &g,
        &x,
        1
    ));
}

/// ReLU's ∇H formed inside the update kernel gives the bits of the stored path (∇H formed with
/// Burn's matmul and ReLU's backward, as `meanfield_model::gradient` does, then the fused update
/// with gemm): every combine branch, one and two blocks, C = 3 (the smallest it takes), 10 and 256
/// (with M = 3), M from 3 to 100, masked row tails (M = 5, 100) and column tails (p = 17, 19), the
/// widest single panel (p = 1536 at M = 100), two panels (p = 3072 and 3101 at M = 100: the block's
/// ∇H formed in the first and kept for the second); H, W2, x and W1 with ±0, subnormals, ±∞ and NaN
/// (H's NaN masked off: 1[NaN > 0] = 0), G ordinary draws; most results finite; W1 and the other
/// handles of every input left as they were.
#[test]
fn relu_update_gives_the_stored_paths_bits() {
    use meanfield_model::Activation;
    use meanfield_model::flex_products::{add_relu_transposed_product_in, relu_update_applies};
    let device = Device::flex();
    let t =
        |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
    let cases: [(usize, usize, usize, usize); 8] = [
        (1000, 784, 100, 10),
        (120, 40, 3, 256),
        (60, 19, 5, 3),
        (30, 1536, 100, 10),
        (40, 3072, 100, 10),
        (27, 3101, 100, 3),
        (150, 17, 3, 4),
        (64, 40, 9, 10),
    ];
    for (case, &(n, p, m, c)) in cases.iter().enumerate() {
        let seed = 100 + 10 * case as u64;
        // Specials rare enough that most sums (depth M, and C for ∇H) stay finite.
        let rare = 40 * ((m + c) as u32).div_ceil(8);
        let awkward = |len, seed| awkward_one_in(len, seed, rare);
        let w = t(awkward(n * p, seed), [n, p]);
        let h_t = t(awkward(n * m, seed + 1), [n, m]);
        let w2 = t(awkward(n * c, seed + 2), [n, c]);
        // G without specials: one infinite or NaN entry makes a whole row of ∇H, and with it
        // every element of the update, non-finite.
        let g = t(awkward_one_in(m * c, seed + 3, u32::MAX), [m, c]);
        let x = t(awkward(m * (p + 3), seed + 4), [m, p + 3]).slice([0..m, 1..p + 1]);
        // The stored path, exactly as the step formed ∇H before.
        let d = Activation::Relu
            .backward(
                h_t.clone(),
                burn::tensor::activation::relu(h_t.clone()),
                w2.clone().matmul(g.clone().transpose()),
            )
            .transpose();
        let inputs = [&w, &h_t, &w2, &g, &x].map(|t| to_vec(t.clone()));
        for a in [1.0f32, 0.0, 0.999] {
            for blocks in [1, 2] {
                assert_eq!(
                    relu_update_applies(&w, &h_t, &w2, &g, &x, blocks),
                    flex_update::available(),
                    "case {case} in {blocks} blocks is on the kernel's path (AVX-512F here)"
                );
                if !flex_update::available() {
                    continue;
                }
                let stored = to_vec(add_transposed_product_in(
                    w.clone(),
                    &d,
                    &x,
                    a,
                    -0.37,
                    blocks,
                    Kernel::Gemm,
                ));
                let formed =
                    add_relu_transposed_product_in(w.clone(), &h_t, &w2, &g, &x, a, -0.37, blocks)
                        .map(to_vec)
                        .unwrap_or_else(|_| panic!("case {case}: refused"));
                mostly_finite(&formed, &format!("case {case}"));
                if let Some(i) = same(&stored, &formed) {
                    panic!(
                        "N {n}, p {p}, M {m}, C {c}, a {a}, {blocks} blocks: element {i}: \
                         stored {} ({:#x}), formed {} ({:#x})",
                        stored[i],
                        stored[i].to_bits(),
                        formed[i],
                        formed[i].to_bits()
                    );
                }
            }
        }
        let after = [&w, &h_t, &w2, &g, &x].map(|t| to_vec(t.clone()));
        for (before, after) in inputs.iter().zip(&after) {
            assert!(
                same(before, after).is_none(),
                "case {case}: an input changed"
            );
        }
    }
}

/// Where the ReLU-formed update does not apply it hands W1 back untouched, and the caller takes
/// the stored path: C = 2 (gemm forms W2 Gᵀ on its `gevv` path), 256 or fewer elements of ∇H
/// (gemm's horizontal kernels), H not particle-major (a transposed view), shapes that do not
/// fit, a block the kernel does not take (M = 513), and C = 513 (gemm forms W2 Gᵀ in two
/// depth blocks).
#[test]
fn relu_update_refusals_hand_w1_back() {
    use meanfield_model::flex_products::add_relu_transposed_product_in;
    let device = Device::flex();
    let ones = |shape: [usize; 2]| Tensor::<2>::ones(shape, &device);
    let refused = |n: usize, p: usize, m: usize, c: usize, h_t: Tensor<2>| {
        let w = Tensor::<2>::from_data(
            TensorData::new((0..n * p).map(|v| v as f32).collect::<Vec<_>>(), [n, p]),
            &device,
        );
        let keep = to_vec(w.clone());
        match add_relu_transposed_product_in(
            w,
            &h_t,
            &ones([n, c]),
            &ones([m, c]),
            &ones([m, p]),
            1.0,
            -0.5,
            1,
        ) {
            Ok(_) => panic!("N {n}, p {p}, M {m}, C {c}: taken"),
            Err(w) => assert_eq!(to_vec(w), keep, "W1 handed back changed"),
        }
    };
    refused(100, 20, 10, 2, ones([100, 10]));
    refused(25, 20, 10, 10, ones([25, 10]));
    refused(100, 20, 10, 10, ones([10, 100]).transpose());
    refused(100, 20, 10, 10, ones([99, 10]));
    refused(100, 20, 513, 10, ones([100, 513]));
    refused(100, 20, 10, 513, ones([100, 10]));
}

/// The shapes the kernel refuses, each where gemm takes another path (module docs of
/// `flex_update`): depth ≤ 2 (gemm's `gevv`), above 512 (more than one depth block), one row
/// or one column (`gemv`), at most 256 elements (gemm's horizontal kernels), and a strided x
/// row.
#[test]
fn update_kernel_refuses_gemms_other_paths() {
    let on = flex_update::available();
    assert_eq!(flex_update::takes(1000, 784, 100, 1), on);
    for (rows, p, m, x_k) in [
        (1000, 784, 2, 1),
        (1000, 784, 513, 1),
        (1, 784, 100, 1),
        (1000, 1, 100, 1),
        (16, 16, 100, 1),
        (128, 2, 100, 1),
        (1000, 784, 100, 2),
    ] {
        assert!(
            !flex_update::takes(rows, p, m, x_k),
            "rows {rows}, p {p}, M {m}, x column stride {x_k}"
        );
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
