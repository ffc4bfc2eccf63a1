//! Streaming envelope encryption of data of any size: the standard data-key flow (a data key
//! from GenerateDataKey, the data encrypted locally under it, only the wrapped data key kept,
//! Decrypt to unwrap it) over [`Read`]/[`Write`], in bounded memory, with the chunks sealed in
//! parallel on the engine's rayon pool (one per process, see [`Kms`]'s notes on `fork()`).
//!
//! ```
//! use trent::envelope::{self, DecryptOptions, EncryptOptions};
//!
//! let kms = trent::Kms::open_in_memory()?;
//! let me = kms.root_caller();
//! let key = kms.create_key(&me, &trent::CreateKeyRequest::default())?.key_metadata;
//!
//! let data = vec![7u8; 3 * 1024 * 1024 + 5];
//! let mut sealed = Vec::new();
//! envelope::encrypt(&kms, &me, &key.key_id, &EncryptOptions::default(), &data[..], &mut sealed)?;
//! let mut opened = Vec::new();
//! let summary = envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], &mut opened)?;
//! assert_eq!(opened, data);
//! assert_eq!(summary.key_arn, key.arn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # File format, version 1
//!
//! All integers are big-endian.
//!
//! ```text
//! header:
//!   [8]   magic "TRENTENC"
//!   u8    format version = 1
//!   u8    suite = 1 (AES-256-GCM chunks, HKDF-SHA256 keys, HMAC-SHA256 header tag)
//!   u32   chunk size C: plaintext bytes per chunk, 1 KiB ..= 64 MiB
//!   [32]  salt (random per file)
//!   u16   length, then the key ARN (UTF-8) of the KMS key that wrapped the data key
//!   u32   length, then the encryption context, canonical encoding (pairs sorted by key,
//!         each u32 length ‖ key ‖ u32 length ‖ value), at most 64 KiB
//!   u32   length, then the wrapped data key: the CiphertextBlob of GenerateDataKey
//!         (AES_256, with the encryption context above), at most 6144 bytes
//!   [32]  header tag = HMAC-SHA256(header key, every header byte before the tag)
//! chunks, one after the other up to the end of the input:
//!   chunk i = AES-256-GCM(chunk key, nonce(i, final), AAD = header tag, plaintext i) ‖ tag[16]
//!   nonce(i, final) = 0x000000 ‖ u64 i ‖ (0x01 if the chunk is the last one, else 0x00)
//! keys, from the 32-byte data key DK:
//!   header key = HKDF-SHA256(salt, DK, "trent envelope v1 header")
//!   chunk key  = HKDF-SHA256(salt, DK, "trent envelope v1 chunk")
//! ```
//!
//! Every chunk but the last holds exactly C plaintext bytes; the last holds 1 ..= C (0 only
//! when the whole plaintext is empty: then there is exactly one, empty, final chunk). Where the
//! last chunk ends is where the input ends, so a reader knows which chunk is final only by
//! reaching the end; the final flag in the nonce makes that authenticated:
//!
//! - reordering or swapping chunks changes their index, so they fail to open;
//! - dropping or duplicating a chunk moves the following ones to other indices;
//! - truncation anywhere, including at a chunk boundary, leaves a last chunk that was not
//!   sealed as final: [`EnvelopeError::Truncated`] when the input ends after whole chunks,
//!   [`EnvelopeError::TruncatedInChunk`] when it ends inside one (a short last chunk that fails
//!   to authenticate: a cut, or a change to a short final chunk, which look the same);
//! - data appended after the final chunk makes the final chunk non-last, so it fails to open
//!   ([`EnvelopeError::ChunkAuthentication`]);
//! - any change to the header fails the header tag before any chunk is read (a changed
//!   wrapped key or context fails Decrypt first), and the tag is every chunk's AAD, so chunks
//!   of another file with the same data key would not open either.
//!
//! # Guarantees
//!
//! Decryption writes a chunk only after it has authenticated. It works in batches of chunks
//! (a few per rayon thread): the whole batch is authenticated before any of it is written.
//! Output already written is not taken back: a failure after the first batch leaves the
//! earlier batches' plaintext in the writer. (The `trent envelope decrypt` command writes to
//! a temporary file and renames it only on success.) Memory is bounded whatever the input size,
//! the number of threads and the chunk size the file's header claims: at most
//! [`STREAM_BUFFER_BUDGET`] (32 MiB) of chunk buffers for chunk sizes up to 8 MiB, two chunks
//! for larger ones, and never more than the input has supplied. The buffers, which hold
//! plaintext, are [`SecretVec`]s: wiped when the call returns (and when they grow).
//!
//! The plaintext data key stays in the engine's locked memory ([`SecretBytes`]) and is
//! dropped (zeroed) as soon as the two keys are derived; the expanded chunk key sits in
//! locked memory too. Chunks are sealed through the engine's crypto provider (ring, or
//! aws-lc-rs with the `aws-lc` feature).

use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use rayon::prelude::*;

use crate::context::{self, EncryptionContext};
use crate::crypto::{self, AeadKey, NONCE_LEN, TAG_LEN};
use crate::error::Error;
use crate::kms::{Caller, DecryptRequest, GenerateDataKeyRequest, Kms};
use crate::secret::{Locked, SecretBytes, SecretVec, wipe};

