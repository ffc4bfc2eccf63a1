//! Envelope encryption of a large file, end to end.
//!
//! ```text
//! cargo run --release -p trent-engine --example envelope [-- INPUT [OUTPUT]]
//! ```
//!
//! Creates a KMS key with an alias, asks for a data key (plaintext in locked memory, plus the
//! same key wrapped under the KMS key), streams INPUT through AES-256-GCM in 64 KiB frames
//! under the data key into OUTPUT (default `INPUT.trent`), drops the plaintext data key
//! (zeroed), then reads OUTPUT back: Decrypt unwraps the data key and the frames are opened
//! and checked against the input. Without INPUT it makes a 64 MiB file of random bytes in
//! `./trent-example/`.
//!
//! The engine runs on the embedded default: the data directory `./trent-data/` (a SQLite
//! keystore and a root key file, both created at the first run). A later run finds the KMS
//! key and its alias there and uses them again.
//!
//! Output format (an example format, not a Trent wire format):
//! `"TRENTENV" ‖ u32 BE wrapped-key length ‖ wrapped data key ‖ frames`, each frame
//! `u32 BE (final-frame flag in the high bit | ciphertext length) ‖ ciphertext ‖ tag`, nonce =
//! frame number, AAD = frame number ‖ final flag, so frames cannot be reordered, dropped, or
//! the stream truncated unseen.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use trent::danger::AeadKey;
use trent::{CreateKeyRequest, DecryptRequest, EncryptionContext, GenerateDataKeyRequest, KeyIdRequest, Kms};

const FRAME: usize = 64 * 1024;
const MAGIC: &[u8; 8] = b"TRENTENV";
/// High bit of a frame's length word: this is the final frame.
const FINAL: u32 = 1 << 31;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let input = match args.next() {
        Some(p) => p,
        None => make_sample()?,
    };
    let output = args.next().unwrap_or_else(|| {
        let mut p = input.clone().into_os_string();
        p.push(".trent");
        p.into()
    });

    let kms = Kms::open("trent-data")?;
    let me = kms.root_caller();
    println!("engine: {kms:?}, locked memory: {}", kms.memory_is_locked());
    match kms.describe_key(&me, &KeyIdRequest::new("alias/example")) {
        Ok(found) => {
            println!("KMS key {} (alias/example, kept in ./trent-data/ by an earlier run)", found.key_metadata.arn);
        }
        Err(e) if e.name() == "NotFoundException" => {
            let created = kms
                .create_key(
                    &me,
                    &CreateKeyRequest { description: Some("envelope example".into()), ..Default::default() },
                )?
                .key_metadata;
            kms.create_alias(&me, &trent::AliasRequest::new("alias/example", &created.key_id))?;
            println!("KMS key {} (alias/example, created in ./trent-data/)", created.arn);
        }
        Err(e) => return Err(e.into()),
    }

    let context: EncryptionContext = [("file".to_string(), input.display().to_string())].into();
    let started = Instant::now();
    let data_key = kms.generate_data_key(
        &me,
        &GenerateDataKeyRequest {
            encryption_context: context.clone(),
            ..GenerateDataKeyRequest::aes_256("alias/example")
        },
    )?;
    let bytes = seal_file(&input, &output, data_key.plaintext.expose_secret(), &data_key.ciphertext_blob)?;
    drop(data_key); // the plaintext data key is zeroed here; only the wrapped copy remains
    let sealed_in = started.elapsed();

    let started = Instant::now();
    let checked = open_file(&kms, &output, &input, &context)?;
    let opened_in = started.elapsed();
    assert_eq!(bytes, checked);
    let mib = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "encrypted {mib:.1} MiB into {} in {:.0} ms ({:.0} MiB/s); decrypted and verified in {:.0} ms ({:.0} MiB/s)",
        output.display(),
        sealed_in.as_secs_f64() * 1e3,
        mib / sealed_in.as_secs_f64(),
        opened_in.as_secs_f64() * 1e3,
        mib / opened_in.as_secs_f64(),
    );
    Ok(())
}

