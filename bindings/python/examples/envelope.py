"""Envelope encryption with Trent from Python: a data key per file, the file sealed locally
with AES-256-GCM (the `cryptography` package), only the wrapped data key kept beside it.

    python examples/envelope.py [DATA_DIR]

Runs on an in-memory engine, or on the data directory DATA_DIR (SQLite keystore and root key
file, created at the first run) when given.
"""

import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import trent


def main() -> None:
    data_dir = sys.argv[1] if len(sys.argv) > 1 else None
    with trent.Kms(data_dir) as kms:
        key_id = kms.create_key("envelope example")
        context = {"file": "report.pdf"}
        data = os.urandom(1 << 20)

        # Encrypt: a fresh data key, the data sealed locally, the wrapped key stored with it.
        dk = kms.generate_data_key(key_id, context)
        nonce = os.urandom(12)
        sealed = dk.ciphertext_blob, nonce, AESGCM(dk.plaintext).encrypt(nonce, data, None)
        del dk  # the plaintext data key is a Python bytes: drop it as soon as possible

        # Decrypt: the engine unwraps the data key (no key id needed), then open locally.
        wrapped, nonce, body = sealed
        data_key = kms.decrypt(wrapped, context)
        assert AESGCM(data_key).decrypt(nonce, body, None) == data
        print(f"sealed and opened {len(data):,} bytes under {kms.describe_key(key_id)['arn']}")


if __name__ == "__main__":
    main()
