//! The logits product split by depth block over threads (`meanfield_model::flex_logits`)
//! against Burn's own matmul on Flex, bit for bit.

use burn::tensor::{Device, Tensor, TensorData};
use meanfield_model::flex_logits::{applies, logits};
use meanfield_model::net::to_vec;
mod support;
use support::{awkward_one_in, mostly_finite, same};

/// Depths of two blocks (N = 800), six with a shorter last one (3007), the step's widths
/// (10^4, 10^5) and one past 2^18 (262 150); M = 65 (the smallest it takes), 100 and 129;
/// C = 2, 5 and 10. Burn's product on the same tensors, the step's layout (A the transposed
/// view of the particle-major Aᵀ).
#[test]
fn logits_give_burns_bits() {
    let device = Device::flex();
    let on = meanfield_model::flex_update::available();
    let cases = [
        (800, 100, 10),
        (3007, 65, 5),
        (10_000, 100, 10),
        (5000, 129, 2),
        (100_000, 100, 10),
        (262_150, 65, 5),
    ];
    for (case, &(n, m, c)) in cases.iter().enumerate() {
        let seed = 7 * case as u64;
        // Specials rare enough that most depth-N sums stay finite.
        let awkward = |len, seed| awkward_one_in(len, seed, (5 * n as u32).max(2000));
        let act_t = Tensor::<2>::from_data(TensorData::new(awkward(n * m, seed), [n, m]), &device);
        let w2 = Tensor::<2>::from_data(TensorData::new(awkward(n * c, seed + 1), [n, c]), &device);
        assert_eq!(applies(&act_t, &w2), on, "N {n}, M {m}, C {c}");
        if !on {
            continue;
        }
        let burn = to_vec(act_t.clone().transpose().matmul(w2.clone()));
        let split = to_vec(logits(&act_t, &w2));
        mostly_finite(&split, &format!("N {n}, M {m}, C {c}"));
        if let Some(i) = same(&burn, &split) {
            panic!(
                "N {n}, M {m}, C {c}: element {i}: Burn {} ({:#x}), split {} ({:#x})",
                burn[i],
                burn[i].to_bits(),
                split[i],
                split[i].to_bits()
            );
        }
    }
}

/// The shapes it leaves to Burn's matmul: M ≤ 64 (gemm's small-matrix path blocks the depth
/// another way), C = 1, depth of one block (nothing to split), other shapes.
#[test]
fn logits_refusals() {
    let device = Device::flex();
    let t = |shape: [usize; 2]| Tensor::<2>::ones(shape, &device);
    assert!(!applies(&t([10_000, 64]), &t([10_000, 10])));
    assert!(!applies(&t([10_000, 100]), &t([10_000, 1])));
    assert!(!applies(&t([300, 100]), &t([300, 10])));
    assert!(!applies(&t([10_000, 100]), &t([9_999, 10])));
}
