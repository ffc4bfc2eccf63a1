//! The command line: global options, one subcommand per operation of the service model with
//! one flag per member of its input shape, and the AWS CLI's forms of parameter values.
//!
//! Values: `fileb://PATH` is the raw bytes of a file, `file://PATH` its text; blobs given
//! inline are base64 (AWS CLI v2's `cli_binary_format = base64`); maps take the shorthand
//! `k=v,k2=v2` or JSON; lists take several values (`--grant-tokens a b`) or JSON; lists of
//! structures (tags) take `TagKey=k,TagValue=v` items or JSON; booleans are `--flag` and
//! `--no-flag`. `--cli-input-json` gives the whole request as JSON (flags win over it).

use std::ffi::OsString;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use crate::Failure;
use crate::model::{Kind, kebab, model};

/// The whole command line.
pub fn command() -> Command {
    let m = model();
    let mut cmd = Command::new("trent")
        .about("Trent: AWS KMS semantics on an embedded keystore, with the commands of `aws kms`")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(global_args());
    for op in m.operations() {
        let Some(input) = m.input(op) else { continue };
        let mut sub = Command::new(kebab(op)).about(format!("The {op} operation"));
        let required = m.required(input);
        for (member, shape) in m.members(input) {
            let long = kebab(member);
            let help = describe(shape, required.contains(&member));
            match m.kind(shape) {
                Kind::Boolean => {
                    sub = sub.arg(Arg::new(member.to_owned()).long(long.clone()).action(ArgAction::SetTrue)).arg(
                        Arg::new(format!("no-{member}"))
                            .long(format!("no-{long}"))
                            .action(ArgAction::SetTrue)
                            .conflicts_with(member.to_owned()),
                    );
                }
                Kind::List => {
                    sub = sub.arg(
                        Arg::new(member.to_owned())
                            .long(long)
                            .help(help)
                            .num_args(1..)
                            .action(ArgAction::Append)
                            .value_parser(clap::value_parser!(OsString)),
                    );
                }
                _ => {
                    sub = sub.arg(
                        Arg::new(member.to_owned())
                            .long(long)
                            .help(help)
                            .allow_hyphen_values(true)
                            .value_parser(clap::value_parser!(OsString)),
                    );
                }
            }
        }
        sub = sub.arg(Arg::new("cli-input-json").long("cli-input-json").help("The request as JSON (or file://PATH)"));
        if m.paginator(op).is_some() {
            sub = sub.arg(Arg::new("page-size").long("page-size").value_parser(clap::value_parser!(u32)));
        }
        cmd = cmd.subcommand(sub);
    }
    cmd.subcommand(crate::envelope::command())
}

/// The help line of a member: whether it is required, and the forms its value takes.
fn describe(shape: &str, required: bool) -> String {
    let m = model();
    let form = match m.kind(shape) {
        Kind::Blob => "blob: base64, or fileb://PATH for a file's raw bytes".to_owned(),
        Kind::Integer => "integer".to_owned(),
        Kind::Boolean => "boolean flag".to_owned(),
        Kind::Map => "map: k=v,k2=v2 or JSON".to_owned(),
        Kind::List => match m.list_member(shape).map(|s| m.kind(s)) {
            Some(Kind::Structure) => "list: Key=value,... items or JSON".to_owned(),
            _ => "list: one or more values, or JSON".to_owned(),
        },
        Kind::Structure => "structure: JSON".to_owned(),
        Kind::Timestamp => "timestamp".to_owned(),
        Kind::String => match m.enum_values(shape) {
            [] => "string (or file://PATH)".to_owned(),
            values => format!("one of {}", values.join(", ")),
        },
    };
    if required { format!("[required] {form}") } else { form }
}

fn global_args() -> Vec<Arg> {
    let opt = |name: &'static str, help: &'static str| Arg::new(name).long(name).global(true).help(help);
    vec![
        opt("output", "Output format: json, text or table").value_parser(["json", "text", "table"]),
        opt("query", "A JMESPath query applied to the response"),
        opt("region", "The Region of the engine (default us-east-1)"),
        opt("data-dir", "The data directory of the embedded keystore"),
        opt(
            "root-key-source",
            "Where the root key comes from: file:PATH, env:NAME, passphrase-file:PATH, passphrase-env:NAME or \
             passphrase-prompt (default: the data directory's root.key if it has one, else file:~/.trent/root.key). \
             Keep it apart from the data directory",
        ),
        opt("account", "The account of the engine (twelve digits)"),
        opt("caller", "The principal ARN the commands run as (default: the account's root)"),
        opt("profile", "The section of the configuration file to use"),
        Arg::new("no-paginate")
            .long("no-paginate")
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Print the first page only"),
        Arg::new("no-cli-pager").long("no-cli-pager").global(true).action(ArgAction::SetTrue).hide(true),
    ]
}

/// The operation of a subcommand name.
pub fn operation_of(sub: &str) -> Option<&'static str> {
    model().operation_named(sub)
}

