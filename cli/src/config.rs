//! Global settings: each from its flag, else its environment variable, else the
//! configuration file, else the default.
//!
//! | setting | flag | environment | config key | default |
//! |---|---|---|---|---|
//! | data directory | `--data-dir` | `TRENT_DATA_DIR` | `data_dir` | `$HOME/.trent/data` |
//! | root key source | `--root-key-source` | `TRENT_ROOT_KEY_SOURCE` | `root_key_source` | the data directory's `root.key` if it has one, else `file:$HOME/.trent/root.key` |
//! | Region | `--region` | `TRENT_REGION`, `AWS_REGION`, `AWS_DEFAULT_REGION` | `region` | `us-east-1` |
//! | account | `--account` | `TRENT_ACCOUNT` | `account` | `111122223333` |
//! | caller | `--caller` | `TRENT_CALLER` | `caller` | the account's root |
//! | output | `--output` | `TRENT_OUTPUT`, `AWS_DEFAULT_OUTPUT` | `output` | `json` |
//! | profile | `--profile` | `TRENT_PROFILE`, `AWS_PROFILE` | — | `default` |
//!
//! The configuration file is `TRENT_CONFIG_FILE` or `$HOME/.trent/config`, in the AWS CLI's
//! INI form: `[default]` or `[profile NAME]` sections of `key = value` lines, `#` and `;`
//! comments, indented continuation lines. As in the AWS CLI, a line that is none of these
//! makes every command fail (naming the file and the line), and so does a profile named by
//! `--profile` or `TRENT_PROFILE` that the file does not have. `AWS_PROFILE` selects a
//! profile only if the file has it (it is usually set for the AWS CLI's own profiles).

use std::collections::HashMap;
use std::path::PathBuf;

use clap::ArgMatches;

use crate::Failure;
use crate::output::Format;

/// The resolved global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data directory of the embedded keystore.
    pub data_dir: PathBuf,
    /// Where the root key comes from.
    pub root_key: RootKeySpec,
    /// The engine's Region.
    pub region: String,
    /// The engine's account.
    pub account: String,
    /// The caller's principal ARN (`None`: the account's root).
    pub caller: Option<String>,
    /// `--output`.
    pub output: Format,
    /// `--query`.
    pub query: Option<String>,
    /// Whether to fetch every page of a paginated operation.
    pub paginate: bool,
}

/// Where the root key comes from: the value of `--root-key-source`. A passphrase itself is
/// never a value: it would show in `ps` and in shell history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKeySpec {
    /// None given: the data directory's `root.key` if it has one (made by earlier versions),
    /// else [`crate::rootkey::default_key_file`].
    Default,
    /// `file:PATH`: a 32-byte key file, created (random, mode 0600) with a new keystore.
    File(PathBuf),
    /// `env:NAME`: the variable `NAME` holds the key (64 hex digits or base64).
    Env(String),
    /// `passphrase-file:PATH`: the passphrase is the file's content (one final newline
    /// dropped).
    PassphraseFile(PathBuf),
    /// `passphrase-env:NAME`: the variable `NAME` holds the passphrase.
    PassphraseEnv(String),
    /// `passphrase-prompt`: ask on the terminal.
    PassphrasePrompt,
}

/// The forms `--root-key-source` takes, for help and error texts.
pub const ROOT_KEY_SOURCE_FORMS: &str =
    "file:PATH, env:NAME, passphrase-file:PATH, passphrase-env:NAME or passphrase-prompt";

impl RootKeySpec {
    /// Parses a `--root-key-source` value (`None`: not one of the forms).
    pub fn parse(text: &str) -> Option<Self> {
        let name = |n: &str| (!n.is_empty() && !n.contains(['=', '\0'])).then(|| n.to_owned());
        let path = |p: &str| (!p.is_empty()).then(|| crate::args::expand_home(p));
        match text.split_once(':') {
            Some(("file", p)) => path(p).map(Self::File),
            Some(("env", n)) => name(n).map(Self::Env),
            Some(("passphrase-file", p)) => path(p).map(Self::PassphraseFile),
            Some(("passphrase-env", n)) => name(n).map(Self::PassphraseEnv),
            None if text == "passphrase-prompt" => Some(Self::PassphrasePrompt),
            _ => None,
        }
    }
}

