//! The engine beside the raw primitive: every group holds an engine bench and the raw
//! AES-256-GCM baseline doing the same work (see `trent_benches::RawSealer`), so the report
//! (`benches/report.sh`) is a ratio, not an absolute time.
//!
//! Group names carry the provider (`encrypt/ring`, `encrypt/aws-lc-rs`; on disk
//! `target/criterion/encrypt_ring/…`), so runs with and without `--features aws-lc` keep
//! separate results and baselines.
//!
//! * `encrypt`, `decrypt`: 32 B, 1 KiB, 4 KiB; `engine` vs `raw_seal` / `raw_open`.
//! * `generate_data_key`: one AES-256 data key; `engine` vs `raw_rng_seal` (32 random bytes
//!   and a 32-byte seal).
//! * `generate_data_keys`: batches of 1, 64, 1024 on a rayon pool of one thread
//!   (`engine_1t`) and two (`engine_2t`) called from outside the pool; the same with the
//!   caller itself on a pool thread (`engine_1t_in_pool`, `engine_2t_in_pool`, no hand-off per
//!   batch); serially on the calling thread (`engine_serial`, the engine's own cost); vs
//!   `raw_loop` (one RNG call per key, one thread) and `raw_bulk_rng` (one RNG call for the
//!   whole batch, one thread).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trent::key::DataKeySpec;
use trent::{
    Caller, CreateKeyRequest, DecryptRequest, EncryptRequest, Execution, GenerateDataKeyRequest,
    GenerateDataKeysRequest, Kms,
};
use trent_benches::{RawSealer, payload};

/// Plaintext sizes of Encrypt and Decrypt (4 KiB is the Encrypt limit).
const SIZES: [usize; 3] = [32, 1024, 4096];
/// Batch sizes of GenerateDataKeys.
const BATCHES: [usize; 3] = [1, 64, 1024];

/// An engine with one symmetric key, and its root caller.
struct Fixture {
    kms: Kms,
    me: Caller,
    key_id: String,
}

impl Fixture {
    fn new() -> Self {
        // Locking is set up once per chunk, never per operation, so an unlocked fallback does
        // not change the timing; it only keeps the benches running where RLIMIT_MEMLOCK is low.
        let kms = Kms::builder().allow_unlocked_memory(true).open().unwrap();
        if !kms.memory_is_locked() {
            eprintln!("note: running on unlocked memory (RLIMIT_MEMLOCK too low)");
        }
        let me = kms.root_caller();
        let key_id = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
        Self { kms, me, key_id }
    }
}

/// A criterion group named after the operation and the provider.
fn group<'a>(c: &'a mut Criterion, op: &str) -> BenchmarkGroup<'a, WallTime> {
    c.benchmark_group(format!("{op}/{}", trent::crypto::provider_name()))
}

/// An Encrypt or Decrypt group: for each of [`SIZES`], `setup` makes the engine's request and
/// the raw primitive's input from a payload of that size; `engine` (named `engine`) and `raw`
/// (named `raw_name`) are timed on them.
fn engine_vs_raw<Req, Raw, A, B>(
    c: &mut Criterion,
    op: &str,
    setup: impl Fn(&Fixture, &mut RawSealer, Vec<u8>) -> (Req, Raw),
    engine: impl Fn(&Fixture, &Req) -> A,
    raw_name: &str,
    raw: impl Fn(&mut RawSealer, &Raw) -> B,
) {
    let fx = Fixture::new();
    let mut sealer = RawSealer::new();
    let mut g = group(c, op);
    for size in SIZES {
        let (req, raw_in) = setup(&fx, &mut sealer, payload(size));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("engine", size), &req, |b, req| b.iter(|| engine(&fx, black_box(req))));
        g.bench_with_input(BenchmarkId::new(raw_name, size), &raw_in, |b, x| b.iter(|| raw(&mut sealer, black_box(x))));
    }
    g.finish();
}

fn encrypt(c: &mut Criterion) {
    engine_vs_raw(
        c,
        "encrypt",
        |fx, _, pt| (EncryptRequest::new(fx.key_id.as_str(), pt.clone()), pt),
        |fx, req| fx.kms.encrypt(&fx.me, req).unwrap(),
        "raw_seal",
        |raw, pt| raw.seal(pt).unwrap(),
    );
}

