//! The opaque handles: the engine, the caller, the engine builder, and the buffers the
//! library returns.

use std::ffi::c_char;

use trent::secret::SecretVec;
use trent::{Caller, Kms, KmsBuilder, RootKeySource, SecretBytes};

use crate::boundary::{
    Castable, Out, OutValue, OwnershipArc, OwnershipBox, arg_bytes, arg_mut, arg_opt_str, arg_ref, arg_str,
    ffi_boundary, ffi_boundary_infallible, free_arc, free_box, to_arc_mut_ptr, to_boxed_mut_ptr,
};
use crate::error::{Failure, trent_error, trent_result};

/// An engine. Shared: every function taking a `const trent_kms *` may run concurrently with
/// any other on the same handle from any number of threads. Made by `trent_kms_open_*` or
/// `trent_kms_builder_open`, released by `trent_kms_free` once no call uses it.
#[allow(non_camel_case_types)]
pub struct trent_kms {
    _private: [u8; 0],
}

impl Castable for trent_kms {
    type Ownership = OwnershipArc;
    type RustType = Kms;
}

/// The principal operations run as. Immutable once made: it may be used by any number of
/// threads at once. Freed with `trent_caller_free`.
#[allow(non_camel_case_types)]
pub struct trent_caller {
    _private: [u8; 0],
}

impl Castable for trent_caller {
    type Ownership = OwnershipBox;
    type RustType = Caller;
}

/// Engine options, set one by one before `trent_kms_builder_open`. Not thread-safe: use a
/// builder from one thread at a time. Freed with `trent_kms_builder_free`.
#[allow(non_camel_case_types)]
pub struct trent_kms_builder {
    _private: [u8; 0],
}

impl Castable for trent_kms_builder {
    type Ownership = OwnershipBox;
    type RustType = KmsBuilder;
}

/// A byte string the library returns: a ciphertext blob, or text (a key id, a JSON response,
/// an envelope's plaintext). Text buffers are followed by one NUL byte not counted in their
/// length, so they can be read as C strings. Freed by `trent_buffer_free`, which first wipes
/// text buffers (JSON responses and envelope plaintexts hold plaintext). Immutable: readable
/// from any thread.
#[allow(non_camel_case_types)]
pub struct trent_buffer {
    _private: [u8; 0],
}

/// The Rust side of a `trent_buffer`.
#[derive(Debug)]
pub enum Buffer {
    /// A ciphertext blob.
    Blob(Vec<u8>),
    /// Text followed by a NUL that is not part of it; wiped when freed.
    Text(SecretVec),
}

impl Buffer {
    fn data(&self) -> &[u8] {
        match self {
            Self::Blob(bytes) => bytes,
            Self::Text(text) => text.expose_secret().split_last().map_or(&[], |(_nul, text)| text),
        }
    }
}

impl Castable for trent_buffer {
    type Ownership = OwnershipBox;
    type RustType = Buffer;
}

/// Secret bytes the library returns (a plaintext data key, Decrypt's plaintext, random
/// bytes), held in the engine's locked memory and zeroed by `trent_secret_free`. Immutable:
/// readable from any thread.
#[allow(non_camel_case_types)]
pub struct trent_secret {
    _private: [u8; 0],
}

impl Castable for trent_secret {
    type Ownership = OwnershipBox;
    type RustType = SecretBytes;
}

/// Hands binary data that is not secret (a ciphertext blob) to C as a new `trent_buffer`.
pub(crate) fn new_blob_buffer(bytes: Vec<u8>) -> *mut trent_buffer {
    to_boxed_mut_ptr::<trent_buffer>(Buffer::Blob(bytes))
}

/// Hands text to C as a new NUL-terminated `trent_buffer`, wiped when freed: it may hold
/// plaintext. (Adding the NUL may move the text; `SecretVec` wipes the allocation it leaves.)
pub(crate) fn new_text_buffer(text: impl Into<SecretVec>) -> *mut trent_buffer {
    let mut text = text.into();
    text.reserve_exact(1);
    text.push(0);
    to_boxed_mut_ptr::<trent_buffer>(Buffer::Text(text))
}