impl Settings {
    /// Resolves the settings from the global flags, the environment and the config file.
    pub fn resolve(matches: &ArgMatches) -> Result<Self, Failure> {
        // Global flags are visible from the subcommand's matches too.
        let (sub_matches, flag) = {
            let sub = matches.subcommand().map(|(_, m)| m);
            let get = move |name: &str| -> Option<String> {
                sub.and_then(|m| m.try_get_one::<String>(name).ok().flatten().cloned())
                    .or_else(|| matches.try_get_one::<String>(name).ok().flatten().cloned())
            };
            (sub, get)
        };
        let env = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let config = load_config()?;
        let file = profile_settings(config.as_ref(), flag("profile").or_else(|| env(&["TRENT_PROFILE"])))?;
        let pick = |flag_name: &str, envs: &[&str], key: &str| {
            flag(flag_name).or_else(|| env(envs)).or_else(|| file.get(key).cloned())
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let data_dir =
            pick("data-dir", &["TRENT_DATA_DIR"], "data_dir").map(PathBuf::from).unwrap_or_else(|| match &home {
                Some(h) => h.join(".trent").join("data"),
                None => PathBuf::from("trent-data"),
            });
        let root_key = root_key_spec(
            flag("root-key-source"),
            env(&["TRENT_ROOT_KEY_SOURCE"]),
            file.get("root_key_source").map(String::as_str),
            config.as_ref(),
        )?;
        let output = pick("output", &["TRENT_OUTPUT", "AWS_DEFAULT_OUTPUT"], "output").unwrap_or_else(|| "json".into());
        let output = Format::parse(&output).ok_or_else(|| {
            Failure::usage(format!(
                "argument --output: Invalid choice: '{}' (choose from 'json', 'text', 'table')",
                crate::escape(&output)
            ))
        })?;
        let paginate = !(sub_matches
            .is_some_and(|m| m.try_get_one::<bool>("no-paginate").ok().flatten() == Some(&true))
            || matches.try_get_one::<bool>("no-paginate").ok().flatten() == Some(&true));
        Ok(Settings {
            data_dir,
            root_key,
            region: pick("region", &["TRENT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"], "region")
                .unwrap_or_else(|| "us-east-1".into()),
            account: pick("account", &["TRENT_ACCOUNT"], "account").unwrap_or_else(|| "111122223333".into()),
            caller: pick("caller", &["TRENT_CALLER"], "caller"),
            output,
            query: flag("query"),
            paginate,
        })
    }
}

/// The root key source: the flag, else `TRENT_ROOT_KEY_SOURCE`, else the profile's
/// `root_key_source`, else the default. The value is never echoed in an error: it may be a
/// passphrase typed where a source was expected.
fn root_key_spec(
    flag: Option<String>,
    env: Option<String>,
    file: Option<&str>,
    config: Option<&Config>,
) -> Result<RootKeySpec, Failure> {
    let bad = |origin: String| {
        format!(
            "{origin}: expected {ROOT_KEY_SOURCE_FORMS} (the value given is not shown). A passphrase is \
             never given on the command line or in the configuration file: name the file or the variable \
             that holds it"
        )
    };
    if let Some(text) = flag {
        return RootKeySpec::parse(&text).ok_or_else(|| Failure::usage(bad("argument --root-key-source".into())));
    }
    let config_error = |message: String| Failure { code: crate::exit::CONFIG, message: format!("\n{message}") };
    if let Some(text) = env {
        return RootKeySpec::parse(&text).ok_or_else(|| config_error(bad("TRENT_ROOT_KEY_SOURCE".into())));
    }
    match (file, config) {
        (Some(text), Some(config)) => RootKeySpec::parse(text).ok_or_else(|| {
            config_error(bad(format!("root_key_source in {}", crate::escape(&config.path.display().to_string()))))
        }),
        _ => Ok(RootKeySpec::Default),
    }
}

/// A parsed configuration file: its path and its sections (by the name in brackets), each
/// a map of `key = value` (keys in lower case, as the AWS CLI reads them).
#[derive(Debug)]
pub struct Config {
    path: PathBuf,
    sections: HashMap<String, HashMap<String, String>>,
}

/// Reads and parses the configuration file (`None` if there is none).
fn load_config() -> Result<Option<Config>, Failure> {
    let path = match std::env::var_os("TRENT_CONFIG_FILE") {
        Some(p) => PathBuf::from(p),
        None => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".trent").join("config"),
            None => return Ok(None),
        },
    };
    let shown = || crate::escape(&path.display().to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure { code: crate::exit::CONFIG, message: format!("\ncannot read {}: {e}", shown()) });
        }
    };
    match parse_config(&text) {
        Ok(sections) => Ok(Some(Config { path, sections })),
        // The AWS CLI's words (botocore's ConfigParseError, exit 255), with the line.
        Err((line, reason)) => {
            Err(Failure::other(format!("Unable to parse config file: {}: line {line}: {reason}", shown())))
        }
    }
}

/// The settings of the profile named by `--profile` or `TRENT_PROFILE` (`explicit`), else by
/// `AWS_PROFILE` if the file has that profile, else of `[default]` (none if missing). An
/// explicit profile the file does not have is an error, as in the AWS CLI (botocore's
/// ProfileNotFound, exit 255).
fn profile_settings(config: Option<&Config>, explicit: Option<String>) -> Result<HashMap<String, String>, Failure> {
    let section = |name: &str| {
        let sections = &config?.sections;
        if name == "default" {
            sections.get("default").or_else(|| sections.get("profile default"))
        } else {
            sections.get(&format!("profile {name}"))
        }
    };
    if let Some(name) = explicit {
        return section(&name).cloned().ok_or_else(|| {
            Failure::other(format!("The config profile ({}) could not be found", crate::escape(&name)))
        });
    }
    let aws_profile = std::env::var("AWS_PROFILE").ok().and_then(|name| section(&name));
    Ok(aws_profile.or_else(|| section("default")).cloned().unwrap_or_default())
}

