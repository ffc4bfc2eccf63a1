//! Envelope encryption throughput in memory, beside the raw provider's AES-256-GCM on the
//! same number of threads.
//!
//! ```text
//! cargo run --release -p trent-cli --example envelope_throughput [-- SIZE_MIB [THREADS...]]
//! ```
//!
//! For each thread count (default 1 and 2): seals SIZE_MIB (default 1024) of data in 1 MiB
//! pieces in place with the provider's AES-256-GCM across a rayon pool of that many threads
//! (the raw figure), then runs `trent::envelope::encrypt` and `decrypt` from a slice to a
//! `Vec` on a pool of that size, and prints the rates and the ratios. Each figure is the best
//! of three runs. Part of `cli/bench.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rayon::prelude::*;
use trent::danger::AeadKey;
use trent::envelope::{self, DecryptOptions, EncryptOptions};
use trent::{CreateKeyRequest, Kms};

fn best<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..5).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(1024);
    let threads: Vec<usize> = {
        let t: Vec<usize> = args.map(|a| a.parse().unwrap()).collect();
        if t.is_empty() { vec![1, 2] } else { t }
    };
    let size = mib << 20;
    // TRENT_CHUNK_SIZE: the envelope chunk size (default the format's default).
    let chunk: usize =
        std::env::var("TRENT_CHUNK_SIZE").ok().map(|c| c.parse().unwrap()).unwrap_or(envelope::DEFAULT_CHUNK_SIZE);
    let opts = EncryptOptions { chunk_size: chunk, ..EncryptOptions::default() };
    let kms = Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let data: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(31)).collect();
    let gbs = |secs: f64| size as f64 / secs / 1e9;
    println!("provider {}, {mib} MiB in memory, chunk {} bytes", kms.crypto_provider(), chunk);
    for &n in &threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        let raw_key = AeadKey::new(&[7u8; 32]).unwrap();
        let mut buf = data.clone();
        let raw = best(|| {
            let t = Instant::now();
            pool.install(|| {
                buf.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| {
                    let mut nonce = [0u8; 12];
                    nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
                    raw_key.seal_in_place_separate_tag(nonce, b"", c).unwrap();
                })
            });
            t.elapsed().as_secs_f64()
        });
        // The raw primitive out of place, as any encryption to a new buffer must run: each
        // piece copied to its place in an output buffer (with room for its tag) and sealed there.
        let mut raw_out = vec![0u8; size + size.div_ceil(chunk) * 16];
        let raw_copy = best(|| {
            let t = Instant::now();
            pool.install(|| {
                raw_out.par_chunks_mut(chunk + 16).zip(data.par_chunks(chunk)).enumerate().for_each(
                    |(i, (dst, src))| {
                        let (body, tag_out) = dst.split_at_mut(src.len());
                        body.copy_from_slice(src);
                        let mut nonce = [0u8; 12];
                        nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
                        let tag = raw_key.seal_in_place_separate_tag(nonce, b"", body).unwrap();
                        tag_out.copy_from_slice(&tag);
                    },
                )
            });
            t.elapsed().as_secs_f64()
        });
        drop(raw_out);
        let mut sealed = Vec::with_capacity(size + size / 1000 + 4096);
        let enc = best(|| {
            sealed.clear();
            let t = Instant::now();
            pool.install(|| envelope::encrypt(&kms, &me, &key, &opts, &data[..], &mut sealed)).unwrap();
            t.elapsed().as_secs_f64()
        });
        let mut opened = Vec::with_capacity(size);
        let dec = best(|| {
            opened.clear();
            let t = Instant::now();
            pool.install(|| envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], &mut opened))
                .unwrap();
            t.elapsed().as_secs_f64()
        });
        assert!(opened == data);
        // Output buffers reused from run to run, as the raw figure's buffer is.
        let mut sealed2 = Vec::new();
        let enc_slice = best(|| {
            let t = Instant::now();
            pool.install(|| envelope::encrypt_into(&kms, &me, &key, &opts, &data, &mut sealed2)).unwrap();
            t.elapsed().as_secs_f64()
        });
        let mut opened2 = Vec::new();
        let dec_slice = best(|| {
            let t = Instant::now();
            pool.install(|| envelope::decrypt_into(&kms, &me, &DecryptOptions::default(), &sealed2, &mut opened2))
                .unwrap();
            t.elapsed().as_secs_f64()
        });
        assert!(opened2 == data);
        println!(
            "threads {n}: raw AES-256-GCM seal in place {:.2} GB/s | raw out of place (copy + seal) {:.2} GB/s",
            gbs(raw),
            gbs(raw_copy)
        );
        println!(
            "threads {n}:   vs raw out of place: encrypt_into {:.0}%, decrypt_into {:.0}%",
            100.0 * raw_copy / enc_slice,
            100.0 * raw_copy / dec_slice
        );
        println!(
            "threads {n}:   encrypt_into       {:.2} GB/s ({:.0}% of raw) | decrypt_into {:.2} GB/s ({:.0}% of raw)",
            gbs(enc_slice),
            100.0 * raw / enc_slice,
            gbs(dec_slice),
            100.0 * raw / dec_slice
        );
        println!(
            "threads {n}:   encrypt (Read/Write) {:.2} GB/s ({:.0}% of raw) | decrypt (Read/Write) {:.2} GB/s ({:.0}% of raw)",
            gbs(enc),
            100.0 * raw / enc,
            gbs(dec),
            100.0 * raw / dec
        );
    }
}
