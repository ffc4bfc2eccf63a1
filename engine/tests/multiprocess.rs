//! Durable keystores with real processes: crash safety under `SIGKILL`, two engine processes
//! sharing one PostgreSQL schema, and two processes encrypting under one key at once.
//!
//! Each parent test re-runs this test binary as child processes
//! (`<exe> --exact child_… --nocapture --test-threads=1`) with `TRENT_MP_ROLE` naming the
//! child's role; without that variable the child tests return at once. Children talk to the
//! parent in lines carrying `@@ ` on stdout (everything else there is the test harness's own
//! output) and read commands from stdin. A child that loses its parent exits: its next
//! write to stdout fails or its stdin ends.
//!
//! The store a child opens comes from the environment: `TRENT_MP_SQLITE` (a database file) or
//! `TRENT_MP_PG_URL` and `TRENT_MP_PG_SCHEMA`; the root key is always
//! [`common::TEST_ROOT_KEY`]. Random choices (kill points) come from a generator seeded from
//! the clock, printed, and taken from `TRENT_MP_SEED` when set, to replay a run.
//!
//! PostgreSQL tests need `TRENT_TEST_PG_URL` (`scripts/with-postgres` sets it): without it they
//! are skipped, except under `CI=true`, where they fail.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Backend;
use trent::*;

const ROLE_ENV: &str = "TRENT_MP_ROLE";
const SQLITE_ENV: &str = "TRENT_MP_SQLITE";
const PG_URL_ENV: &str = "TRENT_MP_PG_URL";
const PG_SCHEMA_ENV: &str = "TRENT_MP_PG_SCHEMA";
const SEED_ENV: &str = "TRENT_MP_SEED";

/// How long a parent waits for one answer of a child before it gives up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

// =============================================================================================
// Stores and child processes

/// The keystore the processes of one test share ([`common::Backend`]), as a child is given it.
impl Backend {
    /// The store a child was given.
    fn from_env() -> Self {
        if let Some(path) = std::env::var_os(SQLITE_ENV) {
            return Self::Sqlite(path.into());
        }
        let url = std::env::var(PG_URL_ENV).expect("a child needs TRENT_MP_SQLITE or TRENT_MP_PG_URL");
        let schema = std::env::var(PG_SCHEMA_ENV).expect("TRENT_MP_PG_SCHEMA");
        Self::Postgres { url, schema }
    }

    fn pass_to(&self, cmd: &mut Command) {
        match self {
            Self::Sqlite(path) => cmd.env(SQLITE_ENV, path),
            Self::Postgres { url, schema } => cmd.env(PG_URL_ENV, url).env(PG_SCHEMA_ENV, schema),
        };
    }
}

/// Whether this process is a child with this role.
fn is_role(role: &str) -> bool {
    std::env::var(ROLE_ENV).is_ok_and(|r| r == role)
}

/// Whether this process is a child at all (parents do nothing then: no recursion).
fn is_child() -> bool {
    std::env::var_os(ROLE_ENV).is_some()
}

/// Writes one protocol line to the parent, flushed. A parent that is gone ends the child.
fn say(msg: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "@@ {msg}").and_then(|()| out.flush()).is_err() {
        std::process::exit(3);
    }
}

/// The message of a protocol line. The harness may have written the start of a line before
/// (`test child_… ... ` precedes the child's first line), so the marker is searched for.
fn protocol_line(line: &str) -> Option<&str> {
    line.find("@@ ").map(|at| &line[at + 3..])
}

/// Output of a child as its stdout reader thread saw it.
enum Out {
    /// A whole line (without its newline).
    Line(String),
    /// Bytes after the last newline when the pipe closed: a line cut short by a kill.
    Partial(String),
}

/// A child process running one child test of this binary; killed when dropped.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<Out>,
    err: Option<JoinHandle<String>>,
}

