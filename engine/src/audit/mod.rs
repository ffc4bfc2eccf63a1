//! The audit trail: every operation reports one [`AuditEvent`] to an [`AuditSink`].
//!
//! # What an event says
//!
//! One event per operation, successful or not, with exactly these fields (their JSON names,
//! [`AuditEvent::FIELDS`]): `time` (epoch seconds with milliseconds), `region`, `account`,
//! `caller` (the principal ARN), `operation` (`"Encrypt"`), `keyArn`, `keyVersion`,
//! `encryptionContext`, `requestId` and `error` (`null` on success, else the AWS exception
//! name such as `"AccessDeniedException"`). Fields that do not apply are `null`.
//!
//! An event never contains plaintext, data keys, key material, ciphertext blobs, the text of
//! an error message, or anything else an operation was given to protect: the type has no
//! field that could hold them. Encryption contexts are logged because they are not secret
//! (AWS logs them in CloudTrail too) — do not put secrets in them.
//!
//! # Sinks
//!
//! - [`NoAudit`] drops everything and tells the engine not to build events at all, so auditing
//!   that is off costs nothing.
//! - [`MemoryAudit`] keeps events in memory, for tests.
//! - [`ChannelAudit`] takes events off the hot path: [`record`](AuditSink::record) is one send
//!   on a bounded channel (no serialization, no I/O, no allocation, and no system call unless
//!   the channel is filling up); one writer thread drains the channel in batches and hands
//!   each batch to an [`AuditWriter`]. The writer thread polls (every 10 ms by default, sooner
//!   once the channel is a quarter full) rather than being woken for each event, which would
//!   cost callers a system call.
//!   The writers here are [`JsonlFileWriter`] (a hash-chained JSON-lines file),
//!   [`StoreAuditWriter`] (the keystore's `audit` table) and [`MemoryAudit`]; a pair `(A, B)`
//!   of writers writes every batch to both. [`KmsBuilder::audit_file`] and
//!   [`KmsBuilder::audit_table`] set these up.
//!
//! [`KmsBuilder::audit_file`]: crate::KmsBuilder::audit_file
//! [`KmsBuilder::audit_table`]: crate::KmsBuilder::audit_table
//!
//! The writer thread has to keep up: serializing, hashing and appending a line costs a few
//! hundred nanoseconds to a microsecond, so under [`OverflowPolicy::Block`] a loop of
//! operations cheaper than that, on every core, ends up running at the writer's pace.
//!
//! # When the channel is full
//!
//! The writer thread may fall behind (a slow disk, an fsync, a burst). What happens then is the
//! [`OverflowPolicy`]:
//!
//! - [`OverflowPolicy::Block`], the default: the caller **waits** until the writer has made
//!   room. No event is ever lost for lack of room; the price is that a stalled writer (a hung
//!   disk) stalls every audited operation.
//! - [`OverflowPolicy::Drop`]: the event is dropped and counted
//!   ([`ChannelAudit::dropped`]); operations never wait for the audit trail.
//!
//! # The JSON-lines file
//!
//! [`JsonlFileWriter`] appends one line per event:
//!
//! ```text
//! {"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","event":{"time":1764352502.123,"region":"us-east-1","account":"111122223333","caller":"arn:aws:iam::111122223333:root","operation":"Encrypt","keyArn":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","keyVersion":1,"encryptionContext":{"tenant":"a"},"requestId":"5d1e6f2a-9b3c-4d7e-8000-000000000007","error":null}}
//! {"seq":2,"prev":"<SHA-256 of line 1's bytes, without its newline, in lowercase hex>","event":{…}}
//! ```
//!
//! `seq` counts lines from 1; `prev` is the SHA-256 of the previous line (64 zeros on line 1).
//! Editing, inserting, removing or reordering any line therefore breaks the chain at the line
//! after it. Removing lines from the *end* leaves a shorter chain that is still valid, so the
//! writer also keeps a **head anchor**: a sidecar file `<path>.head` holding
//! `{"seq":N,"hash":"<SHA-256 of line N>","len":<file length after line N>}`, replaced
//! atomically (write a temporary file, fsync it, rename) after every batch.
//! [`verify_audit_log`] checks the whole chain and that the head anchors the last line.
//!
//! What this does **not** protect against: the chain is a plain hash chain, not a keyed one,
//! so someone who can rewrite both the log and its head can forge a consistent history
//! (deleting the head file is detected, but recomputing all hashes is not). Catching that
//! needs a secret — a MAC keyed from the root key, or shipping the head to a place the
//! attacker cannot write (another machine, a WORM bucket) — which this module does not do.
//!
//! # Durability and crashes
//!
//! By default [`JsonlFileWriter`] fsyncs the log after each batch and fsyncs the new head before
//! renaming it into place: two fsyncs per batch (typically 0.1–10 ms each, depending on the
//! disk), amortized over every event of the batch; a slow disk makes batches larger, not
//! more frequent. [`JsonlFileWriter::sync`]`(false)` skips them, leaving durability to the
//! page cache.
//!
//! - Events still in the channel when the process dies abruptly (SIGKILL, power loss, a panic
//!   that aborts) are lost: in a quiet system up to one poll interval's worth, under load up
//!   to a channel's worth. Events the writer has written are durable once their batch's
//!   fsync returned. [`ChannelAudit::flush`] waits until everything recorded before it is
//!   written and flushed.
//! - Dropping the last [`ChannelAudit`] handle (or [`ChannelAudit::close`]) is a clean
//!   shutdown: the writer thread drains everything recorded, writes it and exits; nothing is
//!   lost.
//! - A crash between writing a batch and replacing the head leaves lines after the anchored
//!   one. [`JsonlFileWriter::open`] accepts them if they chain correctly and re-anchors the
//!   head; a torn last line (no newline) is cut off. Until the log is reopened,
//!   [`verify_audit_log`] reports the unanchored lines ([`AuditLogError::Unanchored`]).
//! - With fsync off, a crash may lose lines the head already anchors; the log then looks
//!   truncated and both [`verify_audit_log`] and [`JsonlFileWriter::open`] refuse it — the
//!   honest answer, since events were lost.
//!
//! # Example
//!
//! ```
//! use trent::audit::{ChannelAudit, JsonlFileWriter, verify_audit_log};
//! use trent::Kms;
//!
//! let dir = std::env::temp_dir().join(format!("trent-audit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! let audit = ChannelAudit::new(JsonlFileWriter::open(&path)?)?;
//! let kms = Kms::builder().audit(audit.clone()).open()?;
//! kms.create_key(&kms.root_caller(), &trent::CreateKeyRequest::default())?;
//! drop(kms);
//! audit.close()?; // drains the channel, writes, joins the writer thread
//! assert_eq!(verify_audit_log(&path)?.lines, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod channel;
mod jsonl;
mod table;

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Serialize, Serializer};

