//! Batch operations: many data keys, encryptions, decryptions or re-encryptions in one call.
//!
//! A batch resolves and authorizes its key once, then works in chunks: each chunk reserves
//! its message counters with one atomic add, takes its locked slots with one lock, and draws
//! the randomness for all its data keys in one call. Chunks run across the engine's rayon
//! pool ([`Execution::Parallel`]; one pool per process, see `parallel`) or one after another on the calling thread
//! ([`Execution::Serial`]); both give the same results, item for item. One bad item (a
//! plaintext too long, a tampered blob) fails only itself.
//!
//! Plaintexts a batch returns (`generate_data_keys`, `decrypt_batch`) all sit in locked memory
//! until the caller drops them, so one batch can take at most the engine's locked-memory
//! budget ([`KmsBuilder::locked_memory_budget`](super::KmsBuilder::locked_memory_budget),
//! 4 MiB by default). A batch whose plaintexts alone would need more than the budget is refused
//! up front with `LimitExceededException`, saying how much it needs; nothing is sealed. One
//! that fits the budget but not what hot keys and plaintexts not yet dropped leave of it fails
//! the items beyond with `KMSInternalException` (locked memory exhausted). Data keys are packed
//! into shared slots (128 AES-256 keys per 4 KiB); a decrypted plaintext takes a slot of its
//! size rounded up to a power of two, at least 32 bytes. With the default budget that is some
//! 130,000 data keys or 4,000 decryptions of 1 KiB; raise the budget for more.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::crypto_ops::{EncryptingKey, check_plaintext_len, data_key_len, decode_blob};
use super::material::VersionKeys;
use super::types::*;
use super::{Caller, Inner, Kms, LiveKey, Now, rng_failed, secret_error};
use crate::ciphertext::HEADER_LEN;
use crate::clock::Timestamp;
use crate::context;
use crate::crypto;
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::key::EncryptionAlgorithmSpec;
use crate::secret::{Arena, MAX_SECRET_LEN};

/// Items per chunk: large enough to amortize scheduling, small enough to balance two cores.
const CHUNK: usize = super::MIN_MESSAGES_PER_SALT as usize;
/// Most items in one batch.
pub const MAX_BATCH_ITEMS: usize = 1 << 20;

/// Runs `work` over `0..n` in chunks of `chunk`, in parallel or serially, and concatenates
/// the per-chunk outputs in order. Parallel chunks run on the engine's pool
/// ([`crate::parallel`]), which a `fork()`ed child replaces with its own.
fn run_chunks<T: Send>(
    n: usize,
    chunk: usize,
    execution: Execution,
    work: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let chunks = n.div_ceil(chunk);
    let range = |c: usize| c * chunk..((c + 1) * chunk).min(n);
    let parts: Vec<Vec<T>> = match execution {
        Execution::Parallel if chunks > 1 => {
            crate::parallel::install(|| (0..chunks).into_par_iter().map(|c| work(range(c))).collect())
        }
        _ => (0..chunks).map(|c| work(range(c))).collect(),
    };
    let mut out = Vec::with_capacity(n);
    for part in parts {
        out.extend(part);
    }
    out
}

/// A chunk's per-item results, or the one error that failed the whole chunk (a counter
/// reservation, locked memory, the RNG) repeated for each of its `n` items.
fn per_item<T>(n: usize, chunk: Result<Vec<Result<T>>>) -> Vec<Result<T>> {
    chunk.unwrap_or_else(|e| (0..n).map(|_| Err(e.clone())).collect())
}

/// Refuses up front a batch whose plaintexts (`needed` bytes of locked memory, `None` for more
/// than can be counted) cannot fit the engine's locked-memory budget.
fn check_locked_budget(inner: &Inner, needed: Option<usize>, what: &str) -> Result<()> {
    let budget = inner.arena.budget_bytes();
    match needed {
        Some(n) if n <= budget => Ok(()),
        _ => Err(Error::LimitExceeded(format!(
            "{what} would hold {} bytes of plaintext in locked memory at once, more than this engine's \
             locked-memory budget of {budget} bytes: split the batch, or raise the budget \
             (KmsBuilder::locked_memory_budget)",
            needed.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string())
        ))),
    }
}

fn check_batch_len(n: usize) -> Result<()> {
    if n > MAX_BATCH_ITEMS {
        return Err(Error::Validation(format!("A batch may hold at most {MAX_BATCH_ITEMS} items, not {n}")));
    }
    Ok(())
}

/// A key and version that decrypts.
type SourceKey = (Arc<LiveKey>, Arc<VersionKeys>);

