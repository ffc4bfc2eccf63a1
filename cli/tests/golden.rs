//! Golden tests of the output of every subcommand the engine implements.
//!
//! 1. Shape: each JSON output is checked against the output shape of the KMS service model
//!    (botocore's `kms-service-2.json` in `tools/shapes-gen/model`, which the binary's table of
//!    shapes is generated from): every member name
//!    exists in the shape, with the JSON type of its shape, nested as the model nests it.
//! 2. Golden files: the JSON and text output of each command, with ids, ARNs' ids, material
//!    ids, timestamps and base64 blobs replaced by placeholders, equal the files in
//!    `tests/golden/`. `TRENT_BLESS=1 cargo test -p trent-cli --test golden` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str]) -> (String, String, i32) {
        let out = Command::new(env!("CARGO_BIN_EXE_trent"))
            .args(args)
            .env("TRENT_DATA_DIR", self.dir.path().join("data"))
            .env("TRENT_CONFIG_FILE", self.dir.path().join("none"))
            .env("TRENT_ROOT_KEY_SOURCE", format!("file:{}", self.dir.path().join("root.key").display()))
            .env_remove("TRENT_PROFILE")
            .env_remove("AWS_PROFILE")
            .env_remove("TRENT_REGION")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("TRENT_OUTPUT")
            .env_remove("AWS_DEFAULT_OUTPUT")
            .output()
            .unwrap();
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
            out.status.code().unwrap_or(-1),
        )
    }
}

fn model() -> Value {
    serde_json::from_str(include_str!("../../tools/shapes-gen/model/kms-service-2.json")).unwrap()
}

/// Checks `v` against shape `shape` of the model; returns the problems found.
fn check(m: &Value, v: &Value, shape: &str, path: &str, problems: &mut Vec<String>) {
    let s = &m["shapes"][shape];
    match (s["type"].as_str().unwrap_or("?"), v) {
        ("structure", Value::Object(obj)) => {
            for (k, child) in obj {
                match s["members"][k]["shape"].as_str() {
                    Some(cs) => check(m, child, cs, &format!("{path}.{k}"), problems),
                    None => problems.push(format!("{path}.{k}: not a member of {shape}")),
                }
            }
        }
        ("list", Value::Array(items)) => {
            let member = s["member"]["shape"].as_str().unwrap();
            for (i, item) in items.iter().enumerate() {
                check(m, item, member, &format!("{path}[{i}]"), problems);
            }
        }
        ("map", Value::Object(obj)) => {
            let value = s["value"]["shape"].as_str().unwrap();
            for (k, child) in obj {
                check(m, child, value, &format!("{path}.{k}"), problems);
            }
        }
        ("string", Value::String(t)) => {
            if let Some(allowed) = s["enum"].as_array()
                && !allowed.iter().any(|a| a == t)
            {
                problems.push(format!("{path}: {t} is not in the enum of {shape}"));
            }
        }
        ("blob", Value::String(t)) => {
            use base64::Engine as _;
            if base64::engine::general_purpose::STANDARD.decode(t).is_err() {
                problems.push(format!("{path}: not base64"));
            }
        }
        ("timestamp", Value::String(t)) => {
            if !(t.len() >= 25 && t.ends_with("+00:00") && t.as_bytes()[10] == b'T') {
                problems.push(format!("{path}: {t} is not ISO 8601"));
            }
        }
        ("integer" | "long", Value::Number(_)) | ("boolean", Value::Bool(_)) => {}
        (ty, other) => problems.push(format!("{path}: a {ty} ({shape}) printed as {other}")),
    }
}