use crate::clock::Timestamp;
use crate::context::EncryptionContext;

pub use channel::{AuditWriter, ChannelAudit, ChannelAuditBuilder, OverflowPolicy};
pub use jsonl::{AuditLogError, AuditLogSummary, DEFAULT_SYNC_INTERVAL, JsonlFileWriter, verify_audit_log};
pub use table::StoreAuditWriter;

/// One operation, as the audit trail records it.
///
/// Building one is cheap: the strings are [`SharedStr`]s (a pointer copy or a reference-count
/// increment to clone) and the request id is two integers, formatted only when the event is
/// written.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// When the operation ran.
    pub time: Timestamp,
    /// The engine's Region.
    pub region: SharedStr,
    /// The engine's account.
    pub account: SharedStr,
    /// The caller's principal ARN.
    pub caller: SharedStr,
    /// The operation name, as on the wire (`"Encrypt"`).
    pub operation: &'static str,
    /// The ARN of the key the operation used, when there is one.
    pub key_arn: Option<SharedStr>,
    /// The key version used, for cryptographic operations.
    pub key_version: Option<u32>,
    /// The encryption context of the request (contexts are not secret; AWS logs them too).
    pub encryption_context: Option<EncryptionContext>,
    /// The engine-assigned request id.
    pub request_id: RequestId,
    /// `None` on success, else the AWS exception name.
    pub error: Option<&'static str>,
}

impl AuditEvent {
    /// The JSON field names of an event, in the order they are written. No other field is ever
    /// written.
    pub const FIELDS: [&'static str; 10] = [
        "time",
        "region",
        "account",
        "caller",
        "operation",
        "keyArn",
        "keyVersion",
        "encryptionContext",
        "requestId",
        "error",
    ];
}

