//! The engine builder: `trent_kms_builder`, its setters (one line each over `set`) and the
//! open.

use std::ffi::c_char;

use trent::{Kms, KmsBuilder, RootKeySource};

use crate::boundary::{
    Out, arg_bytes, arg_mut, arg_opt_str, arg_str, castable, ffi_boundary, ffi_boundary_infallible, free_box,
    to_arc_mut_ptr, to_boxed_mut_ptr,
};
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
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_new(builder_out: *mut *mut trent_kms_builder) -> trent_result {
    ffi_boundary!(std::ptr::null_mut(), {
        let out = Out::new(builder_out, "builder_out")?;
        out.write(to_boxed_mut_ptr::<trent_kms_builder>(Kms::builder()));
        Ok(())
    })
}

/// Frees a builder (and any root key it holds); NULL is accepted.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_free(builder: *mut trent_kms_builder) {
    ffi_boundary_infallible!((), { free_box(builder) })
}

/// The body of every setter, inside the boundary: reads the setter's argument with `arg`
/// (the builder is untouched if that fails), then applies `apply` to the builder with it.
fn set<T>(
    builder: *mut trent_kms_builder,
    err: *mut *mut trent_error,
    arg: impl FnOnce() -> Result<T, Failure>,
    apply: impl FnOnce(KmsBuilder, T) -> KmsBuilder,
) -> trent_result {
    ffi_boundary!(err, {
        let b = arg_mut(builder, "builder")?;
        let value = arg()?;
        *b = apply(std::mem::take(b), value);
        Ok(())
    })
}

/// [`set`] for a setter whose argument is UTF-8 text `(text, text_len)`.
fn set_text(
    builder: *mut trent_kms_builder,
    err: *mut *mut trent_error,
    (text, text_len, name): (*const c_char, usize, &'static str),
    apply: impl FnOnce(KmsBuilder, String) -> KmsBuilder,
) -> trent_result {
    set(builder, err, || Ok(arg_str(text, text_len, name)?.to_owned()), apply)
}

/// Keystore: the data directory `dir` (SQLite keystore and root key file, created at the
/// first open), as `trent_kms_open_dir` does.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_data_dir(
    builder: *mut trent_kms_builder,
    dir: *const c_char,
    dir_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (dir, dir_len, "dir"), KmsBuilder::data_dir)
}

/// Keystore: the SQLite database file `path` (created if missing). Needs a root key source.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_sqlite(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (path, path_len, "path"), KmsBuilder::sqlite)
}

/// Keystore: the PostgreSQL database at `url` (`postgresql://user:password@host/db`), with the
/// tables in `schema` (created if missing) or, when `schema` is NULL, in the default schema.
/// Needs a root key source. TLS as the URL's `sslmode` and `sslrootcert` say (libpq's
/// parameters): a host that is not loopback gets `verify-full` by default, and `prefer` or
/// `allow` to it fail the open with `TRENT_RESULT_OPEN_CONFIG` (see the README's keystore
/// section).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_postgres(
    builder: *mut trent_kms_builder,
    url: *const c_char,
    url_len: usize,
    schema: *const c_char,
    schema_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let arg = || Ok((arg_str(url, url_len, "url")?.to_owned(), arg_opt_str(schema, schema_len, "schema")?));
    set(builder, err, arg, |b, (url, schema)| match schema {
        Some(schema) => b.postgres_in_schema(url, schema),
        None => b.postgres(url),
    })
}

/// The engine's Region (default `us-east-1`); checked when the engine opens.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_region(
    builder: *mut trent_kms_builder,
    region: *const c_char,
    region_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (region, region_len, "region"), KmsBuilder::region)
}

/// The engine's account id (default `111122223333`); checked when the engine opens.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_account(
    builder: *mut trent_kms_builder,
    account: *const c_char,
    account_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (account, account_len, "account"), KmsBuilder::account)
}

/// Root key: these `key_len` bytes, which must be 32 (`TRENT_RESULT_INVALID_ARGUMENT`
/// otherwise). The library keeps its own copy; wipe yours.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key(
    builder: *mut trent_kms_builder,
    key: *const u8,
    key_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let arg = || {
        let key = arg_bytes(key, key_len, "key")?;
        key.try_into().map_err(|_| Failure::invalid_argument(format!("key must be 32 bytes, not {key_len}")))
    };
    set(builder, err, arg, KmsBuilder::root_key)
}

/// Root key: the key file at `path` (32 bytes, mode 0600; created at the first open of a new
/// keystore).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (path, path_len, "path"), |b, path| b.root_key_source(RootKeySource::file(path)))
}

/// Root key: derived from the UTF-8 `passphrase` (PBKDF2-HMAC-SHA256, 600,000 iterations).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_passphrase(
    builder: *mut trent_kms_builder,
    passphrase: *const c_char,
    passphrase_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (passphrase, passphrase_len, "passphrase"), |b, passphrase| {
        b.root_key_source(RootKeySource::passphrase(passphrase))
    })
}

/// Root key: the environment variable `name` (64 hex digits or 44 characters of base64), read
/// when the engine opens and then removed from the process's environment (`unsetenv`; on Linux
/// its value is also overwritten in the initial environment block), so a second engine opened
/// from the same variable fails. Open while no other thread calls `getenv` or `setenv`, or use
/// another source.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_root_key_env(
    builder: *mut trent_kms_builder,
    name: *const c_char,
    name_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (name, name_len, "name"), |b, name| b.root_key_source(RootKeySource::env(name)))
}

/// Audit to a hash-chained JSON-lines file at `path` (created with mode 0600 if missing).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_file(
    builder: *mut trent_kms_builder,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set_text(builder, err, (path, path_len, "path"), KmsBuilder::audit_file)
}

/// Whether the engine may run with unlocked memory when the system refuses to lock it
/// (secrets are still zeroed on release, but may be swapped out). Off by default: then the
/// engine refuses to open with `TRENT_RESULT_OPEN_LOCKED_MEMORY`.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_allow_unlocked_memory(
    builder: *mut trent_kms_builder,
    allow: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, err, || Ok(allow), KmsBuilder::allow_unlocked_memory)
}

/// The most bytes of locked memory the engine may use (default 4 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_locked_memory_budget(
    builder: *mut trent_kms_builder,
    bytes: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, err, || Ok(bytes), KmsBuilder::locked_memory_budget)
}

/// Audit to the keystore's `audit` table (SQLite or PostgreSQL keystores).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_audit_table(
    builder: *mut trent_kms_builder,
    on: bool,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, err, || Ok(on), KmsBuilder::audit_table)
}

/// How often, in milliseconds, the engine polls a shared keystore for other engines' changes
/// (default 1000); 0 turns polling off (for a keystore no other process writes).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_refresh_interval_ms(
    builder: *mut trent_kms_builder,
    interval_ms: u64,
    err: *mut *mut trent_error,
) -> trent_result {
    let every = (interval_ms != 0).then(|| std::time::Duration::from_millis(interval_ms));
    set(builder, err, || Ok(every), KmsBuilder::refresh_interval)
}

/// How many versions of key material stay unwrapped at once (default 128, at least 1).
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_builder_max_hot_versions(
    builder: *mut trent_kms_builder,
    n: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    set(builder, err, || Ok(n), KmsBuilder::max_hot_versions)
}

/// Opens the engine the builder describes. The builder is reset to the defaults whether or
/// not the open succeeds (it gives its settings, root key included, to the engine); free it
/// with `trent_kms_builder_free`. On success `*kms_out` receives the engine.
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