impl Proc {
    fn spawn(test: &str, role: &str, name: &str, backend: &Backend, env: &[(&str, String)]) -> Self {
        let exe = std::env::current_exe().expect("the test executable");
        let mut cmd = Command::new(exe);
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        backend.pass_to(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let complete = buf.last() == Some(&b'\n');
                let text = String::from_utf8_lossy(&buf).trim_end_matches('\n').to_owned();
                let msg = if complete { Out::Line(text) } else { Out::Partial(text) };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Self { name: name.to_owned(), child, stdin, out, err: Some(err) }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line.
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        if writeln!(stdin, "{line}").and_then(|()| stdin.flush()).is_err() {
            self.fail(&format!("cannot send {line:?}: the child is gone"));
        }
    }

    /// The next protocol line (without `@@ `), skipping the harness's output.
    fn recv(&mut self) -> String {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(Out::Line(line)) => {
                    if let Some(msg) = protocol_line(&line) {
                        return msg.to_owned();
                    }
                }
                Ok(Out::Partial(p)) => self.fail(&format!("output ended in a partial line {p:?}")),
                Err(RecvTimeoutError::Timeout) => self.fail(&format!("no answer within {ANSWER_TIMEOUT:?}")),
                Err(RecvTimeoutError::Disconnected) => self.fail("the child ended its output"),
            }
        }
    }

    /// Sends a command and returns the answer: `Ok(payload)` or `Err(exception name)`.
    fn call(&mut self, line: &str) -> Result<String, String> {
        self.send(line);
        let answer = self.recv();
        if let Some(ok) = answer.strip_prefix("ok") {
            return Ok(ok.trim_start().to_owned());
        }
        if let Some(err) = answer.strip_prefix("err ") {
            return Err(err.to_owned());
        }
        self.fail(&format!("unexpected answer {answer:?} to {line:?}"))
    }

    /// Kills the child with `SIGKILL` and reaps it.
    fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }

    /// The child's stderr (after it ended).
    fn stderr(&mut self) -> String {
        self.err.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    }

    /// Kills the child and fails the test with its stderr.
    fn fail(&mut self, why: &str) -> ! {
        let status = self.kill();
        let stderr = self.stderr();
        panic!("{} (pid {}): {why}; exit status {status}\n--- its stderr:\n{stderr}", self.name, self.pid());
    }

    /// Closes stdin, waits for the child and checks that its test passed.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.fail("did not exit after its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if !status.success() {
            let stderr = self.stderr();
            panic!("{} (pid {}) failed: {status}\n--- its stderr:\n{stderr}", self.name, self.pid());
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small PRNG (xorshift64*) for the kill schedule: reproducible from its printed seed.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock(test: &str) -> Self {
        let seed = match std::env::var(SEED_ENV) {
            Ok(s) => s.parse().unwrap_or_else(|_| panic!("{SEED_ENV}={s} is not a u64")),
            Err(_) => {
                let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                (d.as_secs() << 30) ^ u64::from(d.subsec_nanos()) ^ u64::from(std::process::id())
            }
        };
        println!("{test}: seed {seed} (replay with {SEED_ENV}={seed})");
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn unix_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros()
}

fn new_key(kms: &Kms) -> String {
    kms.create_key(&kms.root_caller(), &CreateKeyRequest::default()).unwrap().key_metadata.key_id
}

// =============================================================================================
// 1. Crash safety: SIGKILL at random moments, then every reported blob still decrypts

/// Kills per backend.
const KILLS: usize = 20;
/// A child is killed after it has written a random number of protocol lines in this range (a
/// blob reported, or a store write announced): progress, not time, so a busy machine only
/// slows the test down.
const LINES_BEFORE_KILL: (u64, u64) = (60, 150);
/// Fewest blobs the children of one backend must have reported over all kills (at least
/// `KILLS * 60` lines were read, eight in nine of them blobs).
const MIN_REPORTED_BLOBS: usize = 1000;

/// The context of message `seq` of process `pid`.
fn crash_context(pid: u32, seq: u64) -> EncryptionContext {
    [("process".to_owned(), pid.to_string()), ("message".to_owned(), seq.to_string())].into_iter().collect()
}

/// The plaintext bound to a context of [`crash_context`] (so the parent can rebuild it).
fn crash_plaintext(ctx: &EncryptionContext) -> Vec<u8> {
    let (pid, seq) = (&ctx["process"], &ctx["message"]);
    let mut p = format!("trent crash test: process {pid}, message {seq}").into_bytes();
    p.resize(p.len() + seq.len() * 7, b'x');
    p
}

/// One blob a child reported, with its context.
struct Reported {
    blob: Vec<u8>,
    ctx: EncryptionContext,
}

