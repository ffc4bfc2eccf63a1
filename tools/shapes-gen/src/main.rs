//! `cargo run -p trent-shapes-gen`: rewrites the generated shape tables (see the library's
//! documentation); `--check` only reports the files that differ and fails if any does.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = trent_shapes_gen::root();
    let table = match trent_shapes_gen::table(&root) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("shapes-gen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = false;
    for (path, text) in table.outputs() {
        let file = root.join(path);
        let same = std::fs::read_to_string(&file).is_ok_and(|old| old == text);
        if same {
            continue;
        }
        if check {
            eprintln!("shapes-gen: {path} is out of date");
            stale = true;
        } else if let Err(e) = std::fs::write(&file, text) {
            eprintln!("shapes-gen: {path}: {e}");
            return ExitCode::FAILURE;
        } else {
            println!("wrote {path}");
        }
    }
    if stale { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
