//! The audit trail off the hot path: `ChannelAudit` (bounded channel, writer thread, overflow
//! policies, flush and shutdown), the hash-chained JSON-lines file and its verifier
//! (tampering, truncation, crash recovery), and the engine writing through both.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;
use trent::audit::{
    AuditEvent, AuditLogError, AuditSink, AuditWriter, ChannelAudit, JsonlFileWriter, MemoryAudit, OverflowPolicy,
    RequestId, verify_audit_log,
};
use trent::clock::Timestamp;
use trent::{Caller, CreateKeyRequest, DecryptRequest, EncryptRequest, EncryptionContext, Kms};

/// The JSON fields of an event as the audit module's documentation shows them: the fields of
/// the event in its example line, in the order written.
fn documented_fields() -> Vec<String> {
    let docs = include_str!("../src/audit/mod.rs");
    let example = docs.lines().find_map(|l| l.strip_prefix("//! ").filter(|l| l.starts_with(r#"{"seq":1,"#))).unwrap();
    let parsed: Value = serde_json::from_str(example).unwrap();
    let mut fields: Vec<String> = parsed["event"].as_object().unwrap().keys().cloned().collect();
    fields.sort_by_key(|f| example.find(&format!("\"{f}\":")).unwrap());
    fields
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("trent-audit-test-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn log(&self) -> PathBuf {
        self.0.join("audit.jsonl")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn head_of(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// Event `i` of "thread" `thread`: its request id encodes both.
fn event(thread: u64, i: u64) -> AuditEvent {
    AuditEvent {
        time: Timestamp::from_millis(1_764_352_502_123 + i as i64),
        region: "us-east-1".into(),
        account: "111122223333".into(),
        caller: format!("arn:aws:iam::111122223333:user/t{thread}").into(),
        operation: if i.is_multiple_of(2) { "Encrypt" } else { "Decrypt" },
        key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".into()),
        key_version: Some(1 + (i % 3) as u32),
        encryption_context: Some([("tenant".to_owned(), format!("t{thread}"))].into()),
        request_id: RequestId::from_u64_pair(thread, i),
        error: if i % 7 == 3 { Some("AccessDeniedException") } else { None },
    }
}

/// Writes `events` to the log at `path` through a `ChannelAudit`, and closes it.
fn write_log(path: &Path, events: impl IntoIterator<Item = AuditEvent>) {
    let audit = ChannelAudit::new(JsonlFileWriter::open(path).unwrap()).unwrap();
    for e in events {
        audit.record(e);
    }
    audit.close().unwrap();
}

/// The log's lines, each with its newline.
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    fs::read(path).unwrap().split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn parse_lines(path: &Path) -> Vec<Value> {
    lines_of(path).iter().map(|l| serde_json::from_slice(l).unwrap()).collect()
}

/// A writer that reports each batch's size on `entered`, then waits for `gate` (until the
/// gate's sender is dropped), then keeps the batch in `out`.
struct GatedWriter {
    entered: Sender<usize>,
    gate: Receiver<()>,
    out: MemoryAudit,
}

impl AuditWriter for GatedWriter {
    fn write(&mut self, events: &[AuditEvent]) -> std::io::Result<()> {
        self.entered.send(events.len()).unwrap();
        let _ = self.gate.recv();
        self.out.write(events)
    }
}

fn gated(capacity: usize, policy: OverflowPolicy) -> (ChannelAudit, Receiver<usize>, Sender<()>, MemoryAudit) {
    let (entered_tx, entered) = crossbeam_channel::unbounded();
    let (gate, gate_rx) = crossbeam_channel::unbounded();
    let out = MemoryAudit::new();
    let writer = GatedWriter { entered: entered_tx, gate: gate_rx, out: out.clone() };
    let audit = ChannelAudit::builder().capacity(capacity).overflow(policy).spawn(writer).unwrap();
    (audit, entered, gate, out)
}

fn ids(events: &[AuditEvent]) -> Vec<u128> {
    events.iter().map(|e| e.request_id.as_u128()).collect()
}

#[test]
fn many_events_from_several_threads_are_all_written_once_and_verify() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 2_000;
    let dir = TempDir::new("threads");
    // A small channel and small batches, so that callers often find it full and wait.
    let audit =
        ChannelAudit::builder().capacity(16).max_batch(50).spawn(JsonlFileWriter::open(dir.log()).unwrap()).unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let audit = audit.clone();
            s.spawn(move || (0..PER_THREAD).for_each(|i| audit.record(event(t, i))));
        }
    });
    let stats = audit.clone();
    audit.close().unwrap();
    assert_eq!((stats.written(), stats.dropped(), stats.write_errors()), (THREADS * PER_THREAD, 0, 0));

    let summary = verify_audit_log(dir.log()).unwrap();
    assert_eq!(summary.lines, THREADS * PER_THREAD);
    assert_eq!(summary.bytes, fs::metadata(dir.log()).unwrap().len());
    let lines = lines_of(&dir.log());
    assert_eq!(summary.last_hash, trent::crypto::sha256(lines.last().unwrap().strip_suffix(b"\n").unwrap()));

    // Every event exactly once, each thread's in the order it recorded them, and each line is
    // the event as recorded.
    let expected: HashMap<String, Value> = (0..THREADS)
        .flat_map(|t| (0..PER_THREAD).map(move |i| event(t, i)))
        .map(|e| (e.request_id.to_string(), serde_json::to_value(&e).unwrap()))
        .collect();
    let mut last_seen: HashMap<String, u64> = HashMap::new();
    let mut seen = BTreeSet::new();
    for (n, line) in parse_lines(&dir.log()).into_iter().enumerate() {
        assert_eq!(line["seq"], n as u64 + 1);
        let ev = &line["event"];
        let id = ev["requestId"].as_str().unwrap().to_owned();
        assert_eq!(Some(ev), expected.get(&id), "line {} is the event as recorded", n + 1);
        assert!(seen.insert(id.clone()), "{id} written twice");
        let caller = ev["caller"].as_str().unwrap().to_owned();
        let i = u64::from_str_radix(&id[id.len() - 12..], 16).unwrap();
        if let Some(prev) = last_seen.insert(caller, i) {
            assert!(prev < i, "a thread's events stay in order");
        }
    }
    assert_eq!(seen.len() as u64, THREADS * PER_THREAD);
}

#[test]
fn every_one_byte_edit_of_a_middle_line_is_detected_there() {
    let dir = TempDir::new("edit");
    write_log(&dir.log(), (0..10).map(|i| event(0, i)));
    verify_audit_log(dir.log()).unwrap();
    let original = fs::read(dir.log()).unwrap();
    let lines = lines_of(&dir.log());
    let start: usize = lines[..4].iter().map(Vec::len).sum();
    let end = start + lines[4].len() - 1; // line 5, without its newline

    // A plausible forgery that stays valid JSON: the Region changed in line 5's event.
    let mut forged = original.clone();
    let at = start + lines[4].windows(9).position(|w| w == b"us-east-1").unwrap() + 3;
    forged[at] = b'w';
    assert!(String::from_utf8_lossy(&forged[start..end]).contains("us-wast-1"));
    fs::write(dir.log(), &forged).unwrap();
    let err = verify_audit_log(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::BrokenChain { line: 6 }), "{err}");
    assert!(err.to_string().contains("line 5 was edited"), "{err}");

    // And every other single-byte change anywhere in line 5.
    for at in start..end {
        let mut edited = original.clone();
        edited[at] ^= 0x01;
        fs::write(dir.log(), &edited).unwrap();
        let err = verify_audit_log(dir.log()).unwrap_err();
        assert!(matches!(err.line(), Some(5 | 6)), "byte {} of line 5: {err}", at - start);
    }

    // Editing the seq, or breaking the JSON, names line 5 itself.
    let mut edited = original.clone();
    edited[start + br#"{"seq":"#.len()] = b'9';
    fs::write(dir.log(), &edited).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::Sequence { line: 5, found: 9 })));
    let mut edited = original.clone();
    edited[end - 1] = b' ';
    fs::write(dir.log(), &edited).unwrap();
    let err = verify_audit_log(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::Malformed { line: 5, .. }), "{err}");

    fs::write(dir.log(), &original).unwrap();
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 10);
}

