//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+WithoutPlaintext),
//! GenerateRandom.

use std::mem::MaybeUninit;
use std::sync::Arc;

use super::material::VersionKeys;
use super::types::*;
use super::{AuditNote, Caller, Inner, Kms, LiveKey, Now, check_grant_tokens, check_usable, rng_failed, secret_error};
use crate::ciphertext::{self, MAX_PLAINTEXT_LEN, Parsed};
use crate::context::{self, EncryptionContext};
use crate::crypto;
use crate::error::{Error, Result};
use crate::id::{IdForms, KeyId};
use crate::key::{DataKeySpec, EncryptionAlgorithmSpec, KeyRecord, KeySpec, KeyUsage};
use crate::secret::{Arena, SecretBytes};

/// Longest `CiphertextBlob` the model accepts.
pub const MAX_CIPHERTEXT_BLOB_LEN: usize = 6144;
/// Most bytes of one GenerateDataKey or GenerateRandom.
pub const MAX_NUMBER_OF_BYTES: u32 = 1024;

/// A key ready to encrypt with: its live entry and its current hot version.
pub(super) struct EncryptingKey {
    pub(super) live: Arc<LiveKey>,
    pub(super) version: Arc<VersionKeys>,
}

impl Inner {
    /// The hot version `number` of a key, unwrapping it on a miss. `None` if the key has no
    /// such version.
    pub(super) fn version_keys(
        &self,
        live: &Arc<LiveKey>,
        rec: &KeyRecord,
        number: u32,
    ) -> Result<Option<Arc<VersionKeys>>> {
        if let Some(vk) = live.snapshot.load().current.as_ref().filter(|vk| vk.number == number) {
            vk.touch();
            return Ok(Some(vk.clone()));
        }
        if let Some(vk) = live.versions.read().get(&number) {
            vk.touch();
            return Ok(Some(vk.clone()));
        }
        let Some(stored) = rec.version(number) else { return Ok(None) };
        let ikm = self.root.read().unwrap(&self.arena, &live.id, number, &stored.wrapped)?;
        let vk = Arc::new(VersionKeys::new(live.id, number, stored.material_id.clone(), ikm, self.messages_per_salt));
        {
            let mut versions = live.versions.write();
            if let Some(existing) = versions.get(&number) {
                return Ok(Some(existing.clone()));
            }
            versions.insert(number, vk.clone());
        }
        self.hot.admit(live, number);
        Ok(Some(vk))
    }

    /// The current version of a key, hot.
    fn current_version(&self, live: &Arc<LiveKey>, rec: &KeyRecord) -> Result<Arc<VersionKeys>> {
        let vk = self
            .version_keys(live, rec, rec.current_version)?
            .ok_or_else(|| Error::Internal(format!("{} has no current key material", live.arn)))?;
        live.set_current(&vk);
        Ok(vk)
    }

    /// Resolves, authorizes and checks a key for encryption, then runs `f` with the key and
    /// its current version, borrowed (the hot path: no shared counter is touched).
    #[allow(clippy::too_many_arguments)] // private; each argument is one fact of the request
    pub(super) fn with_encrypting_key<R>(
        &self,
        caller: &Caller,
        action: &str,
        raw_key_id: &str,
        field: &str,
        algorithm: Option<EncryptionAlgorithmSpec>,
        note: &mut AuditNote,
        now: &Now<'_>,
        f: impl FnOnce(&Arc<LiveKey>, &Arc<VersionKeys>) -> Result<R>,
    ) -> Result<R> {
        let id = self.key_id_of(raw_key_id, IdForms::Any, field, false)?;
        let out = self.with_live_key(&id, now, |live| {
            note.key(live);
            self.with_version(caller, action, live, algorithm, None, |vk| {
                note.version(vk.number);
                f(live, vk)
            })
        })?;
        out.ok_or_else(|| self.key_not_found(&id))
    }

