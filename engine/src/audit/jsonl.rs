//! [`JsonlFileWriter`], the hash-chained JSON-lines file, and [`verify_audit_log`].

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{AuditEvent, AuditWriter};
use crate::crypto::sha256;

/// The `prev` of line 1, and the hash a head anchoring no line holds.
const ZERO_HASH: [u8; 32] = [0; 32];

/// Past this, the line buffer is freed after a batch rather than kept for the next.
const KEEP_BUFFER: usize = 1 << 20;

/// An [`AuditWriter`] that appends events to a hash-chained JSON-lines file, with the head
/// anchor beside it in `<path>.head` (format, guarantees and limits: the [module
/// docs](super#the-json-lines-file)).
///
/// Each [`write`](AuditWriter::write) appends the batch with one `write`. Group commit: the log
/// is fsynced and the head replaced at most every [`sync_interval`](Self::sync_interval)
/// (default [`DEFAULT_SYNC_INTERVAL`]) under a steady stream, and at every
/// [`flush`](AuditWriter::flush) — which a [`ChannelAudit`](super::ChannelAudit) also calls as
/// soon as its channel runs empty, so in a quiet system each burst is durable and anchored
/// within a poll interval. [`sync`](Self::sync)`(true)` fsyncs after every batch instead. A
/// failed append is undone (the file is cut back to its last complete line) so the chain stays
/// whole; if even that fails the writer refuses every later batch rather than append after a
/// partial line.
///
/// One writer per file: two writers appending to the same log (two processes, say) would
/// interleave their chains and break it; nothing here locks the file.
pub struct JsonlFileWriter {
    file: File,
    path: PathBuf,
    head_path: PathBuf,
    head_tmp_path: PathBuf,
    /// The last line in the file (0: none), its hash, and the file's length after it.
    seq: u64,
    last_hash: [u8; 32],
    len: u64,
    sync: Sync,
    /// When the log was last fsynced and anchored.
    synced_at: std::time::Instant,
    /// Lines were appended since the last fsync and head update.
    unsynced: bool,
    /// The last head update failed, so the head lags the file.
    head_stale: bool,
    /// Why nothing more may be appended, after a failed write that could not be undone.
    poisoned: Option<String>,
    /// The batch being encoded, kept between batches.
    buf: Vec<u8>,
}

