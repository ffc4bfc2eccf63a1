//! `trent envelope encrypt|decrypt`: files of any size through the engine's streaming envelope
//! format (`trent::envelope`), chunks sealed in parallel.
//!
//! `--in -` reads stdin and `--out -` writes stdout. A file output is written to a temporary
//! file in the output's directory and renamed over `--out` only on success, so a failure
//! never leaves a partial (or unauthenticated) output behind. On stdout, decryption writes
//! each batch of chunks only after the whole batch has authenticated, but a failure after the
//! first batch leaves the earlier batches written: pipe into something that discards its
//! input on a non-zero exit status, or decrypt to a file.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read, Write};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use trent::envelope::{self, DecryptOptions, EncryptOptions, EnvelopeError, Summary};

use crate::config::Settings;
use crate::{Failure, exit};

/// Inputs at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 64 << 20;

/// The `envelope` subcommand.
pub fn command() -> Command {
    let common = |c: Command| {
        c.arg(
            Arg::new("in")
                .long("in")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("Input file, or - for stdin"),
        )
        .arg(
            Arg::new("out")
                .long("out")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("Output file, or - for stdout"),
        )
        .arg(
            Arg::new("encryption-context")
                .long("encryption-context")
                .help("k=v,k2=v2 or JSON: bound to the data key (on decrypt: the file's context must equal it)"),
        )
        .arg(Arg::new("no-progress").long("no-progress").action(ArgAction::SetTrue).help("Never show a progress bar"))
    };
    Command::new("envelope")
        .about("Envelope-encrypt files of any size under a data key (streaming, parallel, chunked AES-256-GCM)")
        .subcommand_required(true)
        .subcommand(common(
            Command::new("encrypt")
                .about("Encrypt a file under a fresh data key from GenerateDataKey")
                .arg(
                    Arg::new("key-id")
                        .long("key-id")
                        .required(true)
                        .help("The KMS key (id, ARN, alias name or alias ARN)"),
                )
                .arg(
                    Arg::new("chunk-size")
                        .long("chunk-size")
                        .value_parser(clap::value_parser!(usize))
                        .help("Plaintext bytes per chunk (default 262144)"),
                ),
        ))
        .subcommand(common(
            Command::new("decrypt")
                .about("Decrypt an envelope file (the key comes from its header)")
                .arg(Arg::new("key-id").long("key-id").help("Require the file to be under this KMS key")),
        ))
}

/// Runs `trent envelope …`.
pub fn run(settings: &Settings, matches: &ArgMatches) -> Result<(), Failure> {
    let Some((verb, m)) = matches.subcommand() else {
        return Err(Failure::usage("envelope: encrypt or decrypt is required"));
    };
    let (Some(input_path), Some(output_path)) = (m.get_one::<PathBuf>("in"), m.get_one::<PathBuf>("out")) else {
        return Err(Failure::usage("the following arguments are required: --in, --out"));
    };
    let context = match m.get_one::<String>("encryption-context") {
        Some(raw) => Some(parse_context(raw)?),
        None => None,
    };
    // Every argument is checked before any work: a bad --query must not fail the command
    // after the output is written. It is compiled, and run on a summary of the same shape (a
    // query can also fail on the types it meets).
    let query = settings.query.as_deref().map(crate::compile_query).transpose()?;
    if let Some(q) = &query {
        let sample = Summary {
            key_arn: String::new(),
            encryption_context: context.clone().unwrap_or_default(),
            plaintext_bytes: 0,
            chunks: 0,
            chunk_size: 0,
        };
        crate::search(q, &summary_value(&sample, input_path, output_path))?;
    }
    let (kms, caller) = crate::open(settings)?;

    let (input, input_len): (Box<dyn Read + Send>, Option<u64>) = if input_path == Path::new("-") {
        (Box::new(io::stdin()), None)
    } else {
        let f =
            File::open(input_path).map_err(|e| Failure::other(format!("cannot open {}: {e}", shown(input_path))))?;
        let len = f.metadata().ok().filter(|md| md.is_file()).map(|md| md.len());
        (Box::new(f), len)
    };
    let bar = progress_bar(m.get_flag("no-progress"), input_len);
    let progress = |done: u64| bar.set_position(done);
    let operation = if verb == "encrypt" { "GenerateDataKey" } else { "Decrypt" };

    let to_stdout = output_path == Path::new("-");
    let result = if to_stdout {
        // Straight to file descriptor 1 (a duplicate of it), not through the standard
        // library's line buffer, which would keep the last bytes of a plaintext until exit.
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| Failure::other(format!("cannot write to stdout: {e}")))?;
        work(verb, &kms, &caller, m, context, &progress, input, out)
    } else {
        let dir = match output_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = output_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| Failure::other(format!("cannot create a temporary file in {}: {e}", shown(&dir))))?;
        let summary = work(verb, &kms, &caller, m, context, &progress, input, tmp.as_file_mut());
        match summary {
            Ok(s) => {
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", shown(output_path))))?;
                tmp.persist(output_path)
                    .map_err(|e| Failure::other(format!("cannot write {}: {}", shown(output_path), e.error)))?;
                Ok(s)
            }
            // Dropping `tmp` deletes the partial output.
            Err(e) => Err(e),
        }
    };
    bar.finish_and_clear();
    let summary = result.map_err(|e| match e {
        EnvelopeError::Kms(err) => Failure::service(operation, &err),
        other => Failure { code: exit::OTHER, message: format!("\ntrent envelope {verb}: {other}") },
    })?;
    if !to_stdout {
        report(settings, query.as_ref(), verb, &summary, input_path, output_path)?;
    }
    Ok(())
}