    /// Authorizes `action` on a key, checks that its state and spec allow it, and runs `f`
    /// with version `version` (the current one when `None`), hot. A version the key does not
    /// have is `InvalidCiphertext`.
    fn with_version<R>(
        &self,
        caller: &Caller,
        action: &str,
        live: &Arc<LiveKey>,
        algorithm: Option<EncryptionAlgorithmSpec>,
        version: Option<u32>,
        f: impl FnOnce(&Arc<VersionKeys>) -> Result<R>,
    ) -> Result<R> {
        self.authorize(caller, action, &live.arn)?;
        let snapshot = live.snapshot.load();
        let rec = &snapshot.record;
        check_usable(live, rec)?;
        check_symmetric(live, rec, algorithm)?;
        let number = version.unwrap_or(rec.current_version);
        match &snapshot.current {
            Some(vk) if vk.number == number => {
                vk.touch();
                f(vk)
            }
            _ => {
                let rec = Arc::clone(rec);
                drop(snapshot);
                let vk = match version {
                    None => self.current_version(live, &rec)?,
                    Some(n) => self.version_keys(live, &rec, n)?.ok_or(Error::InvalidCiphertext)?,
                };
                f(&vk)
            }
        }
    }

    /// [`Inner::with_encrypting_key`], keeping the key and version (for batches).
    pub(super) fn encrypting_key(
        &self,
        caller: &Caller,
        action: &str,
        raw_key_id: &str,
        field: &str,
        note: &mut AuditNote,
        now: &Now<'_>,
    ) -> Result<EncryptingKey> {
        self.with_encrypting_key(caller, action, raw_key_id, field, None, note, now, |live, version| {
            Ok(EncryptingKey { live: live.clone(), version: version.clone() })
        })
    }

    /// Finds the key and version a blob names, authorizes `action` on it, checks its state and
    /// runs `f` with both, borrowed. A blob naming a key or version this engine does not have
    /// is `InvalidCiphertext`.
    pub(super) fn with_decrypting_key<R>(
        &self,
        caller: &Caller,
        action: &str,
        key_id: &KeyId,
        version: u32,
        now: &Now<'_>,
        f: impl FnOnce(&Arc<LiveKey>, &Arc<VersionKeys>) -> Result<R>,
    ) -> Result<R> {
        let out = self.with_live_key(key_id, now, |live| {
            self.with_version(caller, action, live, None, Some(version), |vk| f(live, vk))
        })?;
        out.ok_or(Error::InvalidCiphertext)
    }

    /// Checks and decrypts a blob into `out` (and, when the request names one, checks that it
    /// was encrypted under the key the caller expects), then runs `f` with its key, version and
    /// what `out` gives.
    #[allow(clippy::too_many_arguments)] // private; each argument is one fact of the request
    fn with_open_blob<P, R>(
        &self,
        caller: &Caller,
        action: &str,
        sealed: &SealedBlob<'_>,
        note: &mut AuditNote,
        now: &Now<'_>,
        out: impl PlainOut<Done = P>,
        f: impl FnOnce(&Arc<LiveKey>, &Arc<VersionKeys>, P) -> Result<R>,
    ) -> Result<R> {
        let SealedBlob { blob, context: ctx, expected_key, expected_field } = *sealed;
        let parsed = decode_blob(blob, ctx)?;
        note.context(ctx);
        if let Some(raw) = expected_key {
            let expected = self.resolve(raw, IdForms::Any, expected_field, false, now)?;
            if expected.id != parsed.header.key_id {
                return Err(Error::IncorrectKey(
                    "The key ID in the request does not identify a CMK that can perform this operation.".into(),
                ));
            }
        }
        self.with_decrypting_key(caller, action, &parsed.header.key_id, parsed.header.version, now, |live, vk| {
            note.key(live);
            note.version(vk.number);
            let plaintext = out.open(&self.arena, vk, &parsed, &context::encode(ctx))?;
            f(live, vk, plaintext)
        })
    }
}

/// A blob a request asks to open: the blob, its encryption context, and the key the request
/// expects to have encrypted it (if it names one) with the request member that names it.
#[derive(Clone, Copy)]
struct SealedBlob<'a> {
    blob: &'a [u8],
    context: &'a EncryptionContext,
    expected_key: Option<&'a str>,
    expected_field: &'a str,
}

impl<'a> SealedBlob<'a> {
    fn new(
        blob: &'a [u8],
        context: &'a EncryptionContext,
        expected_key: Option<&'a str>,
        expected_field: &'a str,
    ) -> Self {
        Self { blob, context, expected_key, expected_field }
    }
}