/// Parses `blob <hex> <key>=<value>… end`.
fn parse_report(msg: &str) -> Option<Reported> {
    let mut words = msg.split(' ');
    let (Some("blob"), Some(hex)) = (words.next(), words.next()) else { return None };
    let mut ctx = EncryptionContext::new();
    for word in words.by_ref() {
        if word == "end" {
            break;
        }
        let (k, v) = word.split_once('=')?;
        ctx.insert(k.to_owned(), v.to_owned());
    }
    let complete = words.next().is_none() && ctx.contains_key("process") && ctx.contains_key("message");
    complete.then(|| Some(Reported { blob: hex::decode(hex).ok()?, ctx }))?
}

/// The child: create a key (with an alias), then forever encrypt under it with a context and
/// report each blob (`blob <hex> process=<pid> message=<n> end`), rotating on demand every
/// few messages; a key whose rotations run out (`LimitExceededException`) or conflict is
/// replaced by a new one. Before each store write it says `write <what>`.
#[test]
fn child_crash_loop() {
    if !is_role("crash_loop") {
        return;
    }
    let kms = Backend::from_env().open();
    let me = kms.root_caller();
    let pid = std::process::id();
    let mut keys = 0u32;
    let mut fresh_key = || {
        say("write CreateKey");
        let key = new_key(&kms);
        say("write CreateAlias");
        kms.create_alias(&me, &AliasRequest::new(format!("alias/crash-{pid}-{keys}"), &key)).unwrap();
        keys += 1;
        key
    };
    let mut key = fresh_key();
    for seq in 0u64.. {
        if seq % 8 == 7 {
            say("write RotateKeyOnDemand");
            match kms.rotate_key_on_demand(&me, &KeyIdRequest::new(&key)) {
                Ok(_) => {}
                Err(Error::LimitExceeded(_) | Error::Conflict(_)) => key = fresh_key(),
                Err(e) => panic!("RotateKeyOnDemand: {e:?}"),
            }
        }
        let ctx = crash_context(pid, seq);
        let req = EncryptRequest::new(&key, crash_plaintext(&ctx)).with_context(ctx);
        let blob = kms.encrypt(&me, &req).unwrap().ciphertext_blob;
        let pairs: Vec<String> = req.encryption_context.iter().map(|(k, v)| format!("{k}={v}")).collect();
        say(&format!("blob {} {} end", hex::encode(&blob), pairs.join(" ")));
    }
}