#[test]
fn removing_the_last_line_is_detected_and_the_writer_refuses_the_log() {
    let dir = TempDir::new("truncate");
    write_log(&dir.log(), (0..10).map(|i| event(0, i)));
    let lines = lines_of(&dir.log());
    fs::write(dir.log(), lines[..9].concat()).unwrap();
    // The chain alone is fine: only the head anchor tells.
    let err = verify_audit_log(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::Truncated { head_seq: 10, .. }), "{err}");
    assert!(err.to_string().contains("removed from the end"), "{err}");
    let err = JsonlFileWriter::open(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::Truncated { head_seq: 10, .. }), "{err}");

    // Replacing the last line by a well-chained forgery of the same length is caught too.
    let mut forged = lines[9].clone();
    let at = forged.windows(9).position(|w| w == b"us-east-1").unwrap() + 3;
    forged[at] = b'w';
    fs::write(dir.log(), [&lines[..9].concat()[..], &forged].concat()).unwrap();
    let err = verify_audit_log(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::HeadMismatch { head_seq: 10 }), "{err}");
    assert!(matches!(JsonlFileWriter::open(dir.log()), Err(AuditLogError::HeadMismatch { head_seq: 10 })));
}

#[test]
fn removing_or_swapping_middle_lines_or_the_head_is_detected() {
    let dir = TempDir::new("middle");
    write_log(&dir.log(), (0..6).map(|i| event(0, i)));
    let lines = lines_of(&dir.log());

    let without_third: Vec<u8> = [&lines[..2], &lines[3..]].concat().concat();
    fs::write(dir.log(), without_third).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::Sequence { line: 3, found: 4 })));

    let swapped: Vec<u8> = [&lines[0], &lines[2], &lines[1], &lines[3], &lines[4], &lines[5]].map(|l| &l[..]).concat();
    fs::write(dir.log(), swapped).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::Sequence { line: 2, found: 3 })));

    let without_first: Vec<u8> = lines[1..].concat();
    fs::write(dir.log(), without_first).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::Sequence { line: 1, found: 2 })));

    fs::write(dir.log(), lines.concat()).unwrap();
    verify_audit_log(dir.log()).unwrap();
    fs::remove_file(head_of(&dir.log())).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::HeadMissing)));
    assert!(matches!(JsonlFileWriter::open(dir.log()), Err(AuditLogError::HeadMissing)));
}

