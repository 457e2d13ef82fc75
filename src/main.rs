//! lvsmon's command line: everything lives in `lvsmon::cli`; this only runs it.

fn main() -> std::process::ExitCode {
    lvsmon::cli::main()
}