/// Checks that a key is a symmetric encryption key and the algorithm (if named) fits it.
pub(super) fn check_symmetric(
    live: &LiveKey,
    rec: &KeyRecord,
    algorithm: Option<EncryptionAlgorithmSpec>,
) -> Result<()> {
    if rec.key_usage != KeyUsage::EncryptDecrypt || rec.key_spec != KeySpec::SymmetricDefault {
        return Err(Error::InvalidKeyUsage(format!(
            "{} key usage is {} and key spec is {}: this operation needs a SYMMETRIC_DEFAULT key with ENCRYPT_DECRYPT usage",
            live.arn, rec.key_usage, rec.key_spec
        )));
    }
    match algorithm {
        None | Some(EncryptionAlgorithmSpec::SymmetricDefault) => Ok(()),
        Some(other) => Err(Error::InvalidKeyUsage(format!(
            "The encryption algorithm {other} is not supported by {} (SYMMETRIC_DEFAULT only)",
            live.arn
        ))),
    }
}

/// Checks a plaintext's length: 1 to [`MAX_PLAINTEXT_LEN`] bytes.
pub(super) fn check_plaintext_len(plaintext: &[u8]) -> Result<()> {
    check_blob_member_len("plaintext", plaintext, MAX_PLAINTEXT_LEN)
}

/// Checks a ciphertext blob's length: 1 to [`MAX_CIPHERTEXT_BLOB_LEN`] bytes.
fn check_blob_len(blob: &[u8]) -> Result<()> {
    check_blob_member_len("ciphertextBlob", blob, MAX_CIPHERTEXT_BLOB_LEN)
}

/// Checks that a blob member holds 1 to `max` bytes, with the model's validation message.
fn check_blob_member_len(member: &str, value: &[u8], max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::validation(member, "", "Member must have length greater than or equal to 1"));
    }
    if value.len() > max {
        return Err(Error::validation(member, "", &format!("Member must have length less than or equal to {max}")));
    }
    Ok(())
}

/// Checks a blob's length and its encryption context, then decodes the blob strictly: the
/// steps every decryption shares before it looks up the key.
pub(super) fn decode_blob<'b>(blob: &'b [u8], ctx: &EncryptionContext) -> Result<ciphertext::Parsed<'b>> {
    check_blob_len(blob)?;
    context::validate(ctx, "encryption context")?;
    ciphertext::parse(blob)
}

/// The data key length of a GenerateDataKey request: `KeySpec` xor `NumberOfBytes`.
pub(super) fn data_key_len(key_spec: Option<DataKeySpec>, number_of_bytes: Option<u32>) -> Result<usize> {
    match (key_spec, number_of_bytes) {
        (Some(spec), None) => Ok(spec.byte_len()),
        (None, Some(n)) => check_number_of_bytes(n),
        _ => Err(Error::Validation("Please specify either number of bytes or key spec.".into())),
    }
}

fn check_number_of_bytes(n: u32) -> Result<usize> {
    if n == 0 || n > MAX_NUMBER_OF_BYTES {
        return Err(Error::validation(
            "numberOfBytes",
            &format!("'{n}'"),
            if n == 0 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 1024"
            },
        ));
    }
    Ok(n as usize)
}

/// The length of the ciphertext blob Encrypt makes of `plaintext_len` bytes: a fixed header
/// and tag around the plaintext (saturating at `usize::MAX`).
pub const fn ciphertext_len(plaintext_len: usize) -> usize {
    plaintext_len.saturating_add(ciphertext::OVERHEAD)
}

/// The most plaintext a ciphertext blob of `blob_len` bytes can hold (its length less the
/// fixed header and tag; 0 for a shorter blob), for sizing [`Kms::decrypt_into`]'s buffer.
pub const fn plaintext_len_max(blob_len: usize) -> usize {
    blob_len.saturating_sub(ciphertext::OVERHEAD)
}

/// Seals one message under the calling thread's writer of `version`.
fn seal_one(inner: &Inner, version: &VersionKeys, ctx: &EncryptionContext, plaintext: &[u8]) -> Result<Vec<u8>> {
    let reservation = version.reserve(&inner.arena, 1)?;
    let mut aad = Vec::new();
    version.seal(&reservation, 0, &context::encode(ctx), plaintext, &mut aad)
}

/// [`seal_one`] into `out`, exactly [`ciphertext_len`]`(plaintext.len())` bytes.
fn seal_one_into(
    inner: &Inner,
    version: &VersionKeys,
    ctx: &EncryptionContext,
    plaintext: &[u8],
    out: &mut [MaybeUninit<u8>],
) -> Result<()> {
    let reservation = version.reserve(&inner.arena, 1)?;
    let mut aad = Vec::new();
    version.seal_into(&reservation, 0, &context::encode(ctx), plaintext, &mut aad, out)
}