#[test]
fn reopening_continues_the_chain() {
    let dir = TempDir::new("reopen");
    // An empty log verifies, before and after it has a head.
    write_log(&dir.log(), []);
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 0);
    write_log(&dir.log(), (0..5).map(|i| event(1, i)));
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 5);
    write_log(&dir.log(), (5..12).map(|i| event(1, i)));
    let summary = verify_audit_log(dir.log()).unwrap();
    assert_eq!(summary.lines, 12);

    let lines = lines_of(&dir.log());
    let parsed = parse_lines(&dir.log());
    let hash_of_5 = hex::encode(trent::crypto::sha256(lines[4].strip_suffix(b"\n").unwrap()));
    assert_eq!(parsed[5]["prev"], hash_of_5, "line 6, the first of the second run, chains to line 5");
    assert_eq!(parsed[0]["prev"], "0".repeat(64));
    let recorded: Vec<Value> = (0..12).map(|i| serde_json::to_value(event(1, i)).unwrap()).collect();
    assert_eq!(parsed.iter().map(|l| l["event"].clone()).collect::<Vec<_>>(), recorded);
    let writer = JsonlFileWriter::open(dir.log()).unwrap();
    assert_eq!(writer.last_seq(), 12);
}

#[test]
fn a_crash_before_the_head_update_is_repaired_by_reopening() {
    let dir = TempDir::new("crash");
    write_log(&dir.log(), (0..5).map(|i| event(2, i)));
    let head_at_5 = fs::read(head_of(&dir.log())).unwrap();
    write_log(&dir.log(), (5..8).map(|i| event(2, i)));
    // The crash: lines 6 to 8 written, the head still at line 5, and half of line 9.
    fs::write(head_of(&dir.log()), &head_at_5).unwrap();
    let err = verify_audit_log(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::Unanchored { head_seq: 5, lines: 8 }), "{err}");
    let complete = fs::read(dir.log()).unwrap();
    let torn = &lines_of(&dir.log())[7][..40];
    fs::write(dir.log(), [&complete[..], torn].concat()).unwrap();
    assert!(matches!(verify_audit_log(dir.log()), Err(AuditLogError::Incomplete { line: 9 })));

    let writer = JsonlFileWriter::open(dir.log()).unwrap();
    assert_eq!(writer.last_seq(), 8);
    assert_eq!(fs::read(dir.log()).unwrap(), complete, "the torn line is cut off");
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 8);
    let audit = ChannelAudit::new(writer).unwrap();
    audit.record(event(2, 8));
    audit.close().unwrap();
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 9);

    // Lines after the head that do not chain are not adopted.
    fs::write(head_of(&dir.log()), &head_at_5).unwrap();
    let lines = lines_of(&dir.log());
    let mut bad = lines.clone();
    bad[6] = lines[7].clone();
    fs::write(dir.log(), bad.concat()).unwrap();
    let err = JsonlFileWriter::open(dir.log()).unwrap_err();
    assert!(matches!(err, AuditLogError::Sequence { line: 7, found: 8 }), "{err}");
}

