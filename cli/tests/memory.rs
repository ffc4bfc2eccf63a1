//! Envelope decryption streams in bounded memory: 4 GiB, generated on the fly, go through
//! `trent envelope encrypt --in - --out -` piped into `trent envelope decrypt --in - --out -`,
//! and each process's peak resident set (VmHWM, which `trent` reports at exit when
//! `TRENT_REPORT_PEAK_RSS` is set) must stay under 256 MiB. Nothing is stored on disk.
//!
//! Memory follows the data, not the chunk size a file's header claims: making and decrypting
//! a tiny file with 64 MiB chunks, on 2 threads and on 16, stays under 32 MiB of peak resident
//! set (the process's own baseline is about 15 MiB in a debug build; half a chunk would be
//! more than the bound).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};

const TOTAL: u64 = 4 << 30;
const LIMIT_KIB: u64 = 256 << 10;
const TINY_LIMIT_KIB: u64 = 32 << 10;

fn trent(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trent"));
    c.env("TRENT_DATA_DIR", dir.join("data"))
        .env("TRENT_CONFIG_FILE", dir.join("none"))
        .env("TRENT_ROOT_KEY_SOURCE", format!("file:{}", dir.join("root.key").display()))
        .env("TRENT_REPORT_PEAK_RSS", "1");
    c
}

fn peak_kib(stderr: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stderr);
    let line =
        text.lines().find(|l| l.starts_with("trent: peak VmHWM:")).unwrap_or_else(|| panic!("no peak in {text}"));
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

const BLOCK: usize = 1 << 20;

/// The generated input's 1 MiB block at `offset`: a fixed pseudo-random block whose first
/// eight bytes are the offset, so that reordered or repeated output shows.
fn pattern(base: &[u8], offset: u64) -> Vec<u8> {
    let mut block = base.to_vec();
    block[..8].copy_from_slice(&offset.to_be_bytes());
    block
}

fn base_block() -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..BLOCK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A new KMS key in the data directory under `dir`: its id.
fn create_key(dir: &std::path::Path) -> String {
    let out = trent(dir).args(["create-key", "--query", "KeyMetadata.KeyId", "--output", "text"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn four_gib_stream_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_key(dir.path());

    let mut enc = trent(dir.path())
        .args(["envelope", "encrypt", "--key-id", &key, "--in", "-", "--out", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut dec = trent(dir.path())
        .args(["envelope", "decrypt", "--in", "-", "--out", "-"])
        .stdin(enc.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The input: a 1 MiB block of a pattern, varied per block by its offset, so that a
    // reordering would show.
    let mut stdin = enc.stdin.take().unwrap();
    let base = base_block();
    let feed = base.clone();
    let feeder = std::thread::spawn(move || {
        let mut off = 0u64;
        while off < TOTAL {
            stdin.write_all(&pattern(&feed, off)).unwrap();
            off += BLOCK as u64;
        }
    });
    let mut stdout = dec.stdout.take().unwrap();
    let mut got = vec![0u8; BLOCK];
    let mut off = 0u64;
    loop {
        let mut n = 0;
        while n < got.len() {
            match stdout.read(&mut got[n..]).unwrap() {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            break;
        }
        assert!(n == BLOCK && got == pattern(&base, off), "plaintext differs at offset {off}");
        off += n as u64;
    }
    feeder.join().unwrap();
    let enc_out = enc.wait_with_output().unwrap();
    let dec_out = dec.wait_with_output().unwrap();
    assert!(enc_out.status.success(), "{}", String::from_utf8_lossy(&enc_out.stderr));
    assert!(dec_out.status.success(), "{}", String::from_utf8_lossy(&dec_out.stderr));
    assert_eq!(off, TOTAL);
    let (e, d) = (peak_kib(&enc_out.stderr), peak_kib(&dec_out.stderr));
    eprintln!("peak RSS: encrypt {e} KiB, decrypt {d} KiB, for {TOTAL} bytes");
    assert!(d < LIMIT_KIB, "decrypt peak RSS {d} KiB");
    assert!(e < LIMIT_KIB, "encrypt peak RSS {e} KiB");
}

#[test]
fn a_tiny_file_with_64_mib_chunks_costs_no_chunk_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_key(dir.path());
    std::fs::write(dir.path().join("tiny"), b"hi\n").unwrap();
    for threads in ["2", "16"] {
        let out = trent(dir.path())
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(["envelope", "encrypt", "--key-id", &key, "--in", "tiny", "--out", "tiny.trent"])
            .args(["--chunk-size", "67108864"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let e = peak_kib(&out.stderr);
        assert!(std::fs::metadata(dir.path().join("tiny.trent")).unwrap().len() < 400);
        let out = trent(dir.path())
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(["envelope", "decrypt", "--in", "tiny.trent", "--out", "-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"hi\n");
        let d = peak_kib(&out.stderr);
        eprintln!("{threads} threads, 64 MiB chunks, 3 bytes: peak RSS encrypt {e} KiB, decrypt {d} KiB");
        assert!(d < TINY_LIMIT_KIB, "{threads} threads: decrypt peak RSS {d} KiB");
        assert!(e < TINY_LIMIT_KIB, "{threads} threads: encrypt peak RSS {e} KiB");
    }
}