impl JsonlFileWriter {
    /// Opens the log at `path` for appending, creating it (mode 0600 on Unix) and its head if
    /// neither exists.
    ///
    /// An existing log must be anchored by its head: the line the head names must be where it
    /// says with the hash it says (else [`AuditLogError::HeadMismatch`], or
    /// [`AuditLogError::Truncated`] if the file is shorter). Lines after it — left by a crash
    /// between a batch and its head update — are accepted if they chain correctly, and the head
    /// is moved to the last of them; a torn last line (no newline) is cut off. Only the anchored
    /// line and what follows it are read, so opening a large log is cheap; run
    /// [`verify_audit_log`] to check all of it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditLogError> {
        let path = path.as_ref().to_path_buf();
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        let file_len = file.metadata()?.len();
        let head_path = sidecar(&path, ".head");
        let head = read_head(&head_path)?;
        let mut writer = Self {
            file,
            head_tmp_path: sidecar(&path, ".head.tmp"),
            head_path,
            path,
            seq: 0,
            last_hash: ZERO_HASH,
            len: 0,
            sync: Sync::Every(DEFAULT_SYNC_INTERVAL),
            synced_at: std::time::Instant::now(),
            unsynced: false,
            head_stale: false,
            poisoned: None,
            buf: Vec::new(),
        };
        let Some(head) = head else {
            if file_len != 0 {
                return Err(AuditLogError::HeadMissing);
            }
            writer.write_head(true)?;
            return Ok(writer);
        };
        if file_len < head.len {
            return Err(AuditLogError::Truncated { head_seq: head.seq, head_len: head.len, file_len });
        }
        if head.seq > 0 {
            let anchored = read_line_ending_at(&writer.file, head.len)?;
            let matches = anchored.as_deref().is_some_and(|line| {
                sha256(line) == head.hash
                    && serde_json::from_slice::<LineRepr<'_>>(line).is_ok_and(|l| l.seq == head.seq)
            });
            if !matches {
                return Err(AuditLogError::HeadMismatch { head_seq: head.seq });
            }
        }
        (writer.seq, writer.last_hash, writer.len) = (head.seq, head.hash, head.len);
        if file_len > head.len {
            writer.adopt_tail(file_len)?;
        }
        Ok(writer)
    }

    /// `true`: fsync the log and anchor the head after every batch (the strictest, and the
    /// slowest under load). `false`: only at [`flush`](AuditWriter::flush); in between,
    /// batches are durable once the OS writes them back and a machine crash can lose the last
    /// ones. The default is neither: group commit every [`DEFAULT_SYNC_INTERVAL`].
    pub fn sync(mut self, on: bool) -> Self {
        self.sync = if on { Sync::EveryBatch } else { Sync::OnFlush };
        self
    }

    /// Group commit: fsync the log and anchor the head when a batch is written at least this
    /// long after the last time (and at every flush). A machine crash can lose at most this
    /// much of a steady stream of events (a process crash loses nothing written).
    pub fn sync_interval(mut self, every: Duration) -> Self {
        self.sync = Sync::Every(every);
        self
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number of the last line (0 for an empty log).
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Accepts the lines after the anchored one (a crash between a batch and its head update)
    /// if they chain, cuts off a torn last line, and anchors the last complete line.
    fn adopt_tail(&mut self, file_len: u64) -> Result<(), AuditLogError> {
        let mut tail = Vec::new();
        (&self.file).seek(SeekFrom::Start(self.len))?;
        (&self.file).take(file_len - self.len).read_to_end(&mut tail)?;
        let mut pos = 0;
        while let Some(newline) = tail[pos..].iter().position(|&b| b == b'\n') {
            let n = self.seq + 1;
            self.last_hash = check_line(n, &tail[pos..pos + newline], &self.last_hash)?;
            self.seq = n;
            pos += newline + 1;
        }
        self.len += pos as u64;
        if self.len < file_len {
            self.file.set_len(self.len)?;
            self.file.sync_data()?;
        }
        self.write_head(true)?;
        Ok(())
    }

    /// Replaces the head with one anchoring the last line: write a temporary file, fsync it
    /// (if `sync`), rename it over the head.
    fn write_head(&mut self, sync: bool) -> io::Result<()> {
        let text =
            format!("{{\"seq\":{},\"hash\":\"{}\",\"len\":{}}}\n", self.seq, hex::encode(self.last_hash), self.len);
        let result = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut tmp = options.open(&self.head_tmp_path)?;
            tmp.write_all(text.as_bytes())?;
            if sync {
                tmp.sync_all()?;
            }
            drop(tmp);
            fs::rename(&self.head_tmp_path, &self.head_path)
        })();
        self.head_stale = result.is_err();
        result
    }

    /// Cuts the file back to its last complete line after a failed append; if that fails too,
    /// refuses all later appends.
    fn undo_append(&mut self) {
        if let Err(e) = self.file.set_len(self.len) {
            self.poisoned = Some(format!(
                "a failed append to the audit log {} could not be undone ({e}); nothing more is written to it",
                self.path.display()
            ));
        }
    }

    fn check_poisoned(&self) -> io::Result<()> {
        match &self.poisoned {
            Some(why) => Err(io::Error::other(why.clone())),
            None => Ok(()),
        }
    }
}

impl AuditWriter for JsonlFileWriter {
    fn write(&mut self, events: &[AuditEvent]) -> io::Result<()> {
        self.check_poisoned()?;
        if events.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        let (mut seq, mut hash) = (self.seq, self.last_hash);
        for event in events {
            seq += 1;
            let start = self.buf.len();
            encode_line(&mut self.buf, seq, &hash, event)?;
            hash = sha256(&self.buf[start..]);
            self.buf.push(b'\n');
        }
        let sync_now = match self.sync {
            Sync::EveryBatch => true,
            Sync::Every(every) => self.synced_at.elapsed() >= every,
            Sync::OnFlush => false,
        };
        let appended =
            self.file.write_all(&self.buf).and_then(|()| if sync_now { self.file.sync_data() } else { Ok(()) });
        if let Err(e) = appended {
            self.undo_append();
            return Err(e);
        }
        (self.seq, self.last_hash) = (seq, hash);
        self.len += self.buf.len() as u64;
        if self.buf.capacity() > KEEP_BUFFER {
            self.buf = Vec::new();
        }
        self.unsynced = true;
        if !sync_now {
            return Ok(());
        }
        self.synced_at = std::time::Instant::now();
        self.unsynced = false;
        self.write_head(true).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} audit events were appended but the head anchor {} could not be updated (the next batch retries): {e}",
                    events.len(),
                    self.head_path.display()
                ),
            )
        })
    }

    /// Fsyncs the log and anchors the head if lines were appended since the last time, and
    /// retries a failed head update.
    fn flush(&mut self) -> io::Result<()> {
        self.check_poisoned()?;
        if self.unsynced {
            self.file.sync_data()?;
        }
        if self.unsynced || self.head_stale {
            self.write_head(true)?;
        }
        self.unsynced = false;
        self.synced_at = std::time::Instant::now();
        Ok(())
    }
}