/// Hands secret bytes to C as a new `trent_secret`.
pub(crate) fn new_secret(secret: SecretBytes) -> *mut trent_secret {
    to_boxed_mut_ptr::<trent_secret>(secret)
}

// ---------------------------------------------------------------------------------------------
// Buffers

/// The bytes of a buffer (for text buffers, followed by a NUL not counted in
/// `trent_buffer_len`), valid until `trent_buffer_free`; NULL if `buf` is NULL.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_data(buf: *const trent_buffer) -> *const u8 {
    ffi_boundary_infallible!(std::ptr::null(), { arg_ref(buf, "buf").map_or(std::ptr::null(), |b| b.data().as_ptr()) })
}

/// The length of a buffer in bytes (not counting the trailing NUL); 0 if `buf` is NULL.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_len(buf: *const trent_buffer) -> usize {
    ffi_boundary_infallible!(0, { arg_ref(buf, "buf").map_or(0, |b| b.data().len()) })
}

/// Frees a buffer, wiping text buffers first (JSON responses and envelope plaintexts may hold
/// plaintext); NULL is accepted.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_free(buf: *mut trent_buffer) {
    ffi_boundary_infallible!((), { free_box(buf) })
}

/// The bytes of a secret, valid until `trent_secret_free`; NULL if `secret` is NULL. Do not
/// copy them into memory you do not wipe.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_data(secret: *const trent_secret) -> *const u8 {
    ffi_boundary_infallible!(std::ptr::null(), {
        arg_ref(secret, "secret").map_or(std::ptr::null(), |s| s.expose_secret().as_ptr())
    })
}

/// The length of a secret in bytes; 0 if `secret` is NULL.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_len(secret: *const trent_secret) -> usize {
    ffi_boundary_infallible!(0, { arg_ref(secret, "secret").map_or(0, |s| s.len()) })
}

/// Zeroes and frees a secret; NULL is accepted.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_free(secret: *mut trent_secret) {
    ffi_boundary_infallible!((), { free_box(secret) })
}

// ---------------------------------------------------------------------------------------------
// The engine

/// The library's version, `"MAJOR.MINOR.PATCH"` (the same as `TRENT_VERSION`). Static.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_version() -> *const c_char {
    const VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Opens an engine with every default: an in-memory keystore (lost when the engine is freed)
/// with a random root key, Region `us-east-1`, account `111122223333`, memory that must be
/// lockable. On success `*kms_out` receives the engine.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_open_in_memory(kms_out: *mut *mut trent_kms, err: *mut *mut trent_error) -> trent_result {
    ffi_boundary!(err, {
        let out = Out::new(kms_out, "kms_out")?;
        let kms = Kms::open_in_memory()?;
        out.write(to_arc_mut_ptr::<trent_kms>(kms));
        Ok(())
    })
}

/// Opens the embedded default engine on the data directory `dir` (UTF-8, `dir_len` bytes, no
/// NUL needed): a SQLite keystore and a root key file, both created at the first open. On
/// success `*kms_out` receives the engine.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_open_dir(
    dir: *const c_char,
    dir_len: usize,
    kms_out: *mut *mut trent_kms,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let dir = arg_str(dir, dir_len, "dir")?;
        let out = Out::new(kms_out, "kms_out")?;
        if dir.is_empty() {
            return Err(Failure::invalid_argument("dir is empty"));
        }
        let kms = Kms::open(dir)?;
        out.write(to_arc_mut_ptr::<trent_kms>(kms));
        Ok(())
    })
}

/// Releases an engine; NULL is accepted. Call it once, after every call using `kms` has
/// returned; the engine closes when the last `trent_kms` sharing it is freed.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_free(kms: *mut trent_kms) {
    ffi_boundary_infallible!((), { free_arc(kms) })
}

/// Whether the engine's key material is really in locked memory (false only when
/// `trent_kms_builder_allow_unlocked_memory` was set and locking failed); false if `kms` is
/// NULL.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_memory_is_locked(kms: *const trent_kms) -> bool {
    ffi_boundary_infallible!(false, { arg_ref(kms, "kms").is_ok_and(Kms::memory_is_locked) })
}