/// The source keys of decryptions in one chunk: each (key, version) is resolved, authorized
/// and checked once.
struct SourceKeys<'a> {
    inner: &'a Inner,
    caller: &'a Caller,
    action: &'a str,
    now: Now<'a>,
    seen: HashMap<(KeyId, u32), Result<SourceKey>>,
}

impl<'a> SourceKeys<'a> {
    fn new(inner: &'a Inner, caller: &'a Caller, action: &'a str, now: Timestamp) -> Self {
        let now = Now::fixed(now);
        Self { inner, caller, action, now, seen: HashMap::new() }
    }

    fn get(&mut self, id: KeyId, version: u32) -> Result<SourceKey> {
        let Self { inner, caller, action, ref now, .. } = *self;
        self.seen
            .entry((id, version))
            .or_insert_with(|| {
                inner.with_decrypting_key(caller, action, &id, version, now, |live, vk| Ok((live.clone(), vk.clone())))
            })
            .clone()
    }

    /// Checks and opens one blob.
    fn open(
        &mut self,
        blob: &[u8],
        ctx: &crate::EncryptionContext,
        aad: &mut Vec<u8>,
    ) -> Result<(Arc<LiveKey>, Arc<VersionKeys>, crate::SecretBytes)> {
        let parsed = decode_blob(blob, ctx)?;
        let (live, vk) = self.get(parsed.header.key_id, parsed.header.version)?;
        let plaintext = vk.open(&self.inner.arena, &parsed, &context::encode(ctx), aad)?;
        Ok((live, vk, plaintext))
    }
}

