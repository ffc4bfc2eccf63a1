//! The root key of the CLI's engine: the source `--root-key-source` names (see
//! [`RootKeySpec`]), and a warning when the key file or passphrase file in use lies inside the
//! keystore's directory, where one copy of the directory holds everything.
//!
//! Without a source, a data directory that already holds a `root.key` (the layout of earlier
//! versions) keeps using it, with the warning; any other uses [`default_key_file`], outside
//! the data directory. A passphrase is never taken from the command line or the configuration
//! file (it would show in `ps`, in shell history, in a copied file): it comes from a file, a
//! variable (removed from the environment by the engine once read) or the terminal.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use trent::RootKeySource;
use trent::secret::wipe;

use crate::config::{RootKeySpec, Settings};
use crate::{Failure, escape, exit};

/// The most bytes a passphrase may have (file or terminal).
const MAX_PASSPHRASE_LEN: usize = 4096;

/// The key file used when no source is set and the data directory has none:
/// `$HOME/.trent/root.key`, or `trent-root.key` in the working directory without `HOME`.
pub fn default_key_file() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".trent").join(trent::DATA_DIR_ROOT_KEY),
        None => PathBuf::from("trent-root.key"),
    }
}

/// The engine's root key source for `settings`, after warning (on stderr) if the key file or
/// the passphrase file is inside the data directory. The data directory exists.
pub fn source(settings: &Settings) -> Result<RootKeySource, Failure> {
    let dir = &settings.data_dir;
    match &settings.root_key {
        RootKeySpec::Default => {
            let legacy = dir.join(trent::DATA_DIR_ROOT_KEY);
            if legacy.symlink_metadata().is_ok() {
                warn_if_inside(&legacy, "root key file", dir, true);
                return Ok(RootKeySource::file(legacy));
            }
            let file = default_key_file();
            create_parent(&file)?;
            warn_if_inside(&file, "root key file", dir, false);
            Ok(RootKeySource::file(file))
        }
        RootKeySpec::File(file) => {
            warn_if_inside(file, "root key file", dir, false);
            Ok(RootKeySource::file(file))
        }
        RootKeySpec::Env(name) => Ok(RootKeySource::env(name)),
        RootKeySpec::PassphraseFile(file) => {
            warn_if_inside(file, "passphrase file", dir, false);
            read_passphrase_file(file).map(RootKeySource::passphrase)
        }
        RootKeySpec::PassphraseEnv(name) => Ok(RootKeySource::passphrase_env(name)),
        RootKeySpec::PassphrasePrompt => {
            let new_keystore = !dir.join(trent::DATA_DIR_DATABASE).exists();
            prompt(new_keystore).map(RootKeySource::passphrase)
        }
    }
}

/// What to add to an engine error about the root key: where the source is set.
pub const SOURCE_HINT: &str = "(the root key source is set by --root-key-source, TRENT_ROOT_KEY_SOURCE or \
     root_key_source in the configuration file; see \"Keystores and the root key\" in the README)";

/// Creates the default key file's directory (owner-only) when the file is not there yet.
fn create_parent(file: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt as _;
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !file.exists() => {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| Failure {
                code: exit::CONFIG,
                message: format!(
                    "\ncannot create {} for the root key file: {e}",
                    escape(&parent.display().to_string())
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Warns, once, if `file` (existing or about to be made) lies inside `dir`. Never fails: a path
/// that cannot be resolved gives no warning. `legacy`: the file was found in the data
/// directory without a source being set (a keystore made by an earlier version).
fn warn_if_inside(file: &Path, what: &str, dir: &Path, legacy: bool) {
    let Ok(dir) = dir.canonicalize() else { return };
    let resolved = match file.canonicalize() {
        Ok(f) => f,
        Err(_) => {
            match (file.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }), file.file_name()) {
                (Some(parent), Some(name)) => match parent.canonicalize() {
                    Ok(p) => p.join(name),
                    Err(_) => return,
                },
                _ => return,
            }
        }
    };
    if !resolved.starts_with(&dir) {
        return;
    }
    let default = default_key_file();
    let how = if legacy && !default.exists() && !default.starts_with(&dir) {
        format!("`mv {} {}` puts it where trent looks when no source is set", resolved.display(), default.display())
    } else {
        "name its new place with --root-key-source file:PATH (or TRENT_ROOT_KEY_SOURCE, or root_key_source in the \
         configuration file), or use a passphrase source"
            .to_owned()
    };
    let unwraps = if what.starts_with("passphrase") { "the passphrase" } else { "the key" };
    let message = format!(
        "trent: warning: the {what} {file} is inside the keystore's directory {dir}, so any copy of that directory \
         (a backup, a snapshot, a synced folder) holds both the wrapped keys and {unwraps} that unwraps them. Move \
         the file out of {dir} and back the two up separately: {how}. See \"Keystores and the root key\" in the \
         README.",
        file = resolved.display(),
        dir = dir.display()
    );
    let _ = writeln!(io::stderr(), "{}", escape(&message));
}

/// The passphrase in `path`: the whole file less one final newline; the file must not be
/// readable by the group or others, hold at most [`MAX_PASSPHRASE_LEN`] bytes and be UTF-8.
fn read_passphrase_file(path: &Path) -> Result<String, Failure> {
    use std::os::unix::fs::PermissionsExt as _;
    let shown = escape(&path.display().to_string());
    let fail = |why: String| Failure {
        code: exit::CONFIG,
        message: format!("\ncannot use the passphrase file {shown}: {why}"),
    };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail(format!("others may read it (mode {mode:03o}); make it 0600 (chmod 600)")));
    }
    if meta.is_file() && meta.len() > MAX_PASSPHRASE_LEN as u64 {
        return Err(fail(format!("it holds more than {MAX_PASSPHRASE_LEN} bytes")));
    }
    // Room for the longest passphrase, a newline and one byte more, so that the buffer never
    // grows (growing would leave a copy behind).
    let mut bytes = Vec::with_capacity(MAX_PASSPHRASE_LEN + 3);
    let read = file.take(MAX_PASSPHRASE_LEN as u64 + 2).read_to_end(&mut bytes);
    if let Err(e) = read {
        wipe(&mut bytes);
        return Err(fail(e.to_string()));
    }
    passphrase_from(bytes).map_err(fail)
}