/// Runs an engine maintenance call that needs only the engine.
fn maintenance(kms: *const trent_kms, f: impl FnOnce(&Kms) -> Result<(), Failure>) -> Result<(), Failure> {
    f(arg_ref(kms, "kms")?)
}

/// Carries out what the clock has made due now (deletes keys whose waiting period has passed,
/// rotates keys whose rotation date has come). Never needed for correctness: operations do it
/// for the keys they touch.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_run_maintenance(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    ffi_boundary!(err, { maintenance(kms, |k| Ok(k.run_maintenance()?)) })
}

/// Applies the changes other engines made to a shared keystore now, instead of at the next
/// poll.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_refresh_now(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    ffi_boundary!(err, { maintenance(kms, |k| Ok(k.refresh_now()?)) })
}

/// Checks the keystore's integrity; `TRENT_RESULT_KMS_INTERNAL_EXCEPTION` with the finding
/// otherwise.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_check_store_integrity(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    ffi_boundary!(err, { maintenance(kms, |k| Ok(k.check_store_integrity()?)) })
}

/// Waits until the audit sink has stored every event of the operations that returned before
/// this call; `TRENT_RESULT_KMS_INTERNAL_EXCEPTION` if writing the audit trail failed.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_flush_audit(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    ffi_boundary!(err, {
        maintenance(kms, |k| {
            k.flush_audit().map_err(|e| Failure::new(trent_result::KmsInternalException, format!("audit: {e}")))
        })
    })
}

/// Where a new root key comes from, for `trent_kms_rotate_root_key` (passed as a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum trent_root_key_kind {
    /// The value is the key itself: 32 bytes.
    Bytes = 0,
    /// The value is the path of a key file (32 bytes, mode 0600; created if missing).
    File = 1,
    /// The value is a UTF-8 passphrase (PBKDF2-HMAC-SHA256, 600,000 iterations).
    Passphrase = 2,
    /// The value is the name of an environment variable holding 64 hex digits or 44
    /// characters of base64.
    Env = 3,
}

/// Rotates the root key that wraps all key material in the keystore: every version is
/// unwrapped with the current root key and wrapped with the new one (`kind`, one of
/// `trent_root_key_kind`, and its value), in one store transaction. On success
/// `*rewrapped_out`, if not NULL, receives the number of versions rewrapped. Other engines
/// sharing the keystore must be reopened with the new root key.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_rotate_root_key(
    kms: *const trent_kms,
    kind: u32,
    value: *const u8,
    value_len: usize,
    rewrapped_out: *mut u64,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let kms = arg_ref(kms, "kms")?;
        let bytes = arg_bytes(value, value_len, "value")?;
        let text = || arg_str(value.cast(), value_len, "value").map(str::to_owned);
        let source = match kind {
            k if k == trent_root_key_kind::Bytes as u32 => {
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| Failure::invalid_argument(format!("a root key is 32 bytes, not {value_len}")))?;
                RootKeySource::bytes(key)
            }
            k if k == trent_root_key_kind::File as u32 => RootKeySource::file(text()?),
            k if k == trent_root_key_kind::Passphrase as u32 => RootKeySource::passphrase(text()?),
            k if k == trent_root_key_kind::Env as u32 => RootKeySource::env(text()?),
            other => return Err(Failure::invalid_argument(format!("unknown root key kind {other}"))),
        };
        let count = kms.rotate_root_key(source)?;
        if !rewrapped_out.is_null() {
            OutValue::new(rewrapped_out, "rewrapped_out")?.write(count);
        }
        Ok(())
    })
}

