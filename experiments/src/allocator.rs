//! Keeping freed memory for reuse. Every training step allocates buffers of the size of W1 (the
//! gradient [N, p], 314 MB at N = 10^5 on MNIST). glibc serves blocks that large with a fresh
//! `mmap` and unmaps them when freed, so each step pays the kernel for zeroing and faulting in
//! hundreds of MB again. Serving them from the heap and never trimming it lets the next step
//! reuse the same pages: measured on the 2-core development machine, flex closed-form step at
//! p = 784, 101 → 55 ms at N = 10^4 and 978 → 464 ms at N = 10^5 (README, Performance).
//! The cost: freed memory stays in the process (the peak is what it was, it is just not
//! returned early).

/// Makes the allocator keep and reuse large freed blocks (glibc: no `mmap` for large blocks, no
/// trimming of the heap). Call once at program start, before threads exist. Returns whether it
/// applied (false on other C libraries, where it does nothing).
pub fn reuse_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called before other threads run.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
                && libc::mallopt(libc::M_TOP_PAD, 64 << 20) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