/// An Encrypt request, borrowed: what every Encrypt entry point hands to
/// [`Kms::encrypt_input`], which validates it, finds the key, seals and audits.
struct EncryptInput<'a> {
    key_id: &'a str,
    plaintext: &'a [u8],
    encryption_context: &'a EncryptionContext,
    grant_tokens: &'a [String],
    encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    dry_run: bool,
}

impl<'a> EncryptInput<'a> {
    /// A whole [`EncryptRequest`].
    fn of(req: &'a EncryptRequest) -> Self {
        Self {
            key_id: &req.key_id,
            plaintext: req.plaintext.expose_secret(),
            encryption_context: &req.encryption_context,
            grant_tokens: &req.grant_tokens,
            encryption_algorithm: req.encryption_algorithm,
            dry_run: req.dry_run == Some(true),
        }
    }

    /// The borrowed entry points' request: no grant tokens, no algorithm, no dry run.
    fn borrowed(key_id: &'a str, plaintext: &'a [u8], encryption_context: &'a EncryptionContext) -> Self {
        Self { key_id, plaintext, encryption_context, grant_tokens: &[], encryption_algorithm: None, dry_run: false }
    }

    /// Encrypt's checks of the request before its key is resolved; records the context in
    /// the audit note.
    fn check(&self, note: &mut AuditNote) -> Result<()> {
        check_plaintext_len(self.plaintext)?;
        check_grant_tokens(self.grant_tokens)?;
        context::validate(self.encryption_context, "encryption context")?;
        note.context(self.encryption_context);
        Ok(())
    }
}

/// Where Encrypt puts the blob it seals, and what it returns.
trait BlobOut {
    type Done;

    /// Checks, before the key is looked up, that the blob of an `input` fits.
    fn check(&self, input: &EncryptInput<'_>) -> Result<()>;

    /// Seals `input`'s plaintext under `version` of `live`.
    fn seal(self, inner: &Inner, live: &LiveKey, version: &VersionKeys, input: &EncryptInput<'_>)
    -> Result<Self::Done>;
}

/// A new blob, returned in an [`EncryptResponse`].
struct NewBlob;

impl BlobOut for NewBlob {
    type Done = EncryptResponse;

    fn check(&self, _: &EncryptInput<'_>) -> Result<()> {
        Ok(())
    }

    fn seal(
        self,
        inner: &Inner,
        live: &LiveKey,
        version: &VersionKeys,
        input: &EncryptInput<'_>,
    ) -> Result<Self::Done> {
        Ok(EncryptResponse {
            ciphertext_blob: seal_one(inner, version, input.encryption_context, input.plaintext)?,
            key_id: live.arn.to_string(),
            encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
        })
    }
}

/// The blob written into the caller's buffer; returns its length.
struct IntoBuffer<'o>(&'o mut [MaybeUninit<u8>]);

impl BlobOut for IntoBuffer<'_> {
    type Done = usize;

    fn check(&self, input: &EncryptInput<'_>) -> Result<()> {
        let len = ciphertext_len(input.plaintext.len());
        if self.0.len() < len {
            return Err(Error::Validation(format!(
                "The output buffer holds {} bytes; the ciphertext of {} bytes of plaintext needs {len}",
                self.0.len(),
                input.plaintext.len()
            )));
        }
        Ok(())
    }

    fn seal(self, inner: &Inner, _: &LiveKey, version: &VersionKeys, input: &EncryptInput<'_>) -> Result<usize> {
        let len = ciphertext_len(input.plaintext.len());
        seal_one_into(inner, version, input.encryption_context, input.plaintext, &mut self.0[..len])?;
        Ok(len)
    }
}

/// Where Decrypt puts the plaintext it opens, and what it gives back.
pub(super) trait PlainOut {
    type Done;

    /// Opens a parsed blob of `version` with its encoded encryption context `ctx`.
    fn open(self, arena: &Arena, version: &VersionKeys, parsed: &Parsed<'_>, ctx: &[u8]) -> Result<Self::Done>;
}

/// The plaintext in locked memory.
pub(super) struct Locked;

impl PlainOut for Locked {
    type Done = SecretBytes;