/// The summary as `--output` prints it (before `--query`).
fn summary_value(s: &Summary, input: &Path, output: &Path) -> Value {
    json!({
        "KeyId": s.key_arn,
        "EncryptionContext": s.encryption_context,
        "InputFile": input.display().to_string(),
        "OutputFile": output.display().to_string(),
        "PlaintextBytes": s.plaintext_bytes,
        "Chunks": s.chunks,
        "ChunkSize": s.chunk_size,
    })
}

/// A path for an error message, its control characters escaped.
fn shown(path: &Path) -> String {
    crate::escape(&path.display().to_string())
}

#[allow(clippy::too_many_arguments)]
fn work<W: Write + Send>(
    verb: &str,
    kms: &trent::Kms,
    caller: &trent::Caller,
    m: &ArgMatches,
    context: Option<trent::EncryptionContext>,
    progress: &(dyn Fn(u64) + Sync),
    input: Box<dyn Read + Send>,
    output: W,
) -> Result<Summary, EnvelopeError> {
    if verb == "encrypt" {
        let key_id = m.get_one::<String>("key-id").map(String::as_str).unwrap_or_default();
        let opts = EncryptOptions {
            chunk_size: m.get_one::<usize>("chunk-size").copied().unwrap_or(envelope::DEFAULT_CHUNK_SIZE),
            encryption_context: context.unwrap_or_default(),
            batch_chunks: None,
            progress: Some(progress),
        };
        envelope::encrypt(kms, caller, key_id, &opts, input, output)
    } else {
        let opts = DecryptOptions {
            key_id: m.get_one::<String>("key-id").cloned(),
            encryption_context: context,
            batch_chunks: None,
            progress: Some(progress),
        };
        envelope::decrypt(kms, caller, &opts, input, output)
    }
}

fn progress_bar(disabled: bool, len: Option<u64>) -> ProgressBar {
    match len {
        Some(len) if !disabled && len >= PROGRESS_THRESHOLD && io::stderr().is_terminal() => {
            let bar = ProgressBar::new(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

fn parse_context(raw: &str) -> Result<trent::EncryptionContext, Failure> {
    let value = crate::args::map_value(raw, "--encryption-context")?;
    serde_json::from_value(value)
        .map_err(|_| Failure::usage("argument --encryption-context: the values must be strings"))
}

/// Prints what was done, in the `--output` format (honouring `--query`, compiled before the
/// work).
fn report(
    settings: &Settings,
    query: Option<&jmespath::Expression<'_>>,
    verb: &str,
    s: &Summary,
    input: &Path,
    output: &Path,
) -> Result<(), Failure> {
    let v = summary_value(s, input, output);
    let v = match query {
        Some(q) => crate::search(q, &v)?,
        None => v,
    };
    let order = ["KeyId", "EncryptionContext", "InputFile", "OutputFile", "PlaintextBytes", "Chunks", "ChunkSize"];
    let out = match crate::output::shaped(crate::model::model(), v, None) {
        crate::output::Out::Obj(mut entries) => {
            entries.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
            crate::output::Out::Obj(entries)
        }
        other => other,
    };
    let title = if verb == "encrypt" { "EnvelopeEncrypt" } else { "EnvelopeDecrypt" };
    print!("{}", crate::output::render(settings.output, &out, title));
    Ok(())
}