/// The keystore backend's name (`"memory"`, `"sqlite"`, `"postgres"`), static; `""` if `kms`
/// is NULL.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_store_backend(kms: *const trent_kms) -> *const c_char {
    ffi_boundary_infallible!(c"".as_ptr(), {
        let name = arg_ref(kms, "kms").map_or("", Kms::store_backend);
        match name {
            "" => c"".as_ptr(),
            "memory" => c"memory".as_ptr(),
            "sqlite" => c"sqlite".as_ptr(),
            "postgres" => c"postgres".as_ptr(),
            _ => c"other".as_ptr(),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The builder

/// A new engine builder with every default (see `trent_kms_open_in_memory`). On success
/// `*builder_out` receives it.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_new(builder_out: *mut *mut trent_kms_builder) -> trent_result {
    ffi_boundary!(std::ptr::null_mut(), {
        let out = Out::new(builder_out, "builder_out")?;
        out.write(to_boxed_mut_ptr::<trent_kms_builder>(Kms::builder()));
        Ok(())
    })
}

/// Frees a builder (and any root key it holds); NULL is accepted.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_free(builder: *mut trent_kms_builder) {
    ffi_boundary_infallible!((), { free_box(builder) })
}

/// Applies `f` to the builder behind `builder`.
fn update(builder: *mut trent_kms_builder, f: impl FnOnce(KmsBuilder) -> KmsBuilder) -> Result<(), Failure> {
    let b = arg_mut(builder, "builder")?;
    *b = f(std::mem::take(b));
    Ok(())
}

/// Keystore: the data directory `dir` (SQLite keystore and root key file, created at the
/// first open), as `trent_kms_open_dir` does.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_data_dir(
    builder: *mut trent_kms_builder,
    dir: *const c_char,
    dir_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let dir = arg_str(dir, dir_len, "dir")?.to_owned();
        update(builder, |b| b.data_dir(dir))
    })
}

/// Keystore: the SQLite database file `path` (created if missing). Needs a root key source.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_sqlite(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let path = arg_str(path, path_len, "path")?.to_owned();
        update(builder, |b| b.sqlite(path))
    })
}

/// Keystore: the PostgreSQL database at `url` (`postgresql://user:password@host/db`), with the
/// tables in `schema` (created if missing) or, when `schema` is NULL, in the default schema.
/// Needs a root key source. TLS as the URL's `sslmode` and `sslrootcert` say (libpq's
/// parameters): a host that is not loopback gets `verify-full` by default, and `prefer` or
/// `allow` to it fail the open with `TRENT_RESULT_OPEN_CONFIG` (see the README's keystore
/// section).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_postgres(
    builder: *mut trent_kms_builder,
    url: *const c_char,
    url_len: usize,
    schema: *const c_char,
    schema_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let url = arg_str(url, url_len, "url")?.to_owned();
        let schema = arg_opt_str(schema, schema_len, "schema")?.map(str::to_owned);
        update(builder, |b| match schema {
            Some(schema) => b.postgres_in_schema(url, schema),
            None => b.postgres(url),
        })
    })
}

/// The engine's Region (default `us-east-1`); checked when the engine opens.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_region(
    builder: *mut trent_kms_builder,
    region: *const c_char,
    region_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let region = arg_str(region, region_len, "region")?.to_owned();
        update(builder, |b| b.region(region))
    })
}

/// The engine's account id (default `111122223333`); checked when the engine opens.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_account(
    builder: *mut trent_kms_builder,
    account: *const c_char,
    account_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let account = arg_str(account, account_len, "account")?.to_owned();
        update(builder, |b| b.account(account))
    })
}

/// Root key: these `key_len` bytes, which must be 32 (`TRENT_RESULT_INVALID_ARGUMENT`
/// otherwise). The library keeps its own copy; wipe yours.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key(
    builder: *mut trent_kms_builder,
    key: *const u8,
    key_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let key = arg_bytes(key, key_len, "key")?;
        let key: [u8; 32] =
            key.try_into().map_err(|_| Failure::invalid_argument(format!("key must be 32 bytes, not {key_len}")))?;
        update(builder, |b| b.root_key(key))
    })
}

/// Root key: the key file at `path` (32 bytes, mode 0600; created at the first open of a new
/// keystore).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let path = arg_str(path, path_len, "path")?.to_owned();
        update(builder, |b| b.root_key_source(RootKeySource::file(path)))
    })
}

/// Root key: derived from the UTF-8 `passphrase` (PBKDF2-HMAC-SHA256, 600,000 iterations).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_passphrase(
    builder: *mut trent_kms_builder,
    passphrase: *const c_char,
    passphrase_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let passphrase = arg_str(passphrase, passphrase_len, "passphrase")?.to_owned();
        update(builder, |b| b.root_key_source(RootKeySource::passphrase(passphrase)))
    })
}

