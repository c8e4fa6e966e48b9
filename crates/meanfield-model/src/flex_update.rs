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
//! once, row after row. x stays in L2 across the groups; when it is larger than [`PANEL_BYTES`]
//! (p = 3072 at M = 100), the columns are taken in panels that keep x's share in L2. Where x's
//! rows lie a multiple of 4 cache lines apart (p = 1024, 3072, …), each panel of x is first
//! copied with its rows an odd number of lines apart, so that they spread over the caches' sets
//! (`Panel`).
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
//! alone takes 3.3–3.7 ms against `gemm`'s 4.3–5.3 ms; without the prefetch, 4.4 ms.

/// The most bytes of x a panel of columns reads (x is re-read from L2 by every group of rows,
/// beside W1's stream): 640 KiB, measured on an L2 of 1 MiB per core. At p = 3072, M = 100,
/// N = 10^4 (x copied per panel, `Panel`): two panels of 1536 columns 13.4–13.7 ms, three or
/// four 13.3–13.6, one 14.3–14.6 (`examples/products.rs` with this constant varied, 2-core AMD
/// EPYC). Before x was copied, panels of 512–1024 columns had measured 17.1–17.7 ms and one
/// panel 19–20.5. The forward's kernel ([`crate::flex_forward`]) keeps its packed x within the
/// same size (not measured apart).
pub const PANEL_BYTES: usize = 640 * 1024;

/// The update's operands: row `r` of W1's block at `w + r·p`, `x[i, k]` at `x + i·x_i + k`,
/// and the gradient d (`∇H`, [M, rows]) given or formed here.
#[derive(Clone, Copy)]
pub struct Operands {
    pub w: *mut f32,
    pub rows: usize,
    pub p: usize,
    pub d: Gradient,
    pub x: *const f32,
    pub x_i: isize,
    pub m: usize,
    pub a: f32,
    pub b: f32,
}

/// Where the kernel takes `d[i, j]` (j counting the block's rows) from.
#[derive(Clone, Copy)]
pub enum Gradient {
    /// Stored: `d[i, j]` at `d + i·d_i + j·d_j`.
    Given {
        d: *const f32,
        d_i: isize,
        d_j: isize,
    },
    /// ReLU's, formed a group of rows at a time and never stored whole (with x in more than
    /// one panel, the block's rows are kept from the first panel to the last):
    /// `d[i, j] = (Σ_c w2[j, c]·g[i, c]) · 1[h[i, j] > 0]`, the sum an FMA chain over
    /// c = 0, 1, …, C−1 from +0 (as `gemm` forms `W2 Gᵀ`) and the mask a product by 1.0 or 0.0
    /// (as [`crate::flex_relu`]), so the bits are those of the stored path. `h[i, j]` at
    /// `h + j·h_j + i` (particle-major), `w2[j, c]` at `w2 + j·w2_j + c·w2_c`, `g[i, c]` at
    /// `g_t + c·m + i` (Gᵀ, [C, M] contiguous).
    Relu {
        h: *const f32,
        h_j: isize,
        w2: *const f32,
        w2_j: isize,
        w2_c: isize,
        g_t: *const f32,
        classes: usize,
    },
}

/// Whether this CPU runs the kernel and `gemm` would compute an update of this shape (`rows`
/// rows of W1, `p` columns, depth `m`, x's column stride `x_k`) on the path whose bits the
/// kernel reproduces (module docs).
pub fn takes(rows: usize, p: usize, m: usize, x_k: isize) -> bool {
    available() && x_k == 1 && (3..=512).contains(&m) && rows >= 2 && p >= 2 && rows * p > 256
}