/// `bytes` less one final `\n` or `\r\n`, as a passphrase: non-empty, at most
/// [`MAX_PASSPHRASE_LEN`] bytes, UTF-8. Wiped on failure.
fn passphrase_from(mut bytes: Vec<u8>) -> Result<String, String> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    let problem = if bytes.is_empty() {
        Some("the passphrase is empty")
    } else if bytes.len() > MAX_PASSPHRASE_LEN {
        Some("the passphrase is longer than 4096 bytes")
    } else if std::str::from_utf8(&bytes).is_err() {
        Some("the passphrase is not UTF-8 text")
    } else {
        None
    };
    match problem {
        Some(why) => {
            wipe(&mut bytes);
            Err(why.to_owned())
        }
        // Checked just above: no copy is made.
        None => String::from_utf8(bytes).map_err(|e| {
            let mut bytes = e.into_bytes();
            wipe(&mut bytes);
            "the passphrase is not UTF-8 text".to_owned()
        }),
    }
}

/// Asks for the passphrase on the terminal (`/dev/tty`, echo off); twice for a new keystore,
/// whose passphrase cannot be changed back if mistyped.
fn prompt(new_keystore: bool) -> Result<String, Failure> {
    let fail =
        |why: String| Failure { code: exit::CONFIG, message: format!("\n--root-key-source passphrase-prompt: {why}") };
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(|e| {
        fail(format!("there is no terminal to ask on ({e}); use passphrase-file:PATH or passphrase-env:NAME instead"))
    })?;
    let first = ask(&tty, "Passphrase for the Trent keystore: ").map_err(&fail)?;
    if !new_keystore {
        return Ok(first);
    }
    let again = match ask(&tty, "This passphrase creates a new keystore; type it again: ") {
        Ok(again) => again,
        Err(why) => {
            wipe_string(first);
            return Err(fail(why));
        }
    };
    let same = first == again;
    wipe_string(again);
    if same {
        Ok(first)
    } else {
        wipe_string(first);
        Err(fail("the two passphrases differ; nothing was created".into()))
    }
}

fn wipe_string(s: String) {
    let mut bytes = s.into_bytes();
    wipe(&mut bytes);
}

/// Turns the terminal's echo off, writes `question` and reads one line, then restores the
/// terminal.
fn ask(tty: &File, question: &str) -> Result<String, String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let io_error = |e: io::Error| format!("cannot use the terminal: {e}");
    let saved = tcgetattr(tty).map_err(|e| io_error(e.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    // Echo off before the question: what is typed once it shows is never echoed.
    tcsetattr(tty, OptionalActions::Now, &quiet).map_err(|e| io_error(e.into()))?;
    let mut line = Vec::with_capacity(MAX_PASSPHRASE_LEN + 2);
    let mut byte = [0u8; 1];
    let read = (&*tty).write_all(question.as_bytes()).and_then(|()| {
        loop {
            match (&*tty).read(&mut byte) {
                Ok(0) => break Ok(()),
                Ok(_) if byte[0] == b'\n' => break Ok(()),
                Ok(_) if line.len() > MAX_PASSPHRASE_LEN => {}
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        }
    });
    wipe(&mut byte);
    let restored = tcsetattr(tty, OptionalActions::Now, &saved);
    if let Err(e) = read.and(restored.map_err(io::Error::from)) {
        wipe(&mut line);
        return Err(io_error(e));
    }
    passphrase_from(line)
}