/// The default [`JsonlFileWriter::sync_interval`].
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// When the log is fsynced and its head anchored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sync {
    EveryBatch,
    Every(Duration),
    OnFlush,
}

debug_some_fields!(JsonlFileWriter, "JsonlFileWriter", path, last_seq = seq, sync);

/// What [`verify_audit_log`] found in a log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLogSummary {
    /// The number of lines (events), which is also the last line's sequence number.
    pub lines: u64,
    /// The SHA-256 of the last line (zeros for an empty log), as the head records it.
    pub last_hash: [u8; 32],
    /// The log's length in bytes.
    pub bytes: u64,
}

/// Checks the whole audit log at `path` and its head anchor `<path>.head`: every line is
/// complete and well-formed (`seq`, `prev` and an `event` object, nothing else), `seq` counts
/// from 1, every `prev` is the SHA-256 of the line before (64 zeros on line 1), and the head
/// anchors the last line (its number, hash and end offset). A missing head is an error unless
/// the log is empty.
///
/// Check a log that is not being written: while a writer appends, the head may lag the file
/// and this reports [`AuditLogError::Unanchored`]. The log is read as a stream, so any size
/// will do.
pub fn verify_audit_log(path: impl AsRef<Path>) -> Result<AuditLogSummary, AuditLogError> {
    let path = path.as_ref();
    let head = read_head(&sidecar(path, ".head"))?;
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut line = Vec::new();
    let (mut lines, mut bytes, mut hash) = (0u64, 0u64, ZERO_HASH);
    // The hash and end offset of the line the head anchors, once read.
    let mut anchored = None;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        lines += 1;
        if line.pop() != Some(b'\n') {
            return Err(AuditLogError::Incomplete { line: lines });
        }
        hash = check_line(lines, &line, &hash)?;
        bytes += read as u64;
        if head.as_ref().is_some_and(|h| h.seq == lines) {
            anchored = Some((hash, bytes));
        }
    }
    match head {
        None if lines > 0 => return Err(AuditLogError::HeadMissing),
        None => {}
        Some(head) if head.seq > lines => {
            return Err(AuditLogError::Truncated { head_seq: head.seq, head_len: head.len, file_len: bytes });
        }
        Some(head) => {
            if head.seq > 0 && anchored != Some((head.hash, head.len)) {
                return Err(AuditLogError::HeadMismatch { head_seq: head.seq });
            }
            if head.seq < lines {
                return Err(AuditLogError::Unanchored { head_seq: head.seq, lines });
            }
        }
    }
    Ok(AuditLogSummary { lines, last_hash: hash, bytes })
}

