//! The lock file holds no version of a dependency that a known security advisory affects.
//!
//! Each entry is a RustSec advisory against a crate in Trent's tree and the first version that
//! fixes it; the workspace's `Cargo.toml` also asks for at least that version, so a resolver
//! cannot go back below it. Add an entry when an advisory touches the tree.
#![allow(clippy::unwrap_used)]

/// (crate, first fixed version, advisory).
const FIXED: &[(&str, [u64; 3], &str)] = &[
    // Denial of service through stack exhaustion when parsing RFC 2822 input.
    ("time", [0, 3, 47], "RUSTSEC-2026-0009"),
];

fn version(v: &str) -> [u64; 3] {
    let mut parts = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().unwrap_or(0));
    [parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0)]
}

#[test]
fn no_locked_dependency_is_affected_by_a_known_advisory() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    // Each package's (name, version), from its `name = "…"` and `version = "…"` lines.
    let field = |package: &str, key: &str| {
        package.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().trim_matches('"').to_owned()))
    };
    let packages: Vec<(String, String)> = lock
        .split("[[package]]")
        .skip(1)
        .map(|p| (field(p, "name = ").unwrap(), field(p, "version = ").unwrap()))
        .collect();
    for (name, fixed, advisory) in FIXED {
        let locked: Vec<&String> = packages.iter().filter(|(n, _)| n == name).map(|(_, v)| v).collect();
        assert!(!locked.is_empty(), "{name} is no longer in the lock file: drop its entry");
        for v in locked {
            assert!(version(v) >= *fixed, "{name} {v} is affected by {advisory}: upgrade to {fixed:?} or later");
        }
    }
}
