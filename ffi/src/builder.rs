//! The engine builder: `trent_kms_builder`, its setters (one line each over `set`) and the
//! open.

use std::ffi::c_char;

use trent::{Kms, KmsBuilder, RootKeySource};

use trent_ffi_macros::export;

use crate::boundary::{castable, free_box, to_arc_mut_ptr, to_boxed_mut_ptr};
use crate::error::{Failure, trent_result};
use crate::handles::{trent_error, trent_kms};

/// Engine options, set one by one before `trent_kms_builder_open`. Not thread-safe: use a
/// builder from one thread at a time. Freed with `trent_kms_builder_free`.
#[allow(non_camel_case_types)]
pub struct trent_kms_builder {
    _private: [u8; 0],
}

castable!(trent_kms_builder: OwnershipBox<KmsBuilder>);

/// A new engine builder with every default (see `trent_kms_open_in_memory`). On success
/// `*builder_out` receives it.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_new(builder_out: *mut *mut trent_kms_builder) -> trent_result {
    builder_out.write(to_boxed_mut_ptr::<trent_kms_builder>(Kms::builder()))
}

/// Frees a builder (and any root key it holds); NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_free(builder: *mut trent_kms_builder) {
    free_box(builder)
}

/// Applies one setting: the body of every setter (the builder is untouched when an argument
/// is refused, `#[export]` having checked them all first).
fn set(builder: &mut KmsBuilder, apply: impl FnOnce(KmsBuilder) -> KmsBuilder) {
    *builder = apply(std::mem::take(builder));
}

/// Keystore: the data directory `dir` (SQLite keystore and root key file, created at the
/// first open), as `trent_kms_open_dir` does.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_data_dir(
    builder: *mut trent_kms_builder,
    dir: *const c_char,
    dir_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.data_dir(dir))
}

/// Keystore: the SQLite database file `path` (created if missing). Needs a root key source.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_sqlite(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.sqlite(path))
}

/// Keystore: the PostgreSQL database at `url` (`postgresql://user:password@host/db`), with the
/// tables in `schema` (created if missing) or, when `schema` is NULL, in the default schema.
/// Needs a root key source. TLS as the URL's `sslmode` and `sslrootcert` say (libpq's
/// parameters): a host that is not loopback gets `verify-full` by default, and `prefer` or
/// `allow` to it fail the open with `TRENT_RESULT_OPEN_CONFIG` (see the README's keystore
/// section).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_postgres(
    builder: *mut trent_kms_builder,
    url: *const c_char,
    url_len: usize,
    #[optional] schema: *const c_char,
    schema_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| match schema {
        Some(schema) => b.postgres_in_schema(url, schema),
        None => b.postgres(url),
    })
}

/// The engine's Region (default `us-east-1`); checked when the engine opens.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_region(
    builder: *mut trent_kms_builder,
    region: *const c_char,
    region_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.region(region))
}

/// The engine's account id (default `111122223333`); checked when the engine opens.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_account(
    builder: *mut trent_kms_builder,
    account: *const c_char,
    account_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.account(account))
}

/// Root key: these `key_len` bytes, which must be 32 (`TRENT_RESULT_INVALID_ARGUMENT`
/// otherwise). The library keeps its own copy; wipe yours.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key(
    builder: *mut trent_kms_builder,
    key: *const u8,
    key_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let key = key.try_into().map_err(|_| Failure::invalid_argument(format!("key must be 32 bytes, not {key_len}")))?;
    set(builder, |b| b.root_key(key))
}

/// Root key: the key file at `path` (32 bytes, mode 0600; created at the first open of a new
/// keystore).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.root_key_source(RootKeySource::file(path)))
}

/// Root key: derived from the UTF-8 `passphrase` (PBKDF2-HMAC-SHA256, 600,000 iterations).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_passphrase(
    builder: *mut trent_kms_builder,
    passphrase: *const c_char,
    passphrase_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.root_key_source(RootKeySource::passphrase(passphrase)))
}

/// Root key: the environment variable `name` (64 hex digits or 44 characters of base64), read
/// when the engine opens and then removed from the process's environment (`unsetenv`; on Linux
/// its value is also overwritten in the initial environment block), so a second engine opened
/// from the same variable fails. Open while no other thread calls `getenv` or `setenv`, or use
/// another source.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_env(
    builder: *mut trent_kms_builder,
    name: *const c_char,
    name_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.root_key_source(RootKeySource::env(name)))
}

/// Audit to a hash-chained JSON-lines file at `path` (created with mode 0600 if missing).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.audit_file(path))
}

/// Whether the engine may run with unlocked memory when the system refuses to lock it
/// (secrets are still zeroed on release, but may be swapped out). Off by default: then the
/// engine refuses to open with `TRENT_RESULT_OPEN_LOCKED_MEMORY`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_allow_unlocked_memory(
    builder: *mut trent_kms_builder,
    allow: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.allow_unlocked_memory(allow))
}

/// The most bytes of locked memory the engine may use (default 4 MiB).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_locked_memory_budget(
    builder: *mut trent_kms_builder,
    bytes: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.locked_memory_budget(bytes))
}

/// Audit to the keystore's `audit` table (SQLite or PostgreSQL keystores).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_table(
    builder: *mut trent_kms_builder,
    on: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.audit_table(on))
}

/// How often, in milliseconds, the engine polls a shared keystore for other engines' changes
/// (default 1000); 0 turns polling off (for a keystore no other process writes).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_refresh_interval_ms(
    builder: *mut trent_kms_builder,
    interval_ms: u64,
    err: *mut *mut trent_error,
) -> trent_result {
    let every = (interval_ms != 0).then(|| std::time::Duration::from_millis(interval_ms));
    set(builder, |b| b.refresh_interval(every))
}

/// How many versions of key material stay unwrapped at once (default 128, at least 1).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_max_hot_versions(
    builder: *mut trent_kms_builder,
    n: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, |b| b.max_hot_versions(n))
}

/// Opens the engine the builder describes. The builder is reset to the defaults whether or
/// not the open succeeds (it gives its settings, root key included, to the engine); free it
/// with `trent_kms_builder_free`. On success `*kms_out` receives the engine.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_open(
    builder: *mut trent_kms_builder,
    kms_out: *mut *mut trent_kms,
    err: *mut *mut trent_error,
) -> trent_result {
    kms_out.write(to_arc_mut_ptr::<trent_kms>(std::mem::take(builder).open()?))
}
