//! `generate-assets DIR` (hidden): the man pages and shell completions of a package, made
//! from the clap definition the binary parses with, so they cannot drift from it.
//!
//! `DIR/man/urbackup.1`, one page per subcommand (`urbackup-console.1`,
//! `urbackup-console-user-add.1`, ...), and `DIR/completions/bash/urbackup`,
//! `DIR/completions/zsh/_urbackup`, `DIR/completions/fish/urbackup.fish`. `scripts/dist.sh`
//! runs it and the Debian package installs the files where man, bash, zsh and fish look.

use anyhow::{Context, Result};
use clap_complete::Shell;
use std::path::Path;

/// Writes the pages and completions of `cmd` under `out`; returns how many files.
pub fn generate(cmd: clap::Command, out: &Path) -> Result<usize> {
    let man = out.join("man");
    std::fs::create_dir_all(&man).with_context(|| format!("cannot create {}", man.display()))?;
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;
    let mut files = std::fs::read_dir(&man)?.count();
    for (shell, dir, name) in [
        (Shell::Bash, "bash", "urbackup"),
        (Shell::Zsh, "zsh", "_urbackup"),
        (Shell::Fish, "fish", "urbackup.fish"),
    ] {
        let dir = out.join("completions").join(dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "urbackup", &mut text);
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        files += 1;
    }
    Ok(files)
}
