//! Runs the shell tests in `cli/tests/shell/` with this build's `trent` first on PATH: the
//! seed notes' two commands verbatim, the same flow through every subcommand, and the root
//! key sources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn run_script(name: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_trent"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shell").join(name);
    let out = Command::new("bash")
        .arg(&script)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env_remove("TRENT_REGION")
        .env_remove("TRENT_ACCOUNT")
        .env_remove("TRENT_CALLER")
        .env_remove("TRENT_OUTPUT")
        .env_remove("TRENT_PROFILE")
        .env_remove("TRENT_ROOT_KEY_SOURCE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_DEFAULT_OUTPUT")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{name} failed ({:?})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn seed_notes_commands_verbatim() {
    run_script("seed-notes.sh");
}

#[test]
fn every_subcommand() {
    run_script("every-command.sh");
}

#[test]
fn root_key_sources() {
    run_script("root-key.sh");
}
