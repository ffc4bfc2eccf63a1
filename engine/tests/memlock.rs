//! The arena under a real `RLIMIT_MEMLOCK`.
//!
//! Root (and anything with `CAP_IPC_LOCK`) may lock memory regardless of the limit, so each
//! parent test re-runs one child test of this binary under
//! `prlimit --memlock=N:N setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock`, with
//! `TRENT_MEMLOCK_CHILD=1` set. Without that variable the child tests do nothing. The parent
//! checks that the child ran and printed its marker, so a child that was filtered out or
//! skipped cannot pass silently.
//!
//! `prlimit` and `setpriv` come from util-linux. When they are missing the parent tests fail
//! if `CI=true` and otherwise print a skip note.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

use trent::secret::{Arena, ArenaConfig, SecretError};
use trent::{CreateKeyRequest, DecryptRequest, EncryptRequest, Kms, OpenError};

const CHILD_ENV: &str = "TRENT_MEMLOCK_CHILD";
const MARKER: &str = "trent-memlock-child: all checks passed";
const CAP_IPC_LOCK: u32 = 14;
const CHUNK: usize = 64 * 1024;

// ---- parents ----

#[test]
fn memlock_limit_below_one_chunk_fails_at_open() {
    run_child("child_limit_below_one_chunk", 16 * 1024);
}

#[test]
fn memlock_limit_refuses_to_open_an_engine() {
    run_child("child_engine_open", 16 * 1024);
}

#[test]
fn memlock_limit_reached_by_a_later_chunk_fails_at_alloc() {
    run_child("child_limit_reached_by_a_later_chunk", 96 * 1024);
}

/// Runs `test` of this test binary in a child process without `CAP_IPC_LOCK` and with
/// `RLIMIT_MEMLOCK` set to `limit` bytes, and checks that it ran and passed.
fn run_child(test: &str, limit: u64) {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // never recurse
    }
    let drop_cap = has_cap(CAP_IPC_LOCK);
    let tools: &[&str] = if drop_cap { &["prlimit", "setpriv"] } else { &["prlimit"] };
    let missing: Vec<&str> = tools.iter().copied().filter(|tool| !tool_works(tool)).collect();
    if !missing.is_empty() {
        let msg = format!(
            "the RLIMIT_MEMLOCK test needs {} from util-linux (apt-get install util-linux)",
            missing.join(" and ")
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}; failing because CI=true");
        }
        eprintln!("SKIPPED the RLIMIT_MEMLOCK check {test}: {msg}");
        return;
    }

    let exe = std::env::current_exe().expect("path of the test executable");
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--memlock={limit}:{limit}")).arg("--");
    if drop_cap {
        cmd.args(["setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock", "--"]);
    }
    cmd.arg(&exe).args(["--exact", test, "--nocapture", "--test-threads=1"]).env(CHILD_ENV, "1");
    let out = cmd.output().expect("run the child test under prlimit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(MARKER),
        "child {test} under RLIMIT_MEMLOCK={limit} failed or did not run ({}):\n\
         --- command: {cmd:?}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
        out.status
    );
}