/// Runs [`KILLS`] crash-loop children on `backend` one after another, kills each with
/// `SIGKILL` at a random moment, and after each kill checks on a fresh engine that every blob
/// any child reported so far decrypts to its plaintext and that the store is intact.
fn crash_and_recover(backend: &Backend, label: &str) {
    let mut rng = Rng::from_env_or_clock(label);
    let started = Instant::now();
    let mut reported: Vec<Reported> = Vec::new();
    let (mut partial_lines, mut rounds_with_blobs, mut kills_in_writes) = (0, 0, 0);
    for round in 0..KILLS {
        let mut child =
            Proc::spawn("child_crash_loop", "crash_loop", &format!("{label} crash child {round}"), backend, &[]);
        // The moment of the kill: after a random number of the child's lines, and on every
        // other round right after a `write …` line, so that the kill lands inside the store's
        // transaction (the child enters it as soon as the line is flushed); on the others after
        // a blob line and a random few hundred microseconds more.
        let lines = rng.between(LINES_BEFORE_KILL.0, LINES_BEFORE_KILL.1);
        let in_write = round % 2 == 0;
        let before = reported.len();
        let mut last = String::new();
        let take = |line: String, last: &mut String, reported: &mut Vec<Reported>, pid: u32| {
            let Some(msg) = protocol_line(&line) else { return false };
            *last = msg.to_owned();
            if msg.starts_with("write ") {
                return true;
            }
            let r = parse_report(msg).unwrap_or_else(|| panic!("{label}: a bad whole line {line:?}"));
            assert_eq!(r.ctx["process"], pid.to_string());
            reported.push(r);
            true
        };
        let pid = child.pid();
        let mut seen = 0;
        loop {
            match child.out.recv_timeout(ANSWER_TIMEOUT) {
                Ok(Out::Line(line)) => {
                    seen += u64::from(take(line, &mut last, &mut reported, pid));
                }
                Ok(Out::Partial(p)) => child.fail(&format!("output ended in a partial line {p:?} before the kill")),
                Err(RecvTimeoutError::Timeout) => child.fail(&format!("no line within {ANSWER_TIMEOUT:?}")),
                Err(RecvTimeoutError::Disconnected) => child.fail("the child ended by itself before the kill"),
            }
            if seen >= lines && (last.starts_with("write ") == in_write) {
                break;
            }
        }
        let delay = if in_write { Duration::ZERO } else { Duration::from_micros(rng.between(0, 500)) };
        std::thread::sleep(delay);
        let status = child.kill();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{label} round {round}: {status}");
        // The reader thread ends at EOF: every line the child wrote before it died is here.
        while let Ok(out) = child.out.recv() {
            match out {
                Out::Line(line) => {
                    take(line, &mut last, &mut reported, pid);
                }
                // Killed in the middle of a line: it was never a report.
                Out::Partial(_) => partial_lines += 1,
            }
        }
        rounds_with_blobs += usize::from(reported.len() > before);
        // Said it was about to write and did not report the next blob: most likely killed
        // inside the store transaction.
        kills_in_writes += usize::from(last.starts_with("write "));
        verify_store(backend, &reported, &format!("{label} after kill {round} (after {lines} lines and {delay:?})"));
    }
    println!(
        "{label}: {KILLS} kills ({kills_in_writes} during a store write), {} blobs reported ({rounds_with_blobs} \
         rounds with blobs, {partial_lines} partial lines), all decrypt; {:?}",
        reported.len(),
        started.elapsed()
    );
    assert!(
        reported.len() >= MIN_REPORTED_BLOBS,
        "{label}: only {} blobs were reported over {KILLS} kills; the test proves too little",
        reported.len()
    );
    assert!(rounds_with_blobs >= KILLS / 2, "{label}: only {rounds_with_blobs} of {KILLS} children reported blobs");
    assert!(kills_in_writes > 0, "{label}: no kill landed in a store write");
}

/// Opens a fresh engine on the store and checks it: integrity, every reported blob, and a
/// round trip under the current version of every key that got its alias.
fn verify_store(backend: &Backend, reported: &[Reported], when: &str) {
    let kms = backend.open();
    let me = kms.root_caller();
    kms.check_store_integrity().unwrap_or_else(|e| panic!("{when}: integrity check: {e}"));
    // In slices: a batch holds all its plaintexts in locked memory at once, and tens of
    // thousands of them would not fit the default budget.
    for slice in reported.chunks(1024) {
        let items: Vec<DecryptItem> = slice
            .iter()
            .map(|r| DecryptItem { ciphertext_blob: r.blob.clone(), encryption_context: r.ctx.clone() })
            .collect();
        let results = kms.decrypt_batch(&me, &DecryptBatchRequest { items, ..Default::default() }).unwrap();
        for (r, result) in slice.iter().zip(results) {
            let out = result.unwrap_or_else(|e| panic!("{when}: the blob of {:?} does not decrypt: {e:?}", r.ctx));
            assert_eq!(out.plaintext.expose_secret(), crash_plaintext(&r.ctx), "{when}: the blob of {:?}", r.ctx);
        }
    }
    let mut marker = None;
    loop {
        let req = ListAliasesRequest { limit: Some(1000), marker: marker.take(), ..Default::default() };
        let page = kms.list_aliases(&me, &req).unwrap();
        for alias in page.aliases.iter().filter(|a| a.alias_name.starts_with("alias/crash-")) {
            let blob = kms
                .encrypt(&me, &EncryptRequest::new(&alias.alias_name, b"after the crash".to_vec()))
                .unwrap_or_else(|e| panic!("{when}: encrypt under {}: {e:?}", alias.alias_name))
                .ciphertext_blob;
            let back = kms.decrypt(&me, &DecryptRequest::new(blob)).unwrap();
            assert_eq!(back.plaintext.expose_secret(), b"after the crash", "{when}: {}", alias.alias_name);
        }
        if !page.truncated {
            break;
        }
        marker = page.next_marker;
    }
}