/// How many panels of columns an update with depth `m` and `p` columns is taken in: as few as
/// keep each panel's share of x within [`PANEL_BYTES`].
pub fn panels(m: usize, p: usize) -> usize {
    (m * p * 4).div_ceil(PANEL_BYTES).max(1)
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
    use super::{Gradient, Operands, panels};
    use core::arch::x86_64::*;

    /// Rows of W1 a tile takes (and how far ahead, in rows, a tile prefetches).
    const GROUP: usize = 12;

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
        let width = op.p.div_ceil(panels(op.m, op.p)).next_multiple_of(32);
        // d, [rows][M] (each row's M values contiguous, for the broadcasts): the group's, or,
        // with ReLU's ∇H formed here and more than one panel, the block's, formed in the first
        // panel and read by the others (forming it again per panel reads H from memory each
        // time; that was no faster than the stored path at p = 3072).
        let keep = width < op.p && matches!(op.d, Gradient::Relu { .. });
        // Written (by `gather`) before it is read, through the pointer only: not zeroed first
        // (the block's kept ∇H is 20 MB a thread at N = 10^5).
        let mut storage = Vec::<f32>::with_capacity(if keep { op.rows } else { GROUP } * op.m);
        let d = storage.as_mut_ptr();
        let mut panel = Panel::default();
        let mut k0 = 0;
        while k0 < op.p {
            let cols = width.min(op.p - k0);
            // SAFETY: x[i, k0..k0 + cols] lies in x for i < M (the caller's contract).
            let op = unsafe {
                if Panel::needed(op.x_i, op.rows) {
                    panel.copy(&op, k0, cols)
                } else {
                    Operands {
                        x: op.x.add(k0),
                        ..op
                    }
                }
            };
            let mut j = 0;
            while j < op.rows {
                let rows = GROUP.min(op.rows - j);
                // SAFETY (every call): rows j..j+rows and columns k0..k0+cols are inside the
                // block, x and the gradient's operands (the caller's contract); `d` has room for
                // GROUP·M floats (the block's rows·M with `keep`).
                unsafe {
                    match rows {
                        12 => rows_of::<12>(&op, d, keep, combine, j, k0, cols),
                        11 => rows_of::<11>(&op, d, keep, combine, j, k0, cols),
                        10 => rows_of::<10>(&op, d, keep, combine, j, k0, cols),
                        9 => rows_of::<9>(&op, d, keep, combine, j, k0, cols),
                        8 => rows_of::<8>(&op, d, keep, combine, j, k0, cols),
                        7 => rows_of::<7>(&op, d, keep, combine, j, k0, cols),
                        6 => rows_of::<6>(&op, d, keep, combine, j, k0, cols),
                        5 => rows_of::<5>(&op, d, keep, combine, j, k0, cols),
                        4 => rows_of::<4>(&op, d, keep, combine, j, k0, cols),
                        3 => rows_of::<3>(&op, d, keep, combine, j, k0, cols),
                        2 => rows_of::<2>(&op, d, keep, combine, j, k0, cols),
                        _ => rows_of::<1>(&op, d, keep, combine, j, k0, cols),
                    }
                }
                j += rows;
            }
            k0 += cols;
        }
    }

    /// x's columns of one panel, copied with a row stride of an odd number of cache lines, where
    /// x's own rows lie a multiple of 4 lines apart ([`Panel::needed`]).
    ///
    /// **Why.** When x's rows lie a multiple of 4 KiB apart (p = 1024, 2048, 3072, … floats),
    /// `x[i, k]` for all i falls into one set of the L1 cache (48 KiB, 12-way: 64 sets, a
    /// 4 KiB period) and into 16 of the L2's 1024; the tile reads x down its rows, so each read
    /// missed L1. At N = 10^4, M = 100 the update took 15.2–15.8 ms at p = 3072 and 13.1–13.4 ms
    /// at p = 3088; with the copy, 13.0–13.3 ms at p = 3072 (three rounds alternating with the
    /// binary before, which took 15.7–16.2; `examples/products.rs`, 2-core AMD EPYC). An odd
    /// number of lines apart, the rows spread over every set. Copying costs M·p floats a call;
    /// the values, and so the bits, are x's.
    #[derive(Default)]
    struct Panel {
        values: Vec<f32>,
    }

    impl Panel {
        /// Whether x's rows, `x_i` floats apart, fall into at most 16 of the L1's 64 sets (a
        /// multiple of 4 cache lines apart) and the block has at least 64 rows to read them: the
        /// copy pays there (N = 10^4, p = 3072: 13.0–13.3 ms against 15.7–16.2 for the update).
        /// Elsewhere x is read in place: at p = 784 its rows are 49 lines apart, and for a few
        /// rows the copy costs about what it saves (steps of N = 5–60 at p = 3072 within 2–4%
        /// either way; N = 20, p = 1024, 0.103–0.108 ms copied, 0.095–0.097 in place; 2-core AMD
        /// EPYC).
        fn needed(x_i: isize, rows: usize) -> bool {
            (x_i * 4) % 256 == 0 && rows >= 64
        }

        /// `op` with x replaced by the copy of its columns `k0..k0 + cols` (column 0 of the copy
        /// is x's column k0).
        ///
        /// # Safety
        /// `x[i, k]` lies in live memory for i < M, k0 ≤ k < k0 + cols.
        unsafe fn copy(&mut self, op: &Operands, k0: usize, cols: usize) -> Operands {
            // Whole lines of 16 floats, an odd number of them; 16 more floats to start the
            // copy on a 64-byte boundary. The panels after the first reuse the buffer (no
            // floats beyond a row's `cols` are read: the tiles mask them).
            let lines = cols.div_ceil(16) | 1;
            let stride = 16 * lines;
            if self.values.len() < op.m * stride + 16 {
                self.values.resize(op.m * stride + 16, 0.0);
            }
            let start = self.values.as_ptr().align_offset(64).min(16);
            let copy = &mut self.values[start..start + op.m * stride];
            for (i, row) in copy.chunks_exact_mut(stride).enumerate() {
                // SAFETY: row i's columns k0..k0 + cols of x (the caller's contract).
                let from = unsafe {
                    std::slice::from_raw_parts(op.x.offset(i as isize * op.x_i).add(k0), cols)
                };
                row[..cols].copy_from_slice(from);
            }
            Operands {
                x: copy.as_ptr(),
                x_i: stride as isize,
                ..*op
            }
        }
    }

    /// Prefetches what [`gather`] reads for rows `j..j + rows` (the next group's): read once
    /// every group, too sparsely for the hardware prefetchers, these reads otherwise wait on
    /// memory at the start of every group (ReLU's formed ∇H: 3.79 ms without, 3.50 with, at
    /// N = 10^4, p = 784).
    #[inline(always)]
    unsafe fn prefetch_gradient(op: &Operands, j: usize, rows: usize) {
        // SAFETY: a prefetch never faults, whatever the address.
        let line = |at: *const f32| unsafe { _mm_prefetch::<_MM_HINT_T0>(at as *const i8) };
        for r in 0..rows {
            let jr = (j + r) as isize;
            match op.d {
                Gradient::Given { d, d_i, d_j } => {
                    for i in (0..op.m).step_by(16) {
                        line(d.wrapping_offset(jr * d_j + i as isize * d_i));
                    }
                }
                Gradient::Relu {
                    h, h_j, w2, w2_j, ..
                } => {
                    for i in (0..op.m).step_by(16) {
                        line(h.wrapping_offset(jr * h_j + i as isize));
                    }
                    line(w2.wrapping_offset(jr * w2_j));
                }
            }
        }
    }

    /// Rows `j..j + R`, columns `k0..k0 + cols`: the group's d gathered (or formed) into `d`
    /// and the next group's gradient inputs prefetched (with `keep`, the block's d, [rows][M],
    /// only in the first panel, into the group's rows of it), then the tiles.
    ///
    /// # Safety
    /// As [`add_rows`]'s loop: `d` has room for R·M floats (rows·M with `keep`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_of<const R: usize>(
        op: &Operands,
        d: *mut f32,
        keep: bool,
        combine: Combine,
        j: usize,
        k0: usize,
        cols: usize,
    ) {
        unsafe {
            let d = if keep { d.add(j * op.m) } else { d };
            if !keep || k0 == 0 {
                gather::<R>(op, j, d);
                prefetch_gradient(op, j + R, GROUP.min(op.rows.saturating_sub(j + R)));
            }
            group::<R>(*op, d, combine, j, k0, cols);
        }
    }

    /// d of rows `j..j + R` into `out` ([R][M], R·M writable floats): copied, or formed (ReLU's,
    /// [`Gradient`]).
    #[inline(always)]
    unsafe fn gather<const R: usize>(op: &Operands, j: usize, out: *mut f32) {
        let m = op.m;
        unsafe {
            match op.d {
                Gradient::Given { d, d_i, d_j } => {
                    for r in 0..R {
                        let col = d.offset((j + r) as isize * d_j);
                        for i in 0..m {
                            *out.add(r * m + i) = *col.offset(i as isize * d_i);
                        }
                    }
                }
                Gradient::Relu {
                    h,
                    h_j,
                    w2,
                    w2_j,
                    w2_c,
                    g_t,
                    classes,
                } => {
                    let (zero, one) = (_mm512_setzero_ps(), _mm512_set1_ps(1.0));
                    // 16 examples at a time, the R rows' chains over c side by side (R
                    // independent FMA chains, not one waiting on the FMA's latency), and only
                    // the ⌈M/16⌉ vectors the batch needs.
                    let mut i = 0;
                    while i < m {
                        let lanes = (m - i).min(16);
                        let mask = ((1u32 << lanes) - 1) as u16;
                        let mut acc = [zero; R];
                        for c in 0..classes {
                            let g = _mm512_maskz_loadu_ps(mask, g_t.add(c * m + i));
                            let wc = w2.offset(j as isize * w2_j + c as isize * w2_c);
                            for (r, acc) in acc.iter_mut().enumerate() {
                                let w = _mm512_set1_ps(*wc.offset(r as isize * w2_j));
                                *acc = _mm512_fmadd_ps(w, g, *acc);
                            }
                        }
                        for (r, acc) in acc.iter().enumerate() {
                            let hv = _mm512_maskz_loadu_ps(
                                mask,
                                h.offset((j + r) as isize * h_j).add(i),
                            );
                            let on = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(hv, zero);
                            let d = _mm512_mul_ps(*acc, _mm512_mask_blend_ps(on, zero, one));
                            _mm512_mask_storeu_ps(out.add(r * m + i), mask, d);
                        }
                        i += lanes;
                    }
                }
            }
        }
    }

    /// Rows `j..j + R`, columns `k0..k0 + cols`: tiles of 32 columns, then 16, then the last
    /// 1–15 under a mask.
    #[inline(always)]
    unsafe fn group<const R: usize>(
        op: Operands,
        d: *const f32,
        combine: Combine,
        j: usize,
        k0: usize,
        cols: usize,
    ) {
        let mut k = k0;
        let end = k0 + cols;
        unsafe {
            while k + 32 <= end {
                tile::<R, 2>(op, d, combine, j, k, k - k0, u16::MAX);
                k += 32;
            }
            if k + 16 <= end {
                tile::<R, 1>(op, d, combine, j, k, k - k0, u16::MAX);
                k += 16;
            }
            if k < end {
                let mask = ((1u32 << (end - k)) - 1) as u16;
                tile::<R, 1>(op, d, combine, j, k, k - k0, mask);
            }
        }
    }

    /// One tile: rows `j..j + R`, columns `k..k + 16·V` (with V = 1, the lanes `mask` keeps),
    /// which are x's panel's columns `kx..kx + 16·V`; `d` is the group's gradient, [R][M].
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        op: Operands,
        d: *const f32,
        combine: Combine,
        j: usize,
        k: usize,
        kx: usize,
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
            for i in 0..op.m {
                let xr = op.x.offset(i as isize * op.x_i).add(kx);
                let mut xv = [_mm512_setzero_ps(); V];
                for (v, x) in xv.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(mask, xr.add(16 * v));
                }
                for (r, acc) in acc.iter_mut().enumerate() {
                    let dij = _mm512_set1_ps(*d.add(r * op.m + i));
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
