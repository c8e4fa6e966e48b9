//! The forward product `Hᵀ = W1 xᵀ` ([N, M], particle-major; see [`crate::flex_products`]) as
//! an AVX-512 kernel that gives `gemm`'s bits without its padding of the batch.
//!
//! **Why.** `gemm` puts the M examples on its 16-lane vectors, in tiles of 64 and 48 lanes: at M =
//! 100 its second tile carries 36 examples in 48 lanes, so 12 of every 112 multiply-adds are spent
//! on padding, and the forward ran at 0.88–0.92 of the rate of the update's kernel (the same
//! flops). Here a tile is 4 rows of W1 × the batch: the full vectors of 16 examples for each row,
//! and the last M mod 16 examples of several rows packed into one vector (at M = 100, the last 4
//! examples of the 4 rows: 25 vectors of multiply-adds per column of W1 where `gemm` does 28). x is
//! packed once per call as [p][16·(⌊M/16⌋ + 1)], the last vector of each column holding the last
//! examples repeated (16 × 16 transposes in registers: 0.03–0.045 ms at p = 784, 0.15–0.19 at p =
//! 3072); W1 is read in place, a group of 4 rows through whole depth blocks, prefetching the next
//! group's rows. When the packed x would not stay in L2 ([`PANEL_BYTES`]; p = 3072 at M = 100), the
//! columns are taken in panels of whole depth blocks, every group through one panel before the
//! next. With ReLU ([`crate::flex_products::product_transposed_relu`]) the write of the last depth
//! block also writes ReLU's output (Flex's element function, [`Out`]), which replaces the separate
//! ReLU pass over [N, M] (the forward and ReLU together: 3.54–3.93 ms, median 3.58, against
//! 3.59–3.91, median 3.68, with the pass; six alternating runs at N = 10^4, p = 784).
//!
//! Measured on the 2-core AMD EPYC (`examples/products.rs`, best of 20 rounds alternating with
//! `gemm` in the same process, N = 10^4, M = 100): 3.29 ms against `gemm`'s 3.68–3.80 at
//! p = 784, 12.9–13.6 ms against 15.4–15.7 at p = 3072; at N = 10^5, p = 784, 33.5 against
//! 38.5. The whole step (`experiments bench`, the same binary with the forward on `gemm` or on
//! the kernel, three rounds, best of each) is faster at every width tried: p = 784, N = 3 0.056
//! against 0.060 ms, N = 100 0.19 against 0.22, N = 300 0.34 against 0.40; p = 3072, N = 5 0.16
//! against 0.53, N = 130 0.85 against 1.26, N = 1000 2.84 against 3.27. An earlier kernel with
//! the batch padded as `gemm` pads it (3 rows × 7 vectors) gained half as much alone and lost in
//! the step at p = 3072, where it took x one depth block at a time (docs/performance.md).
//!
//! **Same bits as `gemm`.** `gemm` (`gemm-common` 0.19, its microkernel path) cuts the depth p into
//! blocks of `kc` ([`gemm_common::cache::kernel_params`]: the L1 cache's geometry and the shape)
//! and writes each element as `1·acc_0`, then `fma(1, acc_b, h)` for b = 1, 2, …, each `acc_b` an
//! FMA chain over its block from zero, in full tiles and partial ones alike. This kernel forms each
//! element the same way, whichever lane it sits in. [`takes`] admits only the shapes where `gemm`
//! takes that path with its AVX-512 kernels (whose tile enters `kernel_params`:
//! [`crate::flex_products::gemm_depth_block`]): M from 2 to 112 (7 vectors), at least 2 rows, depth
//! ≥ 3 (gemm's `gevv` below), more than 256 elements (its horizontal kernels), and not both M and
//! the block's rows at most 64 (its small-matrix path blocks the depth by 512 without evening the
//! blocks out). Tests (`tests/flex_products.rs`) compare the two bit for bit.

use crate::flex_products::{gemm_depth_block, gemm_on_avx512};
use crate::flex_update::PANEL_BYTES;

