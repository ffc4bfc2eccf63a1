//! TLS to the PostgreSQL keystore (issue 12, defect 4), against the server of
//! `scripts/with-postgres`, which turns TLS on with a CA made for the run
//! (`TRENT_TEST_PG_CA`) and also listens on the machine's non-loopback address
//! (`TRENT_TEST_PG_TLS_HOST`, when it has one):
//!
//! - verify-full with the test CA works, on loopback and on the non-loopback address, and the
//!   server reports the connection as TLS (`pg_stat_ssl`); without sslmode a non-loopback host
//!   gets verify-full, and the system's roots do not know the test CA;
//! - a wrong CA fails with a certificate error; verify-ca skips the name, verify-full checks it;
//! - `prefer`/`allow` to a non-loopback host are refused before any connection is made; without
//!   sslmode, a non-loopback server that offers no TLS gets no plaintext;
//! - `sslmode=disable` to a non-loopback host is allowed, because it says so.
//!
//! Tests that need the server return when it is missing outside CI and fail under `CI=true`
//! (see `common::pg_url`); tests that need a non-loopback address say so and return when the
//! machine has none. Nothing here sends a packet off this machine: the non-loopback addresses
//! are this machine's own, and the documentation address used when there is none has no route.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use trent::*;

use common::{PgTls, TEST_ROOT_KEY, url_encode};

/// Opens an engine on `url`, in a fresh schema.
fn open(url: &str) -> std::result::Result<Kms, OpenError> {
    Kms::builder().postgres_in_schema(url, common::fresh_schema()).root_key(TEST_ROOT_KEY).refresh_interval(None).open()
}

/// An application name no other connection of this run has.
fn app_name() -> String {
    format!("trent-tls-{}", common::fresh_schema())
}

/// The URL of the test server at `host`, with these query parameters.
fn url(tls: &PgTls, host: &str, query: &str) -> String {
    format!("postgresql://postgres@{host}:{}/postgres?{query}", tls.port)
}

fn sslrootcert(path: &Path) -> String {
    format!("sslrootcert={}", url_encode(&path.display().to_string()))
}

