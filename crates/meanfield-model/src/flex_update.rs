//! The fused W1 update `w ← a·w + b·dᵀx` (see [`crate::flex_products`]) as one pass over W1's
//! rows, an AVX-512 kernel that gives `gemm`'s bits.
//!
//! **Why.** `gemm` computes the update with W1's columns on its 64-lane axis (W1 is row-major, so
//! that is the axis it can read in place) and blocks those columns by at most 512 (its `mc`): it
//! walks 6 rows × 448 columns, then the next 6 rows, and comes back for columns 448–783 after
//! the whole block. Each W1 row is read in segments that restart every six rows, which the
//! hardware prefetchers follow badly: the update ran at 0.70–0.84 of Flex's 2048² peak from
//! N = 10^4 on a 2-core AMD EPYC, while the forward, the same flops with W1 only read, ran at
//! 0.83–0.90 (docs/performance.md). Here a tile is 12 rows × 32 columns (24 accumulators, two
//! 16-lane vectors per row), the tiles of a group of 12 rows go left to right along the whole
//! rows, and each tile prefetches the same columns of the next group's rows: W1 is streamed
//! once, row after row. x is read in place (its rows are contiguous) and stays in L2 across the
//! groups; when it is larger than [`PANEL_BYTES`] (p = 3072 at M = 100), the columns are taken
//! in panels that keep x's share in L2.
//!
//! **Same bits as `gemm`.** For every element, `gemm` (`gemm-common` 0.19, the microkernel
//! path, one depth block) forms `acc = fma(x[i,k], d[i,j], acc)` for i = 0, 1, …, M−1 from
//! acc = 0, then writes `fma(b, acc, w)` when a = 1, `b·acc` when a = 0, and `a·w + b·acc`
//! (two products and a sum, no FMA) otherwise, whether the element lies in a full tile
//! (vector FMA) or a partial one (`f32::mul_add`). This kernel forms each element the same
//! way; the order of elements does not matter. [`takes`] admits only the shapes where `gemm`
//! takes that path: M from 3 (gemm's `gevv` takes depth ≤ 2) to 512 (one depth block: gemm
//! blocks the depth by at least 512), at least 2 rows and columns (gemm's `gemv` otherwise),
//! more than 256 elements (gemm's horizontal kernels below). Tests (`tests/flex_products.rs`)
//! compare the two bit for bit on awkward values, shapes and strides.
//!
//! Measured on the 2-core AMD EPYC (docs/performance.md): at N = 10^4, p = 784 the update
//! takes 3.6 ms against `gemm`'s 5.0–5.3 ms.

/// The most bytes of x a panel of columns reads (x is re-read from L2 by every group of rows,
/// beside W1's stream): 640 KiB, measured on an L2 of 1 MiB per core (p = 3072, M = 100: two
/// panels of 1536 columns, 14.5 ms against 17.1–17.7 with panels of 512–1024 and 19–20.5 ms
/// with one panel, N = 10^4).
pub const PANEL_BYTES: usize = 640 * 1024;

/// Rows of W1 a tile takes (and how far ahead, in rows, a tile prefetches).
const GROUP: usize = 12;

/// The update's operands: row `r` of W1's block at `w + r·p`, `d[i, j]` at `d + i·d_i + j·d_j`
/// (j counting the block's rows), `x[i, k]` at `x + i·x_i + k`.
#[derive(Clone, Copy)]
pub struct Operands {
    pub w: *mut f32,
    pub rows: usize,
    pub p: usize,
    pub d: *const f32,
    pub d_i: isize,
    pub d_j: isize,
    pub x: *const f32,
    pub x_i: isize,
    pub m: usize,
    pub a: f32,
    pub b: f32,
}

/// Whether this CPU runs the kernel and `gemm` would compute an update of this shape (`rows`
/// rows of W1, `p` columns, depth `m`, x's column stride `x_k`) on the path whose bits the
/// kernel reproduces (module docs).
pub fn takes(rows: usize, p: usize, m: usize, x_k: isize) -> bool {
    available() && x_k == 1 && (3..=512).contains(&m) && rows >= 2 && p >= 2 && rows * p > 256
}