    fn open(self, arena: &Arena, version: &VersionKeys, parsed: &Parsed<'_>, ctx: &[u8]) -> Result<SecretBytes> {
        version.open(arena, parsed, ctx, &mut Vec::new())
    }
}

/// The plaintext written into the caller's buffer (checked to fit first); gives its length.
struct PlainInto<'o>(&'o mut [MaybeUninit<u8>]);

impl PlainOut for PlainInto<'_> {
    type Done = usize;

    fn open(self, arena: &Arena, version: &VersionKeys, parsed: &Parsed<'_>, ctx: &[u8]) -> Result<usize> {
        version.open_into(arena, parsed, ctx, &mut Vec::new(), self.0)
    }
}

fn dry_run_error() -> Error {
    Error::DryRunOperation("The request would have succeeded, but the DryRun option is set.".into())
}

impl Kms {
    /// Encrypt: up to 4096 bytes under a symmetric key, with the encryption context bound as
    /// AAD. The blob names the key and version, so Decrypt needs no key id.
    pub fn encrypt(&self, caller: &Caller, req: &EncryptRequest) -> Result<EncryptResponse> {
        self.encrypt_input(caller, &EncryptInput::of(req), NewBlob)
    }

    /// [`Kms::encrypt`] with borrowed inputs and no options, for adapters whose plaintext sits
    /// in the caller's memory (the C ABI): it is sealed from there, never copied into a heap
    /// buffer that would then need wiping.
    pub fn encrypt_borrowed(
        &self,
        caller: &Caller,
        key_id: &str,
        plaintext: &[u8],
        encryption_context: &EncryptionContext,
    ) -> Result<EncryptResponse> {
        self.encrypt_input(caller, &EncryptInput::borrowed(key_id, plaintext, encryption_context), NewBlob)
    }

    /// [`Kms::encrypt_borrowed`] writing the blob into `out`, for adapters that hand the
    /// ciphertext to memory they own (the C ABI's `trent_kms_encrypt_into`): no allocation for
    /// the blob or the response. `out` may be uninitialised; it must hold at least
    /// [`ciphertext_len`]`(plaintext.len())` bytes (else `ValidationException`, nothing
    /// written). Returns the blob's length, the first bytes of `out`.
    pub fn encrypt_into(
        &self,
        caller: &Caller,
        key_id: &str,
        plaintext: &[u8],
        encryption_context: &EncryptionContext,
        out: &mut [MaybeUninit<u8>],
    ) -> Result<usize> {
        self.encrypt_input(caller, &EncryptInput::borrowed(key_id, plaintext, encryption_context), IntoBuffer(out))
    }

