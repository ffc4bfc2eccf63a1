//! No plaintext is left in `trent`'s memory once a command is done with it: every command that
//! handles one (Encrypt of a `fileb://` file, Decrypt in each output format and through
//! `--query`, `trent envelope` both ways and to stdout) runs with `TRENT_TEST_MEMORY_SCAN`,
//! which makes `trent` count at exit, after everything is dropped, the occurrences of 64 bytes
//! of the plaintext (or of its base64) in its writable memory: the heap, anonymous mappings
//! and data segments (`src/memscan.rs`). Every count must be 0; a control run looks for a
//! string the process keeps until exit and finds it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

fn trent(dir: &Path, args: &[&str], scan_for: &[u8]) -> Output {
    let masked: String = scan_for.iter().map(|b| format!("{:02x}", b ^ 0x5A)).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(args)
        .current_dir(dir)
        .env("TRENT_DATA_DIR", dir.join("data"))
        .env("TRENT_CONFIG_FILE", dir.join("none"))
        .env("TRENT_TEST_MEMORY_SCAN", masked)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// What the scan found.
fn found(out: &Output) -> u64 {
    let err = String::from_utf8_lossy(&out.stderr);
    let line =
        err.lines().find(|l| l.starts_with("trent: memory scan: ")).unwrap_or_else(|| panic!("no scan in {err}"));
    line["trent: memory scan: ".len()..].parse().unwrap_or_else(|_| panic!("{line}"))
}

/// Pseudo-random bytes (no byte string of them occurs in `trent` by chance).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn no_plaintext_is_left_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = trent(d, &["create-key", "--query", "KeyMetadata.KeyId", "--output", "text"], b"-");
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();

    // The control: the subcommand names, made from the table of shapes at the first use, live
    // until exit.
    let control = trent(d, &["list-keys"], b"generate-data-key-pair-without-plaintext");
    assert!(found(&control) >= 1, "the scan finds what is there");

    let plain = noise(4096, 7);
    let b64 = STANDARD.encode(&plain);
    std::fs::write(d.join("plain"), &plain).unwrap();
    let (raw, text) = (&plain[1000..1064], &b64.as_bytes()[2000..2064]);

    let encrypt = ["encrypt", "--key-id", &key, "--plaintext", "fileb://plain", "--output", "text", "--query"];
    let out = trent(d, &[&encrypt[..], &["CiphertextBlob"]].concat(), raw);
    assert_eq!(found(&out), 0, "encrypt: the file's bytes");
    let blob = STANDARD.decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    std::fs::write(d.join("blob"), blob).unwrap();
    assert_eq!(found(&trent(d, &[&encrypt[..], &["KeyId"]].concat(), text)), 0, "encrypt: their base64");

    let decrypt = ["decrypt", "--ciphertext-blob", "fileb://blob"];
    for extra in [&["--output", "json"][..], &["--output", "text"], &["--output", "table"], &["--query", "Plaintext"]] {
        let out = trent(d, &[&decrypt[..], extra].concat(), text);
        assert!(String::from_utf8_lossy(&out.stdout).contains(&b64), "{extra:?}: the plaintext is printed");
        assert_eq!(found(&out), 0, "decrypt {extra:?}");
    }

    // Envelope files, larger than a batch: both ways, to a file and to stdout. The last
    // newline is 950 bytes from the end, so that a line-buffered stdout would keep the end,
    // where the piece looked for lies.
    let mut big = noise(3 << 20, 11);
    let end = big.len();
    for b in &mut big[end - 949..] {
        *b = if *b == b'\n' { 0 } else { *b };
    }
    big[end - 950] = b'\n';
    std::fs::write(d.join("big"), &big).unwrap();
    let raw = &big[end - 800..end - 736];
    let out = trent(d, &["envelope", "encrypt", "--key-id", &key, "--in", "big", "--out", "big.trent"], raw);
    assert_eq!(found(&out), 0, "envelope encrypt");
    let out = trent(d, &["envelope", "decrypt", "--in", "big.trent", "--out", "big.out"], raw);
    assert_eq!(found(&out), 0, "envelope decrypt to a file");
    assert!(std::fs::read(d.join("big.out")).unwrap() == big);
    let out = trent(d, &["envelope", "decrypt", "--in", "big.trent", "--out", "-"], raw);
    assert!(out.stdout == big);
    assert_eq!(found(&out), 0, "envelope decrypt to stdout");
}
