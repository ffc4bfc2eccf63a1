//! `trent`: the Trent key management engine from the shell, with the subcommands, flags,
//! output and exit codes of `aws kms`, on the embedded keystore (a data directory holding a
//! SQLite keystore, created by the first command that needs it, with a root key kept apart
//! from it: see [`rootkey`]).
//!
//! ```text
//! trent encrypt --key-id alias/foo --plaintext fileb://bar.txt --output text \
//!     --query CiphertextBlob | base64 --decode > encrypted-bar.enc
//! trent envelope encrypt --key-id alias/foo --in big.tar --out big.tar.trent
//! ```
//!
//! Every subcommand of the KMS service model is here under the AWS CLI's name; the ones the
//! engine does not implement answer `UnsupportedOperationException`. The flags of each come
//! from the model's input shape (`KeyId` → `--key-id`), so names and required members are
//! AWS's. See the README's "CLI" section for the global options, the configuration file and
//! the exit codes.

mod args;
mod config;
mod envelope;
mod memscan;
mod model;
mod output;
mod rootkey;

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::Value;
use trent::{Caller, Kms};

use crate::config::Settings;
use crate::model::model;
use crate::output::{Format, Out};

/// Every heap block is wiped before it is freed (and before a reallocation moves it).
/// Plaintexts pass through buffers the CLI does not own: the request and response as
/// `serde_json` values, JMESPath's copies for `--query`, the output formatter's strings, the
/// bytes of a `fileb://` file; this wipes them all once they are dropped, with no unwiped copy
/// left behind when one grows. The cost, one `memset` per free, is nothing for a command that
/// runs once.
#[global_allocator]
static ALLOCATOR: trent::secret::WipingAllocator = trent::secret::WipingAllocator;

/// Exit codes of the AWS CLI v2.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The command line was not valid (unknown flag, bad value, missing required argument).
    pub const USAGE: u8 = 252;
    /// The environment or configuration was not valid (the keystore could not be opened).
    pub const CONFIG: u8 = 253;
    /// The command ran and the service (the engine) returned an error.
    pub const SERVICE: u8 = 254;
    /// Any other error (I/O, an envelope file that fails to authenticate).
    pub const OTHER: u8 = 255;
}

/// An error that ends the command: what to print on stderr, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (see [`exit`]).
    pub code: u8,
    /// The text printed on stderr (without the final newline).
    pub message: String,
}

impl Failure {
    /// A usage error (exit 252), printed after the AWS CLI's usage lines.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: exit::USAGE,
            message: format!(
                "usage: trent [options] <command> [parameters]\nTo see help text, you can run:\n\n  trent --help\n  trent <command> --help\n\ntrent: error: {message}"
            ),
        }
    }

    /// A service error (exit 254) in the AWS CLI's words.
    pub fn service(operation: &str, err: &trent::Error) -> Self {
        Self {
            code: exit::SERVICE,
            message: format!(
                "\nAn error occurred ({}) when calling the {operation} operation: {}",
                err.name(),
                err.message()
            ),
        }
    }

    /// Another error (exit 255).
    pub fn other(message: impl std::fmt::Display) -> Self {
        Self { code: exit::OTHER, message: format!("\n{message}") }
    }
}

/// `text` with its control characters (and Unicode's bidirectional overrides) escaped, for an
/// error message that quotes an argument, a path or a value: `\x1b`, `\n`, `\u{202e}`. What the
/// user typed must not move the cursor, recolour or rewrite the terminal.
pub fn escape(text: &str) -> String {
    escape_controls(text, false)
}

/// As [`escape`]; with `keep_newlines`, `\n` and `\t` pass (the layout of a whole message).
fn escape_controls(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_newlines => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && u32::from(c) <= 0xff => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

fn main() -> ExitCode {
    let code = match run(std::env::args_os().collect()) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            if !f.message.is_empty() {
                // Messages quote arguments, paths and the engine's texts (which quote key ids
                // and aliases as given): no control character reaches the terminal raw.
                let _ = writeln!(std::io::stderr(), "{}", escape_controls(&f.message, true));
            }
            ExitCode::from(f.code)
        }
    };
    // For the bounded-memory tests: the peak resident set size, from /proc (Linux).
    if std::env::var_os("TRENT_REPORT_PEAK_RSS").is_some()
        && let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
    {
        let _ = writeln!(std::io::stderr(), "trent: peak {line}");
    }
    memscan::report();
    code
}

fn run(mut argv: Vec<std::ffi::OsString>) -> Result<(), Failure> {
    // `trent kms encrypt …` works too: `aws` replaced by `trent`, the service name kept.
    // The first "kms" before any subcommand name is the AWS CLI's service name.
    let cmd = args::command();
    let is_subcommand = |a: &std::ffi::OsString| cmd.find_subcommand(a).is_some();
    if let Some(pos) = argv.iter().skip(1).position(|a| a == "kms" || is_subcommand(a))
        && argv[pos + 1] == "kms"
    {
        argv.remove(pos + 1);
    }
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        Err(Failure { code: exit::USAGE, message: String::new() })
                    } else {
                        Ok(())
                    }
                }
                _ => Err(Failure { code: exit::USAGE, message: e.render().to_string().trim_end().to_owned() }),
            };
        }
    };
    let settings = Settings::resolve(&matches)?;
    let Some((sub, sub_matches)) = matches.subcommand() else {
        return Err(Failure::usage("a command is required"));
    };
    if sub == "envelope" {
        return envelope::run(&settings, sub_matches);
    }
    let operation = args::operation_of(sub)
        .ok_or_else(|| Failure::usage(format!("argument command: Invalid choice: '{}'", escape(sub))))?;
    let request = args::request(operation, sub_matches)?;
    let query = settings.query.as_deref().map(compile_query).transpose()?;
    let (kms, caller) = open(&settings)?;
    let response = call(&kms, &caller, operation, request, settings.paginate)?;
    print(operation, response, query.as_ref(), settings.output)
}