#[test]
fn drop_policy_counts_what_a_full_channel_drops() {
    let (audit, entered, gate, out) = gated(2, OverflowPolicy::Drop);
    audit.record(event(0, 0));
    // The writer holds event 0 and waits at the gate; the channel is empty.
    assert_eq!(entered.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let recorder = audit.clone();
    std::thread::spawn(move || {
        (1..=10).for_each(|i| recorder.record(event(0, i)));
        done_tx.send(()).unwrap();
    });
    done.recv_timeout(Duration::from_secs(10)).expect("with Drop, record never waits");
    assert_eq!(audit.queued(), 2);
    assert_eq!(audit.dropped(), 8, "two fit, eight are dropped");
    drop(gate);
    audit.flush().unwrap();
    assert_eq!(ids(&out.events()), [0, 1, 2]);
    assert_eq!((audit.written(), audit.dropped(), audit.write_errors()), (3, 8, 0));
}

#[test]
fn block_policy_makes_callers_wait_and_loses_nothing() {
    let (audit, entered, gate, out) = gated(2, OverflowPolicy::Block);
    audit.record(event(0, 0));
    assert_eq!(entered.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    audit.record(event(0, 1));
    audit.record(event(0, 2));
    let done = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (audit, done) = (audit.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            audit.record(event(0, 3));
            done.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!done.load(Ordering::SeqCst), "the fourth record waits for room");
    assert_eq!(audit.dropped(), 0);
    drop(gate);
    waiter.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    audit.close().unwrap();
    assert_eq!(ids(&out.events()), [0, 1, 2, 3]);
}

#[test]
fn flush_waits_for_everything_recorded_before_it() {
    /// Slow on purpose, so that without the wait the count would be short.
    struct Slow(MemoryAudit);
    impl AuditWriter for Slow {
        fn write(&mut self, events: &[AuditEvent]) -> std::io::Result<()> {
            std::thread::sleep(Duration::from_millis(2));
            self.0.write(events)
        }
    }
    let out = MemoryAudit::new();
    let audit = ChannelAudit::builder().max_batch(10).spawn(Slow(out.clone())).unwrap();
    for i in 0..500 {
        audit.record(event(0, i));
    }
    audit.flush().unwrap();
    assert_eq!(out.events().len(), 500);
    assert_eq!(audit.written(), 500);
    // Dropping the last handle drains and joins too.
    for i in 500..1000 {
        audit.record(event(0, i));
    }
    drop(audit);
    assert_eq!(ids(&out.events()), (0..1000).collect::<Vec<u128>>());
}

#[test]
fn write_errors_are_counted_and_reported_not_panicked() {
    struct Flaky {
        fail: Arc<AtomicBool>,
        out: MemoryAudit,
    }
    impl AuditWriter for Flaky {
        fn write(&mut self, events: &[AuditEvent]) -> std::io::Result<()> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.out.write(events)
        }
    }
    let fail = Arc::new(AtomicBool::new(false));
    let out = MemoryAudit::new();
    let audit = ChannelAudit::new(Flaky { fail: Arc::clone(&fail), out: out.clone() }).unwrap();
    (0..3).for_each(|i| audit.record(event(0, i)));
    audit.flush().unwrap();
    assert_eq!(audit.last_error(), None);

    fail.store(true, Ordering::SeqCst);
    (3..5).for_each(|i| audit.record(event(0, i)));
    let err = audit.flush().unwrap_err().to_string();
    assert!(err.contains("2 audit events were not written") && err.contains("disk on fire"), "{err}");
    assert_eq!((audit.write_errors(), audit.failed_events()), (1, 2));
    assert!(audit.last_error().unwrap().contains("disk on fire"));

    fail.store(false, Ordering::SeqCst);
    audit.record(event(0, 5));
    audit.flush().unwrap();
    assert_eq!(ids(&out.events()), [0, 1, 2, 5]);
    assert_eq!((audit.written(), audit.dropped()), (4, 0));
    audit.close().unwrap();
}

#[test]
fn events_have_exactly_the_documented_fields() {
    let mut documented = documented_fields();
    assert_eq!(AuditEvent::FIELDS.to_vec(), documented);
    let full = serde_json::to_value(event(3, 3)).unwrap();
    let keys: Vec<&str> = full.as_object().unwrap().keys().map(String::as_str).collect();
    documented.sort_unstable();
    assert_eq!(keys, documented);
    assert_eq!(full["requestId"], "00000000-0000-0003-0000-000000000003");
    assert_eq!(full["time"], 1_764_352_502.126);
    assert_eq!(full["error"], "AccessDeniedException");

    let dir = TempDir::new("fields");
    let bare = AuditEvent { key_arn: None, key_version: None, encryption_context: None, error: None, ..event(0, 0) };
    write_log(&dir.log(), [bare]);
    let line = &parse_lines(&dir.log())[0];
    let top: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(top, ["event", "prev", "seq"]);
    let ev = line["event"].as_object().unwrap();
    assert_eq!(ev.keys().map(String::as_str).collect::<Vec<_>>(), documented);
    for absent in ["keyArn", "keyVersion", "encryptionContext", "error"] {
        assert_eq!(ev[absent], Value::Null, "{absent}");
    }
    let raw = String::from_utf8(fs::read(dir.log()).unwrap()).unwrap();
    assert!(raw.starts_with(r#"{"seq":1,"prev":"0000"#) && raw.ends_with("}}\n"), "{raw}");
}

#[cfg(unix)]
#[test]
fn the_log_and_its_head_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    write_log(&dir.log(), [event(0, 0)]);
    for path in [dir.log(), head_of(&dir.log())] {
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{}", path.display());
    }
}

#[test]
fn without_fsync_the_log_still_chains_and_flush_anchors_it() {
    let dir = TempDir::new("nosync");
    let audit = ChannelAudit::new(JsonlFileWriter::open(dir.log()).unwrap().sync(false)).unwrap();
    (0..100).for_each(|i| audit.record(event(0, i)));
    audit.flush().unwrap();
    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 100);
    audit.close().unwrap();
}

#[test]
fn the_engine_audits_every_operation_to_the_file_without_secrets() {
    let dir = TempDir::new("engine");
    let memory = MemoryAudit::new();
    let audit = ChannelAudit::new((JsonlFileWriter::open(dir.log()).unwrap(), memory.clone())).unwrap();
    let kms = Kms::builder().audit(audit.clone()).open().unwrap();
    let (key, _, blob) = common::run_audited_operations(&kms);
    drop(kms);
    let stats = audit.clone();
    audit.close().unwrap();
    assert_eq!((stats.written(), stats.dropped()), (5, 0));

    assert_eq!(verify_audit_log(dir.log()).unwrap().lines, 5);
    let events: Vec<Value> = parse_lines(&dir.log()).into_iter().map(|l| l["event"].clone()).collect();
    let ops: Vec<(&str, Option<&str>)> =
        events.iter().map(|e| (e["operation"].as_str().unwrap(), e["error"].as_str())).collect();
    assert_eq!(ops, common::AUDITED);
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key}");
    assert_eq!(events[1]["keyArn"], arn.as_str());
    assert_eq!(events[1]["keyVersion"], 1);
    assert_eq!(events[1]["encryptionContext"]["tenant"], "a");
    assert_eq!(events[1]["region"], "us-east-1");
    assert_eq!(events[1]["account"], "111122223333");
    assert_eq!(events[4]["caller"], "arn:aws:iam::111122223333:user/alice");
    let memory_json: Vec<Value> = memory.events().iter().map(|e| serde_json::to_value(e).unwrap()).collect();
    assert_eq!(memory_json, events, "both writers got the same events");

    let raw = fs::read(dir.log()).unwrap();
    for secret in [&b"plaintext-marker"[..], &blob[..], hex::encode(&blob).as_bytes()] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret), "the log holds no plaintext or ciphertext");
    }
}

