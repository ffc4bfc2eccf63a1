//! The committed header `include/trent.h` must be what cbindgen generates from the sources
//! now. `TRENT_BLESS=1 cargo test -p trent-ffi --test header` rewrites it.

use std::path::Path;

/// The version macros, from the crate version.
fn version_macros() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "/** The version of this header; `trent_version()` gives the library's. */\n\
         #define TRENT_VERSION \"{version}\"\n\
         #define TRENT_VERSION_MAJOR {}\n\
         #define TRENT_VERSION_MINOR {}\n\
         #define TRENT_VERSION_PATCH {}\n",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    )
}

fn generate(crate_dir: &Path) -> String {
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = crate_dir.join("include").join("trent.h");
    let fresh = generate(crate_dir);
    if std::env::var_os("TRENT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/trent.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ffi/include/trent.h is out of date: run `TRENT_BLESS=1 cargo test -p trent-ffi --test header` and commit it"
    );
}

#[test]
fn header_has_version_and_every_export() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = generate(crate_dir);
    assert!(header.contains(&format!("#define TRENT_VERSION \"{}\"", env!("CARGO_PKG_VERSION"))));
    // Every exported function is declared, with a doc comment right above it.
    let mut sources: Vec<_> = std::fs::read_dir(crate_dir.join("src"))
        .expect("src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    sources.sort();
    let lib = sources.iter().map(|p| std::fs::read_to_string(p).expect("source")).collect::<String>();
    let mut count = 0;
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("pub extern \"C\" fn ") else { continue };
        let name = rest.split('(').next().expect("name");
        count += 1;
        let lines: Vec<&str> = header.lines().collect();
        let decl = lines
            .iter()
            .position(|l| !l.starts_with(' ') && !l.starts_with('/') && l.contains(&format!("{name}(")))
            .unwrap_or_else(|| panic!("{name} missing from the header"));
        assert!(decl > 0 && lines[decl - 1].trim_end().ends_with("*/"), "{name} has no doc comment in the header");
    }
    assert!(count > 40, "only {count} exported functions found");
}

#[test]
fn pkg_config_version_matches_the_crate() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pc = std::fs::read_to_string(crate_dir.join("trent.pc.in")).expect("trent.pc.in");
    assert!(
        pc.lines().any(|l| l == format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "ffi/trent.pc.in's Version is not the crate version"
    );
}

/// `unsafe` only where lib.rs says: in boundary.rs (and lib.rs, which denies it), and in the
/// modules of exported functions only as the `#[unsafe(no_mangle)]` attribute.
#[test]
fn unsafe_only_in_boundary() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut exported = 0;
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name == "boundary.rs" || name == "lib.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default().trim();
            if code == "#[unsafe(no_mangle)]" {
                exported += 1;
            } else {
                assert!(!code.contains("unsafe"), "{name}:{}: `unsafe` outside boundary.rs: {line}", n + 1);
            }
        }
    }
    assert!(exported > 100, "only {exported} exported functions found");
}
