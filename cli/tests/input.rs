//! What the CLI does with what it is given: parameter files read only up to their limit,
//! inline blobs never echoed, a missing profile and a malformed configuration file refused
//! (as the AWS CLI refuses them), `trent envelope`'s `--query` checked before any work, and
//! control characters from arguments escaped in error messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind, Write as _};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A fresh home, data directory and configuration file for `trent`.
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trent"));
        c.args(args)
            .env("HOME", self.path("home"))
            .env("TRENT_DATA_DIR", self.path("data"))
            .env("TRENT_CONFIG_FILE", self.path("config"))
            .env("TRENT_ROOT_KEY_SOURCE", format!("file:{}", self.path("root.key").display()));
        for var in ["TRENT_PROFILE", "AWS_PROFILE", "TRENT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "TRENT_OUTPUT"]
        {
            c.env_remove(var);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn key(&self) -> String {
        let out = self.run(&["create-key", "--query", "KeyMetadata.KeyId", "--output", "text"]);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

const TOO_LONG: &str = "An error occurred (ValidationException) when calling the Encrypt operation: 1 validation error \
                        detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less \
                        than or equal to 4096";

/// The peak resident set `trent` reports with `TRENT_REPORT_PEAK_RSS`, in KiB.
fn peak_kib(stderr: &str) -> u64 {
    let line = stderr.lines().find(|l| l.starts_with("trent: peak VmHWM:")).expect("a peak line");
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// `fileb://` of a regular file larger than the blob's maximum: refused from its size, as the
/// service refuses the value, without being read (a 256 MiB sparse file leaves the peak
/// memory far below 256 MiB).
#[test]
fn a_large_fileb_file_is_refused_by_its_size() {
    let cli = Cli::new();
    let big = cli.path("big.bin");
    std::fs::File::create(&big).unwrap().set_len(256 << 20).unwrap();
    let arg = format!("fileb://{}", big.display());
    let out = cli
        .command(&["encrypt", "--key-id", "alias/any", "--plaintext", &arg])
        .env("TRENT_REPORT_PEAK_RSS", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 254, "{err}");
    assert!(err.contains(TOO_LONG), "{err}");
    let peak = peak_kib(&err);
    assert!(peak < 64 << 10, "peak {peak} KiB: the file was read");
    // Nothing was opened: the keystore is not even made.
    assert!(!cli.path("data").exists());
}

/// `fileb:///dev/stdin` (a pipe has no useful size): at most the limit and one byte more are
/// read, however much the writer has to give.
#[test]
fn a_fileb_pipe_is_read_only_up_to_the_limit() {
    let cli = Cli::new();
    let mut child = cli
        .command(&["encrypt", "--key-id", "alias/any", "--plaintext", "fileb:///dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![0x41u8; 64 << 10];
    let (mut written, offered) = (0usize, 64usize << 20);
    while written < offered {
        match stdin.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::BrokenPipe => break,
            Err(e) => panic!("{e}"),
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 254, "{err}");
    assert!(err.contains(TOO_LONG), "{err}");
    // What the pipe's buffer took before trent exited, and trent's 4097 bytes: far from all.
    assert!(written < 4 << 20, "{written} of {offered} bytes were taken from the pipe");
}

/// Files within the limits still work: 4096 raw bytes, and the same as base64 text.
#[test]
fn parameter_files_within_the_limit_work() {
    let cli = Cli::new();
    let key = cli.key();
    let raw = cli.path("raw.bin");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&raw, &bytes).unwrap();
    use base64::Engine as _;
    let text = cli.path("b64.txt");
    std::fs::write(&text, format!("{}\n", base64::engine::general_purpose::STANDARD.encode(&bytes))).unwrap();
    for arg in [format!("fileb://{}", raw.display()), format!("file://{}", text.display())] {
        let out = cli.run(&["encrypt", "--key-id", &key, "--plaintext", &arg, "--query", "KeyId"]);
        assert!(out.status.success(), "{arg}: {}", stderr(&out));
    }
}

/// Invalid inline base64 says what is wrong without showing the value (it may be a secret
/// pasted on the command line).
#[test]
fn invalid_inline_base64_is_not_echoed() {
    let cli = Cli::new();
    for (value, problem) in [
        ("my-Secret-passw0rd!", "offset 2 is not a base64 character"),
        ("c2VjcmV0cGFzc3dvcmQx2", "21 base64 characters"),
        ("c2VjcmV0cGFzc3dvcmQ", "padding is missing or misplaced"),
        ("c2VjcmV0cGFzc3dvcmR=", "last character (offset 18)"),
    ] {
        let out = cli.run(&["encrypt", "--key-id", "alias/any", "--plaintext", value]);
        let err = stderr(&out);
        assert_eq!(code(&out), 252, "{err}");
        assert!(err.contains("argument --plaintext: Invalid base64: "), "{err}");
        assert!(err.contains(problem), "{value}: {err}");
        assert!(err.contains("the value is not shown") && err.contains("fileb://"), "{err}");
        assert!(!err.contains(value) && !err.contains(&value[2..10]), "the value was echoed: {err}");
    }
}

/// A profile named by `--profile` or `TRENT_PROFILE` that the configuration file does not
/// have is an error, in the AWS CLI's words and with its exit code (255: botocore's
/// ProfileNotFound is not one of the AWS CLI's configuration errors); `AWS_PROFILE` names
/// the AWS CLI's own profiles, and selects one here only when the file has it.
#[test]
fn a_missing_profile_is_an_error() {
    let cli = Cli::new();
    std::fs::write(cli.path("config"), "[default]\nregion = eu-west-1\n[profile other]\nregion = eu-north-1\n")
        .unwrap();
    let region = |c: &mut Command| {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().split(':').nth(3).unwrap().to_owned()
    };
    let args = ["create-key", "--query", "KeyMetadata.Arn", "--output", "text"];
    assert_eq!(region(&mut cli.command(&args)), "eu-west-1");
    assert_eq!(region(cli.command(&args).arg("--profile").arg("other")), "eu-north-1");
    assert_eq!(region(cli.command(&args).env("AWS_PROFILE", "other")), "eu-north-1");
    assert_eq!(region(cli.command(&args).env("AWS_PROFILE", "only-for-the-aws-cli")), "eu-west-1");
    let mut by_env = cli.command(&["list-keys"]);
    by_env.env("TRENT_PROFILE", "nope");
    for mut c in
        [cli.command(&["--profile", "nope", "list-keys"]), cli.command(&["list-keys", "--profile", "nope"]), by_env]
    {
        let out = c.output().unwrap();
        assert_eq!(code(&out), 255, "{}", stderr(&out));
        assert_eq!(stderr(&out), "\nThe config profile (nope) could not be found\n");
        assert!(out.stdout.is_empty());
    }
    // Without any configuration file, too.
    std::fs::remove_file(cli.path("config")).unwrap();
    let out = cli.run(&["--profile", "nope", "list-keys"]);
    assert_eq!(code(&out), 255, "{}", stderr(&out));
    assert!(stderr(&out).contains("The config profile (nope) could not be found"));
    let out = cli.run(&["list-keys"]);
    assert!(out.status.success(), "no file and no profile named: the defaults: {}", stderr(&out));
}

/// A malformed configuration file fails every command, naming the file and the line (the
/// AWS CLI says `Unable to parse config file: PATH`, exit 255).
#[test]
fn a_malformed_config_file_is_an_error() {
    let cli = Cli::new();
    let config = cli.path("config");
    for (text, line) in [
        ("[default]\nregion = eu-west-1\nregion eu-north-1\n", 3),
        ("region = eu-west-1\n[default]\n", 1),
        ("# comment\n[profile x\nregion = eu-west-1\n", 2),
        ("[default]\nregion = eu-west-1\n[profile x]\noutput = text\n\n[default]\n", 6),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = cli.run(&["list-keys"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 255, "{text:?}: {err}");
        let expected = format!("Unable to parse config file: {}: line {line}: ", config.display());
        assert!(err.starts_with(&format!("\n{expected}")), "{text:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// `trent envelope … --query` is compiled, and run on a summary of the same shape, before any
/// work: a bad one writes no output file, and does not even open the keystore.
#[test]
fn envelope_query_is_checked_before_the_work() {
    let cli = Cli::new();
    let input = cli.path("in.bin");
    std::fs::write(&input, b"some data").unwrap();
    let output = cli.path("out.trent");
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let encrypt = |key: &str, query: &str| {
        cli.run(&["envelope", "encrypt", "--key-id", key, "--in", i, "--out", o, "--query", query])
    };
    for query in ["[[", "abs(KeyId)"] {
        let out = encrypt("alias/any", query);
        assert_eq!(code(&out), 252, "{query}: {}", stderr(&out));
        assert!(!cli.path("data").exists(), "{query}: the keystore was opened");
    }
    let key = cli.key();
    for query in ["[[", "abs(KeyId)"] {
        let out = encrypt(&key, query);
        let err = stderr(&out);
        assert_eq!(code(&out), 252, "{query}: {err}");
        assert!(err.contains("Bad value for --query"), "{query}: {err}");
        assert!(!output.exists(), "{query}: the output was written");
    }
    // A good query still selects from the summary.
    let out = encrypt(&key, "PlaintextBytes");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "9");
}

/// Control characters from arguments (and the engine's messages that quote them) are escaped
/// on the terminal: no escape sequence typed or pasted reaches it raw.
#[test]
fn control_characters_in_error_messages_are_escaped() {
    let cli = Cli::new();
    let key = cli.key();
    let esc = "\u{1b}[2J\u{1b}]0;owned\u{7}";
    let missing = format!("fileb://{}/no-such{esc}\r", cli.dir.path().display());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["describe-key".into(), "--key-id".into(), format!("alias/x{esc}")], "alias/x\\x1b[2J\\x1b]0;owned\\x07"),
        (vec!["describe-key".into(), "--key-id".into(), format!("{esc}")], "\\x1b[2J"),
        (
            vec!["encrypt".into(), "--key-id".into(), key.clone(), "--plaintext".into(), missing],
            "no-such\\x1b[2J\\x1b]0;owned\\x07\\r",
        ),
        (
            vec![
                "encrypt".into(),
                "--key-id".into(),
                key.clone(),
                "--plaintext".into(),
                "aGk=".into(),
                "--encryption-context".into(),
                format!("a{esc}"),
            ],
            "received: 'a\\x1b[2J",
        ),
        (vec![format!("no-such-command{esc}")], "no-such-command\\x1b[2J"),
        (vec!["list-keys".into(), "--query".into(), format!("[{esc}")], "Bad value for --query [\\x1b[2J"),
        (vec!["list-keys".into(), "--output".into(), format!("t{esc}")], "t\\x1b[2J"),
        (vec!["generate-random".into(), "--number-of-bytes".into(), format!("1{esc}")], "1\\x1b[2J"),
        (
            vec![
                "envelope".into(),
                "decrypt".into(),
                "--in".into(),
                format!("in{esc}\u{202e}"),
                "--out".into(),
                "-".into(),
            ],
            "in\\x1b[2J\\x1b]0;owned\\x07\\u{202e}",
        ),
    ];
    for (args, shown) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli.run(&args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(shown), "{args:?}: {err:?}");
        let raw: Vec<char> = err.chars().filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}').collect();
        assert!(raw.is_empty(), "{args:?}: raw control characters {raw:?} in {err:?}");
    }
}