/// Why an audit log failed to verify or to open. Errors about a line name it (1-based, which
/// is also its expected `seq`); see [`line`](Self::line).
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditLogError {
    /// Reading or writing the log or its head failed.
    Io(io::Error),
    /// A line is not `{"seq":…,"prev":"…","event":{…}}` with nothing else.
    Malformed {
        /// The line.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The last line has no newline: a torn write, or the file was cut mid-line.
    Incomplete {
        /// The line.
        line: u64,
    },
    /// A line's `seq` is not its line number: lines before it were removed, inserted or
    /// reordered.
    Sequence {
        /// The line.
        line: u64,
        /// The `seq` it carries.
        found: u64,
    },
    /// A line's `prev` is not the SHA-256 of the line before it (or not 64 zeros, on line 1):
    /// the line before was edited, or lines were removed or inserted.
    BrokenChain {
        /// The line whose `prev` does not match (the one after the edited line).
        line: u64,
    },
    /// The log has lines but `<path>.head` does not exist.
    HeadMissing,
    /// `<path>.head` is not `{"seq":…,"hash":"…","len":…}`.
    HeadMalformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The log ends before the line the head anchors: lines were removed from the end.
    Truncated {
        /// The line the head anchors.
        head_seq: u64,
        /// The log's length after that line, according to the head.
        head_len: u64,
        /// The log's actual length.
        file_len: u64,
    },
    /// The line the head anchors does not have the hash or end offset the head records: that
    /// line (usually the last) or the head was edited.
    HeadMismatch {
        /// The line the head anchors.
        head_seq: u64,
    },
    /// Lines follow the one the head anchors: a crash between a batch and its head update
    /// (opening the log with [`JsonlFileWriter::open`] re-anchors them), a log verified while
    /// being written, or lines appended by someone else.
    Unanchored {
        /// The line the head anchors.
        head_seq: u64,
        /// The number of lines in the log.
        lines: u64,
    },
}

impl AuditLogError {
    /// The line this error is about, if it is about one: the malformed, incomplete or
    /// misnumbered line, the line whose `prev` does not match, the anchored line that does not
    /// match the head, or the first unanchored line.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Malformed { line, .. }
            | Self::Incomplete { line }
            | Self::Sequence { line, .. }
            | Self::BrokenChain { line } => Some(*line),
            Self::HeadMismatch { head_seq } => Some(*head_seq),
            Self::Unanchored { head_seq, .. } => Some(head_seq + 1),
            Self::Io(_) | Self::HeadMissing | Self::HeadMalformed { .. } | Self::Truncated { .. } => None,
        }
    }
}

impl fmt::Display for AuditLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "audit log I/O error: {e}"),
            Self::Malformed { line, reason } => write!(f, "audit log line {line} is malformed: {reason}"),
            Self::Incomplete { line } => {
                write!(f, "audit log line {line} is incomplete (no newline): a torn write, or the file was cut")
            }
            Self::Sequence { line, found } => write!(
                f,
                "audit log line {line} has sequence number {found}: lines before it were removed, inserted or reordered"
            ),
            Self::BrokenChain { line: 1 } => write!(
                f,
                "audit log line 1 does not start the chain (its \"prev\" is not 64 zeros): line 1 was edited or lines were removed from the start"
            ),
            Self::BrokenChain { line } => write!(
                f,
                "audit log line {line}: \"prev\" is not the SHA-256 of line {}: line {} was edited (or lines were removed or inserted)",
                line - 1,
                line - 1
            ),
            Self::HeadMissing => {
                f.write_str("the audit log has lines but its head anchor file (<log>.head) is missing")
            }
            Self::HeadMalformed { reason } => write!(f, "the audit log's head anchor file is malformed: {reason}"),
            Self::Truncated { head_seq, head_len, file_len } => write!(
                f,
                "the audit log ends before the line its head anchors (line {head_seq}, ending at byte {head_len}; the log has {file_len} bytes): lines were removed from the end"
            ),
            Self::HeadMismatch { head_seq } => write!(
                f,
                "audit log line {head_seq} is not the line the head anchors (its hash or end offset differs): line {head_seq} or the head was edited"
            ),
            Self::Unanchored { head_seq, lines } => write!(
                f,
                "audit log lines {}..={lines} follow the line the head anchors (line {head_seq}): a crash before the head was updated (opening the log for writing re-anchors them), a log being written, or lines appended by someone else",
                head_seq + 1
            ),
        }
    }
}

impl std::error::Error for AuditLogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for AuditLogError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// `path` with `suffix` appended to its file name.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Appends line `seq` (without its newline), chained to a line whose hash is `prev`.
fn encode_line(buf: &mut Vec<u8>, seq: u64, prev: &[u8; 32], event: &AuditEvent) -> io::Result<()> {
    let mut prev_hex = [0u8; 64];
    hex::encode_to_slice(prev, &mut prev_hex).map_err(io::Error::other)?;
    write!(buf, "{{\"seq\":{seq},\"prev\":\"")?;
    buf.extend_from_slice(&prev_hex);
    buf.extend_from_slice(b"\",\"event\":");
    encode_event(buf, event);
    buf.push(b'}');
    Ok(())
}