fn tool_works(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Whether capability `bit` is in this process's effective set.
fn has_cap(bit: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:")).expect("CapEff line in /proc/self/status").trim();
    u64::from_str_radix(hex, 16).expect("CapEff is hex") & (1 << bit) != 0
}

/// The soft and hard "Max locked memory" of this process, from /proc/self/limits.
fn memlock_limits() -> (String, String) {
    const KEY: &str = "Max locked memory";
    let limits = std::fs::read_to_string(Path::new("/proc/self/limits")).expect("read limits");
    let line = limits.lines().find_map(|l| l.strip_prefix(KEY)).expect("a Max locked memory line in /proc/self/limits");
    let mut fields = line.split_whitespace().map(str::to_owned);
    let soft = fields.next().expect("soft limit");
    let hard = fields.next().expect("hard limit");
    (soft, hard)
}

/// Common child preamble: `false` when not running as the child.
fn child_setup(limit: &str) -> bool {
    if std::env::var_os(CHILD_ENV).is_none() {
        return false;
    }
    assert!(!has_cap(CAP_IPC_LOCK), "the child still has CAP_IPC_LOCK, so mlock would ignore RLIMIT_MEMLOCK");
    assert_eq!(memlock_limits(), (limit.to_owned(), limit.to_owned()));
    true
}

fn cfg(budget_bytes: usize, allow_unlocked: bool) -> ArenaConfig {
    ArenaConfig { budget_bytes, allow_unlocked }
}

// ---- children (no-ops unless TRENT_MEMLOCK_CHILD is set) ----

#[test]
fn child_limit_below_one_chunk() {
    if !child_setup("16384") {
        return;
    }

    // (a) The default arena's first 64 KiB chunk cannot be locked under a 16 KiB limit:
    // Arena::new fails, and says why and what to do.
    let err = Arena::new(ArenaConfig::default()).unwrap_err();
    match err {
        SecretError::LockFailed { bytes, locked_bytes, rlimit_memlock, os_error } => {
            assert_eq!(bytes, CHUNK);
            assert_eq!(locked_bytes, 0);
            assert_eq!(rlimit_memlock, Some(16384));
            assert!(os_error.is_some());
        }
        other => panic!("expected LockFailed, got {other:?}"),
    }
    let msg = err.to_string();
    println!("LockFailed message: {msg}");
    assert!(msg.starts_with("cannot lock memory for key material: mlock of 65536 bytes failed"));
    assert!(msg.contains("RLIMIT_MEMLOCK is 16384 bytes"), "{msg}");
    assert!(msg.contains("ulimit -l"), "{msg}");
    assert!(msg.contains("allow_unlocked"), "{msg}");

    // (b) Opting in to unlocked memory works, and says so.
    let arena = Arena::new(cfg(4 << 20, true)).unwrap();
    assert!(!arena.is_locked());
    let key = arena.alloc_copy(&[0x5A; 32]).unwrap();
    assert_eq!(key.expose_secret(), &[0x5A; 32]);
    assert!(key.ct_eq(&[0x5A; 32]));
    let mut batch = arena.alloc_many(100, 32).unwrap();
    for (i, s) in batch.iter_mut().enumerate() {
        assert_eq!(s.expose_secret(), &[0; 32]);
        s.expose_secret_mut().fill(i as u8);
    }
    for (i, s) in batch.iter().enumerate() {
        assert!(s.ct_eq(&[i as u8; 32]));
    }
    let locked = arena.locked([7u64; 4]).unwrap();
    assert_eq!(*locked, [7; 4]);
    assert_eq!(arena.stats().slots_in_use, 102);
    drop((key, batch, locked));
    assert_eq!(arena.stats().slots_in_use, 0);
    drop(arena);

    // (c) A budget that fits under the limit is locked, and the budget bounds it.
    let arena = Arena::new(cfg(8192, false)).unwrap();
    assert!(arena.is_locked());
    assert_eq!(arena.stats().reserved_bytes, 8192);
    let pages = arena.alloc_many(2, 4096).unwrap();
    assert!(matches!(arena.alloc(4096), Err(SecretError::BudgetExceeded { budget_bytes: 8192, .. })));
    drop(pages);

    println!("{MARKER}");
}

#[test]
fn child_limit_reached_by_a_later_chunk() {
    if !child_setup("98304") {
        return;
    }

    // The first chunk (64 KiB) fits under 96 KiB; the second one does not.
    let arena = Arena::new(cfg(4 * CHUNK, false)).unwrap();
    assert!(arena.is_locked());
    let mut held = arena.alloc_many(CHUNK / 4096, 4096).unwrap();
    let err = arena.alloc(4096).unwrap_err();
    assert!(
        matches!(err, SecretError::LockFailed { bytes: CHUNK, locked_bytes: CHUNK, rlimit_memlock: Some(98304), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("RLIMIT_MEMLOCK is 98304 bytes"));
    assert_eq!(arena.stats().reserved_bytes, CHUNK);
    assert!(arena.is_locked());
    // Releasing a slot makes room in the locked chunk again.
    held.pop();
    held.push(arena.alloc(4096).unwrap());
    drop(held);
    drop(arena);

    // Opted in: the second chunk is used unlocked, and the arena reports it.
    let arena = Arena::new(cfg(4 * CHUNK, true)).unwrap();
    assert!(arena.is_locked());
    let mut held = arena.alloc_many(CHUNK / 4096 + 1, 4096).unwrap();
    assert!(!arena.is_locked());
    assert_eq!(arena.stats().reserved_bytes, 2 * CHUNK);
    for (i, s) in held.iter_mut().enumerate() {
        s.expose_secret_mut().fill(i as u8);
    }
    for (i, s) in held.iter().enumerate() {
        assert!(s.expose_secret().iter().all(|&b| b == i as u8));
    }
    drop(held);
    assert_eq!(arena.stats().slots_in_use, 0);

    println!("{MARKER}");
}

#[test]
fn child_engine_open() {
    if !child_setup("16384") {
        return;
    }
    // The engine refuses to open when it cannot lock memory, and says why.
    let err = Kms::builder().open().unwrap_err();
    assert!(matches!(err, OpenError::LockedMemory(SecretError::LockFailed { .. })), "{err:?}");
    let msg = err.to_string();
    println!("open error: {msg}");
    assert!(msg.contains("the engine refused to open"), "{msg}");
    assert!(msg.contains("RLIMIT_MEMLOCK is 16384 bytes"), "{msg}");

    // Opted in, the engine opens, says memory is not locked, and works.
    let kms = Kms::builder().allow_unlocked_memory(true).open().unwrap();
    assert!(!kms.memory_is_locked());
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let blob = kms.encrypt(&me, &EncryptRequest::new(&key, b"works unlocked".to_vec())).unwrap().ciphertext_blob;
    let back = kms.decrypt(&me, &DecryptRequest::new(blob)).unwrap();
    assert_eq!(back.plaintext.expose_secret(), b"works unlocked");

    println!("{MARKER}");
}
