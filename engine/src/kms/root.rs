//! Where the root key comes from, and how a store recognizes it (see [`RootKeySource`]).

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::material::RootKey;
use super::record_mac::Authenticate;
use super::{Error, rng_failed};
use crate::crypto::{self, KEY_LEN};
use crate::secret::{Arena, wipe};
use crate::store::{META_ROOT_CHECK, META_ROOT_KDF, Store, root_key_rotated};

/// The fewest PBKDF2 iterations a passphrase root key may use (OWASP's figure for
/// PBKDF2-HMAC-SHA256).
pub const MIN_PASSPHRASE_ITERATIONS: u32 = 600_000;

/// Where the root key comes from. `Debug` shows only the kind and the file path or variable
/// name, never the key or the passphrase.
///
/// The root key wraps every version's material in the store; it is never stored there. It
/// comes from one of:
///
/// - a **key file** of exactly 32 bytes, created with mode 0600 (random) at the first open of
///   a new store; an existing file that the group or others may read is refused;
/// - a **passphrase**, stretched with PBKDF2-HMAC-SHA256 (at least 600,000 iterations) and a
///   random 16-byte salt that the store keeps (metadata entry `root_key_kdf`), so every engine
///   sharing the store derives the same key;
/// - an **environment variable** holding the 32 bytes as 64 hex digits or standard base64, or
///   a passphrase (as above); the engine removes the variable from the process's environment
///   once it has read it (see [`RootKeySource::env`]);
/// - **bytes** handed over by the embedder (the builder's copy is wiped once it is in locked
///   memory).
///
/// At the first open the store records a check value (32 zero bytes sealed under the root key
/// with their own AAD, metadata entry `root_key_check`). Every later open unseals it: a wrong
/// root key fails there, with a clear error, before anything is written. A key file that is
/// missing while the store already has a check value is an error too; a new one is not made.
pub struct RootKeySource(Source);

enum Source {
    Bytes([u8; KEY_LEN]),
    File(PathBuf),
    Passphrase { passphrase: String, iterations: u32 },
    Env(String),
    PassphraseEnv(String),
    Random,
}

impl RootKeySource {
    /// These 32 bytes (wiped from this value once used or dropped).
    pub fn bytes(key: [u8; KEY_LEN]) -> Self {
        Self(Source::Bytes(key))
    }

    /// The key file at `path`: 32 bytes, mode 0600; created (random) at the first open of a
    /// new store.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self(Source::File(path.into()))
    }

    /// A key derived from `passphrase` with PBKDF2-HMAC-SHA256, 600,000 iterations.
    pub fn passphrase(passphrase: impl Into<String>) -> Self {
        Self::passphrase_with_iterations(passphrase, MIN_PASSPHRASE_ITERATIONS)
    }

    /// Like [`RootKeySource::passphrase`] with more iterations (fewer than
    /// [`MIN_PASSPHRASE_ITERATIONS`] are raised to it). The count is fixed when the store is
    /// created; later opens use the stored one.
    pub fn passphrase_with_iterations(passphrase: impl Into<String>, iterations: u32) -> Self {
        Self(Source::Passphrase {
            passphrase: passphrase.into(),
            iterations: iterations.max(MIN_PASSPHRASE_ITERATIONS),
        })
    }

    /// The environment variable `name`: 64 hex digits or 44 characters of standard base64
    /// (surrounding whitespace ignored).
    ///
    /// **The variable is removed from the process's environment as soon as the engine has
    /// read it** (whether or not the open then succeeds), so that child processes do not
    /// inherit the key and it does not stay readable in the environment; on Linux its value
    /// is also overwritten with zeros in the initial environment block that
    /// `/proc/PID/environ` shows, when it is there. The engine wipes its own copies. So a
    /// second engine opened from the same variable in the same process fails, with an error
    /// saying that the variable was removed by an earlier open: keep the first engine (clones
    /// share everything), or read the key once yourself and pass it with
    /// [`RootKeySource::bytes`]. Copies outside the C environment are not changed: the parent
    /// process's, or a runtime's own copy (Python's `os.environ`, Go's `os.Getenv`).
    ///
    /// Removing a variable is not thread-safe in C: open an engine from this source while no
    /// other thread of the process reads the environment through C (`getenv`, also called
    /// inside the C library for time zones, locales and name resolution) or changes it —
    /// typically at start-up, before other threads exist — or use another source.
    pub fn env(name: impl Into<String>) -> Self {
        Self(Source::Env(name.into()))
    }

    /// A passphrase (as [`RootKeySource::passphrase`], 600,000 iterations) read from the
    /// environment variable `name`, taken as it is (not trimmed; it must not be empty). The
    /// variable is removed from the environment once read, with the same effects and the
    /// same condition on threads as [`RootKeySource::env`].
    pub fn passphrase_env(name: impl Into<String>) -> Self {
        Self(Source::PassphraseEnv(name.into()))
    }

    /// A random key that lives only as long as the engine: for in-memory stores.
    pub fn random() -> Self {
        Self(Source::Random)
    }
}