    /// TEST ONLY (feature `test-hooks`): [`Kms::encrypt_into`] into initialised memory, so a
    /// test can read the blob it wrote without `unsafe`.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn test_hook_encrypt_into(
        &self,
        caller: &Caller,
        key_id: &str,
        plaintext: &[u8],
        encryption_context: &EncryptionContext,
        out: &mut [u8],
    ) -> Result<usize> {
        let out = crate::secret::as_uninit_for_encrypt_into(out);
        self.encrypt_into(caller, key_id, plaintext, encryption_context, out)
    }

    /// Encrypt, whatever the entry point: checks the request and the output, finds the key
    /// and its current version, seals into `out` and audits.
    fn encrypt_input<O: BlobOut>(&self, caller: &Caller, input: &EncryptInput<'_>, out: O) -> Result<O::Done> {
        let inner = &*self.inner;
        inner.audited(caller, "Encrypt", |note| {
            input.check(note)?;
            out.check(input)?;
            let now = Now::lazy(&*inner.clock);
            let (key_id, field, alg) = (input.key_id, "keyId", input.encryption_algorithm);
            inner.with_encrypting_key(caller, "Encrypt", key_id, field, alg, note, &now, |live, version| {
                if input.dry_run {
                    return Err(dry_run_error());
                }
                out.seal(inner, live, version, input)
            })
        })
    }

    /// The key material id (`KeyMaterialId` of the Decrypt, ReEncrypt and GenerateDataKey
    /// responses) of the key version a ciphertext blob names, read from the blob's header and
    /// the key's record, without decrypting the blob, unwrapping key material or authorizing a
    /// caller (it is for bindings that just ran the operation that made or opened the blob, and
    /// complete its response). Not audited. A blob that is not Trent's, or names a version its
    /// key does not have, is `InvalidCiphertextException`; a key that no longer exists is
    /// `NotFoundException`.
    pub fn ciphertext_key_material_id(&self, blob: &[u8]) -> Result<String> {
        let inner = &*self.inner;
        let header = ciphertext::parse(blob)?.header;
        let live = inner
            .cached_or_loaded(&header.key_id)?
            .ok_or_else(|| Error::NotFound(format!("Key '{}' does not exist", inner.arn_of(&header.key_id))))?;
        let rec = live.record();
        match rec.version(header.version) {
            Some(version) => Ok(version.material_id.clone()),
            None => Err(Error::InvalidCiphertext),
        }
    }

    /// Decrypt: the key comes from the blob; `key_id`, when given, must name the same key
    /// (else `IncorrectKeyException`). The plaintext comes back in locked memory.
    pub fn decrypt(&self, caller: &Caller, req: &DecryptRequest) -> Result<DecryptResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "Decrypt", |note| {
            check_grant_tokens(&req.grant_tokens)?;
            let now = Now::lazy(&*inner.clock);
            let sealed = SealedBlob::new(&req.ciphertext_blob, &req.encryption_context, req.key_id.as_deref(), "keyId");
            inner.with_open_blob(caller, "Decrypt", &sealed, note, &now, Locked, |live, vk, plaintext| {
                if let Some(alg) = req.encryption_algorithm {
                    check_symmetric(live, &live.record(), Some(alg))?;
                }
                if req.dry_run == Some(true) {
                    return Err(dry_run_error());
                }
                Ok(DecryptResponse {
                    key_id: live.arn.to_string(),
                    plaintext,
                    encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                    key_material_id: vk.material_id.clone(),
                })
            })
        })
    }

    /// Decrypt with borrowed inputs and no options, writing the plaintext into `out`, for
    /// adapters that hand it to memory they own (the C ABI's `trent_kms_decrypt_into`): the
    /// blob is opened straight into `out`, with no locked copy and no response. `out` may be
    /// uninitialised; it must hold at least [`plaintext_len_max`]`(blob.len())` bytes (else
    /// `ValidationException`, nothing written). Returns the plaintext's length, the first bytes
    /// of `out`, which the caller owns and should wipe; when the blob fails to open, nothing
    /// of it is left in `out`. Same checks, errors and audit event as [`Kms::decrypt`].
    pub fn decrypt_into(
        &self,
        caller: &Caller,
        blob: &[u8],
        encryption_context: &EncryptionContext,
        key_id: Option<&str>,
        out: &mut [MaybeUninit<u8>],
    ) -> Result<usize> {
        let inner = &*self.inner;
        inner.audited(caller, "Decrypt", |note| {
            let need = plaintext_len_max(blob.len());
            if out.len() < need {
                return Err(Error::Validation(format!(
                    "The output buffer holds {} bytes; the plaintext of a {}-byte ciphertext blob needs {need}",
                    out.len(),
                    blob.len()
                )));
            }
            let now = Now::lazy(&*inner.clock);
            let sealed = SealedBlob::new(blob, encryption_context, key_id, "keyId");
            inner.with_open_blob(caller, "Decrypt", &sealed, note, &now, PlainInto(out), |_, _, len| Ok(len))
        })
    }

    /// ReEncrypt: decrypts under the source key and context and encrypts under the
    /// destination key and context; the plaintext stays in locked memory inside the engine.
    pub fn re_encrypt(&self, caller: &Caller, req: &ReEncryptRequest) -> Result<ReEncryptResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ReEncrypt", |note| {
            check_grant_tokens(&req.grant_tokens)?;
            context::validate(&req.destination_encryption_context, "destination encryption context")?;
            let now = Now::lazy(&*inner.clock);
            let (blob, ctx) = (&req.ciphertext_blob, &req.source_encryption_context);
            let sealed = SealedBlob::new(blob, ctx, req.source_key_id.as_deref(), "sourceKeyId");
            inner.with_open_blob(caller, "ReEncryptFrom", &sealed, note, &now, Locked, |source, from, plaintext| {
                if let Some(alg) = req.source_encryption_algorithm {
                    check_symmetric(source, &source.record(), Some(alg))?;
                }
                let (dest_id, alg) = (&req.destination_key_id, req.destination_encryption_algorithm);
                let mut dest_note = AuditNote::default();
                inner.with_encrypting_key(
                    caller,
                    "ReEncryptTo",
                    dest_id,
                    "destinationKeyId",
                    alg,
                    &mut dest_note,
                    &now,
                    |dest, to| {
                        if req.dry_run == Some(true) {
                            return Err(dry_run_error());
                        }
                        Ok(ReEncryptResponse {
                            ciphertext_blob: seal_one(
                                inner,
                                to,
                                &req.destination_encryption_context,
                                plaintext.expose_secret(),
                            )?,
                            source_key_id: source.arn.to_string(),
                            key_id: dest.arn.to_string(),
                            source_encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                            destination_encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                            source_key_material_id: from.material_id.clone(),
                            destination_key_material_id: to.material_id.clone(),
                        })
                    },
                )
            })
        })
    }

    /// GenerateDataKey: a fresh data key, returned in plaintext (locked memory) and wrapped
    /// under the KMS key. The engine keeps no copy.
    pub fn generate_data_key(&self, caller: &Caller, req: &GenerateDataKeyRequest) -> Result<GenerateDataKeyResponse> {
        self.inner.audited(caller, "GenerateDataKey", |note| {
            self.data_key(caller, "GenerateDataKey", req, note, |live, version, plaintext, ciphertext_blob| {
                Ok(GenerateDataKeyResponse {
                    ciphertext_blob,
                    plaintext,
                    key_id: live.arn.to_string(),
                    key_material_id: version.material_id.clone(),
                })
            })
        })
    }

    /// GenerateDataKeyWithoutPlaintext: as GenerateDataKey, but only the wrapped key comes
    /// back (the plaintext is zeroed before this returns).
    pub fn generate_data_key_without_plaintext(
        &self,
        caller: &Caller,
        req: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse> {
        self.inner.audited(caller, "GenerateDataKeyWithoutPlaintext", |note| {
            self.data_key(caller, "GenerateDataKeyWithoutPlaintext", req, note, |live, version, _plaintext, blob| {
                Ok(GenerateDataKeyWithoutPlaintextResponse {
                    ciphertext_blob: blob,
                    key_id: live.arn.to_string(),
                    key_material_id: version.material_id.clone(),
                })
            })
        })
    }

    fn data_key<R>(
        &self,
        caller: &Caller,
        action: &str,
        req: &GenerateDataKeyRequest,
        note: &mut AuditNote,
        f: impl FnOnce(&Arc<LiveKey>, &Arc<VersionKeys>, SecretBytes, Vec<u8>) -> Result<R>,
    ) -> Result<R> {
        let inner = &*self.inner;
        let len = data_key_len(req.key_spec, req.number_of_bytes)?;
        check_grant_tokens(&req.grant_tokens)?;
        context::validate(&req.encryption_context, "encryption context")?;
        note.context(&req.encryption_context);
        let now = Now::lazy(&*inner.clock);
        inner.with_encrypting_key(caller, action, &req.key_id, "keyId", None, note, &now, |live, version| {
            if req.dry_run == Some(true) {
                return Err(dry_run_error());
            }
            let mut plaintext = inner.arena.alloc(len).map_err(secret_error)?;
            crypto::fill_random(plaintext.expose_secret_mut()).map_err(|_| rng_failed())?;
            let blob = seal_one(inner, version, &req.encryption_context, plaintext.expose_secret())?;
            f(live, version, plaintext, blob)
        })
    }

    /// GenerateRandom: 1–1024 random bytes from the provider's CSPRNG, in locked memory.
    pub fn generate_random(&self, caller: &Caller, req: &GenerateRandomRequest) -> Result<GenerateRandomResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "GenerateRandom", |_| {
            let Some(n) = req.number_of_bytes else {
                return Err(Error::Validation("NumberOfBytes is required.".into()));
            };
            let n = check_number_of_bytes(n)?;
            if req.custom_key_store_id.is_some() {
                return Err(Error::UnsupportedOperation("Custom key stores are not supported".into()));
            }
            inner.authorize(caller, "GenerateRandom", "*")?;
            let mut plaintext = inner.arena.alloc(n).map_err(secret_error)?;
            crypto::fill_random(plaintext.expose_secret_mut()).map_err(|_| rng_failed())?;
            Ok(GenerateRandomResponse { plaintext })
        })
    }
}