/// Whether the server sees the connection named `app` as TLS, asked over a connection of our
/// own (the store's is not reachable from here).
fn server_says_tls(app: &str) -> bool {
    let mut admin = postgres::Client::connect(&common::pg_url().unwrap(), postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .unwrap();
    assert_eq!(rows.len(), 1, "one connection named {app}");
    rows[0].get(0)
}

/// The test server and the machine's non-loopback address it listens on; `None` (the test
/// returns) without a server outside CI, or when the machine has no such address.
fn non_loopback_server() -> Option<(PgTls, String)> {
    let tls = common::pg_tls()?;
    let Some(host) = tls.tls_host.clone() else {
        eprintln!("skipped: the machine has no non-loopback address (TRENT_TEST_PG_TLS_HOST is not set)");
        return None;
    };
    Some((tls, host))
}

/// The engine works: a key, a round trip.
fn works(kms: &Kms) {
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata;
    let blob = kms.encrypt(&me, &EncryptRequest::new(&key.key_id, b"over TLS")).unwrap().ciphertext_blob;
    assert_eq!(kms.decrypt(&me, &DecryptRequest::new(blob)).unwrap().plaintext.expose_secret(), b"over TLS");
}

/// The message of an engine that refused to open on its store's connection.
fn store_error(result: std::result::Result<Kms, OpenError>) -> String {
    match result {
        Err(OpenError::Store(e)) => e.message().to_owned(),
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("expected a store error, the engine opened"),
    }
}

/// The message of an engine refused for its configuration.
fn config_error(result: std::result::Result<Kms, OpenError>) -> String {
    match result {
        Err(OpenError::Config(Error::Validation(message))) => message,
        Err(other) => panic!("expected a configuration refusal, got {other}"),
        Ok(_) => panic!("expected a configuration refusal, the engine opened"),
    }
}

/// A CA of our own that signed nothing the server has (made with the openssl command).
fn other_ca() -> PathBuf {
    let cert = common::fresh_path("pem");
    let key = common::fresh_path("key");
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-days", "7", "-subj", "/CN=not the test CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    cert
}

/// This machine's non-loopback IPv4 address, the one its default route leaves from: found by
/// connecting a UDP socket, which sends nothing. `None` when there is no route.
fn own_non_loopback_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(203, 0, 113, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// A TCP listener on this machine's non-loopback address that counts the connections made to
/// it (each is closed at once).
struct Trap {
    addr: SocketAddr,
    counter: JoinHandle<usize>,
}

impl Trap {
    fn new(ip: IpAddr) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let counter = std::thread::spawn(move || {
            let mut count = 0;
            loop {
                let (mut stream, _) = listener.accept().unwrap();
                let mut first = [0u8; 1];
                match stream.read(&mut first) {
                    Ok(1) if first[0] == b'!' => return count,
                    _ => count += 1,
                }
            }
        });
        Self { addr, counter }
    }

    /// How many connections were made before this call. Our own marker connection comes last
    /// in the listen queue, so every earlier one has been counted when the counter reaches it.
    fn connections(self) -> usize {
        TcpStream::connect(self.addr).unwrap().write_all(b"!").unwrap();
        self.counter.join().unwrap()
    }
}

// ------------------------------------------------------------------------- TLS that works

#[test]
fn verify_full_with_the_test_ca_works_on_loopback_and_is_encrypted() {
    let Some(tls) = common::pg_tls() else { return };
    for host in ["127.0.0.1", "localhost"] {
        let app = app_name();
        let kms =
            open(&url(&tls, host, &format!("sslmode=verify-full&{}&application_name={app}", sslrootcert(&tls.ca))))
                .unwrap_or_else(|e| panic!("verify-full to {host}: {e}"));
        works(&kms);
        assert!(server_says_tls(&app), "{host}: the server sees a plaintext connection");
    }
}

#[test]
fn without_sslmode_loopback_uses_tls_when_the_server_offers_it() {
    let Some(tls) = common::pg_tls() else { return };
    let app = app_name();
    let kms = open(&url(&tls, "127.0.0.1", &format!("application_name={app}"))).unwrap();
    works(&kms);
    assert!(server_says_tls(&app), "no sslmode on loopback: the server offered TLS and it was not used");
}

#[test]
fn tls_works_on_the_non_loopback_address_and_is_verified_by_default() {
    let Some((tls, host)) = non_loopback_server() else { return };
    // No sslmode: verify-full, here against the test CA.
    let app = app_name();
    let kms = open(&url(&tls, &host, &format!("{}&application_name={app}", sslrootcert(&tls.ca)))).unwrap();
    works(&kms);
    assert!(server_says_tls(&app), "{host}: the server sees a plaintext connection");
    // And without sslrootcert, against the system's roots, which do not know the test CA.
    let message = store_error(open(&url(&tls, &host, "application_name=x")));
    assert!(message.contains("certificate"), "{message}");
}

// ------------------------------------------------------------------- certificates that fail

#[test]
fn the_wrong_ca_fails_with_a_certificate_error() {
    let Some(tls) = common::pg_tls() else { return };
    let wrong = sslrootcert(&other_ca());
    let mut hosts = vec!["127.0.0.1".to_owned()];
    hosts.extend(tls.tls_host.clone());
    for host in &hosts {
        for mode in ["verify-full", "verify-ca"] {
            let message = store_error(open(&url(&tls, host, &format!("sslmode={mode}&{wrong}"))));
            assert!(message.contains("invalid peer certificate"), "{host} {mode}: {message}");
            assert!(message.contains(&format!("failed the checks of sslmode={mode}")), "{host} {mode}: {message}");
        }
    }
}

#[test]
fn verify_ca_skips_the_name_and_verify_full_checks_it() {
    let Some(tls) = common::pg_tls() else { return };
    // The certificate names localhost and 127.0.0.1; hostaddr reaches the server with no lookup.
    let base = format!("hostaddr=127.0.0.1&{}", sslrootcert(&tls.ca));
    let app = app_name();
    let kms = open(&url(&tls, "not-the-server.invalid", &format!("sslmode=verify-ca&{base}&application_name={app}")))
        .unwrap();
    works(&kms);
    assert!(server_says_tls(&app));
    let message = store_error(open(&url(&tls, "not-the-server.invalid", &format!("sslmode=verify-full&{base}"))));
    assert!(message.contains("not valid for name"), "{message}");
    assert!(message.contains("sslmode=verify-ca skips the name"), "{message}");
}

// ----------------------------------------------------------------- plaintext that is refused

#[test]
fn plaintext_fallback_to_a_non_loopback_host_is_refused_before_connecting() {
    // A listener on this machine's own non-loopback address proves no connection is made; with
    // no such address, a documentation address (TEST-NET-3) that has no route here.
    let trap = own_non_loopback_address().map(Trap::new);
    let remote = trap.as_ref().map_or_else(|| "203.0.113.1:5432".to_owned(), |t| t.addr.to_string());
    let (ip, port) = remote.rsplit_once(':').unwrap();
    let urls = [
        format!("postgresql://postgres@{remote}/postgres?sslmode=prefer"),
        format!("postgresql://postgres@{remote}/postgres?sslmode=allow"),
        // Every host of a URL must satisfy the rule, a loopback one first or not.
        format!("postgresql://postgres@127.0.0.1:5432,{remote}/postgres?sslmode=prefer"),
        format!("host={ip} port={port} user=postgres sslmode=prefer"),
    ];
    for url in &urls {
        let message = config_error(open(url));
        assert!(
            message.starts_with(&format!("Refusing to connect to the PostgreSQL keystore at {ip} with sslmode=")),
            "{message}"
        );
        assert!(message.contains("Put sslmode=verify-full in the URL"), "{message}");
        assert!(message.contains("or sslmode=disable to allow plaintext explicitly"), "{message}");
    }
    if let Some(trap) = trap {
        assert_eq!(trap.connections(), 0, "a refused URL opened a connection");
    } else {
        eprintln!("no non-loopback address here: checked the refusals, not the absence of connections");
    }
}

/// What a client sent a server that offers no TLS.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    /// It asked for TLS, heard no, and closed the connection.
    TlsRequestOnly,
    /// It asked for TLS, heard no, and went on in plaintext.
    PlaintextAfterRefusal,
    /// It sent its startup message in plaintext without asking.
    PlaintextStartup,
}