fn decrypt(c: &mut Criterion) {
    engine_vs_raw(
        c,
        "decrypt",
        |fx, raw, pt| {
            let blob =
                fx.kms.encrypt(&fx.me, &EncryptRequest::new(fx.key_id.as_str(), pt.clone())).unwrap().ciphertext_blob;
            let req = DecryptRequest::new(blob);
            assert_eq!(fx.kms.decrypt(&fx.me, &req).unwrap().plaintext.expose_secret(), &pt[..]);
            let raw_blob = raw.seal(&pt).unwrap();
            assert_eq!(raw.open(&raw_blob).unwrap(), pt);
            (req, raw_blob)
        },
        |fx, req| fx.kms.decrypt(&fx.me, req).unwrap(),
        "raw_open",
        |raw, blob| raw.open(blob).unwrap(),
    );
}

fn generate_data_key(c: &mut Criterion) {
    let fx = Fixture::new();
    let mut raw = RawSealer::new();
    let req = GenerateDataKeyRequest::aes_256(fx.key_id.as_str());
    let mut g = group(c, "generate_data_key");
    g.throughput(Throughput::Elements(1));
    g.bench_with_input(BenchmarkId::new("engine", 32), &req, |b, req| {
        b.iter(|| fx.kms.generate_data_key(&fx.me, black_box(req)).unwrap())
    });
    g.bench_function(BenchmarkId::new("raw_rng_seal", 32), |b| b.iter(|| raw.data_key().unwrap()));
    g.finish();
}

fn generate_data_keys(c: &mut Criterion) {
    let fx = Fixture::new();
    let mut raw = RawSealer::new();
    let pools: Vec<(usize, rayon::ThreadPool)> =
        [1, 2].into_iter().map(|t| (t, rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap())).collect();
    let mut g = group(c, "generate_data_keys");
    for n in BATCHES {
        let req = GenerateDataKeysRequest {
            key_id: fx.key_id.clone(),
            key_spec: Some(DataKeySpec::Aes256),
            count: n,
            execution: Execution::Parallel,
            ..Default::default()
        };
        let check = fx.kms.generate_data_keys(&fx.me, &req).unwrap();
        assert_eq!(check.data_keys.len(), n);
        assert!(check.data_keys.iter().all(Result::is_ok));
        g.throughput(Throughput::Elements(n as u64));
        for (threads, pool) in &pools {
            g.bench_with_input(BenchmarkId::new(format!("engine_{threads}t"), n), &req, |b, req| {
                b.iter(|| pool.install(|| fx.kms.generate_data_keys(&fx.me, black_box(req)).unwrap()))
            });
        }
        // The caller already on a pool thread (a server whose handlers run on the pool): the
        // timing loop itself runs inside `install`, so no batch pays a hand-off from outside.
        for (threads, pool) in &pools {
            g.bench_with_input(BenchmarkId::new(format!("engine_{threads}t_in_pool"), n), &req, |b, req| {
                pool.install(|| b.iter(|| fx.kms.generate_data_keys(&fx.me, black_box(req)).unwrap()))
            });
        }
        // The same batch on the calling thread, no pool: the engine's own cost, without the
        // hand-off to a pool thread and back that `install` adds.
        let serial = GenerateDataKeysRequest { execution: Execution::Serial, ..req.clone() };
        g.bench_with_input(BenchmarkId::new("engine_serial", n), &serial, |b, req| {
            b.iter(|| fx.kms.generate_data_keys(&fx.me, black_box(req)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("raw_loop", n), &n, |b, &n| {
            b.iter(|| raw.data_keys_loop(black_box(n)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("raw_bulk_rng", n), &n, |b, &n| {
            b.iter(|| raw.data_keys_bulk(black_box(n)).unwrap())
        });
        // The machine's own ceiling for two threads: the raw batch split in halves on the
        // two-thread pool, one sealer per thread, nothing shared.
        let (mut left, mut right) = (RawSealer::new(), RawSealer::new());
        let two = &pools[1].1;
        g.bench_with_input(BenchmarkId::new("raw_bulk_rng_2t_in_pool", n), &n, |b, &n| {
            two.install(|| {
                b.iter(|| {
                    rayon::join(
                        || left.data_keys_bulk(black_box(n / 2)).unwrap(),
                        || right.data_keys_bulk(black_box(n - n / 2)).unwrap(),
                    )
                })
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = encrypt, decrypt, generate_data_key, generate_data_keys
}
criterion_main!(benches);
