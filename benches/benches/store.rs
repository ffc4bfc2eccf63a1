//! The durable keystores beside the in-memory one, in one run (report: `benches/report-store.sh`).
//!
//! * `encrypt_store/<provider>`: Encrypt 4 KiB on an engine over the memory, SQLite and
//!   PostgreSQL stores, and on the memory store with the JSON-lines audit file sink. The hot
//!   path must not touch the store, so the durable ones should match memory; the audit sink's
//!   cost is the one difference that is expected; `memory_audit_null` sends the same events to
//!   a writer that drops them, which isolates the hot path's share (building and sending).
//! * `store_ops/<provider>`: CreateKey and RotateKeyOnDemand on SQLite and PostgreSQL (each a
//!   durable transaction), and opening an engine on a store that holds 10,000 keys.
//!
//! PostgreSQL benches run when `TRENT_TEST_PG_URL` is set (`scripts/with-postgres -- …` sets
//! it; `benches/report-store.sh` does that for you).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trent::{CreateKeyRequest, EncryptRequest, KeyIdRequest, Kms, KmsBuilder};
use trent_benches::payload;

const ROOT_KEY: [u8; 32] = [0x3c; 32];
/// Keys in the store that the open bench opens.
const OPEN_KEYS: usize = 10_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trent-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn pg_url() -> Option<String> {
    std::env::var("TRENT_TEST_PG_URL").ok().filter(|u| !u.is_empty())
}

fn schema(name: &str) -> String {
    format!("bench_{}_{name}", std::process::id())
}

/// An audit writer that drops every batch.
struct NullWriter;

impl trent::audit::AuditWriter for NullWriter {
    fn write(&mut self, events: &[trent::audit::AuditEvent]) -> std::io::Result<()> {
        black_box(events);
        Ok(())
    }
}

/// The stores to compare: (name, builder on a fresh, empty store).
/// A builder on the store named by a tag (the same tag, the same store).
type MakeBuilder = Box<dyn Fn(&str) -> KmsBuilder>;

fn stores() -> Vec<(&'static str, MakeBuilder)> {
    let mut out: Vec<(&'static str, MakeBuilder)> = vec![
        ("memory", Box::new(|_| Kms::builder())),
        ("sqlite", Box::new(|tag| Kms::builder().sqlite(scratch(&format!("{tag}.db"))).root_key(ROOT_KEY))),
    ];
    if let Some(url) = pg_url() {
        out.push((
            "postgres",
            Box::new(move |tag| Kms::builder().postgres_in_schema(&url, schema(tag)).root_key(ROOT_KEY)),
        ));
    } else {
        eprintln!("note: TRENT_TEST_PG_URL is not set; the PostgreSQL benches are skipped");
    }
    out
}

fn group_name(op: &str) -> String {
    format!("{op}/{}", trent::crypto::provider_name())
}

fn encrypt_store(c: &mut Criterion) {
    let mut g = c.benchmark_group(group_name("encrypt_store"));
    g.throughput(Throughput::Bytes(4096));
    let plaintext = payload(4096);
    let mut engines: Vec<(&str, Kms)> = stores()
        .into_iter()
        .map(|(name, make)| (name, make(&format!("enc_{name}")).allow_unlocked_memory(true).open().unwrap()))
        .collect();
    let log = scratch("audit.jsonl");
    engines.push(("memory_audit_file", Kms::builder().allow_unlocked_memory(true).audit_file(&log).open().unwrap()));
    // The hot path's own share of auditing: events built and sent to a writer that drops them.
    let null = trent::audit::ChannelAudit::new(NullWriter).unwrap();
    engines.push(("memory_audit_null", Kms::builder().allow_unlocked_memory(true).audit(null).open().unwrap()));
    for (name, kms) in &engines {
        let me = kms.root_caller();
        let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
        let req = EncryptRequest::new(&key, plaintext.clone());
        kms.encrypt(&me, &req).unwrap();
        g.bench_with_input(BenchmarkId::new(*name, 4096), &req, |b, req| {
            b.iter(|| kms.encrypt(&me, black_box(req)).unwrap())
        });
    }
    g.finish();
}

fn store_ops(c: &mut Criterion) {
    let mut g = c.benchmark_group(group_name("store_ops"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, make) in stores().into_iter().filter(|(n, _)| *n != "memory") {
        let kms = make(&format!("ops_{name}")).allow_unlocked_memory(true).open().unwrap();
        let me = kms.root_caller();
        g.bench_function(BenchmarkId::new("create_key", name), |b| {
            b.iter(|| kms.create_key(&me, &CreateKeyRequest::default()).unwrap())
        });
        // RotateKeyOnDemand is capped per key (25), so each key takes a few rotations; the
        // CreateKey of a fresh key stays outside the timing.
        g.bench_function(BenchmarkId::new("rotate_key_on_demand", name), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut key = String::new();
                for i in 0..iters {
                    if i % 20 == 0 {
                        key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
                    }
                    let req = KeyIdRequest::new(key.clone());
                    let started = Instant::now();
                    kms.rotate_key_on_demand(&me, &req).unwrap();
                    spent += started.elapsed();
                }
                spent
            })
        });
        drop(kms);
        // A store with 10,000 keys, then the time to open an engine on it.
        let tag = format!("open_{name}");
        let filled = make(&tag).allow_unlocked_memory(true).open().unwrap();
        let me = filled.root_caller();
        for _ in 0..OPEN_KEYS {
            filled.create_key(&me, &CreateKeyRequest::default()).unwrap();
        }
        drop(filled);
        g.bench_function(BenchmarkId::new("open_10000_keys", name), |b| {
            b.iter(|| make(&tag).allow_unlocked_memory(true).open().unwrap())
        });
    }
    g.finish();
}

/// The audit file writer alone: one batch of 1024 typical Encrypt events appended (lines
/// serialized, hashed into the chain, written; no fsync), per event.
fn audit_writer(c: &mut Criterion) {
    use trent::audit::{AuditEvent, AuditWriter, JsonlFileWriter, RequestId, SharedStr};
    let mut g = c.benchmark_group(group_name("audit_writer"));
    let events: Vec<AuditEvent> = (0..1024u64)
        .map(|i| AuditEvent {
            time: trent::clock::Timestamp::from_millis(1_764_352_502_123 + i as i64),
            region: SharedStr::from_static("us-east-1"),
            account: SharedStr::from_static("111122223333"),
            caller: SharedStr::from_static("arn:aws:iam::111122223333:root"),
            operation: "Encrypt",
            key_arn: Some(SharedStr::from_static(
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )),
            key_version: Some(1),
            encryption_context: None,
            request_id: RequestId::from_u64_pair(0x5d1e_6f2a_9b3c_4d7e, i),
            error: None,
        })
        .collect();
    let path = scratch("writer.jsonl");
    let mut writer = JsonlFileWriter::open(&path).unwrap().sync(false);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("jsonl_1024_events_no_fsync", |b| b.iter(|| writer.write(black_box(&events)).unwrap()));
    g.finish();
    drop(writer);
    let _ = std::fs::remove_file(&path);
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = audit_writer, encrypt_store, store_ops
}
criterion_main!(benches);