/// Parses the INI text (Python's configparser as botocore uses it): `[section]` headers,
/// `key = value` or `key: value` lines, `#`/`;` comment lines, indented continuation lines.
/// Returns the line number (from 1) and the reason of the first line that is none of these,
/// of a setting before any section, or of a section or key given twice.
pub fn parse_config(text: &str) -> Result<HashMap<String, HashMap<String, String>>, (usize, String)> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    // Where each section and each (section, key) was first given.
    let mut section_lines: HashMap<String, usize> = HashMap::new();
    let mut key_lines: HashMap<(String, String), usize> = HashMap::new();
    let mut current: Option<String> = None;
    // The last key of the current section and the indentation of its line.
    let mut last_key: Option<(String, usize)> = None;
    for (n, raw) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        // A line indented more than the last key's continues its value.
        if let (Some(section), Some((key, key_indent))) = (&current, &last_key)
            && indent > *key_indent
            && let Some(value) = sections.get_mut(section).and_then(|s| s.get_mut(key))
        {
            value.push('\n');
            value.push_str(line);
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let name = header.strip_suffix(']').ok_or((n, "a section header must end with ']'".to_owned()))?.trim();
            let name = match name.split_once(char::is_whitespace) {
                Some(("profile", rest)) => format!("profile {}", rest.trim()),
                _ => name.to_owned(),
            };
            if name.is_empty() {
                return Err((n, "the section name is empty".into()));
            }
            if let Some(first) = section_lines.insert(name.clone(), n) {
                return Err((n, format!("section [{}] appears again (first on line {first})", crate::escape(&name))));
            }
            sections.insert(name.clone(), HashMap::new());
            current = Some(name);
            last_key = None;
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err((n, "expected 'key = value', a [section] header or a comment".into()));
        };
        let (key, value) = (line[..at].trim().to_lowercase(), line[at + 1..].trim());
        let Some(section) = &current else {
            return Err((n, "a setting before any section: start with [default] or [profile NAME]".into()));
        };
        if key.is_empty() {
            return Err((n, "a value without a key".into()));
        }
        if let Some(first) = key_lines.insert((section.clone(), key.clone()), n) {
            return Err((
                n,
                format!(
                    "'{}' is set again in [{}] (first on line {first})",
                    crate::escape(&key),
                    crate::escape(section)
                ),
            ));
        }
        if let Some(settings) = sections.get_mut(section) {
            settings.insert(key.clone(), value.to_owned());
        }
        last_key = Some((key, indent));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sections_and_forms() {
        for (text, want) in [
            (
                "# c\n[default]\nregion = eu-west-1\n[profile other]\nregion=us-west-2\naccount = 444455556666\n",
                &[("default", "region", "eu-west-1"), ("profile other", "account", "444455556666")][..],
            ),
            (
                "[default]\r\n; c\nRegion: eu-west-1\ns3 =\n  max_concurrent_requests = 20\n[profile   spaced ]\n  x=1\n  y=2\n",
                &[
                    ("default", "region", "eu-west-1"),
                    ("default", "s3", "\nmax_concurrent_requests = 20"),
                    ("profile spaced", "x", "1"),
                    ("profile spaced", "y", "2"),
                ],
            ),
        ] {
            let sections = parse_config(text).unwrap();
            for (section, key, value) in want {
                assert_eq!(sections[*section][*key], *value, "{text:?}: [{section}] {key}");
            }
        }
    }

    #[test]
    fn malformed_config_lines() {
        for (text, line, reason) in [
            ("region = x\n", 1, "before any section"),
            ("[default]\nregion\n", 2, "expected 'key = value'"),
            ("[default\n", 1, "must end with ']'"),
            ("[default]\n\n[default]\n", 3, "appears again (first on line 1)"),
            ("[default]\nregion = a\n# c\nREGION = b\n", 4, "'region' is set again in [default] (first on line 2)"),
            ("[]\n", 1, "empty"),
            ("[default]\n= x\n", 2, "without a key"),
        ] {
            let (n, why) = parse_config(text).unwrap_err();
            assert_eq!(n, line, "{text:?}: {why}");
            assert!(why.contains(reason), "{text:?}: {why}");
        }
    }

    #[test]
    fn root_key_source_forms() {
        assert_eq!(RootKeySpec::parse("file:/k/root.key"), Some(RootKeySpec::File("/k/root.key".into())));
        assert_eq!(RootKeySpec::parse("env:MY_KEY"), Some(RootKeySpec::Env("MY_KEY".into())));
        assert_eq!(RootKeySpec::parse("passphrase-file:p"), Some(RootKeySpec::PassphraseFile("p".into())));
        assert_eq!(RootKeySpec::parse("passphrase-env:P"), Some(RootKeySpec::PassphraseEnv("P".into())));
        assert_eq!(RootKeySpec::parse("passphrase-prompt"), Some(RootKeySpec::PassphrasePrompt));
        for bad in ["", "file:", "env:", "env:A=B", "passphrase:hunter2", "hunter2", "passphrase-prompt:x"] {
            assert_eq!(RootKeySpec::parse(bad), None, "{bad}");
        }
    }
}