/// Rows of W1 a tile takes.
const GROUP: usize = 4;

/// The most vectors of 16 examples.
const VECTORS: usize = 7;

/// Whether this CPU runs the kernel and `gemm` would compute a forward block of this shape
/// (`rows` rows of W1 with column stride `w_k`, `p` columns, batch `m`) on the path whose bits
/// the kernel reproduces (module docs).
pub fn takes(rows: usize, p: usize, m: usize, w_k: isize) -> bool {
    available()
        && w_k == 1
        && (2..=16 * VECTORS).contains(&m)
        && rows >= 2
        && p >= 3
        && m * rows > 256
        && !(m <= 64 && rows <= 64)
}

/// Whether this CPU runs the kernel and `gemm` runs its AVX-512 kernels, whose depth blocks the
/// kernel follows ([`gemm_on_avx512`], which implies AVX-512F).
pub fn available() -> bool {
    gemm_on_avx512()
}

/// Whether the last `tail` (= M mod 16, > 0) examples of a group's rows share one vector (at
/// most 4 examples for the 4 rows); otherwise each row has its own, padded as `gemm` pads.
const fn shares(tail: usize) -> bool {
    tail * GROUP <= 16
}

/// The depth blocks `gemm` cuts p into for an M-row forward block of `rows` rows (module docs).
pub fn depth_block(m: usize, rows: usize, p: usize) -> usize {
    gemm_depth_block(m, rows, p)
}

/// x packed for the kernel: for each column k, the ⌊M/16⌋ full vectors of x[·, k], then (when
/// M mod 16 = t > 0) one vector holding x[16⌊M/16⌋ + l mod t, k] in lane l (the last t
/// examples, repeated for as many rows as share the vector), zero beyond.
pub struct Packed {
    values: Vec<f32>,
    m: usize,
    p: usize,
    /// Floats per column: 16 per vector.
    width: usize,
}

impl Packed {
    /// Packs x [m, p], `x[i, k]` at `x + i·x_i + k` (rows `x_i` floats apart, each contiguous).
    ///
    /// # Panics
    /// Where [`available`] is false, or `m` is outside 1..=112.
    ///
    /// # Safety
    /// Every `x[i, k]` (i < m, k < p) lies in live memory.
    pub unsafe fn new(m: usize, p: usize, x: *const f32, x_i: usize) -> Self {
        assert!(
            available() && (1..=16 * VECTORS).contains(&m),
            "forward kernel: cannot pack a batch of {m} here (check `takes`)"
        );
        let (full, tail) = (m / 16, m % 16);
        let width = 16 * (full + usize::from(tail > 0));
        // The lanes of the last vector that hold examples.
        let shared = if tail > 0 && shares(tail) {
            GROUP * tail
        } else {
            tail
        };
        let mut values = Vec::<f32>::with_capacity(p * width);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F (asserted); the caller's contract; `values` has room for p·width
        // floats, and `pack` writes every one of them (zero lanes included), so they are then
        // initialised.
        unsafe {
            avx512::pack(x, x_i, m, p, shared, values.as_mut_ptr());
            values.set_len(p * width);
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x, x_i, shared);
        Packed {
            values,
            m,
            p,
            width,
        }
    }
}

/// Where the kernel writes: Hᵀ, and with `relu` also ReLU(Hᵀ), each [rows, M].
#[derive(Clone, Copy)]
pub struct Out {
    pub h: *mut f32,
    /// `relu(h)` as Flex computes it ([`crate::flex_relu::relu_of`]), or null.
    pub relu: *mut f32,
}