impl Kms {
    /// `count` data keys under one KMS key and context: GenerateDataKey in bulk. Reported to
    /// the audit trail as one GenerateDataKey event.
    pub fn generate_data_keys(
        &self,
        caller: &Caller,
        req: &GenerateDataKeysRequest,
    ) -> Result<GenerateDataKeysResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "GenerateDataKey", |note| {
            let len = data_key_len(req.key_spec, req.number_of_bytes)?;
            check_batch_len(req.count)?;
            let what = format!("A batch of {} data keys of {len} bytes", req.count);
            check_locked_budget(inner, Arena::split_bytes(req.count, len), &what)?;
            context::validate(&req.encryption_context, "encryption context")?;
            note.context(&req.encryption_context);
            let now = inner.clock.now();
            let key = inner.encrypting_key(caller, "GenerateDataKey", &req.key_id, "keyId", note, &Now::fixed(now))?;
            let ctx = context::encode(&req.encryption_context);
            // One locked scratch buffer of randomness per chunk.
            let chunk = CHUNK.min(MAX_SECRET_LEN / len).max(1);
            let data_keys = run_chunks(req.count, chunk, req.execution, |range| {
                per_item(range.len(), data_key_chunk(inner, &key, &ctx, len, range.len()))
            });
            Ok(GenerateDataKeysResponse {
                key_id: key.live.arn.to_string(),
                key_material_id: key.version.material_id.clone(),
                data_keys,
            })
        })
    }

    /// Encrypt in bulk under one key; each item has its own plaintext and context.
    pub fn encrypt_batch(&self, caller: &Caller, req: &EncryptBatchRequest) -> Result<EncryptBatchResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "Encrypt", |note| {
            check_batch_len(req.items.len())?;
            let now = inner.clock.now();
            let key = inner.encrypting_key(caller, "Encrypt", &req.key_id, "keyId", note, &Now::fixed(now))?;
            let ciphertext_blobs = run_chunks(req.items.len(), CHUNK, req.execution, |range| {
                let items = &req.items[range];
                let reserved = key.version.reserve(&inner.arena, items.len() as u64);
                per_item(
                    items.len(),
                    reserved.map(|reservation| {
                        let (mut aad, mut ctx) = (Vec::new(), Vec::new());
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| {
                                check_plaintext_len(item.plaintext.expose_secret())?;
                                context::validate(&item.encryption_context, "encryption context")?;
                                ctx.clear();
                                context::encode_into(&item.encryption_context, &mut ctx);
                                key.version.seal(&reservation, i as u64, &ctx, item.plaintext.expose_secret(), &mut aad)
                            })
                            .collect()
                    }),
                )
            });
            Ok(EncryptBatchResponse {
                key_id: key.live.arn.to_string(),
                key_material_id: key.version.material_id.clone(),
                ciphertext_blobs,
            })
        })
    }

    /// Decrypt in bulk; items may name different keys. Each item gets its own result.
    pub fn decrypt_batch(&self, caller: &Caller, req: &DecryptBatchRequest) -> Result<Vec<Result<DecryptResponse>>> {
        let inner = &*self.inner;
        inner.audited(caller, "Decrypt", |_| {
            check_batch_len(req.items.len())?;
            // Each plaintext is its blob less the header and the tag (a blob too short fails
            // on its own and takes nothing).
            let needed = req.items.iter().try_fold(0usize, |sum, item| {
                let len = item.ciphertext_blob.len().saturating_sub(HEADER_LEN + TAG_LEN);
                if len == 0 { Some(sum) } else { sum.checked_add(Arena::slot_bytes(len).unwrap_or(0)) }
            });
            check_locked_budget(inner, needed, &format!("A batch of {} decryptions", req.items.len()))?;
            let now = inner.clock.now();
            Ok(run_chunks(req.items.len(), CHUNK, req.execution, |range| {
                let mut sources = SourceKeys::new(inner, caller, "Decrypt", now);
                let mut aad = Vec::new();
                req.items[range]
                    .iter()
                    .map(|item| {
                        let (live, vk, plaintext) =
                            sources.open(&item.ciphertext_blob, &item.encryption_context, &mut aad)?;
                        Ok(DecryptResponse {
                            key_id: live.arn.to_string(),
                            plaintext,
                            encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                            key_material_id: vk.material_id.clone(),
                        })
                    })
                    .collect()
            }))
        })
    }

    /// ReEncrypt in bulk to one destination key; sources may differ.
    pub fn re_encrypt_batch(
        &self,
        caller: &Caller,
        req: &ReEncryptBatchRequest,
    ) -> Result<Vec<Result<ReEncryptResponse>>> {
        let inner = &*self.inner;
        inner.audited(caller, "ReEncrypt", |note| {
            check_batch_len(req.items.len())?;
            let now = inner.clock.now();
            let dest = inner.encrypting_key(
                caller,
                "ReEncryptTo",
                &req.destination_key_id,
                "destinationKeyId",
                note,
                &Now::fixed(now),
            )?;
            Ok(run_chunks(req.items.len(), CHUNK, req.execution, |range| {
                let items = &req.items[range];
                let reserved = dest.version.reserve(&inner.arena, items.len() as u64);
                per_item(
                    items.len(),
                    reserved.map(|reservation| {
                        let mut sources = SourceKeys::new(inner, caller, "ReEncryptFrom", now);
                        let (mut aad, mut ctx) = (Vec::new(), Vec::new());
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| {
                                let (source, from, plaintext) =
                                    sources.open(&item.ciphertext_blob, &item.source_encryption_context, &mut aad)?;
                                let dest_ctx = &item.destination_encryption_context;
                                context::validate(dest_ctx, "destination encryption context")?;
                                ctx.clear();
                                context::encode_into(dest_ctx, &mut ctx);
                                let blob = dest.version.seal(
                                    &reservation,
                                    i as u64,
                                    &ctx,
                                    plaintext.expose_secret(),
                                    &mut aad,
                                )?;
                                Ok(ReEncryptResponse {
                                    ciphertext_blob: blob,
                                    source_key_id: source.arn.to_string(),
                                    key_id: dest.live.arn.to_string(),
                                    source_encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                                    destination_encryption_algorithm: EncryptionAlgorithmSpec::SymmetricDefault,
                                    source_key_material_id: from.material_id.clone(),
                                    destination_key_material_id: dest.version.material_id.clone(),
                                })
                            })
                            .collect()
                    }),
                )
            }))
        })
    }
}

/// `m` data keys of `len` bytes: one counter reservation, one slot allocation, one RNG call.
fn data_key_chunk(
    inner: &Inner,
    key: &EncryptingKey,
    ctx: &[u8],
    len: usize,
    m: usize,
) -> Result<Vec<Result<DataKey>>> {
    let reservation = key.version.reserve(&inner.arena, m as u64)?;
    let mut random = inner.arena.alloc(m * len).map_err(secret_error)?;
    crypto::fill_random(random.expose_secret_mut()).map_err(|_| rng_failed())?;
    let slots = inner.arena.alloc_split(m, len).map_err(secret_error)?;
    let mut aad = Vec::new();
    let mut out = Vec::with_capacity(m);
    for (i, (mut plaintext, fresh)) in slots.into_iter().zip(random.expose_secret().chunks_exact(len)).enumerate() {
        plaintext.expose_secret_mut().copy_from_slice(fresh);
        let sealed = key.version.seal(&reservation, i as u64, ctx, plaintext.expose_secret(), &mut aad);
        out.push(sealed.map(|ciphertext_blob| DataKey { plaintext, ciphertext_blob }));
    }
    Ok(out)
}