fn make_sample() -> Result<PathBuf, Error> {
    let dir = Path::new("trent-example");
    std::fs::create_dir_all(dir)?;
    let path = dir.join("sample.bin");
    let mut out = BufWriter::new(File::create(&path)?);
    let mut buf = vec![0u8; FRAME];
    for _ in 0..1024 {
        trent::crypto::fill_random(&mut buf)?;
        out.write_all(&buf)?;
    }
    out.flush()?;
    println!("made a 64 MiB sample file {}", path.display());
    Ok(path)
}

fn frame_aad(n: u64, last: bool) -> [u8; 9] {
    let mut aad = [0u8; 9];
    aad[..8].copy_from_slice(&n.to_be_bytes());
    aad[8] = u8::from(last);
    aad
}

fn frame_nonce(n: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// Reads up to one frame; returns how many bytes were read (less than a frame only at EOF).
fn read_frame(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn seal_file(input: &Path, output: &Path, data_key: &[u8], wrapped: &[u8]) -> Result<u64, Error> {
    let key = AeadKey::new(data_key)?;
    let mut r = BufReader::new(File::open(input)?);
    let mut w = BufWriter::new(File::create(output)?);
    w.write_all(MAGIC)?;
    w.write_all(&u32::try_from(wrapped.len())?.to_be_bytes())?;
    w.write_all(wrapped)?;
    let (mut cur, mut next) = (vec![0u8; FRAME], vec![0u8; FRAME]);
    let mut cur_len = read_frame(&mut r, &mut cur)?;
    let (mut n, mut total) = (0u64, 0u64);
    loop {
        // One frame of look-ahead tells whether this frame is the last.
        let next_len = if cur_len == FRAME { read_frame(&mut r, &mut next)? } else { 0 };
        let last = next_len == 0;
        let frame = &mut cur[..cur_len];
        let tag = key.seal_in_place_separate_tag(frame_nonce(n), &frame_aad(n, last), frame)?;
        let word = u32::try_from(cur_len)? | if last { FINAL } else { 0 };
        w.write_all(&word.to_be_bytes())?;
        w.write_all(frame)?;
        w.write_all(&tag)?;
        total += cur_len as u64;
        if last {
            break;
        }
        n += 1;
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    w.flush()?;
    Ok(total)
}

fn open_file(kms: &Kms, sealed: &Path, original: &Path, context: &EncryptionContext) -> Result<u64, Error> {
    let mut r = BufReader::new(File::open(sealed)?);
    let mut orig = BufReader::new(File::open(original)?);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err("not a TRENTENV file".into());
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut wrapped = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut wrapped)?;
    // Decrypt needs no key id: the blob names its key and key version.
    let data_key = kms.decrypt(&kms.root_caller(), &DecryptRequest::new(wrapped).with_context(context.clone()))?;
    let key = AeadKey::new(data_key.plaintext.expose_secret())?;
    let (mut frame, mut expected) = (vec![0u8; FRAME + 16], vec![0u8; FRAME]);
    let (mut n, mut total) = (0u64, 0u64);
    loop {
        // A stream that ends before its final frame fails here.
        r.read_exact(&mut len)?;
        let word = u32::from_be_bytes(len);
        let (last, ct_len) = (word & FINAL != 0, (word & !FINAL) as usize);
        if ct_len > FRAME {
            return Err("frame too long".into());
        }
        let buf = &mut frame[..ct_len + 16];
        r.read_exact(buf)?;
        let plain = key
            .open_in_place(frame_nonce(n), &frame_aad(n, last), buf)
            .map_err(|_| "a frame failed to authenticate")?;
        let got = read_frame(&mut orig, &mut expected[..plain.len()])?;
        if got != plain.len() || plain != &expected[..got] {
            return Err("decrypted data differs from the input".into());
        }
        total += plain.len() as u64;
        if last {
            return Ok(total);
        }
        n += 1;
    }
}
