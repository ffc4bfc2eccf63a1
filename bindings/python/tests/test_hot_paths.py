"""The hot calls' own machinery (`Kms.encrypt`, `Kms.decrypt`, `generate_data_key`): sizes
worked out in Python, the shared output slots, the argument caches, and the paths beside them
(inputs too large for a slot, wrong types)."""

from collections import OrderedDict
from types import MappingProxyType

import pytest

import trent
from trent._args import BLOB_OVERHEAD, ciphertext_len, plaintext_len_max
from trent._ffi import SCRATCH, SLOTS, ffi, lib


def test_sizes_are_the_librarys():
    """The binding's sums are the library's functions (trent.h: a fixed header and tag)."""
    assert BLOB_OVERHEAD == lib.trent_ciphertext_len(0) > 0
    for n in [*range(0, 200), 4095, 4096, 4097, SCRATCH, 1 << 20]:
        assert ciphertext_len(n) == lib.trent_ciphertext_len(n)
        assert plaintext_len_max(n) == lib.trent_plaintext_len_max(n)


def test_decrypt_wipes_its_slot_and_errors_keep_their_detail(kms, key):
    dk = kms.generate_data_key(key, number_of_bytes=64)
    assert SLOTS, "the calls put their slot back"
    assert all(view[:64] == bytes(64) for _, view, _, _ in SLOTS), "a data key left in a pooled buffer"
    assert kms.decrypt(dk.ciphertext_blob) == dk.plaintext
    secret = b"wipe me " * 512  # 4 KiB
    blob = kms.encrypt(key, secret, {"c": "1"})
    assert kms.decrypt(blob, {"c": "1"}) == secret
    for out, view, size, err in SLOTS:
        assert view[: len(secret)] == bytes(len(secret)), "a plaintext left in a pooled buffer"
        assert err[0] == ffi.NULL
    pooled = len(SLOTS)
    for _ in range(3):
        with pytest.raises(trent.InvalidCiphertextException) as info:
            kms.decrypt(blob, {"c": "2"})
        assert info.value.message
        with pytest.raises(trent.NotFoundException) as info:
            kms.encrypt("alias/none", b"x")
        assert "alias/none" in info.value.message
    assert len(SLOTS) == pooled, "a failed call lost or duplicated its slot"
    assert all(err[0] == ffi.NULL for _, _, _, err in SLOTS), "an error detail left in a slot"
    assert kms.decrypt(blob, {"c": "1"}) == secret


def test_sizes_beyond_a_slot_get_the_engines_errors(kms, key):
    big = SCRATCH + 100
    for n in (4097, SCRATCH - BLOB_OVERHEAD, big):
        with pytest.raises(trent.ValidationException, match="4096"):
            kms.encrypt(key, bytes(n))
    for blob in (b"", bytes(big)):
        with pytest.raises(trent.ValidationException, match="ciphertextBlob"):
            kms.decrypt(blob)
    for blob in (b"x", bytes(BLOB_OVERHEAD), bytes(SCRATCH // 2)):
        with pytest.raises(trent.InvalidCiphertextException):
            kms.decrypt(blob)
    assert kms.decrypt(kms.encrypt(key, b"after")) == b"after"


def test_context_arguments(kms, key):
    """Any mapping of str to str, cached or not; the same errors as before for the rest."""
    ctx = {"tenant": "acme", "ünïcode": "välue"}
    blob = kms.encrypt(key, b"data", ctx)
    for same in (dict(ctx), OrderedDict(ctx), MappingProxyType(ctx)):
        assert kms.decrypt(blob, same) == b"data"
        assert kms.decrypt(kms.encrypt(key, b"again", same), ctx) == b"again"
    for bad in ({"k": 1}, {1: "v"}, {"k": ["unhashable"]}, [("k", "v")], "k=v", 7):
        for _ in range(2):  # a miss, then whatever the cache holds
            with pytest.raises(TypeError, match="encryption context"):
                kms.encrypt(key, b"x", bad)
            with pytest.raises(TypeError, match="encryption context"):
                kms.decrypt(blob, bad)
    for empty in (None, {}):
        assert kms.decrypt(kms.encrypt(key, b"none", empty), empty) == b"none"


def test_key_id_arguments(kms, key):
    arn = kms.key_arn(key)
    kms.create_alias("alias/hot", key)
    for kid in (key, arn, "alias/hot", key):
        blob = kms.encrypt(kid, b"k")
        assert kms.decrypt(blob, key_id=kid) == b"k"
    for bad in (None, b"bytes", 7):
        with pytest.raises(TypeError, match="key_id must be str"):
            kms.encrypt(bad, b"x")