#[test]
fn without_sslmode_a_non_loopback_server_without_tls_gets_no_plaintext() {
    let Some(ip) = own_non_loopback_address() else {
        eprintln!("skipped: the machine has no non-loopback address");
        return;
    };
    // A server that answers the SSLRequest (length 8, code 80877103) with 'N'.
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 8];
        stream.read_exact(&mut first).unwrap();
        if first != [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f] {
            return Sent::PlaintextStartup;
        }
        stream.write_all(b"N").unwrap();
        let mut more = [0u8; 1];
        match stream.read(&mut more) {
            Ok(0) | Err(_) => Sent::TlsRequestOnly,
            Ok(_) => Sent::PlaintextAfterRefusal,
        }
    });
    let result = open(&format!("postgresql://postgres:secret@{addr}/postgres"));
    assert_eq!(server.join().unwrap(), Sent::TlsRequestOnly);
    let message = store_error(result);
    assert!(message.contains("server does not support TLS"), "{message}");
    assert!(message.contains("put sslmode=disable in the URL to allow plaintext explicitly"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn sslmode_disable_to_a_non_loopback_host_is_allowed() {
    let Some((tls, host)) = non_loopback_server() else { return };
    let app = app_name();
    let kms = open(&url(&tls, &host, &format!("sslmode=disable&application_name={app}"))).unwrap();
    works(&kms);
    assert!(!server_says_tls(&app), "sslmode=disable used TLS");
}