/// The first bytes of every envelope file.
pub const MAGIC: &[u8; 8] = b"TRENTENC";
/// The format version this module writes and reads.
pub const VERSION: u8 = 1;
/// The cipher suite: AES-256-GCM chunks, HKDF-SHA256 key derivation, HMAC-SHA256 header tag.
pub const SUITE: u8 = 1;
/// The default chunk size: 256 KiB of plaintext per chunk (a chunk is copied and sealed
/// while it is in the core's L2 cache; the tags cost 0.006%).
pub const DEFAULT_CHUNK_SIZE: usize = 256 << 10;
/// The smallest chunk size allowed.
pub const MIN_CHUNK_SIZE: usize = 1 << 10;
/// The largest chunk size allowed.
pub const MAX_CHUNK_SIZE: usize = 64 << 20;
/// The chunk memory [`encrypt`] and [`decrypt`] hold at most, in bytes, whatever the number
/// of threads: 32 MiB, for chunk sizes up to 8 MiB − 16 bytes (a quarter of it, with the tag).
/// It holds three batches of chunks in flight (one being read, one sealed or opened, one
/// written), a buffer moving while it grows, and, at the end of a decryption, a copy of a
/// whole last chunk; a batch has as many chunks as fit, at most the `batch_chunks` option. A
/// chunk must be held whole to be authenticated, so with larger chunks one chunk is processed
/// at a time, without overlap: then the bound is `2 × (C + 16)` bytes, 128 MiB with
/// [`MAX_CHUNK_SIZE`]. Buffers grow as data arrives, so an input smaller than a chunk costs
/// about its own size, whatever the chunk size in its header says.
pub const STREAM_BUFFER_BUDGET: usize = 32 << 20;
/// Length of the header tag.
pub const HEADER_TAG_LEN: usize = 32;
/// Length of the per-file salt.
pub const SALT_LEN: usize = 32;

const MAX_ARN_LEN: usize = 2048;
const MAX_CONTEXT_LEN: usize = 64 << 10;
const MAX_WRAPPED_KEY_LEN: usize = 6144;
const INFO_HEADER: &[u8] = b"trent envelope v1 header";
const INFO_CHUNK: &[u8] = b"trent envelope v1 chunk";

/// Why an envelope operation failed. Messages never contain key material or plaintext.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Reading the input or writing the output failed.
    Io(io::Error),
    /// The engine refused: GenerateDataKey on encryption, Decrypt of the wrapped data key on
    /// decryption (a wrong or changed key, context or wrapped key, a disabled key, …).
    Kms(Error),
    /// The input does not start with [`MAGIC`].
    NotEnvelope,
    /// The input is an envelope file of a version or suite this build does not read.
    Unsupported {
        /// The format version found.
        version: u8,
        /// The suite found.
        suite: u8,
    },
    /// The header is malformed (a length out of range, the input ends inside it).
    MalformedHeader(&'static str),
    /// The header tag does not match: the header was changed.
    HeaderAuthentication,
    /// A chunk failed to authenticate: chunks were reordered, dropped, duplicated or changed,
    /// or come from another file.
    ChunkAuthentication {
        /// The index of the chunk (0-based).
        index: u64,
    },
    /// The input ends before the final chunk.
    Truncated {
        /// How many chunks were read.
        chunks: u64,
    },
    /// The input ends inside chunk `index`: fewer bytes than a whole chunk follow the previous
    /// one, and they fail to authenticate as the final chunk. A file cut inside a chunk and a
    /// file whose (short) final chunk was modified look the same; the first is the usual cause.
    TruncatedInChunk {
        /// The index of the chunk the input ends in (0-based): the whole chunks before it.
        index: u64,
    },
    /// An option is out of range, or the header differs from what the caller required.
    InvalidArgument(String),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "envelope I/O failed: {e}"),
            Self::Kms(e) => write!(f, "{}: {}", e.name(), e.message()),
            Self::NotEnvelope => f.write_str("not a Trent envelope file (bad magic)"),
            Self::Unsupported { version, suite } => {
                write!(f, "unsupported envelope file: format version {version}, suite {suite}")
            }
            Self::MalformedHeader(what) => write!(f, "malformed envelope header: {what}"),
            Self::HeaderAuthentication => f.write_str("the envelope header failed to authenticate (it was modified)"),
            Self::ChunkAuthentication { index } => write!(
                f,
                "chunk {index} failed to authenticate: chunks were reordered, dropped, duplicated or modified, data was appended, or they come from another file"
            ),
            Self::Truncated { chunks } => {
                write!(f, "the envelope file is truncated: it ends after {chunks} chunk(s), before the final chunk")
            }
            Self::TruncatedInChunk { index } => write!(
                f,
                "the envelope file is truncated (or its last chunk was modified): it ends inside chunk {index}, which fails to authenticate as the final chunk"
            ),
            Self::InvalidArgument(m) => write!(f, "invalid envelope argument: {m}"),
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Kms(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for EnvelopeError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<Error> for EnvelopeError {
    fn from(e: Error) -> Self {
        Self::Kms(e)
    }
}

/// A progress callback: called with the number of plaintext bytes done so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Options of [`encrypt`].
#[derive(Clone)]
pub struct EncryptOptions<'a> {
    /// Plaintext bytes per chunk ([`MIN_CHUNK_SIZE`] ..= [`MAX_CHUNK_SIZE`]).
    pub chunk_size: usize,
    /// The encryption context, bound to the wrapped data key and stored in the header.
    pub encryption_context: EncryptionContext,
    /// Chunks per batch (default: 4 per rayon thread, at least 8), at most as many as fit in
    /// [`STREAM_BUFFER_BUDGET`].
    pub batch_chunks: Option<usize>,
    /// Called after each batch is sealed.
    pub progress: Option<Progress<'a>>,
}