impl Drop for RootKeySource {
    fn drop(&mut self) {
        match &mut self.0 {
            Source::Bytes(b) => wipe(b),
            Source::Passphrase { passphrase, .. } => {
                let mut bytes = std::mem::take(passphrase).into_bytes();
                wipe(&mut bytes);
            }
            Source::File(_) | Source::Env(_) | Source::PassphraseEnv(_) | Source::Random => {}
        }
    }
}

impl fmt::Debug for RootKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Bytes(_) => f.write_str("RootKeySource::Bytes(..)"),
            Source::File(p) => f.debug_tuple("RootKeySource::File").field(p).finish(),
            Source::Passphrase { iterations, .. } => {
                write!(f, "RootKeySource::Passphrase(.., {iterations} iterations)")
            }
            Source::Env(name) => f.debug_tuple("RootKeySource::Env").field(name).finish(),
            Source::PassphraseEnv(name) => f.debug_tuple("RootKeySource::PassphraseEnv").field(name).finish(),
            Source::Random => f.write_str("RootKeySource::Random"),
        }
    }
}

/// Why the root key could not be had, or is not this store's.
fn root_error(message: String) -> Error {
    Error::Validation(message)
}

/// The PBKDF2 parameters kept in the store: `"<iterations>:<salt hex>"`.
fn kdf_params(store: &dyn Store, iterations: u32, new_store: bool) -> Result<(u32, Vec<u8>), Error> {
    let stored = if new_store {
        let mut salt = [0u8; 16];
        crypto::fill_random(&mut salt).map_err(|_| rng_failed())?;
        let proposed = format!("{iterations}:{}", hex::encode(salt));
        store.init_meta(META_ROOT_KDF, proposed.as_bytes())?
    } else {
        store.get_meta(META_ROOT_KDF)?.ok_or_else(|| {
            root_error(format!(
                "The root key (passphrase) is not the one this {} keystore was created with",
                store.backend_name()
            ))
        })?
    };
    let bad = || Error::Internal("The keystore's passphrase parameters are invalid".into());
    let text = std::str::from_utf8(&stored).map_err(|_| bad())?;
    let (n, salt) = text.split_once(':').ok_or_else(bad)?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    if n < MIN_PASSPHRASE_ITERATIONS {
        return Err(bad());
    }
    Ok((n, hex::decode(salt).map_err(|_| bad())?))
}

fn read_key_file(path: &Path, out: &mut [u8; KEY_LEN]) -> Result<(), Error> {
    let shown = path.display();
    let mut file =
        std::fs::File::open(path).map_err(|e| root_error(format!("Cannot read the root key file {shown}: {e}")))?;
    let meta = file.metadata().map_err(|e| root_error(format!("Cannot read the root key file {shown}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(root_error(format!(
                "The root key file {shown} may be read by others (mode {mode:03o}); make it 0600 (chmod 600)"
            )));
        }
    }
    if meta.len() != KEY_LEN as u64 {
        return Err(root_error(format!("The root key file {shown} must hold exactly {KEY_LEN} bytes")));
    }
    file.read_exact(out).map_err(|e| root_error(format!("Cannot read the root key file {shown}: {e}")))
}