/// Whether the CPU has AVX-512F (checked at run time; `std` caches the answer).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `w ← a·w + b·dᵀx` on the block `op` describes.
///
/// # Safety
/// [`takes`] is true for the shape; `op.w` points to `rows·p` writable floats no other thread
/// touches; every `d[i, j]` (i < m, j < rows) and `x[i, k]` (i < m, k < p) lies in live memory
/// that does not overlap W1's block.
pub unsafe fn add_rows(op: Operands) {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(
            available(),
            "the AVX-512 update needs AVX-512F (check `takes`)"
        );
        // SAFETY: AVX-512F is present (checked above); the caller's contract covers the rest.
        unsafe { avx512::add_rows(op) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = op;
        unreachable!("`takes` is false off x86_64");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{GROUP, Operands, PANEL_BYTES};
    use core::arch::x86_64::*;

    /// How the old value and the sum combine, as `gemm` does for its `alpha` (module docs).
    #[derive(Clone, Copy)]
    enum Combine {
        /// a = 0: b·acc (the old value is not read).
        Replace,
        /// a = 1: fma(b, acc, w).
        Add,
        /// a·w + b·acc.
        Blend,
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_rows(op: Operands) {
        let combine = if op.a == 0.0 {
            Combine::Replace
        } else if op.a == 1.0 {
            Combine::Add
        } else {
            Combine::Blend
        };
        // Columns in panels whose share of x fits PANEL_BYTES, of equal widths rounded up to
        // whole tiles (32 columns).
        let panels = (op.m * op.p * 4).div_ceil(PANEL_BYTES).max(1);
        let width = op.p.div_ceil(panels).next_multiple_of(32);
        let mut k0 = 0;
        while k0 < op.p {
            let cols = width.min(op.p - k0);
            let mut j = 0;
            while j < op.rows {
                let rows = GROUP.min(op.rows - j);
                // SAFETY (every call): rows j..j+rows and columns k0..k0+cols are inside the
                // block and x (the caller's contract).
                unsafe {
                    match rows {
                        12 => group::<12>(op, combine, j, k0, cols),
                        11 => group::<11>(op, combine, j, k0, cols),
                        10 => group::<10>(op, combine, j, k0, cols),
                        9 => group::<9>(op, combine, j, k0, cols),
                        8 => group::<8>(op, combine, j, k0, cols),
                        7 => group::<7>(op, combine, j, k0, cols),
                        6 => group::<6>(op, combine, j, k0, cols),
                        5 => group::<5>(op, combine, j, k0, cols),
                        4 => group::<4>(op, combine, j, k0, cols),
                        3 => group::<3>(op, combine, j, k0, cols),
                        2 => group::<2>(op, combine, j, k0, cols),
                        _ => group::<1>(op, combine, j, k0, cols),
                    }
                }
                j += rows;
            }
            k0 += cols;
        }
    }

    /// Rows `j..j + R`, columns `k0..k0 + cols`: tiles of 32 columns, then 16, then the last
    /// 1–15 under a mask.
    #[inline(always)]
    unsafe fn group<const R: usize>(
        op: Operands,
        combine: Combine,
        j: usize,
        k0: usize,
        cols: usize,
    ) {
        let mut k = k0;
        let end = k0 + cols;
        unsafe {
            while k + 32 <= end {
                tile::<R, 2>(op, combine, j, k, u16::MAX);
                k += 32;
            }
            if k + 16 <= end {
                tile::<R, 1>(op, combine, j, k, u16::MAX);
                k += 16;
            }
            if k < end {
                tile::<R, 1>(op, combine, j, k, ((1u32 << (end - k)) - 1) as u16);
            }
        }
    }

    /// One tile: rows `j..j + R`, columns `k..k + 16·V` (with V = 1, the lanes `mask` keeps).
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        op: Operands,
        combine: Combine,
        j: usize,
        k: usize,
        mask: u16,
    ) {
        unsafe {
            let w = op.w.add(j * op.p + k);
            // The next group's rows, same columns: they are this stream's next reads. A
            // prefetch past the block's end is harmless (it never faults), hence `wrapping_add`.
            for r in 0..R {
                for v in 0..V {
                    let ahead = w.wrapping_add((GROUP + r) * op.p + 16 * v);
                    _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
                }
            }
            let mut acc = [[_mm512_setzero_ps(); V]; R];
            let d = op.d.offset(j as isize * op.d_j);
            for i in 0..op.m {
                let xr = op.x.offset(i as isize * op.x_i).add(k);
                let mut xv = [_mm512_setzero_ps(); V];
                for (v, x) in xv.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(mask, xr.add(16 * v));
                }
                let di = d.offset(i as isize * op.d_i);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let dij = _mm512_set1_ps(*di.offset(r as isize * op.d_j));
                    for (a, x) in acc.iter_mut().zip(&xv) {
                        *a = _mm512_fmadd_ps(*x, dij, *a);
                    }
                }
            }
            let (va, vb) = (_mm512_set1_ps(op.a), _mm512_set1_ps(op.b));
            for (r, acc) in acc.iter().enumerate() {
                for (v, acc) in acc.iter().enumerate() {
                    let at = w.add(r * op.p + 16 * v);
                    let new = match combine {
                        Combine::Replace => _mm512_mul_ps(vb, *acc),
                        Combine::Add => _mm512_fmadd_ps(vb, *acc, _mm512_maskz_loadu_ps(mask, at)),
                        Combine::Blend => _mm512_add_ps(
                            _mm512_mul_ps(va, _mm512_maskz_loadu_ps(mask, at)),
                            _mm512_mul_ps(vb, *acc),
                        ),
                    };
                    _mm512_mask_storeu_ps(at, mask, new);
                }
            }
        }
    }
}