fn is_b64(t: &str) -> bool {
    t.len() >= 24 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn is_hex(s: &[u8]) -> bool {
    s.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Replaces what differs from run to run by placeholders.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if is_b64(token) && !is_hex(token.as_bytes()) {
            out.push_str("<base64>");
        } else {
            out.push_str(&normalize_token(token));
        }
        token.clear();
    };
    for c in text.chars() {
        if matches!(c, '"' | '\t' | '\n' | ' ' | '|') {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

fn normalize_token(t: &str) -> String {
    let b = t.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let uuid = rest.len() >= 36
            && [8, 13, 18, 23].iter().all(|&k| rest[k] == b'-')
            && (0..36).filter(|k| ![8, 13, 18, 23].contains(k)).all(|k| is_hex(&rest[k..k + 1]));
        if uuid {
            out.push_str("<uuid>");
            i += 36;
        } else if rest.starts_with(b"mrk-") && rest.len() >= 36 && is_hex(&rest[4..36]) {
            out.push_str("<mrk-id>");
            i += 36;
        } else if rest.len() >= 64 && is_hex(&rest[..64]) {
            out.push_str("<hex64>");
            i += 64;
        } else if rest.len() >= 25 && rest[4] == b'-' && rest[10] == b'T' && t.ends_with("+00:00") && i == 0 {
            out.push_str("<timestamp>");
            i = b.len();
        } else {
            out.push(rest[0] as char);
            i += 1;
        }
    }
    out
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn compare(name: &str, actual: &str, failures: &mut Vec<String>) {
    let path = golden_dir().join(name);
    if std::env::var_os("TRENT_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!("{name}:\n--- expected\n{expected}--- actual\n{actual}")),
        Err(_) => failures.push(format!("{name}: missing golden file (run with TRENT_BLESS=1)")),
    }
}

#[test]
fn every_subcommand_prints_the_aws_shapes() {
    // The same script of commands runs twice, each time on a new keystore: once printing JSON
    // (checked against the model's shapes and the `.json` golden files), once printing text
    // (the `.txt` golden files), so that every command, state-changing ones too, has both.
    let m = model();
    let mut failures = Vec::new();
    for output in ["json", "text"] {
        run_script(&m, output, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the golden script on a new keystore with `--output output`.
fn run_script(m: &Value, output: &str, failures: &mut Vec<String>) {
    let cli = Cli { dir: tempfile::tempdir().unwrap() };
    let ops = m["operations"].as_object().unwrap();
    let op_of = |cmd: &str| -> String {
        ops.keys()
            .find(|op| {
                let mut k = String::new();
                for (i, c) in op.chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        k.push('-');
                    }
                    k.push(c.to_ascii_lowercase());
                }
                k == cmd
            })
            .unwrap()
            .clone()
    };
    let (out, _, _) = cli.run(&["create-key", "--query", "KeyMetadata.KeyId", "--output", "text"]);
    let key = out.trim().to_owned();
    let (out, _, _) = cli.run(&["create-key", "--query", "KeyMetadata.KeyId", "--output", "text"]);
    let key2 = out.trim().to_owned();
    let (blob, _, _) = cli.run(&[
        "encrypt",
        "--key-id",
        &key,
        "--plaintext",
        "aGVsbG8=",
        "--query",
        "CiphertextBlob",
        "--output",
        "text",
    ]);
    let blob = blob.trim().to_owned();

    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("create-key", vec!["--description", "golden", "--tags", "TagKey=team,TagValue=blue"]),
        ("describe-key", vec!["--key-id", &key]),
        ("create-alias", vec!["--alias-name", "alias/golden", "--target-key-id", &key]),
        ("list-aliases", vec!["--key-id", &key]),
        ("update-alias", vec!["--alias-name", "alias/golden", "--target-key-id", &key]),
        ("update-key-description", vec!["--key-id", &key, "--description", "golden key"]),
        ("tag-resource", vec!["--key-id", &key, "--tags", "TagKey=env,TagValue=test", "TagKey=app,TagValue=cli"]),
        ("list-resource-tags", vec!["--key-id", &key]),
        ("untag-resource", vec!["--key-id", &key, "--tag-keys", "app"]),
        ("encrypt", vec!["--key-id", "alias/golden", "--plaintext", "aGVsbG8=", "--encryption-context", "a=b"]),
        ("decrypt", vec!["--ciphertext-blob", &blob]),
        ("re-encrypt", vec!["--ciphertext-blob", &blob, "--destination-key-id", &key2]),
        ("generate-data-key", vec!["--key-id", &key, "--key-spec", "AES_256"]),
        ("generate-data-key-without-plaintext", vec!["--key-id", &key, "--number-of-bytes", "32"]),
        ("generate-random", vec!["--number-of-bytes", "32"]),
        ("enable-key-rotation", vec!["--key-id", &key, "--rotation-period-in-days", "180"]),
        ("get-key-rotation-status", vec!["--key-id", &key]),
        ("rotate-key-on-demand", vec!["--key-id", &key]),
        ("list-key-rotations", vec!["--key-id", &key]),
        ("disable-key-rotation", vec!["--key-id", &key]),
        ("disable-key", vec!["--key-id", &key2]),
        ("enable-key", vec!["--key-id", &key2]),
        ("schedule-key-deletion", vec!["--key-id", &key2, "--pending-window-in-days", "7"]),
        ("cancel-key-deletion", vec!["--key-id", &key2]),
        ("delete-alias", vec!["--alias-name", "alias/golden"]),
        ("list-keys", vec![]),
    ];
    for (cmd, args) in &commands {
        let op = op_of(cmd);
        let mut cmd_args = vec![*cmd];
        cmd_args.extend(args.iter().copied());
        cmd_args.extend(["--output", output]);
        let (out, err, code) = cli.run(&cmd_args);
        assert_eq!(code, 0, "{cmd} --output {output}: {err}");
        if output == "text" {
            compare(&format!("{cmd}.txt"), &normalize(&out), failures);
            continue;
        }
        if out.is_empty() {
            // Operations with an empty response print nothing, as the AWS CLI does.
            assert!(m["operations"][&op]["output"].is_null(), "{cmd} printed nothing");
        } else {
            let v: Value = serde_json::from_str(&out).unwrap();
            let shape = m["operations"][&op]["output"]["shape"].as_str().unwrap();
            let mut problems = Vec::new();
            check(m, &v, shape, cmd, &mut problems);
            assert!(problems.is_empty(), "{cmd}: {problems:#?}");
        }
        compare(&format!("{cmd}.json"), &normalize(&out), failures);
    }
    if output == "text" {
        return;
    }
    let (table, _, _) = cli.run(&["describe-key", "--key-id", &key, "--output", "table"]);
    // Column widths follow the placeholders' real lengths (a timestamp has no fraction when
    // its microseconds are zero): compare the table with runs of spaces and dashes collapsed.
    let squeeze = |t: String| {
        let mut out = String::new();
        for c in t.chars() {
            if !((c == ' ' || c == '-') && out.ends_with(c)) {
                out.push(c);
            }
        }
        out
    };
    compare("describe-key.table", &squeeze(normalize(&table)), failures);
}

#[test]
fn errors_are_printed_as_the_aws_cli_prints_them() {
    let cli = Cli { dir: tempfile::tempdir().unwrap() };
    let (out, err, code) = cli.run(&["encrypt", "--key-id", "alias/nope", "--plaintext", "aGk="]);
    assert_eq!((out.as_str(), code), ("", 254));
    assert_eq!(
        err,
        "\nAn error occurred (NotFoundException) when calling the Encrypt operation: Alias arn:aws:kms:us-east-1:111122223333:alias/nope is not found.\n"
    );
    let (_, err, code) = cli.run(&["encrypt", "--plaintext", "aGk="]);
    assert_eq!(code, 252);
    assert!(err.ends_with("trent: error: the following arguments are required: --key-id\n"), "{err}");
    let (_, _, code) = cli.run(&["describe-key", "--key-id", "x", "--query", "[["]);
    assert_eq!(code, 252);
}