/// The event as a JSON object: the same object `serde_json` makes of [`AuditEvent`] (a test
/// checks), written directly, because the writer thread's pace bounds the audited
/// operations' (see the module docs).
fn encode_event(buf: &mut Vec<u8>, e: &AuditEvent) {
    let ms = e.time.as_millis();
    buf.extend_from_slice(b"{\"time\":");
    if ms >= 0 {
        let _ = write!(buf, "{}.{:03}", ms / 1000, ms % 1000);
    } else {
        let _ = write!(buf, "{}", e.time.as_epoch_seconds());
    }
    buf.extend_from_slice(b",\"region\":");
    json_str(buf, &e.region);
    buf.extend_from_slice(b",\"account\":");
    json_str(buf, &e.account);
    buf.extend_from_slice(b",\"caller\":");
    json_str(buf, &e.caller);
    buf.extend_from_slice(b",\"operation\":");
    json_str(buf, e.operation);
    buf.extend_from_slice(b",\"keyArn\":");
    match &e.key_arn {
        Some(arn) => json_str(buf, arn),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"keyVersion\":");
    match e.key_version {
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"encryptionContext\":");
    match &e.encryption_context {
        Some(ctx) => {
            buf.push(b'{');
            for (i, (k, v)) in ctx.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                json_str(buf, k);
                buf.push(b':');
                json_str(buf, v);
            }
            buf.push(b'}');
        }
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"requestId\":\"");
    buf.extend_from_slice(e.request_id.encode(&mut [0; uuid::fmt::Hyphenated::LENGTH]).as_bytes());
    buf.extend_from_slice(b"\",\"error\":");
    match e.error {
        Some(name) => json_str(buf, name),
        None => buf.extend_from_slice(b"null"),
    }
    buf.push(b'}');
}

/// A JSON string literal (RFC 8259 escaping; everything else, UTF-8 included, as is).
fn json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.extend_from_slice(s.as_bytes());
    } else {
        for b in s.bytes() {
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                0..0x20 => {
                    let _ = write!(buf, "\\u{b:04x}");
                }
                _ => buf.push(b),
            }
        }
    }
    buf.push(b'"');
}

/// A log line as parsed back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineRepr<'a> {
    seq: u64,
    prev: &'a str,
    #[allow(dead_code)]
    event: AnyObject,
}

/// Any JSON object, not kept.
struct AnyObject;

impl<'de> Deserialize<'de> for AnyObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = AnyObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnyObject)
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// Checks that `line` (without its newline) is a well-formed line `n` chained to a line whose
/// hash is `prev`, and returns its hash.
fn check_line(n: u64, line: &[u8], prev: &[u8; 32]) -> Result<[u8; 32], AuditLogError> {
    let parsed: LineRepr<'_> = serde_json::from_slice(line).map_err(|e| AuditLogError::Malformed {
        line: n,
        reason: format!("{} (column {})", without_position(&e), e.column()),
    })?;
    if parsed.seq != n {
        return Err(AuditLogError::Sequence { line: n, found: parsed.seq });
    }
    if decode_hash(parsed.prev) != Some(*prev) {
        return Err(AuditLogError::BrokenChain { line: n });
    }
    Ok(sha256(line))
}

/// serde_json's message without its " at line L column C" (every log line is one JSON line).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// 64 lowercase hex digits as 32 bytes.
fn decode_hash(hex_text: &str) -> Option<[u8; 32]> {
    if !hex_text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).ok()?;
    Some(out)
}

/// The head anchor: the last line's number and hash, and the log's length after it.
struct Head {
    seq: u64,
    hash: [u8; 32],
    len: u64,
}

/// Reads `<log>.head`; `None` if it does not exist.
fn read_head(path: &Path) -> Result<Option<Head>, AuditLogError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Repr<'a> {
        seq: u64,
        hash: &'a str,
        len: u64,
    }
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let malformed = |reason: String| AuditLogError::HeadMalformed { reason };
    let repr: Repr<'_> = serde_json::from_slice(&text).map_err(|e| malformed(e.to_string()))?;
    let hash = decode_hash(repr.hash).ok_or_else(|| malformed("\"hash\" is not 64 lowercase hex digits".into()))?;
    if repr.seq == 0 && (repr.len != 0 || hash != ZERO_HASH) {
        return Err(malformed("a head anchoring no line must have \"len\" 0 and a zero hash".into()));
    }
    Ok(Some(Head { seq: repr.seq, hash, len: repr.len }))
}

