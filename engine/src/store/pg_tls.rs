//! TLS for the PostgreSQL keystore: libpq's `sslmode` and `sslrootcert`, over rustls.
//!
//! [`connect`] takes the keystore URL as the user wrote it, takes `sslmode` and `sslrootcert`
//! out of it (the `postgres` crate knows neither `verify-ca`, `verify-full` nor
//! `sslrootcert`), decides from them and from the hosts what the connection must be, refuses
//! before any network I/O what Trent does not allow, and connects with a rustls connector on
//! the engine's crypto provider (ring, or aws-lc-rs with feature `aws-lc`). The rules are
//! documented on [`PostgresStore::connect`](super::PostgresStore::connect); [`plan`] is where
//! they are decided.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::config::{Host, SslMode as WireMode};
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::{Client, Config, Socket};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, Result};
use crate::id::truncate_for_message;

/// Connects to the PostgreSQL server at `url` (a `postgresql://` URL or libpq's `key=value`
/// form) with the TLS the URL's `sslmode` and `sslrootcert` ask for, or refuses.
pub(super) fn connect(url: &str) -> Result<Client> {
    let (rest, params) = take_tls_params(url)?;
    // The error of a malformed URL names the option, never its value (a password stays out).
    let mut config: Config =
        rest.parse().map_err(|e| Error::Validation(format!("Invalid PostgreSQL keystore URL: {e}")))?;
    // Only `host` names the server for TLS: with addresses alone, the address is the name.
    if config.get_hosts().is_empty() {
        for addr in config.get_hostaddrs().to_vec() {
            config.host(&addr.to_string());
        }
    }
    let plan = plan(&params, &targets(&config))?;
    config.ssl_mode(plan.wire);
    let tls = MakeRustls(Arc::new(client_config(&plan.verify)?));
    config.connect(tls).map_err(|e| connect_error(&e, &plan))
}

/// libpq's `sslmode`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(Error::Validation(format!(
                    "Invalid sslmode '{}' in the PostgreSQL keystore URL: expected disable, allow, prefer, require, \
                     verify-ca or verify-full",
                    truncate_for_message(other)
                )));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted roots come from: `sslrootcert=<file>` or `sslrootcert=system`.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Roots {
    File(PathBuf),
    System,
}

/// The TLS parameters taken out of the URL.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
struct TlsParams {
    mode: Option<SslMode>,
    roots: Option<Roots>,
}