/// The JSON request of `operation` from the subcommand's flags.
pub fn request(operation: &str, matches: &ArgMatches) -> Result<Value, Failure> {
    let m = model();
    let input = m.input(operation).unwrap_or_default();
    let mut req = match matches.get_one::<String>("cli-input-json") {
        Some(raw) => {
            let text = read_text(&OsString::from(raw), "--cli-input-json")?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(o)) => o,
                _ => return Err(Failure::usage("argument --cli-input-json: Invalid JSON: expected an object")),
            }
        }
        None => Map::new(),
    };
    for (member, shape) in m.members(input) {
        let flag = format!("--{}", kebab(member));
        let kind = m.kind(shape);
        let value = match kind {
            Kind::Boolean => {
                if matches.get_flag(member) {
                    Some(Value::Bool(true))
                } else if matches.get_flag(&format!("no-{member}")) {
                    Some(Value::Bool(false))
                } else {
                    None
                }
            }
            Kind::List => match matches.get_many::<OsString>(member) {
                Some(values) => Some(list_value(shape, &values.cloned().collect::<Vec<_>>(), &flag)?),
                None => None,
            },
            _ => match matches.get_one::<OsString>(member) {
                Some(raw) => Some(scalar_value(kind, shape, raw, &flag, (operation, member))?),
                None => None,
            },
        };
        if let Some(v) = value {
            req.insert(member.to_owned(), v);
        }
    }
    if let Some(size) = matches.try_get_one::<u32>("page-size").ok().flatten() {
        req.insert("Limit".into(), Value::from(*size));
    }
    let missing: Vec<String> =
        m.required(input).into_iter().filter(|r| !req.contains_key(*r)).map(|r| format!("--{}", kebab(r))).collect();
    if !missing.is_empty() {
        return Err(Failure::usage(format!("the following arguments are required: {}", missing.join(", "))));
    }
    Ok(Value::Object(req))
}

/// The most bytes a `file://` or `fileb://` parameter file may hold, unless its shape sets a
/// smaller maximum (a blob's). More than any KMS request member takes (a key policy, the
/// largest, is at most 32 KiB; its shape allows 131072 characters).
const MAX_PARAM_FILE: usize = 1 << 20;

/// A parameter file larger than the limit it was read under.
struct TooLarge;

/// Reads a `fileb://` or `file://` argument, or returns the bytes given inline (and whether
/// they are raw bytes). A file is read only up to `limit(binary)` bytes: one larger (by its
/// size, or by what a pipe or a device gives) is [`TooLarge`] without being read whole.
fn read_param(
    raw: &OsString,
    flag: &str,
    limit: impl Fn(bool) -> usize,
) -> Result<Result<(Vec<u8>, bool), TooLarge>, Failure> {
    let text = raw.to_string_lossy();
    for (prefix, binary) in [("fileb://", true), ("file://", false)] {
        if let Some(path) = text.strip_prefix(prefix) {
            let unable = |e: std::io::Error| {
                Failure::usage(format!("argument {flag}: Unable to load paramfile {}: {e}", crate::escape(&text)))
            };
            return Ok(read_bounded(&expand_home(path), limit(binary)).map_err(unable)?.map(|b| (b, binary)));
        }
    }
    Ok(Ok((raw.as_encoded_bytes().to_vec(), false)))
}

/// At most `limit` bytes of the file at `path`: its size first (a regular file larger than
/// `limit` is not read at all), then a read of at most `limit + 1` bytes (a FIFO, `/dev/stdin`
/// or a device has no useful size).
fn read_bounded(path: &std::path::Path, limit: usize) -> std::io::Result<Result<Vec<u8>, TooLarge>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit as u64 {
        return Ok(Err(TooLarge));
    }
    // The whole file in one buffer that does not grow (growing would leave copies behind).
    let expected = if meta.is_file() { meta.len() as usize } else { limit.min(64 << 10) };
    let mut bytes = Vec::with_capacity(expected + 1);
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() > limit { Err(TooLarge) } else { Ok(bytes) })
}

/// `path` with a leading `~/` replaced by `$HOME/`.
pub(crate) fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => path.into(),
    }
}

