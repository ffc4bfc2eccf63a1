//! A test hook for the wiping tests (`cli/tests/wipe.rs`): when `TRENT_TEST_MEMORY_SCAN` is
//! set, `trent` counts at exit, after everything is dropped, the occurrences of a byte string
//! in its writable memory (the heap, anonymous mappings, its data segments; not the main
//! thread's stack) and prints `trent: memory scan: N` on stderr.
//!
//! The variable holds the string in hex, each byte XORed with 0x5A, so that the string itself
//! is never in memory as such: not in the environment, not here.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;

const MASK: u8 = 0x5A;

/// Runs the scan if `TRENT_TEST_MEMORY_SCAN` asks for it.
pub fn report() {
    let Some(hex) = std::env::var_os("TRENT_TEST_MEMORY_SCAN") else { return };
    let masked = hex.to_str().and_then(unhex).filter(|m| !m.is_empty());
    let line = match masked.map(|m| scan(&m)) {
        Some(Ok(n)) => format!("trent: memory scan: {n}"),
        Some(Err(e)) => format!("trent: memory scan failed: {e}"),
        None => "trent: memory scan failed: TRENT_TEST_MEMORY_SCAN is not hex".to_owned(),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

/// Counts the occurrences of the unmasked `masked` in the process's writable mappings. Its
/// buffers are large enough to be mappings of their own, so that the scan does not reuse (and
/// overwrite) the freed heap blocks it looks into.
fn scan(masked: &[u8]) -> std::io::Result<usize> {
    let mut maps = Vec::with_capacity(1 << 20);
    File::open("/proc/self/maps")?.read_to_end(&mut maps)?;
    let maps = String::from_utf8_lossy(&maps);
    let mem = File::open("/proc/self/mem")?;
    let mut buf = vec![0u8; 1 << 20];
    let overlap = masked.len() - 1;
    let mut count = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with("rw") || name == "[stack]" || name.starts_with("[v") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else { continue };
        let mut at = start;
        while at < end {
            let want = buf.len().min((end - at) as usize);
            let Ok(n) = mem.read_at(&mut buf[..want], at) else { break };
            if n == 0 {
                break;
            }
            // Occurrences that do not end in this piece are counted with the next one, which
            // starts `overlap` bytes before this one ends.
            count += (0..n.saturating_sub(overlap))
                .filter(|&i| buf[i..i + masked.len()].iter().zip(masked).all(|(b, m)| b ^ MASK == *m))
                .count();
            if at + n as u64 >= end || n <= overlap {
                break;
            }
            at += (n - overlap) as u64;
        }
    }
    Ok(count)
}