common::backend_tests!(
    sqlite_survives_sigkill_at_random_moments,
    postgres_survives_sigkill_at_random_moments: |b: &Backend| if !is_child() { crash_and_recover(b, b.kind()) }
);

// =============================================================================================
// 2. Two engine processes on one PostgreSQL schema see each other's changes in time

/// The child: an engine driven by commands on stdin, one answer line each
/// (`ok [payload]` or `err <exception name>`).
#[test]
fn child_agent() {
    if !is_role("agent") {
        return;
    }
    let kms = Backend::from_env().open();
    let me = kms.root_caller();
    say("ready");
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let key = || KeyIdRequest::new(arg);
        let answer: Result<String> = match cmd {
            "create" => Ok(new_key(&kms)),
            // The version the blob names, then the blob.
            "encrypt" => kms.encrypt(&me, &EncryptRequest::new(arg, b"shared".to_vec())).map(|r| {
                let version = trent::ciphertext::parse(&r.ciphertext_blob).unwrap().header.version;
                format!("{version} {}", hex::encode(&r.ciphertext_blob))
            }),
            "decrypt" => kms
                .decrypt(&me, &DecryptRequest::new(hex::decode(arg).unwrap()))
                .map(|r| String::from_utf8_lossy(r.plaintext.expose_secret()).into_owned()),
            "rotate" => kms.rotate_key_on_demand(&me, &key()).map(|_| String::new()),
            "disable" => kms.disable_key(&me, &key()).map(|()| String::new()),
            "enable" => kms.enable_key(&me, &key()).map(|()| String::new()),
            "schedule" => kms
                .schedule_key_deletion(
                    &me,
                    &ScheduleKeyDeletionRequest { key_id: arg.to_owned(), pending_window_in_days: Some(7) },
                )
                .map(|_| String::new()),
            "polls" => Ok(kms.test_hook_refresh_polls().to_string()),
            "quit" => break,
            other => panic!("unknown command {other:?}"),
        };
        match answer {
            Ok(payload) => say(&format!("ok {payload}")),
            Err(e) => say(&format!("err {}", e.name())),
        }
    }
}

/// Encrypts under `key` in `agent`: `Ok(version)` or `Err(exception name)`.
fn encrypt_version(agent: &mut Proc, key: &str) -> Result<u32, String> {
    agent.call(&format!("encrypt {key}")).map(|payload| payload.split(' ').next().unwrap().parse().unwrap())
}

/// The polls of the change feed `agent`'s refresh thread has completed.
fn polls(agent: &mut Proc) -> u64 {
    agent.call("polls").unwrap().parse().unwrap()
}