/// A `file://` or `fileb://` argument's text (at most [`MAX_PARAM_FILE`] bytes), or the text
/// given inline.
fn read_text(raw: &OsString, flag: &str) -> Result<String, Failure> {
    let (bytes, _) = read_param(raw, flag, |_| MAX_PARAM_FILE)?.map_err(|TooLarge| {
        Failure::usage(format!(
            "argument {flag}: Unable to load paramfile {}: the file is larger than {MAX_PARAM_FILE} bytes",
            crate::escape(&raw.to_string_lossy())
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| Failure::usage(format!("argument {flag}: the value is not UTF-8 text")))
}

/// The value of `member` of `operation`'s request.
fn scalar_value(kind: Kind, shape: &str, raw: &OsString, flag: &str, at: (&str, &str)) -> Result<Value, Failure> {
    match kind {
        Kind::Blob => {
            // A blob file larger than the shape's maximum (for file://, its base64 text, and a
            // final newline) is refused as the service refuses the value
            // (ValidationException), without being read whole.
            let max = model().max(shape).and_then(|m| usize::try_from(m).ok()).unwrap_or(MAX_PARAM_FILE);
            let limit = |binary| if binary { max } else { max.div_ceil(3) * 4 + 2 };
            let (bytes, binary) = read_param(raw, flag, limit)?.map_err(|TooLarge| too_long(at, max))?;
            if binary {
                return Ok(Value::String(STANDARD.encode(bytes)));
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                Failure::usage(format!("argument {flag}: Invalid base64: the value is not text{NOT_SHOWN}"))
            })?;
            let text = text.trim();
            if let Err(e) = STANDARD.decode(text) {
                return Err(Failure::usage(format!(
                    "argument {flag}: Invalid base64: {}{NOT_SHOWN}",
                    base64_problem(&e)
                )));
            }
            Ok(Value::String(text.to_owned()))
        }
        Kind::Integer => {
            let text = read_text(raw, flag)?;
            text.trim().parse::<i64>().map(Value::from).map_err(|_| {
                Failure::usage(format!("argument {flag}: invalid literal for int(): {}", crate::escape(&text)))
            })
        }
        Kind::Map => {
            let text = read_text(raw, flag)?;
            map_value(&text, flag)
        }
        Kind::Structure => {
            let text = read_text(raw, flag)?;
            structure_value(shape, &text, flag)
        }
        _ => read_text(raw, flag).map(Value::String),
    }
}

/// Ends the errors about an inline blob: the value itself is never shown, since it may be a
/// secret pasted on the command line.
const NOT_SHOWN: &str = " (the value is not shown). Inline blobs are base64; give a file's raw bytes with fileb://PATH";

/// What is wrong with a base64 value, without showing any of it.
fn base64_problem(e: &base64::DecodeError) -> String {
    use base64::DecodeError;
    match e {
        DecodeError::InvalidByte(at, _) => format!("the character at offset {at} is not a base64 character"),
        DecodeError::InvalidLength(len) => {
            format!("{len} base64 characters cannot be a whole value (base64 comes in groups of 4, padded with '=')")
        }
        DecodeError::InvalidLastSymbol(at, _) => {
            format!("the last character (offset {at}) has bits set that a whole value leaves zero")
        }
        DecodeError::InvalidPadding => "the '=' padding is missing or misplaced".into(),
    }
}

/// The service's ValidationException for a blob member longer than its shape's maximum, as the
/// engine words it.
fn too_long((operation, member): (&str, &str), max: usize) -> Failure {
    let mut field = member.to_owned();
    if let Some(first) = field.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    let err = trent::Error::Validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length \
         less than or equal to {max}"
    ));
    Failure::service(operation, &err)
}

/// A map: JSON, or the shorthand `k=v,k2=v2`.
pub fn map_value(text: &str, flag: &str) -> Result<Value, Failure> {
    let t = text.trim();
    if t.starts_with('{') {
        return serde_json::from_str(t).map_err(|e| Failure::usage(format!("argument {flag}: Invalid JSON: {e}")));
    }
    let mut map = Map::new();
    for pair in split_shorthand(t) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(Failure::usage(format!(
                "argument {flag}: Error parsing parameter '{flag}': Expected: '=', received: '{}'",
                crate::escape(&pair)
            )));
        };
        map.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()));
    }
    Ok(Value::Object(map))
}

/// A structure: JSON, or the shorthand `Member=value,...` (string members only).
fn structure_value(_shape: &str, text: &str, flag: &str) -> Result<Value, Failure> {
    map_value(text, flag)
}

/// Splits shorthand at commas that are not escaped with a backslash.
fn split_shorthand(t: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            ',' => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

fn list_value(shape: &str, values: &[OsString], flag: &str) -> Result<Value, Failure> {
    let m = model();
    let member_kind = m.list_member(shape).map(|s| m.kind(s)).unwrap_or(Kind::String);
    let texts: Vec<String> = values.iter().map(|v| read_text(v, flag)).collect::<Result<_, _>>()?;
    if let [only] = texts.as_slice()
        && only.trim_start().starts_with('[')
    {
        return serde_json::from_str(only.trim())
            .map_err(|e| Failure::usage(format!("argument {flag}: Invalid JSON: {e}")));
    }
    let mut items = Vec::new();
    for t in texts {
        match member_kind {
            Kind::Structure => items.push(map_value(&t, flag)?),
            Kind::String => {
                // The AWS CLI also takes `a,b,c` for a list of strings.
                items.extend(split_shorthand(&t).into_iter().map(Value::String));
            }
            _ => items.push(Value::String(t)),
        }
    }
    Ok(Value::Array(items))
}
