//! Times the step's two large products on Flex, as the step calls them
//! ([`meanfield_model::flex_products`]): the forward `W1 xᵀ` (on AVX-512 CPUs
//! [`meanfield_model::flex_forward`]'s kernel) and the fused update `W1 ← W1 + b·∇Hᵀ x` with ∇H
//! stored ([`meanfield_model::flex_update`]'s kernel; the step forms ReLU's ∇H inside that kernel
//! instead, which this does not time), each alone, against a square product of side 2048 through
//! Burn's matmul on the same backend (`experiments bench`'s peak), timed after them. What the step
//! spends beyond these two is the difference between `experiments bench`'s ms per step and their
//! sum.
//!
//! ```sh
//! GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=67108864 \
//!   cargo run --release -p meanfield-model --example products -- N P [M] [ROUNDS]
//! ```
//!
//! The tunables are the allocator settings `experiments` makes at start
//! (`experiments/src/allocator.rs`; a library example does not change process-wide state):
//! without them glibc gives the forward's output fresh pages on every call, and the page faults
//! are timed with it (docs/performance.md).
//!
//! Prints one line: N, p, M, threads, then ms and GFLOP/s (2·N·p·M flops each) and the fraction
//! of the peak for the forward and the update, each with its time on `gemm` alone
//! ([`Kernel::Gemm`]: on AVX-512 CPUs the step uses this crate's kernels), and the peak's
//! GFLOP/s; the best of ROUNDS (default 20) rounds of the four products in turn (the step's
//! forward and update, then `gemm`'s), then of the peak.

use burn::tensor::{Device, Distribution, Tensor};
use meanfield_model::flex_products::{
    Kernel, add_transposed_product_in, blocks_for, product_transposed_in,
};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("arguments: N P [M] [ROUNDS], whole numbers")
        })
        .collect();
    let [n, p] = [0, 1].map(|i| {
        *args
            .get(i)
            .expect("arguments: N P [M] [ROUNDS] (e.g. 10000 784)")
    });
    let m = args.get(2).copied().unwrap_or(100);
    let rounds = args.get(3).copied().unwrap_or(20).max(1);
    let device = Device::flex();
    let uniform = Distribution::Uniform(-1.0, 1.0);
    let mut w = Tensor::<2>::random([n, p], uniform, &device);
    let x = Tensor::<2>::random([m, p], uniform, &device);
    let d = Tensor::<2>::random([n, m], uniform, &device).transpose(); // ∇H [M, N], as the step
    let side = 2048;
    let square = Tensor::<2>::random([side, side], uniform, &device);
    let blocks = blocks_for(n, n * p * m);
    // Best times: the forward and the update as the step computes them (Kernel::Fastest), then
    // each with `gemm` alone, in turn within every round.
    let mut best = [f64::INFINITY; 4];
    let mut peak = f64::INFINITY;
    for round in 0..=rounds {
        let mut times = [0.0; 4];
        for (slot, kernel) in [(0, Kernel::Fastest), (1, Kernel::Gemm)] {
            let t = Instant::now();
            let h = product_transposed_in(&w, &x, blocks, kernel);
            times[slot] = t.elapsed().as_secs_f64();
            drop(h);
            let t = Instant::now();
            w = add_transposed_product_in(w, &d, &x, 1.0, -1e-9, blocks, kernel);
            times[2 + slot] = t.elapsed().as_secs_f64();
        }
        // Round 0 warms the caches and the thread pool.
        if round > 0 {
            for (best, time) in best.iter_mut().zip(times) {
                *best = best.min(time);
            }
        }
    }
    let [forward, forward_gemm, update, update_gemm] = best;
    // The peak after the products, not between them: its 16 MB buffers, allocated and freed
    // between the products, would make the allocator hand the forward fresh pages (page
    // faults) that the step, which allocates the same sizes every step, does not see.
    for round in 0..=rounds {
        let t = Instant::now();
        let s = square.clone().matmul(square.clone());
        let q = t.elapsed().as_secs_f64();
        drop(s);
        if round > 0 {
            peak = peak.min(q);
        }
    }
    let gflops = |flops: f64, seconds: f64| flops / seconds / 1e9;
    let step = 2.0 * (n * p * m) as f64;
    let peak = gflops(2.0 * (side as f64).powi(3), peak);
    println!(
        "N {n}, p {p}, M {m}, {} threads: forward {:.3} ms {:.0} GFLOP/s ({:.2} of peak; gemm \
         {:.3} ms); update {:.3} ms {:.0} GFLOP/s ({:.2}; gemm {:.3} ms); both {:.3} ms; peak \
         {peak:.0} GFLOP/s",
        rayon::current_num_threads(),
        forward * 1e3,
        gflops(step, forward),
        gflops(step, forward) / peak,
        forward_gemm * 1e3,
        update * 1e3,
        gflops(step, update),
        gflops(step, update) / peak,
        update_gemm * 1e3,
        (forward + update) * 1e3,
    );
}
