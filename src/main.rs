//! lvsmon's command line: everything lives in `lvsmon::cli`; this only runs it.

fn main() -> anyhow::Result<()> {
    lvsmon::cli::main()
}
