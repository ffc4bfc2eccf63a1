//! The streaming envelope functions allocate by the data they are given, not by the chunk
//! size a file's header claims, and hold at most `STREAM_BUFFER_BUDGET` of chunk buffers
//! whatever the number of threads (two chunks when chunks are larger than a quarter of it).
//!
//! A counting global allocator measures the bytes each call allocates at its peak, above what
//! was allocated before it; the test is alone in its binary so that nothing else allocates
//! meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Read, Write};

use trent::envelope::{self, DecryptOptions, EncryptOptions, MAX_CHUNK_SIZE, STREAM_BUFFER_BUDGET};
use trent::secret::test_hooks::CountingAllocator;
use trent::{CreateKeyRequest, Kms};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

/// What a small input may cost, whatever its header's chunk size: the engine's Decrypt of the
/// data key, the key derivations, one growth step of each batch buffer.
const SMALL: usize = 1 << 20;
/// Allowance beyond the chunk buffers for a large input (rayon's jobs, I/O, the call itself).
const SLACK: usize = 1 << 20;

/// Runs `f` and returns its result and the most bytes it had allocated at once.
fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = ALLOCATOR.reset_peak();
    let out = f();
    (out, ALLOCATOR.peak().saturating_sub(base))
}

/// `len` bytes of a pattern, generated as they are read (no buffer).
struct Pattern {
    at: u64,
    len: u64,
}

fn byte(at: u64) -> u8 {
    (at.wrapping_mul(0x9E37_79B9) >> 7) as u8
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min((self.len - self.at) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = byte(self.at + i as u64);
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Checks that what is written is the pattern, keeping nothing.
#[derive(Default)]
struct Check {
    at: u64,
}

impl Write for Check {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for (i, b) in buf.iter().enumerate() {
            assert_eq!(*b, byte(self.at + i as u64), "plaintext differs at {}", self.at + i as u64);
        }
        self.at += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn streaming_memory_follows_the_data_not_the_header() {
    let kms = Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let huge = EncryptOptions { chunk_size: MAX_CHUNK_SIZE, ..Default::default() };
    let tiny = envelope::encrypt_to_vec(&kms, &me, &key, &huge, b"a 64 MiB chunk size, two bytes used").unwrap();
    assert!(tiny.len() < 400, "{} bytes", tiny.len());

    for threads in [2, 16] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            // A tiny file whose header says 64 MiB per chunk.
            let (out, used) = peak(|| {
                let mut out = Vec::with_capacity(64);
                envelope::decrypt(&kms, &me, &DecryptOptions::default(), &tiny[..], &mut out).unwrap();
                out
            });
            assert_eq!(out, b"a 64 MiB chunk size, two bytes used");
            eprintln!("{threads} threads: decrypting {} bytes allocated {used} bytes", tiny.len());
            assert!(used < SMALL, "{threads} threads: decrypting {} bytes allocated {used} bytes", tiny.len());
            let (_, used) =
                peak(|| envelope::decrypt_from_slice(&kms, &me, &DecryptOptions::default(), &tiny).unwrap());
            assert!(used < SMALL, "{threads} threads: decrypt_from_slice allocated {used} bytes");
            // Encrypting a tiny input with that chunk size.
            let (_, used) = peak(|| {
                let input = Pattern { at: 0, len: 300 };
                envelope::encrypt(&kms, &me, &key, &huge, input, io::sink()).unwrap()
            });
            assert!(used < SMALL, "{threads} threads: encrypting 300 bytes allocated {used} bytes");
        });
    }

    // Real data, on 16 threads: at most the budget, whatever the thread count.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(16).build().unwrap();
    let len = 48 << 20;
    for chunk_size in [envelope::DEFAULT_CHUNK_SIZE, 9 << 20] {
        let bound =
            if chunk_size + 16 <= STREAM_BUFFER_BUDGET / 4 { STREAM_BUFFER_BUDGET } else { 2 * (chunk_size + 16) };
        let opts = EncryptOptions { chunk_size, ..Default::default() };
        pool.install(|| {
            let mut sealed = Vec::with_capacity(len + (1 << 20));
            let (summary, used) = peak(|| {
                envelope::encrypt(&kms, &me, &key, &opts, Pattern { at: 0, len: len as u64 }, &mut sealed).unwrap()
            });
            assert_eq!(summary.plaintext_bytes, len as u64);
            eprintln!("encrypt, {chunk_size}-byte chunks: {used} bytes (bound {bound})");
            assert!(used <= bound + SLACK, "encrypt, {chunk_size}-byte chunks: {used} bytes (bound {bound})");
            let mut check = Check::default();
            let (_, used) =
                peak(|| envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], &mut check).unwrap());
            assert_eq!(check.at, len as u64);
            eprintln!("decrypt, {chunk_size}-byte chunks: {used} bytes (bound {bound})");
            assert!(used <= bound + SLACK, "decrypt, {chunk_size}-byte chunks: {used} bytes (bound {bound})");
        });
    }
}