impl TlsParams {
    /// Records one parameter if it is ours; `false` if it is not.
    fn take(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "sslmode" => self.mode = Some(SslMode::parse(value)?),
            "sslrootcert" => {
                self.roots = Some(if value == "system" { Roots::System } else { Roots::File(value.into()) });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Splits `sslmode` and `sslrootcert` off the URL: the URL without them, and their values
/// (the last one wins, as in the `postgres` crate). Both of the crate's forms are read the
/// way it reads them; a string this cannot read is passed on whole, for the crate's parser to
/// refuse.
fn take_tls_params(url: &str) -> Result<(String, TlsParams)> {
    let mut params = TlsParams::default();
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        take_from_url(url, &mut params)?
    } else {
        take_from_key_values(url, &mut params)?
    };
    Ok((rest.unwrap_or_else(|| url.to_owned()), params))
}

/// The URL form: the parameters follow the first `?` after the credentials (which end at the
/// first `@`), as `key=value` pairs separated by `&`, percent-encoded.
fn take_from_url(url: &str, params: &mut TlsParams) -> Result<Option<String>> {
    let after_credentials = url.find('@').map_or(0, |at| at + 1);
    let Some(question) = url[after_credentials..].find('?').map(|q| after_credentials + q) else {
        return Ok(Some(url.to_owned()));
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut query = &url[question + 1..];
    while !query.is_empty() {
        // The crate's reading: the key runs to the next `=`, the value to the next `&`.
        let Some(eq) = query.find('=') else { return Ok(None) };
        let value_end = query[eq + 1..].find('&').map_or(query.len(), |amp| eq + 1 + amp);
        let pair = &query[..value_end];
        let (Some(key), Some(value)) = (percent_decode(&pair[..eq]), percent_decode(&pair[eq + 1..])) else {
            return Ok(None);
        };
        if !params.take(&key, &value)? {
            kept.push(pair);
        }
        query = query.get(value_end + 1..).unwrap_or("");
    }
    let mut rest = url[..question].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok(Some(rest))
}

/// libpq's `key=value` form: pairs separated by whitespace, values plain or in single quotes,
/// `\` escaping the next character.
fn take_from_key_values(s: &str, params: &mut TlsParams) -> Result<Option<String>> {
    let mut kept: Vec<&str> = Vec::new();
    let mut it = s.char_indices().peekable();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut it);
        let Some(&(start, _)) = it.peek() else { break };
        while it.next_if(|&(_, c)| !c.is_whitespace() && c != '=').is_some() {}
        let key_end = it.peek().map_or(s.len(), |&(i, _)| i);
        if key_end == start {
            return Ok(None);
        }
        skip_ws(&mut it);
        if it.next_if(|&(_, c)| c == '=').is_none() {
            return Ok(None);
        }
        skip_ws(&mut it);
        let quoted = it.next_if(|&(_, c)| c == '\'').is_some();
        let mut value = String::new();
        let mut closed = false;
        while let Some(&(_, c)) = it.peek() {
            if (quoted && c == '\'') || (!quoted && c.is_whitespace()) {
                break;
            }
            it.next();
            if c == '\\' {
                if let Some((_, escaped)) = it.next() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        if quoted {
            closed = it.next_if(|&(_, c)| c == '\'').is_some();
        }
        if (quoted && !closed) || (!quoted && value.is_empty()) {
            return Ok(None);
        }
        let end = it.peek().map_or(s.len(), |&(i, _)| i);
        if !params.take(&s[start..key_end], &value)? {
            kept.push(&s[start..end]);
        }
    }
    Ok(Some(kept.join(" ")))
}

/// Percent-decoding into UTF-8, as the `postgres` crate does for URL parameters.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// One server the URL names, as the connection will reach it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Target {
    /// How messages name it: the host, else the address.
    shown: String,
    /// A loopback address, `localhost` or a Unix socket: plaintext may stay on this machine.
    local: bool,
}

/// The servers of `config`, each judged by the address the connection goes to: `hostaddr`
/// where given, else `host`. A host name other than `localhost` is not local, whatever it
/// resolves to: the decision is made before any lookup.
fn targets(config: &Config) -> Vec<Target> {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    (0..hosts.len().max(addrs.len()))
        .map(|i| {
            let shown = match (hosts.get(i), addrs.get(i)) {
                (Some(Host::Tcp(name)), _) => name.clone(),
                (Some(Host::Unix(path)), _) => path.display().to_string(),
                (None, Some(addr)) => addr.to_string(),
                (None, None) => String::new(),
            };
            let local = match (addrs.get(i), hosts.get(i)) {
                (Some(addr), _) => is_loopback(*addr),
                (None, Some(Host::Unix(_))) => true,
                (None, Some(Host::Tcp(name))) => {
                    name.eq_ignore_ascii_case("localhost") || name.parse().is_ok_and(is_loopback)
                }
                (None, None) => false,
            };
            Target { shown, local }
        })
        .collect()
}

/// 127.0.0.0/8, `::1`, and `::ffff:127.0.0.0/104`.
fn is_loopback(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// What the connection must be.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Plan {
    mode: SslMode,
    /// The URL gave no sslmode.
    default: bool,
    /// What the `postgres` crate is told: disable, prefer (TLS if the server offers it) or
    /// require.
    wire: WireMode,
    verify: Verify,
}

/// How the server's certificate is checked.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Verify {
    /// Not at all: the connection is encrypted, the server not authenticated.
    Nothing,
    /// Its chain up to one of these roots, not the name in it (`verify-ca`).
    Chain(Roots),
    /// Its chain and that it names the host (`verify-full`).
    Full(Roots),
}

/// Decides the connection, or refuses it before any network I/O.
fn plan(params: &TlsParams, targets: &[Target]) -> Result<Plan> {
    use SslMode::*;
    let remote = targets.iter().find(|t| !t.local);
    let system = params.roots == Some(Roots::System);
    let mode = params.mode.unwrap_or(if remote.is_some() || system { VerifyFull } else { Prefer });
    if system && mode != VerifyFull {
        return Err(Error::Validation(format!(
            "sslmode={} cannot be used with sslrootcert=system in the PostgreSQL keystore URL: with the system's \
             roots, only the check of the host name ties the certificate to the server. Use sslmode=verify-full.",
            mode.name()
        )));
    }
    if let (Allow | Prefer, Some(remote)) = (mode, remote) {
        return Err(Error::Validation(format!(
            "Refusing to connect to the PostgreSQL keystore at {} with sslmode={}: that mode falls back to \
             plaintext, which Trent allows only to loopback addresses and Unix sockets. Put sslmode=verify-full in \
             the URL (with sslrootcert=<CA file> for a private CA) to require TLS, or sslmode=disable to allow \
             plaintext explicitly.",
            truncate_for_message(&remote.shown),
            mode.name()
        )));
    }
    let file = match &params.roots {
        Some(Roots::File(path)) => Some(Roots::File(path.clone())),
        _ => None,
    };
    let verify = match mode {
        Disable => Verify::Nothing,
        // libpq's rule: with a root certificate, the weaker modes check the chain too.
        Allow | Prefer | Require => file.map_or(Verify::Nothing, Verify::Chain),
        VerifyCa => Verify::Chain(file.ok_or_else(|| {
            Error::Validation(
                "sslmode=verify-ca needs sslrootcert=<CA file> in the PostgreSQL keystore URL: against the system's \
                 roots it would accept a certificate any public CA issued, whatever host it names. Give the CA \
                 file, or use sslmode=verify-full."
                    .into(),
            )
        })?),
        VerifyFull => Verify::Full(params.roots.clone().unwrap_or(Roots::System)),
    };
    let wire = match mode {
        Disable => WireMode::Disable,
        Allow | Prefer => WireMode::Prefer,
        Require | VerifyCa | VerifyFull => WireMode::Require,
    };
    Ok(Plan { mode, default: params.mode.is_none(), wire, verify })
}

impl Plan {
    /// How messages name the mode.
    fn mode_text(&self) -> String {
        match (self.default, self.mode) {
            (false, mode) => format!("sslmode={}", mode.name()),
            (true, SslMode::VerifyFull) => "sslmode=verify-full, the default for a host that is not loopback".into(),
            (true, mode) => format!("sslmode={}, the default for loopback hosts", mode.name()),
        }
    }
}

/// The connection's error, with what to do about it when TLS is what failed.
fn connect_error(e: &postgres::Error, plan: &Plan) -> Error {
    // The crate's message leaves out its cause ("error performing TLS handshake"): add the
    // chain. None of it carries the URL or the password.
    let mut message = format!("Cannot connect to the PostgreSQL keystore: {e}");
    let mut source = std::error::Error::source(e);
    let mut certificate = false;
    while let Some(s) = source {
        // tokio-rustls wraps rustls's error in an io::Error, whose `source` skips it.
        let tls = s.downcast_ref::<io::Error>().and_then(io::Error::get_ref).map_or(s, |inner| inner as _);
        certificate |= matches!(tls.downcast_ref::<rustls::Error>(), Some(rustls::Error::InvalidCertificate(_)));
        let text = s.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    if certificate {
        message.push_str(&format!(
            ". The server's certificate failed the checks of {}: it must chain up to the CA in sslrootcert (or, \
             without sslrootcert, to a root this system trusts){}.",
            plan.mode_text(),
            if matches!(plan.verify, Verify::Full(_)) {
                " and name the host of the URL (sslmode=verify-ca skips the name)"
            } else {
                ""
            }
        ));
    } else if plan.wire == WireMode::Require && message.contains("server does not support TLS") {
        message.push_str(&format!(
            ". The URL asks for TLS ({}): turn on ssl in the server's configuration, or put sslmode=disable in the \
             URL to allow plaintext explicitly.",
            plan.mode_text()
        ));
    }
    Error::Internal(message)
}

/// rustls on the engine's crypto provider.
fn provider() -> CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        rustls::crypto::aws_lc_rs::default_provider()
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        rustls::crypto::ring::default_provider()
    }
}

