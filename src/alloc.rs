//! The process's memory allocator: glibc's until [`use_mimalloc`], mimalloc's for what is
//! allocated after it. `analyze` switches at its start; `serve` never does.
//!
//! Why two: `analyze` makes and frees small strings and vectors by the million (framed
//! fields, events, incidents, their spill to disk and read-back), and glibc's malloc and
//! free were a fifth of its time (perf); with mimalloc it runs in about a fifth less time
//! (bench/analyze_ab.sh, docs/benchmarks.md "The allocator"). `serve` is a daemon whose
//! idle memory has a target (≤ 10 MB, docs/benchmarks.md), and mimalloc's pages per thread
//! held 2.5 MB more there.
//!
//! Each block goes back to the allocator that made it: a block made before the switch
//! (std's own, the command line's) may be freed or grown after it. mimalloc answers whether
//! an address is one of its own ([`libmimalloc_sys::mi_is_in_heap_region`]: its arenas and
//! its segment map, never a read of the block); before the switch nothing is mimalloc's and
//! the question is not asked.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once, never cleared.
static MIMALLOC: AtomicBool = AtomicBool::new(false);

/// The allocator the binary declares (`#[global_allocator]` in `main.rs`).
pub struct Switch;

/// New blocks come from mimalloc from now on, in every thread.
pub fn use_mimalloc() {
    MIMALLOC.store(true, Ordering::Relaxed);
}

/// Whether new blocks come from mimalloc.
pub fn uses_mimalloc() -> bool {
    MIMALLOC.load(Ordering::Relaxed)
}

/// Whether `p` was made by mimalloc. Relaxed is enough: a thread that holds a block made by
/// mimalloc learnt of it through the same synchronisation that published the block, which
/// also publishes the switch made before it.
fn by_mimalloc(p: *mut u8) -> bool {
    // SAFETY: mi_is_in_heap_region only compares the address with mimalloc's own tables.
    uses_mimalloc() && unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) }
}

/// Whether mimalloc's plain `mi_malloc`/`mi_realloc` give a block of `size` bytes the
/// alignment `align`: its blocks are aligned to their size up to 16 bytes
/// (`mi_malloc_is_naturally_aligned` in its alloc-aligned.c, the rule std's own `System`
/// follows for glibc). The `mimalloc` crate always takes the aligned calls, whose extra
/// layers of checks were 1 % of `analyze`'s instructions (callgrind).
fn plain(align: usize, size: usize) -> bool {
    align <= 16 && align <= size
}

// SAFETY: every block is made by exactly one of the two allocators and freed or grown by
// the same one (`by_mimalloc`); both uphold GlobalAlloc's contract themselves, and the
// plain mimalloc calls are taken only where they give the layout's alignment (`plain`).
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if uses_mimalloc() {
            if plain(layout.align(), layout.size()) {
                return unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast() };
            }
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if uses_mimalloc() {
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if by_mimalloc(ptr) {
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// A block grows within its own allocator: one made before the switch stays glibc's.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if by_mimalloc(ptr) {
            if plain(layout.align(), new_size) {
                return unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast() };
            }
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        } else {
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every block the switch hands out after the switch has its layout's alignment, and
    /// keeps its bytes and alignment when it shrinks and grows, through the plain calls and
    /// the aligned ones alike. (The test binary's own allocator is std's: only these calls
    /// go through `Switch`.)
    #[test]
    fn blocks_keep_their_alignment_through_both_kinds_of_call() {
        use_mimalloc();
        let a = Switch;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=300).chain([1000, 4096, 70_000]) {
                let Ok(first) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: non-zero sizes; each block is used only while it is live and
                // freed once, with the layout it has then.
                unsafe {
                    let mut p = a.alloc(first);
                    let mut layout = first;
                    assert!(!p.is_null() && p as usize % align == 0, "{size} / {align}");
                    assert!(by_mimalloc(p), "{size} / {align}: not mimalloc's");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let mut kept = size;
                    for new in [size / 2 + 1, size * 3 + 5, size] {
                        p = a.realloc(p, layout, new);
                        assert!(
                            !p.is_null() && p as usize % align == 0,
                            "{size}→{new} / {align}"
                        );
                        kept = kept.min(new);
                        for i in 0..kept {
                            assert_eq!(*p.add(i), i as u8, "{size}→{new} / {align}: byte {i}");
                        }
                        layout = Layout::from_size_align_unchecked(new, align);
                    }
                    a.dealloc(p, layout);
                }
            }
        }
    }
}
