//! Key material at run time: the root key, hot versions, writers and derived sub-keys.
//!
//! Everything secret here sits in the engine's locked arena: the root key's expanded AES
//! key, each hot version's 32-byte material, each writer's and reader's derived sub-key. A
//! version is "hot" while it is unwrapped; [`HotVersions`] bounds how many are, evicting the
//! least recently used with a second-chance sweep. An evicted version is dropped (its slots
//! zeroed) once the last operation using it ends, and unwrapped again on demand.

use std::collections::{HashMap, VecDeque};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwapOption;
use parking_lot::{Mutex, RwLock};

use super::record_mac::RecordMacKey;
use super::{LiveKey, rng_failed, secret_error};
use crate::ciphertext::{self, HEADER_LEN, Header, Parsed};
use crate::crypto::{self, AeadKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::secret::{Arena, Locked, SecretBytes, fork};

/// Writers per version: encrypting threads are spread over this many (salt, counter)
/// streams, so they do not contend on one counter.
const WRITER_SHARDS: usize = 4;
/// Derived reader keys kept per version (blobs from other writers: other threads, other
/// engine instances, earlier runs). The cache is emptied when full.
const MAX_READERS_PER_VERSION: usize = 16;
/// AAD prefix of material wrapped under the root key.
const ROOT_WRAP_AAD: &[u8] = b"trent root v1";
/// AAD of the root key's check value (see [`RootKey::check_value`]): version 2, a store whose
/// records carry MACs.
const ROOT_CHECK_AAD: &[u8] = b"trent root check v2";
/// AAD of the check value of a store made before records carried MACs.
const LEGACY_ROOT_CHECK_AAD: &[u8] = b"trent root check v1";

/// The root key: wraps every version's material for the store, and authenticates the store's
/// records with the key derived from it.
pub(crate) struct RootKey {
    key: Locked<AeadKey>,
    records: RecordMacKey,
}

impl RootKey {
    pub(crate) fn new(arena: &Arena, bytes: &[u8; 32]) -> Result<Self> {
        let key = AeadKey::new(bytes).map_err(|_| Error::Internal("Invalid root key".into()))?;
        Ok(Self { key: arena.locked(key).map_err(secret_error)?, records: RecordMacKey::derive(arena, bytes)? })
    }

    /// The key that authenticates the store's records.
    pub(crate) fn records(&self) -> &RecordMacKey {
        &self.records
    }

    fn aad(id: &KeyId, version: u32) -> [u8; 13 + 17 + 4] {
        let mut aad = [0u8; 34];
        aad[..13].copy_from_slice(ROOT_WRAP_AAD);
        aad[13..29].copy_from_slice(id.as_bytes());
        aad[29] = u8::from(id.is_multi_region());
        aad[30..].copy_from_slice(&version.to_be_bytes());
        aad
    }

    /// Wraps version material: `nonce (12) ‖ ciphertext ‖ tag (16)`, AAD = key id and version.
    pub(crate) fn wrap(&self, id: &KeyId, version: u32, material: &[u8]) -> Result<Vec<u8>> {
        self.seal(&Self::aad(id, version), material)
    }

    /// Unwraps version material into locked memory.
    pub(crate) fn unwrap(&self, arena: &Arena, id: &KeyId, version: u32, wrapped: &[u8]) -> Result<SecretBytes> {
        self.open(arena, &Self::aad(id, version), wrapped)?.ok_or_else(|| {
            Error::Internal(format!(
                "The stored material of key {id} version {version} does not unwrap under the root key"
            ))
        })
    }

    /// The check value a store keeps to recognize its root key: 32 zero bytes sealed under it
    /// with their own AAD. Not secret, and nothing else is ever sealed with that AAD. Its AAD
    /// also says that the store's records carry MACs (see [`RootKey::matches_legacy`]).
    pub(crate) fn check_value(&self) -> Result<Vec<u8>> {
        self.seal(ROOT_CHECK_AAD, &[0u8; KEY_LEN])
    }

    /// Whether `check` is a check value of this root key.
    pub(crate) fn matches(&self, arena: &Arena, check: &[u8]) -> bool {
        self.opens_to_zeros(arena, ROOT_CHECK_AAD, check)
    }

    /// Whether `check` is a check value of this root key from a store made before records
    /// carried MACs (whose records are then authenticated once, at the first open).
    pub(crate) fn matches_legacy(&self, arena: &Arena, check: &[u8]) -> bool {
        self.opens_to_zeros(arena, LEGACY_ROOT_CHECK_AAD, check)
    }

    fn opens_to_zeros(&self, arena: &Arena, aad: &[u8], check: &[u8]) -> bool {
        matches!(self.open(arena, aad, check), Ok(Some(zeros)) if zeros.expose_secret() == [0u8; KEY_LEN])
    }

    fn seal(&self, aad: &[u8], material: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        crypto::fill_random(&mut nonce).map_err(|_| rng_failed())?;
        let mut out = Vec::with_capacity(NONCE_LEN + material.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(material);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, aad, &mut out[NONCE_LEN..])
            .map_err(|_| Error::Internal("Wrapping key material failed".into()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// `None` when `wrapped` is not material sealed under this key with this AAD.
    fn open(&self, arena: &Arena, aad: &[u8], wrapped: &[u8]) -> Result<Option<SecretBytes>> {
        if wrapped.len() != NONCE_LEN + KEY_LEN + TAG_LEN {
            return Ok(None);
        }
        let (nonce, rest) = wrapped.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(KEY_LEN);
        let (Ok(nonce), Ok(tag)) = (<[u8; NONCE_LEN]>::try_from(nonce), <[u8; TAG_LEN]>::try_from(tag)) else {
            return Ok(None);
        };
        let mut out = arena.alloc_copy(ct).map_err(secret_error)?;
        Ok(self.key.open_in_place_separate_tag(nonce, aad, &tag, out.expose_secret_mut()).ok().map(|()| out))
    }
}

/// One writer: a salt, the sub-key derived from it and a message counter, for one process.
pub(crate) struct Writer {
    salt: [u8; 16],
    key: Arc<Locked<AeadKey>>,
    next: AtomicU64,
    /// The [`fork::generation`] of the process that drew the salt. A `fork()`ed child gets a
    /// copy of its parent's writers, counters included: it must never continue them, or parent
    /// and child would seal different messages under one (sub-key, nonce).
    generation: u64,
}

impl Writer {
    /// Whether this writer may seal `n` more messages in this process under a salt good for
    /// `limit`, and if so the first counter reserved.
    fn reserve(&self, n: u64, limit: u64, generation: u64) -> Option<u64> {
        if self.generation != generation {
            return None;
        }
        let first = self.next.fetch_add(n, Ordering::Relaxed);
        first.checked_add(n).is_some_and(|end| end <= limit).then_some(first)
    }
}

/// A hot (unwrapped) version of a key's material.
pub(crate) struct VersionKeys {
    pub(crate) number: u32,
    pub(crate) material_id: String,
    key_id: KeyId,
    ikm: SecretBytes,
    writers: [ArcSwapOption<Writer>; WRITER_SHARDS],
    new_writer: Mutex<()>,
    readers: RwLock<HashMap<[u8; 16], Arc<Locked<AeadKey>>>>,
    used: AtomicBool,
    /// Messages a writer seals under one salt (see [`KmsBuilder::messages_per_salt`]).
    ///
    /// [`KmsBuilder::messages_per_salt`]: crate::KmsBuilder::messages_per_salt
    messages_per_salt: u64,
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// The calling thread's writer shard, assigned round-robin on first use.
fn shard() -> usize {
    SHARD.with(|s| {
        let mut v = s.get();
        if v == usize::MAX {
            v = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % WRITER_SHARDS;
            s.set(v);
        }
        v
    })
}

/// Counters reserved from a writer: messages `first..first + n` under it. Holds the writer
/// through an arc-swap guard, so reserving touches no shared reference count.
pub(crate) struct Reservation {
    guard: arc_swap::Guard<Option<Arc<Writer>>>,
    first: u64,
}

impl Reservation {
    fn writer(&self) -> &Writer {
        // Invariant: `reserve` builds a reservation only from a guard holding a writer.
        self.guard.as_deref().expect("a reservation always holds a writer")
    }
}

impl VersionKeys {
    pub(crate) fn new(
        key_id: KeyId,
        number: u32,
        material_id: String,
        ikm: SecretBytes,
        messages_per_salt: u64,
    ) -> Self {
        Self {
            number,
            material_id,
            key_id,
            ikm,
            writers: Default::default(),
            new_writer: Mutex::new(()),
            readers: RwLock::new(HashMap::new()),
            used: AtomicBool::new(true),
            messages_per_salt,
        }
    }

    /// Marks the version as recently used (for eviction). Writes only when the flag is clear,
    /// so hot versions do not bounce a cache line between cores.
    pub(crate) fn touch(&self) {
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
    }

    fn derive(&self, arena: &Arena, salt: &[u8; 16]) -> Result<Arc<Locked<AeadKey>>> {
        let mut okm = arena.alloc(KEY_LEN).map_err(secret_error)?;
        let info = ciphertext::hkdf_info(&self.key_id, self.number);
        crypto::hkdf_sha256(salt, self.ikm.expose_secret(), &[&info], okm.expose_secret_mut())
            .map_err(|_| Error::Internal("Key derivation failed".into()))?;
        let key = AeadKey::new(okm.expose_secret()).map_err(|_| Error::Internal("Key derivation failed".into()))?;
        Ok(Arc::new(arena.locked(key).map_err(secret_error)?))
    }

    /// Reserves `n` consecutive message counters from the calling thread's writer, drawing a
    /// new salt first if the writer is missing, would run past its limit, or was made by
    /// another process (this one is its `fork()`ed child).
    pub(crate) fn reserve(&self, arena: &Arena, n: u64) -> Result<Reservation> {
        if n > self.messages_per_salt {
            return Err(Error::Internal(format!(
                "Cannot reserve {n} messages at once under a salt good for {}",
                self.messages_per_salt
            )));
        }
        let shard = shard();
        let generation = fork::generation();
        loop {
            let guard = self.writers[shard].load();
            if let Some(first) = guard.as_deref().and_then(|w| w.reserve(n, self.messages_per_salt, generation)) {
                return Ok(Reservation { guard, first });
            }
            drop(guard);
            // Missing, used up or inherited: one thread draws a new salt, the others wait for it.
            let _guard = self.new_writer.lock();
            let current = self.writers[shard].load_full();
            let still_needed = current.as_ref().is_none_or(|w| {
                w.generation != generation || w.next.load(Ordering::Relaxed).saturating_add(n) > self.messages_per_salt
            });
            if still_needed {
                let mut salt = [0u8; 16];
                crypto::fill_random(&mut salt).map_err(|_| rng_failed())?;
                let key = self.derive(arena, &salt)?;
                let writer = Writer { salt, key, next: AtomicU64::new(0), generation };
                self.writers[shard].store(Some(Arc::new(writer)));
            }
        }
    }

    /// Caches a reader key, once a blob under its salt has authenticated (so forged blobs
    /// cannot flush the cache).
    fn remember_reader(&self, salt: &[u8; 16], key: Arc<Locked<AeadKey>>) {
        let mut readers = self.readers.write();
        if readers.len() >= MAX_READERS_PER_VERSION {
            readers.clear();
        }
        readers.entry(*salt).or_insert(key);
    }

    /// Seals one message under a reserved counter. `aad` is scratch space; `ctx` is the
    /// canonical encoding of the encryption context.
    pub(crate) fn seal(
        &self,
        res: &Reservation,
        counter: u64,
        ctx: &[u8],
        plaintext: &[u8],
        aad: &mut Vec<u8>,
    ) -> Result<Vec<u8>> {
        let (header, header_bytes) = self.header(res, counter);
        let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        blob.extend_from_slice(&header_bytes);
        blob.extend_from_slice(plaintext);
        let tag = self.seal_body(res, &header, &header_bytes, ctx, aad, &mut blob[HEADER_LEN..])?;
        blob.extend_from_slice(&tag);
        Ok(blob)
    }

    /// [`VersionKeys::seal`] into `out`, which must be exactly
    /// `HEADER_LEN + plaintext.len() + TAG_LEN` bytes (possibly uninitialised).
    pub(crate) fn seal_into(
        &self,
        res: &Reservation,
        counter: u64,
        ctx: &[u8],
        plaintext: &[u8],
        aad: &mut Vec<u8>,
        out: &mut [MaybeUninit<u8>],
    ) -> Result<()> {
        debug_assert_eq!(out.len(), HEADER_LEN + plaintext.len() + TAG_LEN);
        let (header, header_bytes) = self.header(res, counter);
        let (head, rest) = out.split_at_mut(HEADER_LEN);
        let (body, tag_out) = rest.split_at_mut(plaintext.len());
        head.write_copy_of_slice(&header_bytes);
        let body = body.write_copy_of_slice(plaintext);
        let tag = self.seal_body(res, &header, &header_bytes, ctx, aad, body)?;
        tag_out.write_copy_of_slice(&tag);
        Ok(())
    }

    /// The header of the message `counter` of a reservation, and its encoding.
    fn header(&self, res: &Reservation, counter: u64) -> (Header, [u8; HEADER_LEN]) {
        let header =
            Header { key_id: self.key_id, version: self.number, salt: res.writer().salt, counter: res.first + counter };
        let bytes = header.encode();
        (header, bytes)
    }

    /// Seals `body` in place (AAD: the header, then the context) and returns the tag.
    fn seal_body(
        &self,
        res: &Reservation,
        header: &Header,
        header_bytes: &[u8; HEADER_LEN],
        ctx: &[u8],
        aad: &mut Vec<u8>,
        body: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let aad = blob_aad(header_bytes, ctx, aad);
        res.writer()
            .key
            .seal_in_place_separate_tag(header.nonce(), aad, body)
            .map_err(|_| Error::Internal("Encryption failed".into()))
    }

    /// Opens a parsed blob of this version into locked memory.
    pub(crate) fn open(
        &self,
        arena: &Arena,
        parsed: &Parsed<'_>,
        ctx: &[u8],
        aad: &mut Vec<u8>,
    ) -> Result<SecretBytes> {
        self.with_reader(arena, &parsed.header.salt, |key| {
            let (ct, tag) = body_and_tag(parsed)?;
            let mut out = arena.alloc_copy(ct).map_err(secret_error)?;
            open_in_place(key, parsed, ctx, aad, &tag, out.expose_secret_mut())?;
            Ok(out)
        })
    }

    /// [`VersionKeys::open`] into the front of `out` (which may be uninitialised), for a
    /// caller that owns the plaintext's memory: returns the plaintext's length. `out` must hold
    /// at least the blob's body less its tag (checked by the caller: an internal error here);
    /// when authentication fails, what the opening wrote there is wiped.
    pub(crate) fn open_into(
        &self,
        arena: &Arena,
        parsed: &Parsed<'_>,
        ctx: &[u8],
        aad: &mut Vec<u8>,
        out: &mut [MaybeUninit<u8>],
    ) -> Result<usize> {
        self.with_reader(arena, &parsed.header.salt, |key| {
            let (ct, tag) = body_and_tag(parsed)?;
            let Some(out) = out.get_mut(..ct.len()) else {
                return Err(Error::Internal("The plaintext buffer is smaller than the blob's body".into()));
            };
            let out = out.write_copy_of_slice(ct);
            open_in_place(key, parsed, ctx, aad, &tag, out).inspect_err(|_| crate::secret::wipe(out))?;
            Ok(ct.len())
        })
    }

    /// Calls `f` with the sub-key of the blob salt `salt`: a writer's, a remembered reader's,
    /// or one derived now (and remembered once `f` succeeds).
    fn with_reader<R>(&self, arena: &Arena, salt: &[u8; 16], f: impl FnOnce(&AeadKey) -> Result<R>) -> Result<R> {
        // Blobs this thread wrote are the common case: its own writer first, then the
        // others, used through their guards (no reference count touched).
        let own = shard();
        for slot in std::iter::once(&self.writers[own]).chain(&self.writers) {
            let guard = slot.load();
            if let Some(w) = guard.as_deref().filter(|w| w.salt == *salt) {
                return f(&w.key);
            }
        }
        let cached = self.readers.read().get(salt).cloned();
        if let Some(key) = cached {
            return f(&key);
        }
        let key = self.derive(arena, salt)?;
        let out = f(&key)?;
        self.remember_reader(salt, key);
        Ok(out)
    }
}

/// A parsed blob's ciphertext body and its tag.
fn body_and_tag<'a>(parsed: &Parsed<'a>) -> Result<(&'a [u8], [u8; TAG_LEN])> {
    let (ct, tag) = parsed.body.split_at(parsed.body.len() - TAG_LEN);
    Ok((ct, tag.try_into().map_err(|_| Error::InvalidCiphertext)?))
}

/// Opens a parsed blob's body, copied into `body`, in place with the sub-key `key`.
fn open_in_place(
    key: &AeadKey,
    parsed: &Parsed<'_>,
    ctx: &[u8],
    aad: &mut Vec<u8>,
    tag: &[u8; TAG_LEN],
    body: &mut [u8],
) -> Result<()> {
    let aad = blob_aad(parsed.header_bytes, ctx, aad);
    key.open_in_place_separate_tag(parsed.header.nonce(), aad, tag, body).map_err(|_| Error::InvalidCiphertext)
}

/// A blob's AAD: its header, then the encoded encryption context `ctx` (built in `scratch`
/// when there is one).
fn blob_aad<'a>(header_bytes: &'a [u8], ctx: &[u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if ctx.is_empty() {
        return header_bytes;
    }
    scratch.clear();
    scratch.extend_from_slice(header_bytes);
    scratch.extend_from_slice(ctx);
    scratch
}

/// Bounds the number of hot versions across all keys.
pub(crate) struct HotVersions {
    cap: usize,
    order: Mutex<VecDeque<(Weak<LiveKey>, u32)>>,
}

impl HotVersions {
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap, order: Mutex::new(VecDeque::new()) }
    }

    /// Records that `live`'s version `number` became hot, evicting others beyond the cap.
    pub(crate) fn admit(&self, live: &Arc<LiveKey>, number: u32) {
        let mut order = self.order.lock();
        order.push_back((Arc::downgrade(live), number));
        let mut second_chances = order.len();
        while order.len() > self.cap {
            let Some((weak, n)) = order.pop_front() else { break };
            let Some(key) = weak.upgrade() else { continue };
            let Some(vk) = key.versions.read().get(&n).cloned() else { continue };
            if second_chances > 0 && vk.used.swap(false, Ordering::Relaxed) {
                second_chances -= 1;
                order.push_back((weak, n));
                continue;
            }
            key.evict(n);
        }
    }

    /// Forgets everything about a key (when it is deleted).
    pub(crate) fn forget(&self, id: &KeyId) {
        self.order.lock().retain(|(weak, _)| weak.upgrade().is_some_and(|k| k.id != *id));
    }
}

impl LiveKey {
    /// Drops a hot version (its secrets are zeroed when the last user lets go).
    pub(crate) fn evict(&self, number: u32) {
        let removed = self.versions.write().remove(&number);
        if let Some(vk) = removed {
            self.clear_current(Some(&vk));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::time::Duration;

    use super::*;
    use crate::secret::ArenaConfig;

    fn arena() -> Arena {
        Arena::new(ArenaConfig::default()).expect("arena")
    }

    fn version(arena: &Arena) -> VersionKeys {
        let ikm = arena.alloc_copy(&[7u8; KEY_LEN]).expect("ikm");
        VersionKeys::new(KeyId::new_random([1; 16]), 1, "m".into(), ikm, MAX_MESSAGES_PER_SALT)
    }

    /// (salt, counter) of the message a fresh reservation would seal first.
    fn next_nonce(vk: &VersionKeys, arena: &Arena) -> Result<([u8; 16], u64)> {
        let res = vk.reserve(arena, 1)?;
        Ok((res.writer().salt, res.first))
    }

    use crate::ciphertext::MAX_MESSAGES_PER_SALT;

    /// A child of `fork()` that reaches the writers (whatever path it takes) draws a salt of
    /// its own: it never continues the parent's counter under the parent's salt.
    #[test]
    fn a_forked_child_never_continues_the_parents_writer() {
        let parent_arena = arena();
        let vk = version(&parent_arena);
        let (salt, first) = next_nonce(&vk, &parent_arena).unwrap();
        assert_eq!(first, 0);
        let (code, out) = fork::test_hook_fork(Duration::from_secs(120), |out| {
            // The parent's arena refuses to work here; a child's own arena does.
            let child_arena = arena();
            match next_nonce(&vk, &child_arena) {
                Ok((salt, counter)) => {
                    let _ = out.write_all(&salt);
                    let _ = out.write_all(&counter.to_le_bytes());
                    0
                }
                Err(_) => 1,
            }
        })
        .unwrap();
        assert_eq!(code, Some(0));
        let child_salt: [u8; 16] = out[..16].try_into().unwrap();
        assert_ne!(child_salt, salt, "the child sealed under the parent's salt");
        // The parent goes on with its own writer, untouched by the child.
        assert_eq!(next_nonce(&vk, &parent_arena).unwrap(), (salt, 1));
    }
}