fn tls_setup_error(e: impl fmt::Display) -> Error {
    Error::Internal(format!("Cannot set up TLS for the PostgreSQL keystore: {e}"))
}

/// The client configuration for `verify`: TLS 1.2 and 1.3, ALPN `postgresql` (which
/// PostgreSQL 17's direct TLS negotiation requires), no client certificate.
fn client_config(verify: &Verify) -> Result<ClientConfig> {
    let provider = Arc::new(provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder =
        ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().map_err(tls_setup_error)?;
    let mut config = match verify {
        Verify::Full(roots) => builder.with_root_certificates(load_roots(roots)?),
        Verify::Chain(roots) => builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainVerifier {
            roots: Some(Arc::new(load_roots(roots)?)),
            algorithms,
        })),
        Verify::Nothing => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainVerifier { roots: None, algorithms }))
        }
    }
    .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

/// The roots of `sslrootcert` (a PEM file of one or more certificates) or of the system
/// (the platform's store; on Linux the OpenSSL locations, `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// included).
fn load_roots(roots: &Roots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let unreadable = |e: &dyn fmt::Display| {
                Error::Validation(format!(
                    "Cannot read sslrootcert '{}': {e}",
                    truncate_for_message(&path.display().to_string())
                ))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
                store.add(cert.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
            }
            if store.is_empty() {
                return Err(unreadable(&"it holds no PEM certificate"));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
                return Err(Error::Validation(format!(
                    "Found no trusted root certificates on this system{why} to verify the PostgreSQL keystore's \
                     certificate: put sslrootcert=<CA file> in the URL"
                )));
            }
        }
    }
    Ok(store)
}