/// Opens the engine on the data directory (creating the keystore at the first use), with the
/// root key from its source (see [`rootkey`]).
pub fn open(settings: &Settings) -> Result<(Kms, Caller), Failure> {
    // Owner-only, as the engine makes the data directory (parents included).
    use std::os::unix::fs::DirBuilderExt as _;
    let shown = || escape(&settings.data_dir.display().to_string());
    if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&settings.data_dir) {
        return Err(Failure {
            code: exit::CONFIG,
            message: format!("\ncannot create the data directory {}: {e}", shown()),
        });
    }
    let root_key = rootkey::source(settings)?;
    let kms = Kms::builder()
        .region(settings.region.clone())
        .account(settings.account.clone())
        .data_dir(&settings.data_dir)
        .root_key_source(root_key)
        .open()
        .map_err(|e| {
            let mut message = format!("\ncannot open the keystore in {}: {e}", shown());
            if matches!(e, trent::OpenError::RootKey(_)) {
                message = format!("{message} {}", rootkey::SOURCE_HINT);
            }
            Failure { code: exit::CONFIG, message }
        })?;
    let caller = match &settings.caller {
        Some(arn) => {
            Caller::from_arn(arn).map_err(|e| Failure::usage(format!("argument --caller: {}", escape(e.message()))))?
        }
        None => kms.root_caller(),
    };
    Ok((kms, caller))
}

/// Calls `operation` with `request`; for the operations the AWS CLI paginates by itself
/// (botocore's paginators, from the table of shapes), fetches every page and joins them as
/// the AWS CLI does (unless `--no-paginate` or a page token such as `--marker` was given).
pub fn call(kms: &Kms, caller: &Caller, operation: &str, mut request: Value, paginate: bool) -> Result<Value, Failure> {
    let once = |request: &Value| -> Result<Value, Failure> {
        let body = serde_json::to_vec(request).map_err(Failure::other)?;
        let out = kms.call_json(caller, operation, &body).map_err(|e| Failure::service(operation, &e))?;
        if out.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(out.expose_secret()).map_err(Failure::other)
    };
    let pager = model().paginator(operation).filter(|p| paginate && request.get(p.input_token).is_none());
    let Some(pager) = pager else { return once(&request) };
    let mut all: Option<Value> = None;
    loop {
        let mut page = once(&request)?;
        let next = match (page.get(pager.more_results), page.get(pager.output_token)) {
            (Some(Value::Bool(true)), Some(Value::String(m))) => Some(m.clone()),
            _ => None,
        };
        if let Value::Object(obj) = &mut page {
            obj.remove(pager.more_results);
            obj.remove(pager.output_token);
        }
        match &mut all {
            None => all = Some(page),
            Some(acc) => {
                if let (Some(Value::Array(into)), Some(Value::Array(items))) =
                    (acc.get_mut(pager.result_key), page.get_mut(pager.result_key))
                {
                    into.append(items);
                }
            }
        }
        match next {
            Some(marker) => request[pager.input_token] = Value::String(marker),
            None => return Ok(all.unwrap_or_default()),
        }
    }
}

/// Compiles a `--query` expression.
pub(crate) fn compile_query(q: &str) -> Result<jmespath::Expression<'static>, Failure> {
    jmespath::compile(q).map_err(|e| Failure::usage(format!("Bad value for --query {}: {e}", escape(q))))
}

/// Runs a compiled `--query` on a response.
pub(crate) fn search(q: &jmespath::Expression<'_>, v: &Value) -> Result<Value, Failure> {
    let found = q.search(v).map_err(|e| Failure::usage(format!("Bad value for --query: {e}")))?;
    serde_json::to_value(&*found).map_err(Failure::other)
}

/// Prints a response as the AWS CLI does: timestamps converted, `--query` applied, in the
/// `--output` format.
fn print(
    operation: &str,
    mut response: Value,
    query: Option<&jmespath::Expression<'_>>,
    format: Format,
) -> Result<(), Failure> {
    let m = model();
    if let Some(shape) = m.output(operation) {
        output::convert_timestamps(m, &mut response, shape);
    }
    let out: Out = match query {
        Some(q) => {
            let found = search(q, &response)?;
            if format == Format::Json && found == Value::Object(Default::default()) {
                // The AWS CLI prints a query's empty object, unlike an empty response.
                println!("{{}}");
                return Ok(());
            }
            output::shaped(m, found, None)
        }
        None => output::shaped(m, response, m.output(operation)),
    };
    let text = output::render(format, &out, operation);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(Failure::other)
}
