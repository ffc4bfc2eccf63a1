//! `--root-key-source passphrase-prompt` on a real terminal: `script` (util-linux) runs
//! `trent` on a pseudo-terminal; the test waits for each question before it types the answer,
//! and checks that the answers were not echoed, that a new keystore asks twice, that the
//! passphrase opens it again (also from a variable), and that another passphrase does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const PASSPHRASE: &str = "tr0ub4dor and 3 more words";

/// Runs `trent ARGS` under `script` with `dir` as its home and data directory's parent; answers
/// each of `questions` (in order) with its line once it shows. Returns the terminal's
/// transcript and whether `trent` succeeded.
fn on_a_terminal(dir: &Path, args: &str, answers: &[(&str, &str)]) -> (String, bool) {
    let trent = env!("CARGO_BIN_EXE_trent");
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &format!("{trent} {args}"), "/dev/null"])
        .env("HOME", dir.join("home"))
        .env("TRENT_DATA_DIR", dir.join("data"))
        .env("TRENT_CONFIG_FILE", dir.join("none"))
        .env_remove("TRENT_ROOT_KEY_SOURCE")
        .env_remove("TRENT_PROFILE")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut transcript = Vec::new();
    for (question, answer) in answers {
        // Wait for the question (progress, not time): read until it shows or the output ends.
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&transcript).contains(question) {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "the output ended before {question:?}: {}", String::from_utf8_lossy(&transcript));
            transcript.extend_from_slice(&buf[..n]);
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    stdout.read_to_end(&mut transcript).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    (String::from_utf8_lossy(&transcript).into_owned(), status.success())
}

#[test]
fn a_passphrase_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let first = "Passphrase for the Trent keystore: ";
    let again = "This passphrase creates a new keystore; type it again: ";
    let source = "--root-key-source passphrase-prompt";

    // A new keystore: asked twice, nothing echoed.
    let (out, ok) = on_a_terminal(
        dir.path(),
        &format!("{source} create-key --query KeyMetadata.KeyId --output text"),
        &[(first, PASSPHRASE), (again, PASSPHRASE)],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("tr0ub4dor"), "the passphrase was echoed: {out}");
    let key_id = out.lines().last().unwrap().trim().to_owned();
    assert_eq!(key_id.len(), 36, "{out}");
    assert!(!dir.path().join("home").exists(), "a passphrase needs no key file: {out}");

    // Two different answers: nothing is created.
    let fresh = tempfile::tempdir().unwrap();
    let (out, ok) =
        on_a_terminal(fresh.path(), &format!("{source} list-keys"), &[(first, PASSPHRASE), (again, "typo")]);
    assert!(!ok, "{out}");
    assert!(out.contains("the two passphrases differ; nothing was created"), "{out}");
    assert!(!fresh.path().join("data").join("trent.db").exists(), "{out}");

    // An existing keystore: asked once; the same passphrase opens it, another one does not.
    let (out, ok) = on_a_terminal(
        dir.path(),
        &format!("{source} describe-key --key-id {key_id} --output text"),
        &[(first, PASSPHRASE)],
    );
    assert!(ok && out.contains(&key_id), "{out}");
    assert!(!out.contains(again), "asked twice for an existing keystore: {out}");
    let (out, ok) = on_a_terminal(dir.path(), &format!("{source} list-keys"), &[(first, "not it")]);
    assert!(!ok && out.contains("is not the one this sqlite keystore was created with"), "{out}");

    // The passphrase from a variable gives the same root key.
    let out = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["--root-key-source", "passphrase-env:TRENT_TEST_PASSPHRASE", "list-keys", "--query", "Keys[0].KeyId"])
        .args(["--output", "text"])
        .env("HOME", dir.path().join("home"))
        .env("TRENT_DATA_DIR", dir.path().join("data"))
        .env("TRENT_CONFIG_FILE", dir.path().join("none"))
        .env("TRENT_TEST_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), key_id);
}
