//! `lvsmon generate --out DIR` (hidden): the man pages and shell completions, made from the
//! clap definitions themselves so they never drift from the flags. The Debian package
//! (`deb` step of scripts/test.sh) ships what this writes.

use super::args::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Directory to write `man/man1/*.1` and `completions/` into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Writes `lvsmon.1`, one page per subcommand (`lvsmon-serve.1`, …), and the bash, zsh and
/// fish completions; returns the files written.
pub fn run(a: &GenerateArgs) -> Result<Vec<PathBuf>> {
    let mut cmd = Cli::command();
    cmd.build();
    // man1/ so that MANPATH=DIR/man finds them (systemd-analyze verify follows `man:`).
    let man = a.out.join("man/man1");
    let comp = a.out.join("completions");
    for d in [&man, &comp] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut written = Vec::new();
    let page = |c: clap::Command, name: String, written: &mut Vec<PathBuf>| -> Result<()> {
        let path = man.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(c)
            .title(name.clone())
            .render(&mut buf)?;
        write(&path, &buf)?;
        written.push(path);
        Ok(())
    };
    page(cmd.clone(), "lvsmon".into(), &mut written)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("lvsmon-{}", sub.get_name());
        page(sub.clone(), name, &mut written)?;
    }
    for (shell, file) in [
        (Shell::Bash, "lvsmon"),
        (Shell::Zsh, "_lvsmon"),
        (Shell::Fish, "lvsmon.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "lvsmon", &mut buf);
        let path = comp.join(file);
        write(&path, &buf)?;
        written.push(path);
    }
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