impl Default for EncryptOptions<'_> {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            encryption_context: EncryptionContext::new(),
            batch_chunks: None,
            progress: None,
        }
    }
}

debug_some_fields!(EncryptOptions<'_>, "EncryptOptions", chunk_size, encryption_context, batch_chunks);

/// Options of [`decrypt`].
#[derive(Clone, Default)]
pub struct DecryptOptions<'a> {
    /// If set, the file must have been encrypted under this key (any identifier form; passed
    /// to Decrypt as `KeyId`).
    pub key_id: Option<String>,
    /// If set, the file's encryption context must equal this one.
    pub encryption_context: Option<EncryptionContext>,
    /// Chunks per batch (default: 4 per rayon thread, at least 8), at most as many as fit in
    /// [`STREAM_BUFFER_BUDGET`].
    pub batch_chunks: Option<usize>,
    /// Called after each batch is authenticated.
    pub progress: Option<Progress<'a>>,
}

debug_some_fields!(DecryptOptions<'_>, "DecryptOptions", key_id, encryption_context, batch_chunks);

/// What an encryption or decryption did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The ARN of the KMS key that wraps the data key.
    pub key_arn: String,
    /// The encryption context of the file.
    pub encryption_context: EncryptionContext,
    /// Plaintext bytes encrypted or decrypted.
    pub plaintext_bytes: u64,
    /// Chunks written or read.
    pub chunks: u64,
    /// The chunk size.
    pub chunk_size: usize,
}

impl Summary {
    /// The summary of a file with `header` once `plaintext_bytes` in `chunks` went through.
    fn of(header: Header, plaintext_bytes: u64, chunks: u64) -> Self {
        Summary {
            key_arn: header.key_arn,
            encryption_context: header.encryption_context,
            plaintext_bytes,
            chunks,
            chunk_size: header.chunk_size,
        }
    }
}

/// The header of an envelope file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk.
    pub chunk_size: usize,
    /// The per-file salt.
    pub salt: [u8; SALT_LEN],
    /// The ARN of the KMS key that wrapped the data key.
    pub key_arn: String,
    /// The encryption context bound to the wrapped data key.
    pub encryption_context: EncryptionContext,
    /// The wrapped data key (a GenerateDataKey CiphertextBlob).
    pub wrapped_key: Vec<u8>,
    /// The header tag.
    pub tag: [u8; HEADER_TAG_LEN],
}

impl Header {
    /// The header bytes the tag covers.
    fn body(&self) -> Vec<u8> {
        let ctx = context::encode(&self.encryption_context);
        let mut out = Vec::with_capacity(64 + self.key_arn.len() + ctx.len() + self.wrapped_key.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(SUITE);
        out.extend_from_slice(&(self.chunk_size as u32).to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&(self.key_arn.len() as u16).to_be_bytes());
        out.extend_from_slice(self.key_arn.as_bytes());
        out.extend_from_slice(&(ctx.len() as u32).to_be_bytes());
        out.extend_from_slice(&ctx);
        out.extend_from_slice(&(self.wrapped_key.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out
    }

    /// Reads and parses a header (without checking its tag, which needs the data key).
    pub fn read_from<R: Read>(r: &mut R) -> Result<Header, EnvelopeError> {
        let mut fixed = [0u8; 8 + 2 + 4 + SALT_LEN + 2];
        read_header_bytes(r, &mut fixed)?;
        if &fixed[..8] != MAGIC {
            return Err(EnvelopeError::NotEnvelope);
        }
        let (version, suite) = (fixed[8], fixed[9]);
        if version != VERSION || suite != SUITE {
            return Err(EnvelopeError::Unsupported { version, suite });
        }
        let chunk_size = u32::from_be_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]) as usize;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(EnvelopeError::MalformedHeader("chunk size out of range"));
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&fixed[14..14 + SALT_LEN]);
        let arn_len = u16::from_be_bytes([fixed[14 + SALT_LEN], fixed[15 + SALT_LEN]]) as usize;
        if arn_len == 0 || arn_len > MAX_ARN_LEN {
            return Err(EnvelopeError::MalformedHeader("key ARN length out of range"));
        }
        let mut arn = vec![0u8; arn_len];
        read_header_bytes(r, &mut arn)?;
        let key_arn = String::from_utf8(arn).map_err(|_| EnvelopeError::MalformedHeader("key ARN is not UTF-8"))?;
        let ctx = read_block(r, MAX_CONTEXT_LEN, "encryption context length out of range")?;
        let encryption_context = decode_context(&ctx)?;
        let wrapped_key = read_block(r, MAX_WRAPPED_KEY_LEN, "wrapped key length out of range")?;
        if wrapped_key.is_empty() {
            return Err(EnvelopeError::MalformedHeader("wrapped key is empty"));
        }
        let mut tag = [0u8; HEADER_TAG_LEN];
        read_header_bytes(r, &mut tag)?;
        Ok(Header { chunk_size, salt, key_arn, encryption_context, wrapped_key, tag })
    }
}