fn create_key_file(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), Error> {
    let shown = path.display();
    let fail = |e: std::io::Error| root_error(format!("Cannot create the root key file {shown}: {e}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(key).and_then(|()| file.sync_all()).map_err(fail)?;
    // The file's directory entry must be durable too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
    }
    Ok(())
}

/// The names of the variables an engine of this process read a root key or passphrase from
/// and removed from the environment: to say so when another open asks for one of them.
static TAKEN_ENV: parking_lot::Mutex<Vec<String>> = parking_lot::Mutex::new(Vec::new());

/// The value of the variable `name` (`what`: "root key" or "passphrase"), removed from the
/// environment once read (see [`RootKeySource::env`]). The caller wipes the bytes.
fn take_env(name: &str, what: &str) -> Result<Vec<u8>, Error> {
    let Some(value) = std::env::var_os(name) else {
        let message = if TAKEN_ENV.lock().iter().any(|n| n == name) {
            format!(
                "The {what} variable {name} was removed from the environment when an engine of this process \
                 read it; open further engines with the key itself (RootKeySource::bytes) or from another source"
            )
        } else {
            format!("The {what} variable {name} is not set")
        };
        return Err(root_error(message));
    };
    crate::secret::remove_env_var(name);
    let mut taken = TAKEN_ENV.lock();
    if !taken.iter().any(|n| n == name) {
        taken.push(name.to_owned());
    }
    Ok(value.into_encoded_bytes())
}

fn decode_env(name: &str, out: &mut [u8; KEY_LEN]) -> Result<(), Error> {
    let mut value = take_env(name, "root key")?;
    let ok = match std::str::from_utf8(&value).map(str::trim) {
        Ok(text) if text.len() == 2 * KEY_LEN => hex::decode_to_slice(text, out).is_ok(),
        Ok(text) => matches!(base64::engine::general_purpose::STANDARD.decode_slice(text, out), Ok(KEY_LEN)),
        Err(_) => false,
    };
    wipe(&mut value);
    if ok {
        Ok(())
    } else {
        Err(root_error(format!("The root key variable {name} must hold 32 bytes as 64 hex digits or base64")))
    }
}

/// PBKDF2 of `passphrase` with the iterations and salt `kdf` gives.
fn derive(
    passphrase: &[u8],
    iterations: u32,
    out: &mut [u8; KEY_LEN],
    kdf: impl FnOnce(u32) -> Result<(u32, Vec<u8>), Error>,
) -> Result<(), Error> {
    let (n, salt) = kdf(iterations)?;
    crypto::pbkdf2_hmac_sha256(n, &salt, passphrase, out).map_err(|_| Error::Internal("PBKDF2 failed".into()))
}

/// Where the root key's bytes come from, in `out`. `kdf` gives a passphrase's PBKDF2
/// iterations and salt; a missing key file is created (random) only if `may_create`. Returns
/// the key file to create once the key is known to be good.
fn key_bytes(
    source: &mut RootKeySource,
    out: &mut [u8; KEY_LEN],
    may_create: bool,
    kdf: impl FnOnce(u32) -> Result<(u32, Vec<u8>), Error>,
) -> Result<Option<PathBuf>, Error> {
    match &mut source.0 {
        Source::Bytes(b) => {
            *out = *b;
            wipe(b);
            Ok(None)
        }
        Source::File(path) if path.exists() => read_key_file(path, out).map(|()| None),
        Source::File(path) if !may_create => Err(root_error(format!(
            "The keystore already has a root key, but its key file {} is missing",
            path.display()
        ))),
        Source::File(path) => crypto::fill_random(out).map(|()| Some(path.clone())).map_err(|_| rng_failed()),
        Source::Passphrase { passphrase, iterations } => {
            derive(passphrase.as_bytes(), *iterations, out, kdf).map(|()| None)
        }
        Source::Env(name) => decode_env(name, out).map(|()| None),
        Source::PassphraseEnv(name) => {
            let mut passphrase = take_env(name, "passphrase")?;
            let derived = if passphrase.is_empty() {
                Err(root_error(format!("The passphrase variable {name} is empty")))
            } else {
                derive(&passphrase, MIN_PASSPHRASE_ITERATIONS, out, kdf)
            };
            wipe(&mut passphrase);
            derived.map(|()| None)
        }
        Source::Random => crypto::fill_random(out).map(|()| None).map_err(|_| rng_failed()),
    }
}

/// The root key in locked memory, from `key_bytes`; then the new key file, if one is due.
fn root_from(
    source: &mut RootKeySource,
    arena: &Arena,
    may_create: bool,
    kdf: impl FnOnce(u32) -> Result<(u32, Vec<u8>), Error>,
) -> Result<RootKey, Error> {
    let mut bytes = [0u8; KEY_LEN];
    let root = key_bytes(source, &mut bytes, may_create, kdf)
        .and_then(|new_file| RootKey::new(arena, &bytes).map(|root| (root, new_file)));
    let root = root.and_then(|(root, new_file)| match new_file {
        Some(path) => create_key_file(&path, &bytes).map(|()| root),
        None => Ok(root),
    });
    wipe(&mut bytes);
    root
}

/// The root key from `source`, checked against (or, for a new store, recorded in) `store`,
/// and the store's check value it matched.
///
/// A store made before records carried MACs (its check value has the older form) has its
/// records authenticated here, once: the check value proves that this opener has the root key,
/// so every record is MACed as it is and the check value replaced by one of the new form, in one
/// store transaction (see the `record_mac` module).
pub(super) fn open_root(
    source: &mut RootKeySource,
    store: &dyn Store,
    arena: &Arena,
) -> Result<(RootKey, Vec<u8>), Error> {
    let existing = store.get_meta(META_ROOT_CHECK)?;
    let root =
        root_from(source, arena, existing.is_none(), |iterations| kdf_params(store, iterations, existing.is_none()))?;
    let stored = match existing {
        Some(stored) => stored,
        None => store.init_meta(META_ROOT_CHECK, &root.check_value()?)?,
    };
    if root.matches(arena, &stored) {
        return Ok((root, stored));
    }
    if root.matches_legacy(arena, &stored) {
        let check = root.check_value()?;
        let upgraded = store.reseal_all(&mut Authenticate(&root), &stored, &[(META_ROOT_CHECK, &check)]);
        // Another engine opening the store at the same time may have authenticated it first.
        let now = if upgraded.is_ok() { Some(check) } else { store.get_meta(META_ROOT_CHECK)? };
        return match now {
            Some(now) if root.matches(arena, &now) => Ok((root, now)),
            _ => Err(upgraded.err().unwrap_or_else(root_key_rotated)),
        };
    }
    Err(Error::Validation(format!(
        "The root key ({}) is not the one this {} keystore was created with",
        source.kind(),
        store.backend_name()
    )))
}

/// Store metadata entries: (name, value).
pub(super) type StoreMeta = Vec<(&'static str, Vec<u8>)>;

/// A new root key for [`Kms::rotate_root_key`](super::Kms::rotate_root_key), with the
/// metadata the store must keep for it (a passphrase's new salt). A key file that does not
/// exist is created.
pub(super) fn new_root(source: &mut RootKeySource, arena: &Arena) -> Result<(RootKey, StoreMeta), Error> {
    let mut meta = Vec::new();
    let root = root_from(source, arena, true, |iterations| {
        let mut salt = [0u8; 16];
        crypto::fill_random(&mut salt).map_err(|_| rng_failed())?;
        meta.push((META_ROOT_KDF, format!("{iterations}:{}", hex::encode(salt)).into_bytes()));
        Ok((iterations, salt.to_vec()))
    })?;
    Ok((root, meta))
}

impl RootKeySource {
    fn kind(&self) -> String {
        match &self.0 {
            Source::Bytes(_) => "given bytes".into(),
            Source::File(p) => format!("key file {}", p.display()),
            Source::Passphrase { .. } => "passphrase".into(),
            Source::Env(name) => format!("variable {name}"),
            Source::PassphraseEnv(name) => format!("passphrase from variable {name}"),
            Source::Random => "random".into(),
        }
    }
}
