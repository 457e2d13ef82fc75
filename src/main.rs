//! lvsmon's command line: everything lives in `lvsmon::cli`; this only runs it.

/// glibc's allocator, or mimalloc once `analyze` asks for it (`lvsmon::alloc`).
#[global_allocator]
static ALLOCATOR: lvsmon::alloc::Switch = lvsmon::alloc::Switch;

fn main() -> std::process::ExitCode {
    lvsmon::cli::main()
}