/// The line (without its newline) that ends with the newline at byte `end - 1`, or `None` if
/// that byte is not a newline. Reads backwards from `end`, a chunk at a time.
fn read_line_ending_at(file: &File, end: u64) -> io::Result<Option<Vec<u8>>> {
    const CHUNK: u64 = 8192;
    let mut file = file;
    // `buf` holds the file's bytes `from..end`.
    let mut buf: Vec<u8> = Vec::new();
    let mut from = end;
    loop {
        let start = from.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(from - start).map_err(io::Error::other)?];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        from = start;
        let Some((&last, body)) = buf.split_last() else { return Ok(None) };
        if last != b'\n' {
            return Ok(None);
        }
        if let Some(i) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(body[i + 1..].to_vec()));
        }
        if from == 0 {
            return Ok(Some(body.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> (PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("trent-audit-unit-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        (path.clone(), OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap())
    }

    #[test]
    fn reads_the_line_ending_at_an_offset_across_chunks() {
        let (path, mut f) = temp_file("lines");
        let long = "x".repeat(20_000);
        write!(f, "a\n{long}\nbc\n").unwrap();
        assert_eq!(read_line_ending_at(&f, 2).unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(read_line_ending_at(&f, 20_003).unwrap().as_deref(), Some(long.as_bytes()));
        assert_eq!(read_line_ending_at(&f, 20_006).unwrap().as_deref(), Some(&b"bc"[..]));
        assert_eq!(read_line_ending_at(&f, 20_005).unwrap(), None, "not at a newline");
        assert_eq!(read_line_ending_at(&f, 0).unwrap(), None);
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn debug_shows_the_path_last_seq_and_sync_only() {
        let (path, _) = temp_file("debug");
        let w = JsonlFileWriter::open(&path).unwrap();
        assert_eq!(
            format!("{w:?}"),
            format!("JsonlFileWriter {{ path: {path:?}, last_seq: 0, sync: Every(200ms), .. }}")
        );
        drop(w);
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn hashes_must_be_64_lowercase_hex_digits() {
        let h = "ab".repeat(32);
        assert_eq!(decode_hash(&h), Some([0xab; 32]));
        assert_eq!(decode_hash(&h.to_uppercase()), None);
        assert_eq!(decode_hash(&h[..62]), None);
        assert_eq!(decode_hash(&format!("{h}00")), None);
    }

    #[test]
    fn a_line_with_an_extra_field_or_a_non_object_event_is_malformed() {
        let zeros = "0".repeat(64);
        let good = format!(r#"{{"seq":1,"prev":"{zeros}","event":{{"a":[1,{{"b":null}}]}}}}"#);
        assert_eq!(check_line(1, good.as_bytes(), &ZERO_HASH).unwrap(), sha256(good.as_bytes()));
        for bad in [
            format!(r#"{{"seq":1,"prev":"{zeros}","event":{{}},"x":1}}"#),
            format!(r#"{{"seq":1,"prev":"{zeros}","event":[]}}"#),
            format!(r#"{{"seq":1,"prev":"{zeros}"}}"#),
        ] {
            let err = check_line(1, bad.as_bytes(), &ZERO_HASH).unwrap_err();
            assert!(matches!(err, AuditLogError::Malformed { line: 1, .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn the_direct_encoding_is_serdes_object() {
        use crate::audit::{RequestId, SharedStr};
        let base = AuditEvent {
            time: crate::clock::Timestamp::from_millis(1_764_352_502_123),
            region: SharedStr::from("us-east-1"),
            account: SharedStr::from("111122223333"),
            caller: SharedStr::from("arn:aws:iam::111122223333:root"),
            operation: "Encrypt",
            key_arn: Some(SharedStr::from("arn:aws:kms:us-east-1:111122223333:key/k")),
            key_version: Some(7),
            encryption_context: Some(
                [("a\"b\\c".to_string(), "line\nbreak\t\u{1}é".to_string()), ("x".into(), String::new())].into(),
            ),
            request_id: RequestId::from_u64_pair(1, 2),
            error: Some("AccessDeniedException"),
        };
        let plain = AuditEvent {
            time: crate::clock::Timestamp::from_millis(-1500),
            key_arn: None,
            key_version: None,
            encryption_context: None,
            error: None,
            caller: SharedStr::from("arn:aws:sts::111122223333:assumed-role/r/\u{7f}"),
            ..base.clone()
        };
        let whole = AuditEvent { time: crate::clock::Timestamp::from_millis(2000), ..base.clone() };
        for event in [base, plain, whole] {
            let mut mine = Vec::new();
            encode_event(&mut mine, &event);
            let mine: serde_json::Value = serde_json::from_slice(&mine).unwrap();
            assert_eq!(mine, serde_json::to_value(&event).unwrap());
        }
    }
}