/// The builder's sinks on a SQLite engine: every operation goes to the file and to the store's
/// table; after the run the chain verifies, and it stops verifying when one line is edited or
/// the last line is removed.
#[test]
fn the_builder_audits_to_the_file_and_the_table_and_the_chain_verifies() {
    let dir = TempDir::new("builder");
    let log = dir.0.join("audit.jsonl");
    let db = dir.0.join("trent.db");
    let kms = Kms::builder().sqlite(&db).root_key([9; 32]).audit_file(&log).audit_table(true).open().unwrap();
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let ctx: EncryptionContext = [("tenant".to_string(), "a".to_string())].into();
    let mut operations = 1;
    for i in 0..50u8 {
        let blob = kms
            .encrypt(&me, &EncryptRequest { encryption_context: ctx.clone(), ..EncryptRequest::new(&key, vec![i; 16]) })
            .unwrap()
            .ciphertext_blob;
        kms.decrypt(&me, &DecryptRequest { encryption_context: ctx.clone(), ..DecryptRequest::new(blob) }).unwrap();
        operations += 2;
    }
    let stranger = Caller::from_arn("arn:aws:iam::111122223333:user/mallory").unwrap();
    assert!(kms.encrypt(&stranger, &EncryptRequest::new(&key, b"x".to_vec())).is_err());
    operations += 1;
    kms.flush_audit().unwrap();
    drop(kms);

    let summary = verify_audit_log(&log).unwrap();
    assert_eq!(summary.lines, operations);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, denied): (u64, u64) = conn
        .query_row("SELECT COUNT(*), SUM(error = 'AccessDeniedException') FROM audit", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, denied), (operations, 1));
    drop(conn);

    // One edited line: the chain breaks there.
    let original = fs::read(&log).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let edited = text.replacen("\"tenant\":\"a\"", "\"tenant\":\"b\"", 1);
    assert_ne!(edited, text);
    fs::write(&log, &edited).unwrap();
    assert!(verify_audit_log(&log).is_err());
    // The last line removed: the head anchor no longer matches.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    assert!(matches!(verify_audit_log(&log), Err(AuditLogError::Truncated { .. })), "{:?}", verify_audit_log(&log));
    fs::write(&log, original).unwrap();
    assert_eq!(verify_audit_log(&log).unwrap().lines, operations);
}