/// An immutable string that clones without allocating, so that events can carry the Region,
/// account, caller and key ARN cheaply. Either a `&'static str` — made by
/// [`from_static`](Self::from_static) or [`interned`](Self::interned), cloned by copying a
/// pointer — or an `Arc<str>`, cloned by incrementing its count. Compares, hashes, prints and
/// serializes as the string itself, whichever it is.
#[derive(Clone)]
pub struct SharedStr(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl SharedStr {
    /// A string that lives for the whole program. Clones copy a pointer.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Repr::Static(s))
    }

    /// The process-wide copy of `s`, made (and kept until the process exits) the first time
    /// `s` is asked for. Clones copy a pointer: no atomic count shared between the threads that
    /// build events and the thread that writes them. Meant for the few values every event
    /// repeats (the engine's Region and account); do not intern values from an unbounded set.
    pub fn interned(s: &str) -> Self {
        static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
        let mut interned = INTERNED.lock();
        if let Some(&found) = interned.get(s) {
            return Self::from_static(found);
        }
        let leaked: &'static str = Box::leak(Box::from(s));
        interned.insert(leaked);
        Self::from_static(leaked)
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(s: Arc<str>) -> Self {
        Self(Repr::Shared(s))
    }
}

impl From<&Arc<str>> for SharedStr {
    fn from(s: &Arc<str>) -> Self {
        Self(Repr::Shared(Arc::clone(s)))
    }
}

/// Copies `s` into a new `Arc<str>`.
impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        Self(Repr::Shared(Arc::from(s)))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        Self(Repr::Shared(Arc::from(s)))
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl PartialOrd for SharedStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SharedStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An engine-assigned request id: a 128-bit value shown (and serialized) as a lowercase
/// hyphenated UUID, `5d1e6f2a-9b3c-4d7e-8000-000000000007`. Kept as two integers so that
/// assigning one costs no allocation; the text is made when the event is written.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    high: u64,
    low: u64,
}

impl RequestId {
    /// The id whose UUID has `high` as its first 8 bytes and `low` as its last 8 (big-endian,
    /// as `uuid::Uuid::from_u64_pair`).
    pub const fn from_u64_pair(high: u64, low: u64) -> Self {
        Self { high, low }
    }

    /// The id as one 128-bit integer.
    pub const fn as_u128(&self) -> u128 {
        ((self.high as u128) << 64) | self.low as u128
    }

    /// Writes the hyphenated UUID into `buf` and returns it.
    pub(crate) fn encode<'a>(&self, buf: &'a mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &'a str {
        uuid::Uuid::from_u64_pair(self.high, self.low).hyphenated().encode_lower(buf)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; uuid::fmt::Hyphenated::LENGTH]))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.encode(&mut [0; uuid::fmt::Hyphenated::LENGTH]))
    }
}

/// Where audit events go.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: AuditEvent);

    /// Whether this sink wants events. When it returns `false` the engine does not build
    /// them.
    fn enabled(&self) -> bool {
        true
    }

    /// Waits until every event recorded before the call is stored, where the sink stores
    /// events later ([`ChannelAudit`]). The default does nothing.
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}

    fn enabled(&self) -> bool {
        false
    }
}

/// A sink that keeps every event in memory; clones share the events. Also an
/// [`AuditWriter`], so that it can stand behind a [`ChannelAudit`] in tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryAudit(Arc<Mutex<Vec<AuditEvent>>>);

impl MemoryAudit {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.0.lock().clone()
    }

    /// Removes and returns the events recorded so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: AuditEvent) {
        self.0.lock().push(event);
    }
}

impl AuditWriter for MemoryAudit {
    fn write(&mut self, events: &[AuditEvent]) -> std::io::Result<()> {
        self.0.lock().extend_from_slice(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_prints_as_the_uuid_the_engine_used_to_make() {
        let id = RequestId::from_u64_pair(0x5d1e_6f2a_9b3c_4d7e, 7);
        let expected = uuid::Uuid::from_u64_pair(0x5d1e_6f2a_9b3c_4d7e, 7).hyphenated().to_string();
        assert_eq!(id.to_string(), expected);
        assert_eq!(id.to_string(), "5d1e6f2a-9b3c-4d7e-0000-000000000007");
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{expected}\""));
        assert_eq!(id.as_u128(), 0x5d1e_6f2a_9b3c_4d7e_0000_0000_0000_0007);
    }

    #[test]
    fn shared_str_behaves_like_its_string() {
        let s = SharedStr::from("arn:aws:iam::111122223333:root");
        assert_eq!(s, "arn:aws:iam::111122223333:root");
        assert_ne!(s, "arn:aws:iam::111122223333:user/alice");
        assert_eq!(format!("{s:?}"), "\"arn:aws:iam::111122223333:root\"");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"arn:aws:iam::111122223333:root\"");
        let arc: Arc<str> = Arc::from("k");
        assert!(matches!(&SharedStr::from(&arc).0, Repr::Shared(a) if Arc::ptr_eq(a, &arc)), "no copy from an Arc");
        assert_eq!(SharedStr::from_static("k"), SharedStr::from(&arc), "equal whatever the representation");
    }

    #[test]
    fn interning_keeps_one_copy_per_string() {
        let a = SharedStr::interned("us-west-2-interning-test");
        let b = SharedStr::interned(&String::from("us-west-2-interning-test"));
        let c = SharedStr::interned("eu-west-1-interning-test");
        assert_eq!(a, "us-west-2-interning-test");
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "the second lookup returns the first copy");
        assert_eq!(c, "eu-west-1-interning-test");
        assert!(matches!(a.0, Repr::Static(_)));
    }
}