/// `verify-ca` (with roots: the chain, not the name) and the unverified modes (without).
/// Either way the handshake's signature is checked against the certificate's key.
#[derive(Debug)]
struct ChainVerifier {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algorithms.all)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The `postgres` crate's TLS seam over tokio-rustls.
#[derive(Clone)]
struct MakeRustls(Arc<ClientConfig>);

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<RustlsConnect> {
        // Called for every connection, TLS or not (a Unix socket passes ""): a bad name fails
        // only if a handshake is really attempted.
        Ok(RustlsConnect { config: Arc::clone(&self.0), host: host.to_owned() })
    }
}

struct RustlsConnect {
    config: Arc<ClientConfig>,
    host: String,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let name = ServerName::try_from(self.host).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(self.config).connect(name, socket).await?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM then runs without channel binding (SCRAM-SHA-256, not -PLUS).
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &str) -> (String, TlsParams) {
        take_tls_params(url).expect("parameters")
    }

    fn plan_for(url: &str) -> Result<Plan> {
        let (rest, params) = take_tls_params(url)?;
        let config: Config = rest.parse().expect("a URL the crate reads");
        plan(&params, &targets(&config))
    }

    fn refusal(url: &str) -> String {
        match plan_for(url) {
            Err(Error::Validation(message)) => message,
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let (rest, p) = params(
            "postgresql://u:p%40ss@db:5432/trent?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgresql://u:p%40ss@db:5432/trent?application_name=a");
        assert_eq!(p.mode, Some(SslMode::VerifyFull));
        assert_eq!(p.roots, Some(Roots::File("/etc/ca.pem".into())));

        let (rest, p) = params("postgres://db/trent?sslmode=require");
        assert_eq!((rest.as_str(), p.mode), ("postgres://db/trent", Some(SslMode::Require)));

        // A `?` in the password is not the start of the parameters; the last sslmode wins.
        let (rest, p) = params("postgresql://u:a?b@db/x?sslmode=prefer&sslmode=disable");
        assert_eq!((rest.as_str(), p.mode), ("postgresql://u:a?b@db/x", Some(SslMode::Disable)));

        let (rest, p) = params("postgresql://db/x?sslrootcert=system");
        assert_eq!((rest.as_str(), p.roots), ("postgresql://db/x", Some(Roots::System)));

        let (rest, p) = params("postgresql://db/x");
        assert_eq!((rest.as_str(), p), ("postgresql://db/x", TlsParams::default()));
    }

    #[test]
    fn tls_parameters_are_taken_out_of_key_value_strings() {
        let (rest, p) = params("host=db  sslmode = verify-ca sslrootcert='/my ca\\'s.pem' password='a b' dbname=trent");
        assert_eq!(rest, "host=db password='a b' dbname=trent");
        assert_eq!(p.mode, Some(SslMode::VerifyCa));
        assert_eq!(p.roots, Some(Roots::File("/my ca's.pem".into())));
        // Unreadable: passed on whole for the crate to refuse.
        assert_eq!(params("host=db sslmode='x").0, "host=db sslmode='x");
    }

    #[test]
    fn an_unknown_sslmode_is_refused() {
        assert!(refusal("postgresql://127.0.0.1/x?sslmode=verify_full").contains("Invalid sslmode 'verify_full'"));
    }

    #[test]
    fn without_sslmode_remote_hosts_get_verify_full_and_local_ones_prefer() {
        for url in [
            "postgresql://192.0.2.1/x",
            "postgresql://db.example/x",
            "postgresql://[2001:db8::1]:5432/x",
            "host=198.51.100.7 dbname=x",
            // Judged by the address connected to, not the name.
            "postgresql://localhost/x?hostaddr=203.0.113.9",
            // Every host counts.
            "postgresql://127.0.0.1:5432,192.0.2.1:5432/x",
        ] {
            let plan = plan_for(url).expect("a plan");
            assert_eq!((plan.mode, plan.wire), (SslMode::VerifyFull, WireMode::Require), "{url}");
            assert_eq!(plan.verify, Verify::Full(Roots::System), "{url}");
        }
        for url in [
            "postgresql://127.0.0.1/x",
            "postgresql://127.8.9.10/x",
            "postgresql://LOCALHOST/x",
            "postgresql://[::1]:5432/x",
            "postgresql://[::ffff:127.0.0.1]/x",
            "postgresql://%2Frun%2Fpostgresql/x",
            "host=/run/postgresql,127.0.0.1 dbname=x",
            "postgresql://db.example/x?hostaddr=127.0.0.1",
        ] {
            let plan = plan_for(url).expect("a plan");
            assert_eq!(
                (plan.mode, plan.wire, plan.verify),
                (SslMode::Prefer, WireMode::Prefer, Verify::Nothing),
                "{url}"
            );
        }
        // sslrootcert=system means verify-full everywhere, as in libpq.
        let plan = plan_for("postgresql://127.0.0.1/x?sslrootcert=system").expect("a plan");
        assert_eq!(plan.verify, Verify::Full(Roots::System));
    }

    #[test]
    fn fallback_to_plaintext_is_refused_for_remote_hosts() {
        for url in [
            "postgresql://192.0.2.1/x?sslmode=prefer",
            "postgresql://192.0.2.1/x?sslmode=allow",
            "postgresql://127.0.0.1:5432,192.0.2.1:5432/x?sslmode=prefer",
            "host=192.0.2.1 sslmode=prefer",
        ] {
            let message = refusal(url);
            assert!(message.contains("at 192.0.2.1"), "{message}");
            assert!(message.contains("sslmode=verify-full") && message.contains("sslmode=disable"), "{message}");
        }
        // Locally they are fine, and plaintext anywhere is fine when asked for.
        assert_eq!(plan_for("postgresql://127.0.0.1/x?sslmode=allow").expect("a plan").wire, WireMode::Prefer);
        let plan = plan_for("postgresql://192.0.2.1/x?sslmode=disable").expect("a plan");
        assert_eq!((plan.wire, plan.verify), (WireMode::Disable, Verify::Nothing));
    }

    #[test]
    fn verification_follows_libpq() {
        let ca = Roots::File("/ca.pem".into());
        let cases = [
            ("require", Verify::Nothing),
            ("require&sslrootcert=/ca.pem", Verify::Chain(ca.clone())),
            ("verify-ca&sslrootcert=/ca.pem", Verify::Chain(ca.clone())),
            ("verify-full&sslrootcert=/ca.pem", Verify::Full(ca.clone())),
            ("verify-full", Verify::Full(Roots::System)),
            ("disable&sslrootcert=/ca.pem", Verify::Nothing),
        ];
        for (query, verify) in cases {
            let plan = plan_for(&format!("postgresql://192.0.2.1/x?sslmode={query}")).expect("a plan");
            assert_eq!(plan.verify, verify, "{query}");
        }
        assert!(refusal("postgresql://192.0.2.1/x?sslmode=verify-ca").contains("needs sslrootcert=<CA file>"));
        assert!(
            refusal("postgresql://192.0.2.1/x?sslmode=require&sslrootcert=system")
                .contains("cannot be used with sslrootcert=system")
        );
    }

    #[test]
    fn hosts_given_by_address_alone_are_named_by_it() {
        let config: Config = "hostaddr=192.0.2.1 dbname=x".parse().expect("config");
        let targets = targets(&config);
        assert_eq!(targets, vec![Target { shown: "192.0.2.1".into(), local: false }]);
    }
}