/// Polls `reader` until `seen` holds, which must be within two polls of its refresh thread
/// after the writer's change returned (the documented bound: one refresh interval plus one
/// poll; once a poll that started after the change has completed, the change is seen).
/// Counts the reader's polls, not time, so a busy machine slows the test down without failing
/// it; only a reader whose refresh thread stops polling for [`ANSWER_TIMEOUT`] fails it. Adds
/// the checks that still saw the old state to `stale_polls`; `since` is for the report.
fn await_change(
    reader: &mut Proc,
    what: &str,
    since: Instant,
    mut seen: impl FnMut(&mut Proc) -> bool,
    stale_polls: &mut usize,
) {
    let first = polls(reader);
    let (mut last, mut progress) = (first, Instant::now());
    let mut stale = 0usize;
    loop {
        if seen(reader) {
            println!("{what}: seen by {} after {:?} ({stale} stale checks)", reader.name, since.elapsed());
            *stale_polls += stale;
            return;
        }
        stale += 1;
        let now = polls(reader);
        assert!(
            now < first + 2 || seen(reader),
            "{what}: {} still does not see it after {} polls of its refresh thread",
            reader.name,
            now - first
        );
        if now != last {
            (last, progress) = (now, Instant::now());
        }
        assert!(progress.elapsed() < ANSWER_TIMEOUT, "{what}: {}'s refresh thread stopped polling", reader.name);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `writer` creates a key and changes it step by step; `reader`, which has the key cached,
/// must see each change within the bound. Returns the stale polls the reader made.
fn propagate(writer: &mut Proc, reader: &mut Proc) -> usize {
    let mut stale = 0;
    let key = writer.call("create").unwrap();
    // CreateKey is seen at once: a key missing from the cache is read from the store.
    assert_eq!(encrypt_version(reader, &key), Ok(1), "{} uses {}'s new key", reader.name, writer.name);
    let from_writer = writer.call(&format!("encrypt {key}")).unwrap();
    let from_writer = from_writer.split(' ').nth(1).unwrap();
    assert_eq!(reader.call(&format!("decrypt {from_writer}")).unwrap(), "shared");

    let label = format!("{} → {}", writer.name, reader.name);
    let t = Instant::now();
    writer.call(&format!("rotate {key}")).unwrap();
    assert_eq!(encrypt_version(writer, &key), Ok(2), "the writer sees its own rotation at once");
    await_change(reader, &format!("{label}: rotation"), t, |r| encrypt_version(r, &key) == Ok(2), &mut stale);

    let t = Instant::now();
    writer.call(&format!("disable {key}")).unwrap();
    assert_eq!(encrypt_version(writer, &key), Err("DisabledException".into()));
    await_change(
        reader,
        &format!("{label}: DisableKey"),
        t,
        |r| encrypt_version(r, &key) == Err("DisabledException".into()),
        &mut stale,
    );

    let t = Instant::now();
    writer.call(&format!("enable {key}")).unwrap();
    await_change(reader, &format!("{label}: EnableKey"), t, |r| encrypt_version(r, &key) == Ok(2), &mut stale);

    let t = Instant::now();
    writer.call(&format!("schedule {key}")).unwrap();
    assert_eq!(encrypt_version(writer, &key), Err("KMSInvalidStateException".into()));
    await_change(
        reader,
        &format!("{label}: ScheduleKeyDeletion"),
        t,
        |r| encrypt_version(r, &key) == Err("KMSInvalidStateException".into()),
        &mut stale,
    );
    stale
}

#[test]
fn two_processes_on_one_postgres_schema_see_each_others_changes() {
    if is_child() {
        return;
    }
    let Some(backend) = Backend::postgres() else { return };
    // The schema is created first: engines creating one new schema at once race (see
    // `processes_opening_a_new_postgres_schema_at_once_all_open`).
    drop(backend.open());
    let mut a = Proc::spawn("child_agent", "agent", "A", &backend, &[]);
    let mut b = Proc::spawn("child_agent", "agent", "B", &backend, &[]);
    assert_eq!(a.recv(), "ready");
    assert_eq!(b.recv(), "ready");
    let mut stale = propagate(&mut a, &mut b);
    stale += propagate(&mut b, &mut a);
    // The readers saw old states until their poll picked the changes up: the refresh path,
    // not a cache miss, is what was measured.
    assert!(stale > 0, "the readers never saw an old state: the test did not exercise the refresh");
    for mut agent in [a, b] {
        agent.send("quit");
        agent.finish();
    }
}

// =============================================================================================
// 3. Two processes encrypting under one key at once never repeat a (salt, counter) pair

/// Encrypts per writer process.
const MESSAGES_PER_PROCESS: usize = 500_000;
/// Items per `encrypt_batch` call.
const BATCH: usize = 4096;
/// Single `Encrypt` calls after each batch (the per-thread writer path).
const SINGLES: usize = 16;

/// The child: opens the store (with `TRENT_MP_MPS` messages per salt if set), says `ready`,
/// waits for `go`, then encrypts [`MESSAGES_PER_PROCESS`] messages under `TRENT_MP_KEY` in
/// batches and single calls, writing each blob's salt (16 bytes) and counter (8, big-endian)
/// to `TRENT_MP_OUT`, and says `done <count> <start µs> <end µs>`.
#[test]
fn child_counter_writer() {
    if !is_role("writer") {
        return;
    }
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let mut builder = Backend::from_env().keyed_builder();
    if let Ok(n) = std::env::var("TRENT_MP_MPS") {
        builder = builder.messages_per_salt(n.parse().unwrap());
    }
    let kms = builder.open().unwrap();
    let me = kms.root_caller();
    let key = env("TRENT_MP_KEY");
    let count: usize = env("TRENT_MP_COUNT").parse().unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(env("TRENT_MP_OUT")).unwrap());
    let mut record = |blob: &[u8]| {
        let header = trent::ciphertext::parse(blob).unwrap().header;
        assert_eq!(header.key_id.to_string(), key);
        assert_eq!(header.version, 1);
        file.write_all(&header.salt).unwrap();
        file.write_all(&header.counter.to_be_bytes()).unwrap();
    };
    // Load the key (and unwrap its version) before the start line.
    record(&kms.encrypt(&me, &EncryptRequest::new(&key, b"warm up".to_vec())).unwrap().ciphertext_blob);
    say("ready");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");

    let start = unix_micros();
    let items = (0..BATCH)
        .map(|i| EncryptItem { plaintext: (i as u32).to_be_bytes().repeat(4).into(), ..Default::default() })
        .collect();
    let batch = EncryptBatchRequest { key_id: key.clone(), items, execution: Execution::Parallel };
    let mut done = 1;
    while done < count {
        let blobs = kms.encrypt_batch(&me, &batch).unwrap().ciphertext_blobs;
        for blob in &blobs {
            record(blob.as_ref().unwrap());
        }
        // A spot check that the blobs are real.
        let last = blobs.last().unwrap().as_ref().unwrap().clone();
        assert_eq!(kms.decrypt(&me, &DecryptRequest::new(last)).unwrap().plaintext.len(), 16);
        for _ in 0..SINGLES {
            record(&kms.encrypt(&me, &EncryptRequest::new(&key, b"single".to_vec())).unwrap().ciphertext_blob);
        }
        done += blobs.len() + SINGLES;
    }
    file.flush().unwrap();
    let end = unix_micros();
    say(&format!("done {done} {start} {end}"));
}

/// The (salt, counter) pairs a writer wrote.
fn load_pairs(path: &Path) -> Vec<[u8; 24]> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes.len() % 24, 0, "{}: a torn record", path.display());
    bytes.chunks_exact(24).map(|c| c.try_into().unwrap()).collect()
}