/// Root key: the environment variable `name` (64 hex digits or 44 characters of base64), read
/// when the engine opens and then removed from the process's environment (`unsetenv`; on Linux
/// its value is also overwritten in the initial environment block), so a second engine opened
/// from the same variable fails. Open while no other thread calls `getenv` or `setenv`, or use
/// another source.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_env(
    builder: *mut trent_kms_builder,
    name: *const c_char,
    name_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let name = arg_str(name, name_len, "name")?.to_owned();
        update(builder, |b| b.root_key_source(RootKeySource::env(name)))
    })
}

/// Audit to a hash-chained JSON-lines file at `path` (created with mode 0600 if missing).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let path = arg_str(path, path_len, "path")?.to_owned();
        update(builder, |b| b.audit_file(path))
    })
}

/// Whether the engine may run with unlocked memory when the system refuses to lock it
/// (secrets are still zeroed on release, but may be swapped out). Off by default: then the
/// engine refuses to open with `TRENT_RESULT_OPEN_LOCKED_MEMORY`.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_allow_unlocked_memory(
    builder: *mut trent_kms_builder,
    allow: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, { update(builder, |b| b.allow_unlocked_memory(allow)) })
}

/// The most bytes of locked memory the engine may use (default 4 MiB).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_locked_memory_budget(
    builder: *mut trent_kms_builder,
    bytes: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, { update(builder, |b| b.locked_memory_budget(bytes)) })
}

/// Audit to the keystore's `audit` table (SQLite or PostgreSQL keystores).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_table(
    builder: *mut trent_kms_builder,
    on: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, { update(builder, |b| b.audit_table(on)) })
}

/// How often, in milliseconds, the engine polls a shared keystore for other engines' changes
/// (default 1000); 0 turns polling off (for a keystore no other process writes).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_refresh_interval_ms(
    builder: *mut trent_kms_builder,
    interval_ms: u64,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let every = (interval_ms != 0).then(|| std::time::Duration::from_millis(interval_ms));
        update(builder, |b| b.refresh_interval(every))
    })
}

/// How many versions of key material stay unwrapped at once (default 128, at least 1).
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_max_hot_versions(
    builder: *mut trent_kms_builder,
    n: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, { update(builder, |b| b.max_hot_versions(n)) })
}

/// Opens the engine the builder describes. The builder is reset to the defaults whether or
/// not the open succeeds (it gives its settings, root key included, to the engine); free it
/// with `trent_kms_builder_free`. On success `*kms_out` receives the engine.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_open(
    builder: *mut trent_kms_builder,
    kms_out: *mut *mut trent_kms,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let b = arg_mut(builder, "builder")?;
        let out = Out::new(kms_out, "kms_out")?;
        let kms = std::mem::take(b).open()?;
        out.write(to_arc_mut_ptr::<trent_kms>(kms));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Callers

/// The root principal of the engine's account (`arn:aws:iam::<account>:root`), the caller
/// single-tenant embedders use. On success `*caller_out` receives it.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_root(kms: *const trent_kms, caller_out: *mut *mut trent_caller) -> trent_result {
    ffi_boundary!(std::ptr::null_mut(), {
        let kms = arg_ref(kms, "kms")?;
        let out = Out::new(caller_out, "caller_out")?;
        out.write(to_boxed_mut_ptr::<trent_caller>(kms.root_caller()));
        Ok(())
    })
}

/// A principal given by its ARN (`arn:<partition>:iam::<account>:…` or
/// `arn:<partition>:sts::<account>:…`); `TRENT_RESULT_VALIDATION_EXCEPTION` if malformed. On
/// success `*caller_out` receives it.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_from_arn(
    arn: *const c_char,
    arn_len: usize,
    caller_out: *mut *mut trent_caller,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let arn = arg_str(arn, arn_len, "arn")?;
        let out = Out::new(caller_out, "caller_out")?;
        let caller = Caller::from_arn(arn)?;
        out.write(to_boxed_mut_ptr::<trent_caller>(caller));
        Ok(())
    })
}

/// Frees a caller; NULL is accepted.
#[allow(unsafe_code)] // `no_mangle` only; the body is checked by the boundary macro.
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_free(caller: *mut trent_caller) {
    ffi_boundary_infallible!((), { free_box(caller) })
}