/// Rows of Hᵀ for one block: `h[r·m + i] = Σ_k w[r·p_w + k]·x[i, k]` for r < rows (and ReLU's
/// of each, [`Out`]).
///
/// # Panics
/// Where [`takes`] is false for (rows, p, m, 1) (the caller takes `gemm` there).
///
/// # Safety
/// `w` points to `rows` rows of p floats at stride `p_w`; `out.h` (and `out.relu` unless null)
/// to `rows·m` writable floats no other thread touches.
pub unsafe fn rows(w: *const f32, p_w: usize, rows: usize, x: &Packed, out: Out) {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(
            takes(rows, x.p, x.m, 1),
            "forward kernel: it does not take {rows} rows, p = {}, M = {} (check `takes`; \
             `gemm` computes those)",
            x.p,
            x.m
        );
        // gemm's depth blocks for this block's call.
        let kc = depth_block(x.m, rows, x.p);
        // SAFETY: AVX-512F is present; the caller's contract covers the rest.
        unsafe {
            // The last M mod 16 examples: none, one vector shared by a group's rows (at most
            // 4 examples), or one vector per row (as `gemm`'s padding).
            macro_rules! full {
                ($mode:literal) => {
                    match x.m / 16 {
                        0 => avx512::rows::<0, $mode>(w, p_w, rows, x, kc, out),
                        1 => avx512::rows::<1, $mode>(w, p_w, rows, x, kc, out),
                        2 => avx512::rows::<2, $mode>(w, p_w, rows, x, kc, out),
                        3 => avx512::rows::<3, $mode>(w, p_w, rows, x, kc, out),
                        4 => avx512::rows::<4, $mode>(w, p_w, rows, x, kc, out),
                        5 => avx512::rows::<5, $mode>(w, p_w, rows, x, kc, out),
                        6 => avx512::rows::<6, $mode>(w, p_w, rows, x, kc, out),
                        _ => avx512::rows::<7, $mode>(w, p_w, rows, x, kc, out),
                    }
                };
            }
            match x.m % 16 {
                0 => full!(0),
                tail if shares(tail) => full!(1),
                _ => full!(2),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (w, p_w, rows, x, out);
        unreachable!("`takes` is false off x86_64");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{GROUP, Out, PANEL_BYTES, Packed};
    use core::arch::x86_64::*;

    /// x [m, p] (rows `x_i` floats apart, columns contiguous) into `values` ([p][16·⌈m/16⌉],
    /// [`Packed`], every float written): for each vector of examples (the full ones, then the last
    /// one's `shared` lanes, example 16⌊m/16⌋ + l mod t in lane l), 16 columns at a time, its 16
    /// examples' rows loaded and transposed in registers. Element by element the packing took
    /// 0.04–0.07 ms at p = 784, M = 100 and 0.25 at p = 3072 (gathers: 0.18–0.22 and 1.07).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pack(
        x: *const f32,
        x_i: usize,
        m: usize,
        p: usize,
        shared: usize,
        values: *mut f32,
    ) {
        let (full, tail) = (m / 16, m % 16);
        let width = 16 * m.div_ceil(16);
        // The example behind each lane of each vector (None: a zero lane).
        let mut vectors: Vec<[Option<usize>; 16]> = (0..full)
            .map(|v| std::array::from_fn(|l| Some(16 * v + l)))
            .collect();
        if tail > 0 {
            vectors.push(std::array::from_fn(|l| {
                (l < shared).then_some(16 * full + l % tail)
            }));
        }
        for (v, lanes) in vectors.iter().enumerate() {
            let mut k0 = 0;
            while k0 < p {
                let cols = 16.min(p - k0);
                let mask = ((1u32 << cols) - 1) as u16;
                // SAFETY: x[i, k0..k0 + cols] for the lanes' i < m (the caller's contract);
                // columns k0..k0 + cols of `values` (p·width floats).
                unsafe {
                    let mut rows = [_mm512_setzero_ps(); 16];
                    for (row, lane) in rows.iter_mut().zip(lanes) {
                        if let Some(i) = lane {
                            *row = _mm512_maskz_loadu_ps(mask, x.add(i * x_i + k0));
                        }
                    }
                    let columns = transpose(rows);
                    for (c, column) in columns.iter().enumerate().take(cols) {
                        let at = values.add((k0 + c) * width + 16 * v);
                        _mm512_storeu_ps(at, *column);
                    }
                }
                k0 += 16;
            }
        }
    }

    /// The 16 × 16 transpose: lane l of output c is lane c of input l.
    #[target_feature(enable = "avx512f")]
    fn transpose(r: [__m512; 16]) -> [__m512; 16] {
        // Pairs of rows interleaved: t[2j] = (r[2j][0], r[2j+1][0], r[2j][1], r[2j+1][1]) in
        // each 128-bit lane, t[2j + 1] the same for elements 2 and 3.
        let mut t = [_mm512_setzero_ps(); 16];
        for j in 0..8 {
            t[2 * j] = _mm512_unpacklo_ps(r[2 * j], r[2 * j + 1]);
            t[2 * j + 1] = _mm512_unpackhi_ps(r[2 * j], r[2 * j + 1]);
        }
        // Quads: u[4g + c] holds rows 4g..4g + 3 of column c + 4L in 128-bit lane L.
        let mut u = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            for half in 0..2 {
                let a = _mm512_castps_pd(t[4 * g + half]);
                let b = _mm512_castps_pd(t[4 * g + 2 + half]);
                u[4 * g + 2 * half] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
                u[4 * g + 2 * half + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
            }
        }
        // The four quads of each column gathered into one vector.
        let mut out = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            let x0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
            let x1 = _mm512_shuffle_f32x4::<0xEE>(u[c], u[4 + c]);
            let y0 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
            let y1 = _mm512_shuffle_f32x4::<0xEE>(u[8 + c], u[12 + c]);
            out[c] = _mm512_shuffle_f32x4::<0x88>(x0, y0);
            out[c + 4] = _mm512_shuffle_f32x4::<0xDD>(x0, y0);
            out[c + 8] = _mm512_shuffle_f32x4::<0x88>(x1, y1);
            out[c + 12] = _mm512_shuffle_f32x4::<0xDD>(x1, y1);
        }
        out
    }

    /// All rows, in panels of whole depth blocks whose packed x stays in L2, each panel taken
    /// by every group of rows in turn.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn rows<const F: usize, const MODE: u8>(
        w: *const f32,
        p_w: usize,
        rows: usize,
        x: &Packed,
        kc: usize,
        out: Out,
    ) {
        let p = x.p;
        let column = x.width * size_of::<f32>();
        let panel = kc * (PANEL_BYTES / (column * kc)).max(1);
        let mut q0 = 0;
        while q0 < p {
            let q1 = (q0 + panel).min(p);
            let mut j = 0;
            while j < rows {
                let r = GROUP.min(rows - j);
                // SAFETY: rows j..j + r of w and h are inside the block (the caller's
                // contract); columns q0..q1 inside p.
                unsafe {
                    let wj = w.add(j * p_w);
                    let oj = Out {
                        h: out.h.add(j * x.m),
                        relu: if out.relu.is_null() {
                            out.relu
                        } else {
                            out.relu.add(j * x.m)
                        },
                    };
                    match r {
                        4 => group::<4, F, MODE>(wj, p_w, x, kc, q0, q1, oj),
                        3 => group::<3, F, MODE>(wj, p_w, x, kc, q0, q1, oj),
                        2 => group::<2, F, MODE>(wj, p_w, x, kc, q0, q1, oj),
                        _ => group::<1, F, MODE>(wj, p_w, x, kc, q0, q1, oj),
                    }
                }
                j += r;
            }
            q0 = q1;
        }
    }

    /// Rows `0..R` from `w`, columns `q0..q1` (whole depth blocks of `kc`, counted from 0), F
    /// full vectors of examples; the last M mod 16 examples in no vector (MODE 0), in one
    /// vector shared by the R rows (MODE 1, M mod 16 ≤ 4), or in one vector per row (MODE 2).
    #[inline(always)]
    unsafe fn group<const R: usize, const F: usize, const MODE: u8>(
        w: *const f32,
        p_w: usize,
        x: &Packed,
        kc: usize,
        q0: usize,
        q1: usize,
        out: Out,
    ) {
        let (m, h) = (x.m, out.h);
        let relu = !out.relu.is_null();
        let width = x.width;
        let tail = m - 16 * F;
        // Rows per shared vector, and how many shared vectors the R rows need.
        let (per, shared) = match MODE {
            0 => (R, 0),
            1 => (R, 1),
            _ => (1, R),
        };
        // Row r's lanes in its shared vector.
        let lanes = |r: usize| -> u16 { (((1u32 << tail) - 1) << ((r % per) * tail)) as u16 };
        unsafe {
            let one = _mm512_set1_ps(1.0);
            let mut k0 = q0;
            while k0 < q1 {
                let k1 = (k0 + kc).min(q1);
                let mut acc = [[_mm512_setzero_ps(); F]; R];
                // At most R shared vectors (one per row when the tail is over 8 lanes).
                let mut last = [_mm512_setzero_ps(); R];
                for k in k0..k1 {
                    if (k - k0).is_multiple_of(16) {
                        // The next group's weights, one line per row every 16 columns; past
                        // the block's end a prefetch is harmless (it never faults).
                        for r in 0..R {
                            let ahead = w.wrapping_add((GROUP + r) * p_w + k);
                            _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
                        }
                    }
                    let xk = x.values.as_ptr().add(k * width);
                    let mut b = [_mm512_setzero_ps(); R];
                    for (r, b) in b.iter_mut().enumerate() {
                        *b = _mm512_set1_ps(*w.add(r * p_w + k));
                    }
                    for v in 0..F {
                        let xv = _mm512_loadu_ps(xk.add(16 * v));
                        for (acc, b) in acc.iter_mut().zip(&b) {
                            acc[v] = _mm512_fmadd_ps(xv, *b, acc[v]);
                        }
                    }
                    if shared > 0 {
                        let xv = _mm512_loadu_ps(xk.add(16 * F));
                        for (s, last) in last.iter_mut().enumerate().take(shared) {
                            // Row s·per's weight in every lane, then the other rows' in theirs
                            // (the lanes past this group's rows are never written out).
                            let mut wv = b[s * per];
                            for (r, b) in b.iter().enumerate().take(R).skip(s * per + 1) {
                                if r < (s + 1) * per {
                                    wv = _mm512_mask_mov_ps(wv, lanes(r), *b);
                                }
                            }
                            *last = _mm512_fmadd_ps(xv, wv, *last);
                        }
                    }
                }
                // gemm's write of a depth block: 1·acc for the first, fma(1, acc, h) after;
                // after the last, ReLU's too: h where h > 0 or h is NaN (not ≤ 0: the
                // unordered comparison), +0 elsewhere.
                let done = relu && k1 == x.p;
                for (r, acc) in acc.iter().enumerate() {
                    for (v, acc) in acc.iter().enumerate() {
                        let at = r * m + 16 * v;
                        let new = if k0 == 0 {
                            _mm512_mul_ps(one, *acc)
                        } else {
                            _mm512_fmadd_ps(one, *acc, _mm512_loadu_ps(h.add(at)))
                        };
                        _mm512_storeu_ps(h.add(at), new);
                        if done {
                            let keep = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(new, _mm512_setzero_ps());
                            _mm512_storeu_ps(out.relu.add(at), _mm512_maskz_mov_ps(keep, new));
                        }
                    }
                }
                for (s, last) in last.iter().enumerate().take(shared) {
                    let mut values = [0.0f32; 16];
                    _mm512_storeu_ps(values.as_mut_ptr(), *last);
                    for r in (s * per)..((s + 1) * per).min(R) {
                        let from = (r % per) * tail;
                        let row = r * m + 16 * F;
                        for (e, &acc) in values[from..from + tail].iter().enumerate() {
                            let at = h.add(row + e);
                            *at = if k0 == 0 {
                                1.0 * acc
                            } else {
                                1.0f32.mul_add(acc, *at)
                            };
                            if done {
                                *out.relu.add(row + e) = crate::flex_relu::relu_of(*at);
                            }
                        }
                    }
                }
                k0 = k1;
            }
        }
    }
}
