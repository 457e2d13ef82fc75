//! The allocator switch (`lvsmon::alloc`), as the binary declares it: blocks made before the
//! switch stay glibc's (freed and grown by glibc after it), blocks made after are
//! mimalloc's, in every thread. One test: the switch is process-wide and one-way.

use lvsmon::alloc::{use_mimalloc, uses_mimalloc, Switch};

#[global_allocator]
static ALLOCATOR: Switch = Switch;

/// Bytes glibc's heap has handed out and not had back (blocks below its mmap threshold).
fn glibc_in_use() -> usize {
    // SAFETY: mallinfo2 only reads glibc's counters.
    unsafe { libc::mallinfo2().uordblks }
}

fn mimallocs(p: *const u8) -> bool {
    // SAFETY: only compares the address with mimalloc's tables.
    unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) }
}

#[test]
fn every_block_goes_back_to_the_allocator_that_made_it() {
    assert!(!uses_mimalloc());
    let before: Vec<u8> = vec![7; 64 << 10];
    let mut grows: Vec<u32> = (0..1000).collect();
    assert!(!mimallocs(before.as_ptr()) && !mimallocs(grows.as_ptr().cast()));

    use_mimalloc();
    let used = glibc_in_use();
    let after: Vec<u8> = vec![9; 64 << 10];
    assert!(
        mimallocs(after.as_ptr()),
        "a block made after the switch is mimalloc's"
    );
    assert!(
        glibc_in_use() < used + (32 << 10),
        "glibc did not make it: {used} -> {} bytes in use",
        glibc_in_use()
    );

    // Grown after the switch, a block made before stays glibc's, with its contents.
    grows.extend(1000..100_000);
    assert!(!mimallocs(grows.as_ptr().cast()));
    assert!(grows.iter().copied().eq(0..100_000));

    // Freed after the switch, a block made before goes back to glibc.
    let used = glibc_in_use();
    drop(before);
    assert!(
        glibc_in_use() + (64 << 10) <= used,
        "glibc got its 64 KiB back: {used} -> {} bytes in use",
        glibc_in_use()
    );

    // Blocks made in other threads, freed in this one.
    let made: Vec<Vec<String>> = (0..4)
        .map(|t| std::thread::spawn(move || (0..10_000).map(|i| format!("{t}-{i}")).collect()))
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(made.iter().flatten().all(|s| mimallocs(s.as_ptr())));
    assert_eq!(made.iter().flatten().count(), 40_000);
    drop(made);
    assert!(after.iter().all(|&b| b == 9));
}
