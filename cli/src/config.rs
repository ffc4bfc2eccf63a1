//! Global settings: each from its flag, else its environment variable, else the
//! configuration file, else the default.
//!
//! | setting | flag | environment | config key | default |
//! |---|---|---|---|---|
//! | data directory | `--data-dir` | `TRENT_DATA_DIR` | `data_dir` | `$HOME/.trent/data` |
//! | Region | `--region` | `TRENT_REGION`, `AWS_REGION`, `AWS_DEFAULT_REGION` | `region` | `us-east-1` |
//! | account | `--account` | `TRENT_ACCOUNT` | `account` | `111122223333` |
//! | caller | `--caller` | `TRENT_CALLER` | `caller` | the account's root |
//! | output | `--output` | `TRENT_OUTPUT`, `AWS_DEFAULT_OUTPUT` | `output` | `json` |
//! | profile | `--profile` | `TRENT_PROFILE`, `AWS_PROFILE` | — | `default` |
//!
//! The configuration file is `TRENT_CONFIG_FILE` or `$HOME/.trent/config`, in the AWS CLI's
//! INI form: `[default]` or `[profile NAME]` sections of `key = value` lines, `#` comments.

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
        let profile =
            flag("profile").or_else(|| env(&["TRENT_PROFILE", "AWS_PROFILE"])).unwrap_or_else(|| "default".into());
        let file = load_config(&profile)?;
        let pick = |flag_name: &str, envs: &[&str], key: &str| {
            flag(flag_name).or_else(|| env(envs)).or_else(|| file.get(key).cloned())
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let data_dir =
            pick("data-dir", &["TRENT_DATA_DIR"], "data_dir").map(PathBuf::from).unwrap_or_else(|| match &home {
                Some(h) => h.join(".trent").join("data"),
                None => PathBuf::from("trent-data"),
            });
        let output = pick("output", &["TRENT_OUTPUT", "AWS_DEFAULT_OUTPUT"], "output").unwrap_or_else(|| "json".into());
        let output = Format::parse(&output).ok_or_else(|| {
            Failure::usage(format!(
                "argument --output: Invalid choice: '{output}' (choose from 'json', 'text', 'table')"
            ))
        })?;
        let paginate = !(sub_matches
            .is_some_and(|m| m.try_get_one::<bool>("no-paginate").ok().flatten() == Some(&true))
            || matches.try_get_one::<bool>("no-paginate").ok().flatten() == Some(&true));
        Ok(Settings {
            data_dir,
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

/// The `key = value` pairs of the profile's section of the configuration file (none if
/// there is no file).
fn load_config(profile: &str) -> Result<HashMap<String, String>, Failure> {
    let path = match std::env::var_os("TRENT_CONFIG_FILE") {
        Some(p) => PathBuf::from(p),
        None => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".trent").join("config"),
            None => return Ok(HashMap::new()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(Failure {
                code: crate::exit::CONFIG,
                message: format!("\ncannot read {}: {e}", path.display()),
            });
        }
    };
    Ok(parse_config(&text, profile))
}

/// Parses the INI text and returns the section of `profile`.
pub fn parse_config(text: &str, profile: &str) -> HashMap<String, String> {
    let wanted = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    let mut section = String::from("default");
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        if section == wanted
            && let Some((k, v)) = line.split_once('=')
        {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sections() {
        let text = "# c\n[default]\nregion = eu-west-1\n[profile other]\nregion=us-west-2\naccount = 444455556666\n";
        assert_eq!(parse_config(text, "default")["region"], "eu-west-1");
        assert_eq!(parse_config(text, "other")["account"], "444455556666");
    }
}