fn read_header_bytes<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), EnvelopeError> {
    // An input that ends early (an empty one included) is not a whole envelope header.
    if read_full(r, buf)? < buf.len() {
        return Err(EnvelopeError::MalformedHeader("the input ends inside the header"));
    }
    Ok(())
}

fn read_block<R: Read>(r: &mut R, max: usize, what: &'static str) -> Result<Vec<u8>, EnvelopeError> {
    let mut len = [0u8; 4];
    read_header_bytes(r, &mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(EnvelopeError::MalformedHeader(what));
    }
    let mut out = vec![0u8; len];
    read_header_bytes(r, &mut out)?;
    Ok(out)
}

/// The inverse of [`context::encode`], strict: sorted unique keys, no trailing bytes.
fn decode_context(mut b: &[u8]) -> Result<EncryptionContext, EnvelopeError> {
    const BAD: EnvelopeError = EnvelopeError::MalformedHeader("encryption context is not in canonical form");
    let take = |b: &mut &[u8]| -> Result<String, EnvelopeError> {
        if b.len() < 4 {
            return Err(BAD);
        }
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if b.len() - 4 < len {
            return Err(BAD);
        }
        let s = std::str::from_utf8(&b[4..4 + len]).map_err(|_| BAD)?.to_owned();
        *b = &b[4 + len..];
        Ok(s)
    };
    let mut ctx = EncryptionContext::new();
    while !b.is_empty() {
        let k = take(&mut b)?;
        let v = take(&mut b)?;
        if ctx.keys().next_back().is_some_and(|last| last.as_bytes() >= k.as_bytes()) {
            return Err(BAD);
        }
        ctx.insert(k, v);
    }
    Ok(ctx)
}

/// The keys of one file, derived from the data key and the salt; the chunk key's expansion
/// lives in the engine's locked memory.
struct FileKeys {
    chunk: Locked<AeadKey>,
    header_mac: SecretBytes,
}

impl FileKeys {
    fn derive(kms: &Kms, data_key: &SecretBytes, salt: &[u8; SALT_LEN]) -> Result<Self, EnvelopeError> {
        if data_key.len() != crypto::KEY_LEN {
            return Err(EnvelopeError::Kms(Error::Internal("the data key has the wrong length".into())));
        }
        let arena = kms.arena();
        let locked = |e| EnvelopeError::Kms(Error::Internal(format!("Locked memory: {e}")));
        let mut header_mac = arena.alloc(crypto::KEY_LEN).map_err(locked)?;
        let derive_err = |_| EnvelopeError::Kms(Error::Internal("key derivation failed".into()));
        crypto::hkdf_sha256(salt, data_key.expose_secret(), &[INFO_HEADER], header_mac.expose_secret_mut())
            .map_err(derive_err)?;
        let mut chunk = [0u8; crypto::KEY_LEN];
        let derived = crypto::hkdf_sha256(salt, data_key.expose_secret(), &[INFO_CHUNK], &mut chunk);
        let key = derived.and_then(|()| AeadKey::new(&chunk));
        wipe(&mut chunk);
        let chunk = arena.locked(key.map_err(derive_err)?).map_err(locked)?;
        Ok(Self { chunk, header_mac })
    }

    fn header_tag(&self, body: &[u8]) -> [u8; HEADER_TAG_LEN] {
        crypto::hmac_sha256(self.header_mac.expose_secret(), body)
    }
}

/// The nonce of chunk `index`.
fn nonce(index: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn batch_len(opt: Option<usize>) -> usize {
    opt.unwrap_or_else(|| (crate::parallel::threads() * 4).max(8)).max(1)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How the streaming functions cut their input: batches of `chunks` chunks of `stride` bytes
/// (sealed: `chunk_size` plaintext bytes and a tag), `depth` batch buffers in circulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    chunk_size: usize,
    stride: usize,
    chunks: usize,
    depth: usize,
}

impl Plan {
    /// Three batches (one being read, one sealed or opened, one written) within
    /// [`STREAM_BUFFER_BUDGET`], with room for half a batch more (a buffer that grows moves
    /// to an allocation twice its size: both exist for a moment) and for one more chunk
    /// (decryption's copy of a whole last chunk, made once every buffer is full-grown); when
    /// not even one chunk per batch fits, one chunk at a time.
    fn new(chunk_size: usize, batch_chunks: Option<usize>) -> Self {
        let stride = chunk_size + TAG_LEN;
        let moving = 2 * STREAM_BUFFER_BUDGET / (7 * stride);
        let copying = (STREAM_BUFFER_BUDGET / stride).saturating_sub(1) / 3;
        let fit = moving.min(copying);
        if fit == 0 {
            return Self { chunk_size, stride, chunks: 1, depth: 1 };
        }
        Self { chunk_size, stride, chunks: batch_len(batch_chunks).min(fit), depth: 3 }
    }

    /// The most bytes one batch buffer holds.
    fn batch_bytes(&self) -> usize {
        self.chunks * self.stride
    }
}

/// What the pipeline does to a batch: seal plaintext (read into chunk-sized places with room
/// for each tag, written whole) or open sealed chunks (read as they are, written without their
/// tags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Seal,
    Open,
}