fn counters_never_repeat(backend: &Backend, label: &str) {
    let started = Instant::now();
    let key = new_key(&backend.open());
    // The second writer draws a new salt every 64 messages (one batch chunk), so its salts
    // turn over thousands of times while the first keeps one salt per thread.
    let setups = [("default", None), ("64", Some(64u64))];
    let mut writers: Vec<(Proc, PathBuf, Option<u64>)> = setups
        .iter()
        .map(|(name, mps)| {
            let out = common::fresh_path("pairs");
            let mut env = vec![
                ("TRENT_MP_KEY", key.clone()),
                ("TRENT_MP_COUNT", MESSAGES_PER_PROCESS.to_string()),
                ("TRENT_MP_OUT", out.display().to_string()),
            ];
            if let Some(n) = mps {
                env.push(("TRENT_MP_MPS", n.to_string()));
            }
            let name = format!("{label} writer (messages per salt: {name})");
            (Proc::spawn("child_counter_writer", "writer", &name, backend, &env), out, *mps)
        })
        .collect();
    // Both are ready before either starts, so they really encrypt at the same time.
    for (w, _, _) in &mut writers {
        assert_eq!(w.recv(), "ready");
    }
    for (w, _, _) in &mut writers {
        w.send("go");
    }
    let mut windows = Vec::new();
    for (w, _, _) in &mut writers {
        let done = w.recv();
        let fields: Vec<u128> = done.strip_prefix("done ").unwrap().split(' ').map(|f| f.parse().unwrap()).collect();
        assert!(fields[0] >= MESSAGES_PER_PROCESS as u128, "{}: {done}", w.name);
        windows.push((fields[1], fields[2]));
    }
    let (latest_start, earliest_end) =
        (windows.iter().map(|w| w.0).max().unwrap(), windows.iter().map(|w| w.1).min().unwrap());
    assert!(latest_start < earliest_end, "{label}: the writers did not overlap: {windows:?}");
    let overlap = Duration::from_micros((earliest_end - latest_start) as u64);

    let mut seen: HashSet<[u8; 24]> = HashSet::with_capacity(2 * MESSAGES_PER_PROCESS + 100_000);
    let mut total = 0usize;
    for (w, path, mps) in writers {
        w.finish();
        let pairs = load_pairs(&path);
        let salts: HashSet<[u8; 16]> = pairs.iter().map(|p| p[..16].try_into().unwrap()).collect();
        if let Some(limit) = mps {
            let max = pairs.iter().map(|p| u64::from_be_bytes(p[16..].try_into().unwrap())).max().unwrap();
            assert!(max < limit, "{label}: a counter {max} past the salt's limit {limit}");
            assert!(salts.len() as u64 >= pairs.len() as u64 / limit, "{label}: too few salts: {}", salts.len());
        }
        println!("{label}: {} pairs under {} salts ({})", pairs.len(), salts.len(), path.display());
        for pair in &pairs {
            assert!(seen.insert(*pair), "{label}: the (salt, counter) pair {} repeats", hex::encode(pair));
        }
        total += pairs.len();
        let _ = std::fs::remove_file(&path);
    }
    assert!(total >= 2 * MESSAGES_PER_PROCESS, "{label}: only {total} messages");
    println!(
        "{label}: {total} messages from two processes (encrypting at once for {overlap:?}), no (salt, counter) pair \
         twice; {:?}",
        started.elapsed()
    );
}