/// The smallest step by which a batch buffer grows while data arrives.
const GROW_STEP: usize = 64 << 10;

/// A batch buffer: its first `len` bytes are the batch; the bytes past them (up to the
/// buffer's length) are earlier batches' leftovers, reused without zeroing them again. Wiped
/// when dropped, and when it grows.
#[derive(Default)]
struct Batch {
    buf: SecretVec,
    len: usize,
}

impl Batch {
    fn data(&self) -> &[u8] {
        &self.buf.expose_secret()[..self.len]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf.expose_secret_mut()[..self.len]
    }

    /// Makes the buffer hold at least `len + n` bytes (`len + n <= limit`, a whole batch): it
    /// grows only as data arrives, through capacities `limit / 2^k`, so that a move to a
    /// larger allocation doubles it and the last one is from `limit / 2` to `limit`.
    fn room(&mut self, n: usize, limit: usize) {
        let need = self.len + n;
        if need > self.buf.len() {
            if need > self.buf.capacity() {
                let mut capacity = limit.max(need);
                while capacity / 2 >= need {
                    capacity /= 2;
                }
                self.buf.reserve_exact(capacity - self.buf.len());
            }
            self.buf.resize(need, 0);
        }
    }

    /// Appends up to `want` bytes read from `r`, growing the buffer as they arrive (by the
    /// bytes read so far, at least [`GROW_STEP`]), so that a short input costs only its size
    /// whatever the chunk size; returns how many (fewer only at the end of the input).
    fn fill<R: Read + ?Sized>(&mut self, r: &mut R, want: usize, limit: usize) -> io::Result<usize> {
        let mut got = 0;
        while got < want {
            if self.len == self.buf.len() {
                self.room((want - got).min(got.max(GROW_STEP)), limit);
            }
            let end = self.buf.len().min(self.len + want - got);
            match r.read(&mut self.buf.expose_secret_mut()[self.len..end]) {
                Ok(0) => break,
                Ok(k) => {
                    self.len += k;
                    got += k;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

/// Reads the input in batches with one byte of look-ahead, so each batch knows whether the
/// input ends after it.
struct BatchReader<R> {
    input: R,
    /// The look-ahead byte, read past the previous batch.
    carry: Option<u8>,
    done: bool,
}

impl<R: Read> BatchReader<R> {
    /// Fills `batch` with the next batch (sealing: each chunk's plaintext followed by room
    /// for its tag); returns whether the input ends with it.
    fn next(&mut self, batch: &mut Batch, plan: &Plan, mode: Mode) -> io::Result<bool> {
        batch.len = 0;
        if self.done {
            return Ok(true);
        }
        let limit = plan.batch_bytes();
        let (units, unit) = match mode {
            Mode::Seal => (plan.chunks, plan.chunk_size),
            Mode::Open => (1, limit),
        };
        for _ in 0..units {
            let mut got = 0;
            if let Some(b) = self.carry.take() {
                batch.room(1, limit);
                batch.buf.expose_secret_mut()[batch.len] = b;
                batch.len += 1;
                got = 1;
            }
            got += batch.fill(&mut self.input, unit - got, limit)?;
            if mode == Mode::Seal && got > 0 {
                batch.room(TAG_LEN, limit);
                batch.len += TAG_LEN;
            }
            if got < unit {
                self.done = true;
                return Ok(true);
            }
        }
        let mut one = [0u8; 1];
        if read_full(&mut self.input, &mut one)? == 0 {
            self.done = true;
            return Ok(true);
        }
        self.carry = Some(one[0]);
        Ok(false)
    }
}

/// Writes a processed batch: sealed chunks whole, opened chunks without their tags.
fn write_batch<W: Write>(w: &mut W, data: &[u8], mode: Mode, stride: usize) -> io::Result<()> {
    if mode == Mode::Seal {
        return w.write_all(data);
    }
    let mut bodies: Vec<IoSlice<'_>> =
        data.chunks(stride).map(|c| IoSlice::new(&c[..c.len().saturating_sub(TAG_LEN)])).collect();
    let mut rest = &mut bodies[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match w.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs `stage` over batches read by a reader thread and written by a writer thread, so that
/// reading, sealing or opening, and writing overlap. `stage` works on each batch in place; the
/// `plan.depth` batch buffers are all the chunk memory there is.
fn pipeline<R, W, S>(input: R, mut output: W, plan: Plan, mode: Mode, mut stage: S) -> Result<(), EnvelopeError>
where
    R: Read + Send,
    W: Write + Send,
    S: FnMut(&mut Batch, bool) -> Result<(), EnvelopeError>,
{
    use std::sync::mpsc::sync_channel;
    std::thread::scope(|scope| {
        let (free_tx, free_rx) = sync_channel::<Batch>(plan.depth);
        let (full_tx, full_rx) = sync_channel::<io::Result<(Batch, bool)>>(1);
        let (out_tx, out_rx) = sync_channel::<Batch>(1);
        for _ in 0..plan.depth {
            let _ = free_tx.send(Batch::default());
        }
        let reader = scope.spawn(move || {
            let mut r = BatchReader { input, carry: None, done: false };
            while let Ok(mut batch) = free_rx.recv() {
                let res = r.next(&mut batch, &plan, mode);
                let stop = !matches!(res, Ok(false));
                if full_tx.send(res.map(|last| (batch, last))).is_err() || stop {
                    return;
                }
            }
        });
        let writer = scope.spawn(move || -> io::Result<()> {
            while let Ok(batch) = out_rx.recv() {
                write_batch(&mut output, batch.data(), mode, plan.stride)?;
                let _ = free_tx.send(batch);
            }
            output.flush()
        });
        let result = (|| -> Result<(), EnvelopeError> {
            loop {
                let (mut batch, last) = match full_rx.recv() {
                    Ok(r) => r?,
                    Err(_) => return Ok(()),
                };
                stage(&mut batch, last)?;
                out_tx.send(batch).map_err(|_| writer_gone())?;
                if last {
                    return Ok(());
                }
            }
        })();
        drop(out_tx);
        drop(full_rx);
        let written = writer.join().unwrap_or_else(|_| Err(io::Error::other("writer thread panicked")));
        let _ = reader.join();
        // A failed write stops the stage too ("the output writer stopped"): report the write's
        // own error.
        written.map_err(EnvelopeError::Io)?;
        result
    })
}

fn writer_gone() -> EnvelopeError {
    EnvelopeError::Io(io::Error::other("the output writer stopped"))
}

/// Encrypts `input` to `output` under a fresh data key from GenerateDataKey on `key_id`.
pub fn encrypt<R: Read + Send, W: Write + Send>(
    kms: &Kms,
    caller: &Caller,
    key_id: &str,
    options: &EncryptOptions<'_>,
    input: R,
    mut output: W,
) -> Result<Summary, EnvelopeError> {
    let (header, bytes, keys) = begin_encrypt(kms, caller, key_id, options)?;
    output.write_all(&bytes)?;
    let chunk_size = header.chunk_size;

    let plan = Plan::new(chunk_size, options.batch_chunks);
    let aad = header.tag;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    pipeline(input, output, plan, Mode::Seal, |batch, last| {
        if batch.len == 0 {
            // Only an empty input gives an empty batch (an input that ends with a batch is
            // seen by the reader's look-ahead): its one chunk, empty and final.
            if index == 0 {
                batch.room(TAG_LEN, TAG_LEN);
                batch.len = TAG_LEN;
                let tag =
                    keys.chunk.seal_in_place_separate_tag(nonce(0, true), &aad, &mut []).map_err(|_| seal_error())?;
                batch.data_mut().copy_from_slice(&tag);
                index = 1;
            }
            return Ok(());
        }
        let data = batch.data_mut();
        let chunks = data.len().div_ceil(plan.stride);
        let first = index;
        crate::parallel::install(|| {
            data.par_chunks_mut(plan.stride).enumerate().try_for_each(|(i, chunk)| {
                let (body, tag_out) = chunk.split_at_mut(chunk.len() - TAG_LEN);
                let tag = keys
                    .chunk
                    .seal_in_place_separate_tag(nonce(first + i as u64, last && i + 1 == chunks), &aad, body)
                    .map_err(|_| seal_error())?;
                tag_out.copy_from_slice(&tag);
                Ok::<(), EnvelopeError>(())
            })
        })?;
        index += chunks as u64;
        total += (data.len() - chunks * TAG_LEN) as u64;
        if let Some(p) = options.progress {
            p(total);
        }
        Ok(())
    })?;
    Ok(Summary::of(header, total, index))
}

/// Decrypts an envelope file from `input` to `output`: reads the header, unwraps the data
/// key with Decrypt (the key ARN and context from the header), checks the header tag, then
/// opens the chunks, each authenticated before it is written.
pub fn decrypt<R: Read + Send, W: Write + Send>(
    kms: &Kms,
    caller: &Caller,
    options: &DecryptOptions<'_>,
    mut input: R,
    output: W,
) -> Result<Summary, EnvelopeError> {
    let header = Header::read_from(&mut input)?;
    let keys = begin_decrypt(kms, caller, options, &header)?;

    let chunk_size = header.chunk_size;
    let plan = Plan::new(chunk_size, options.batch_chunks);
    let stride = plan.stride;
    let aad = header.tag;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    pipeline(input, output, plan, Mode::Open, |batch, last| {
        let data = batch.data_mut();
        if data.is_empty() {
            // Only the first batch can be empty: the file ends after its header.
            return Err(EnvelopeError::Truncated { chunks: index });
        }
        let chunks = data.len().div_ceil(stride);
        let first = index;
        let results: Vec<Result<usize, EnvelopeError>> = crate::parallel::install(|| {
            data.par_chunks_mut(stride)
                .enumerate()
                .map(|(i, chunk)| {
                    let idx = first + i as u64;
                    let is_last = last && i + 1 == chunks;
                    if chunk.len() < TAG_LEN {
                        return Err(EnvelopeError::Truncated { chunks: idx });
                    }
                    let body_len = chunk.len() - TAG_LEN;
                    let whole = chunk.len() == stride;
                    if body_len == 0 && idx != 0 {
                        // The writer makes an empty chunk only for an empty plaintext.
                        return Err(EnvelopeError::TruncatedInChunk { index: idx });
                    }
                    // A whole last chunk may be a non-final one after which the file was cut:
                    // its ciphertext is kept to try that if it fails as the final chunk.
                    let mut kept = (is_last && whole).then(|| chunk[..body_len].to_vec());
                    let (body, tag) = chunk.split_at_mut(body_len);
                    let mut t = [0u8; TAG_LEN];
                    t.copy_from_slice(tag);
                    if keys.chunk.open_in_place_separate_tag(nonce(idx, is_last), &aad, &t, body).is_ok() {
                        return Ok(body_len);
                    }
                    if !is_last {
                        return Err(EnvelopeError::ChunkAuthentication { index: idx });
                    }
                    Err(last_chunk_error(&keys.chunk, &aad, idx, &t, kept.as_deref_mut().unwrap_or_default(), whole))
                })
                .collect()
        });
        for r in results {
            total += r? as u64;
        }
        index += chunks as u64;
        if let Some(p) = options.progress {
            p(total);
        }
        Ok(())
    })?;
    Ok(Summary::of(header, total, index))
}

/// Why the last chunk of the input, chunk `index`, failed to open as the final chunk, given
/// its ciphertext in `scratch` (overwritten). A whole chunk that opens as a non-final one was
/// followed by chunks that were cut off. A shorter one can only be a final chunk: a cut inside
/// a chunk and a change to a short final chunk look the same, and since lengths are public,
/// saying so reveals nothing.
fn last_chunk_error(
    key: &AeadKey,
    aad: &[u8],
    index: u64,
    tag: &[u8; TAG_LEN],
    scratch: &mut [u8],
    whole: bool,
) -> EnvelopeError {
    if !whole {
        return EnvelopeError::TruncatedInChunk { index };
    }
    let cut = key.open_in_place_separate_tag(nonce(index, false), aad, tag, scratch).is_ok();
    wipe(scratch);
    if cut { EnvelopeError::Truncated { chunks: index + 1 } } else { EnvelopeError::ChunkAuthentication { index } }
}

/// Generates the data key and writes the header: the header, its bytes (tag included) and
/// the file's keys.
fn begin_encrypt(
    kms: &Kms,
    caller: &Caller,
    key_id: &str,
    options: &EncryptOptions<'_>,
) -> Result<(Header, Vec<u8>, FileKeys), EnvelopeError> {
    let chunk_size = options.chunk_size;
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(EnvelopeError::InvalidArgument(format!(
            "chunk size {chunk_size} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}"
        )));
    }
    let ctx = options.encryption_context.clone();
    let dk = kms.generate_data_key(
        caller,
        &GenerateDataKeyRequest { encryption_context: ctx.clone(), ..GenerateDataKeyRequest::aes_256(key_id) },
    )?;
    let mut salt = [0u8; SALT_LEN];
    crypto::fill_random(&mut salt).map_err(|_| EnvelopeError::Kms(Error::Internal("the RNG failed".into())))?;
    let keys = FileKeys::derive(kms, &dk.plaintext, &salt)?;
    drop(dk.plaintext);
    let mut header = Header {
        chunk_size,
        salt,
        key_arn: dk.key_id,
        encryption_context: ctx,
        wrapped_key: dk.ciphertext_blob,
        tag: [0; HEADER_TAG_LEN],
    };
    let mut bytes = header.body();
    header.tag = keys.header_tag(&bytes);
    bytes.extend_from_slice(&header.tag);
    Ok((header, bytes, keys))
}

/// Checks the header against the options, unwraps the data key and checks the header tag.
fn begin_decrypt(
    kms: &Kms,
    caller: &Caller,
    options: &DecryptOptions<'_>,
    header: &Header,
) -> Result<FileKeys, EnvelopeError> {
    if let Some(want) = &options.encryption_context
        && want != &header.encryption_context
    {
        return Err(EnvelopeError::InvalidArgument("the file's encryption context is not the one required".into()));
    }
    let req = DecryptRequest {
        key_id: Some(options.key_id.clone().unwrap_or_else(|| header.key_arn.clone())),
        ..DecryptRequest::new(header.wrapped_key.clone()).with_context(header.encryption_context.clone())
    };
    let dk = kms.decrypt(caller, &req)?;
    if dk.key_id != header.key_arn {
        return Err(EnvelopeError::HeaderAuthentication);
    }
    let keys = FileKeys::derive(kms, &dk.plaintext, &header.salt)?;
    drop(dk.plaintext);
    let expected = keys.header_tag(&header.body());
    if !crypto::ct_eq(&expected, &header.tag) {
        return Err(EnvelopeError::HeaderAuthentication);
    }
    Ok(keys)
}

fn seal_error() -> EnvelopeError {
    EnvelopeError::Kms(Error::Internal("seal failed".into()))
}

/// Encrypts `plaintext` held in memory to a new envelope file in memory (see
/// [`encrypt_into`]).
pub fn encrypt_to_vec(
    kms: &Kms,
    caller: &Caller,
    key_id: &str,
    options: &EncryptOptions<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut out = Vec::new();
    encrypt_into(kms, caller, key_id, options, plaintext, &mut out)?;
    Ok(out)
}

/// Encrypts `plaintext` held in memory into `out` (resized to the file's length, which costs
/// nothing when a reused buffer already has that length): the format of [`encrypt`], with no
/// pipeline and no intermediate buffer: each chunk is copied to its place in the output and
/// sealed there by one rayon task, while it is in cache. The `batch_chunks` and `progress`
/// options are not used.
pub fn encrypt_into(
    kms: &Kms,
    caller: &Caller,
    key_id: &str,
    options: &EncryptOptions<'_>,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    let (header, bytes, keys) = begin_encrypt(kms, caller, key_id, options)?;
    let cs = header.chunk_size;
    let chunks = plaintext.len().div_ceil(cs).max(1);
    let h = bytes.len();
    out.resize(h + plaintext.len() + chunks * TAG_LEN, 0);
    out[..h].copy_from_slice(&bytes);
    let aad = header.tag;
    if plaintext.is_empty() {
        let tag = keys.chunk.seal_in_place_separate_tag(nonce(0, true), &aad, &mut []).map_err(|_| seal_error())?;
        out[h..].copy_from_slice(&tag);
        return Ok(());
    }
    crate::parallel::install(|| {
        out[h..].par_chunks_mut(cs + TAG_LEN).zip(plaintext.par_chunks(cs)).enumerate().try_for_each(
            |(i, (dst, src))| {
                let (body, tag_out) = dst.split_at_mut(src.len());
                body.copy_from_slice(src);
                let tag = keys
                    .chunk
                    .seal_in_place_separate_tag(nonce(i as u64, i + 1 == chunks), &aad, body)
                    .map_err(|_| seal_error())?;
                tag_out.copy_from_slice(&tag);
                Ok::<(), EnvelopeError>(())
            },
        )
    })
}

/// Decrypts an envelope file held in memory to a new buffer (see [`decrypt_into`]).
pub fn decrypt_from_slice(
    kms: &Kms,
    caller: &Caller,
    options: &DecryptOptions<'_>,
    sealed: &[u8],
) -> Result<(Vec<u8>, Summary), EnvelopeError> {
    let mut out = Vec::new();
    let summary = decrypt_into(kms, caller, options, sealed, &mut out)?;
    Ok((out, summary))
}

/// Decrypts an envelope file held in memory into `out` (resized to the plaintext's length,
/// free when a reused buffer already has it; that length comes from the input's, never from
/// the chunk size its header claims): the checks of [`decrypt`], with each chunk copied to its
/// place in the output and opened there by one rayon task. On any failure
/// `out` is wiped and emptied, so no plaintext is returned. The `batch_chunks` and
/// `progress` options are not used.
pub fn decrypt_into(
    kms: &Kms,
    caller: &Caller,
    options: &DecryptOptions<'_>,
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> Result<Summary, EnvelopeError> {
    let mut out = WipedUnlessKept { out, kept: false };
    let mut rest = sealed;
    let header = Header::read_from(&mut rest)?;
    let keys = begin_decrypt(kms, caller, options, &header)?;
    let cs = header.chunk_size;
    let stride = cs + TAG_LEN;
    let chunks = rest.len().div_ceil(stride);
    if chunks == 0 {
        return Err(EnvelopeError::Truncated { chunks: 0 });
    }
    let last_len = rest.len() - (chunks - 1) * stride;
    if last_len < TAG_LEN {
        return Err(EnvelopeError::Truncated { chunks: chunks as u64 - 1 });
    }
    if last_len == TAG_LEN && chunks > 1 {
        // The writer makes an empty chunk only for an empty plaintext.
        return Err(EnvelopeError::TruncatedInChunk { index: chunks as u64 - 1 });
    }
    let aad = header.tag;
    out.resize(rest.len() - chunks * TAG_LEN, 0);
    let opened = if out.is_empty() {
        let t: [u8; TAG_LEN] = rest.try_into().map_err(|_| EnvelopeError::Truncated { chunks: 0 })?;
        keys.chunk
            .open_in_place_separate_tag(nonce(0, true), &aad, &t, &mut [])
            .map_err(|_| EnvelopeError::ChunkAuthentication { index: 0 })
    } else {
        crate::parallel::install(|| {
            out.par_chunks_mut(cs).zip(rest.par_chunks(stride)).enumerate().try_for_each(|(i, (dst, src))| {
                let (body, tag) = src.split_at(dst.len());
                let mut t = [0u8; TAG_LEN];
                t.copy_from_slice(tag);
                dst.copy_from_slice(body);
                let last = i + 1 == chunks;
                if keys.chunk.open_in_place_separate_tag(nonce(i as u64, last), &aad, &t, dst).is_ok() {
                    return Ok(());
                }
                if !last {
                    return Err(EnvelopeError::ChunkAuthentication { index: i as u64 });
                }
                // The input is intact: try the other reading of the last chunk in `dst`.
                dst.copy_from_slice(body);
                Err(last_chunk_error(&keys.chunk, &aad, i as u64, &t, dst, src.len() == stride))
            })
        })
    };
    opened?;
    out.kept = true;
    Ok(Summary::of(header, out.len() as u64, chunks as u64))
}

/// [`decrypt_into`]'s output while it is written: wiped and emptied when dropped before it
/// is kept, on an error return or a panic in a chunk's task alike.
struct WipedUnlessKept<'a> {
    out: &'a mut Vec<u8>,
    kept: bool,
}

impl Drop for WipedUnlessKept<'_> {
    fn drop(&mut self) {
        if !self.kept {
            wipe(self.out);
            self.out.clear();
        }
    }
}

impl std::ops::Deref for WipedUnlessKept<'_> {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        self.out
    }
}

impl std::ops::DerefMut for WipedUnlessKept<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        self.out
    }
}