common::backend_tests!(
    two_processes_encrypting_at_once_never_repeat_a_nonce,
    two_processes_encrypting_at_once_on_postgres_never_repeat_a_nonce: |b: &Backend| if !is_child() { counters_never_repeat(b, b.kind()) }
);

// =============================================================================================
// 4. Engine processes opening a new store at once

/// Processes opening one new store per round, released together.
const OPENERS: usize = 6;
/// Rounds, each on a new store.
const OPEN_ROUNDS: usize = 5;

/// The child: says `waiting`, and on `go` opens an engine on the store, creates a key and
/// says `opened`, or says `failed <why>`.
#[test]
fn child_opener() {
    if !is_role("opener") {
        return;
    }
    let backend = Backend::from_env();
    say("waiting");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
    match backend.keyed_builder().open() {
        Ok(kms) => {
            new_key(&kms);
            say("opened");
        }
        Err(e) => say(&format!("failed {e}")),
    }
}

/// [`OPENERS`] processes, started and then released at once by a line on their stdin, open
/// the same new store: every one of them must open it (and agree on its root key check).
fn open_at_once(new_store: impl Fn() -> Backend, label: &str) {
    for round in 0..OPEN_ROUNDS {
        let backend = new_store();
        let mut openers: Vec<Proc> = (0..OPENERS)
            .map(|i| Proc::spawn("child_opener", "opener", &format!("{label} opener {i}"), &backend, &[]))
            .collect();
        for o in &mut openers {
            assert_eq!(o.recv(), "waiting");
        }
        for o in &mut openers {
            o.send("go");
        }
        let failures: Vec<String> = openers.iter_mut().map(Proc::recv).filter(|a| a != "opened").collect();
        assert!(
            failures.is_empty(),
            "{label} round {round}: {} of {OPENERS} processes could not open the new store {backend:?}: {failures:?}",
            failures.len()
        );
        for o in openers {
            o.finish();
        }
        let kms = backend.open();
        kms.check_store_integrity().unwrap();
        let keys = kms.list_keys(&kms.root_caller(), &ListKeysRequest::default()).unwrap().keys;
        assert_eq!(keys.len(), OPENERS, "{label} round {round}: every opener's key is in the store");
    }
}

/// Fails (in about one run of four here) until `SqliteStore::open` retries
/// `PRAGMA journal_mode=WAL`: switching a new file to WAL returns `SQLITE_BUSY` at once,
/// without waiting on the busy handler, when another process is opening the file too.
#[test]
fn processes_opening_a_new_sqlite_store_at_once_all_open() {
    if is_child() {
        return;
    }
    open_at_once(Backend::sqlite, "sqlite");
}

/// Fails (nearly every run) until `PostgresStore` creates its schema under the write lock:
/// two sessions running `CREATE SCHEMA IF NOT EXISTS` at once race, and the loser fails on
/// pg_namespace's unique index (SQLSTATE 23505), so engines opening a new schema at once may
/// refuse to open.
#[test]
fn processes_opening_a_new_postgres_schema_at_once_all_open() {
    if is_child() {
        return;
    }
    let Some(url) = common::pg_url() else { return };
    open_at_once(|| Backend::Postgres { url: url.clone(), schema: common::fresh_schema() }, "postgres");
}
