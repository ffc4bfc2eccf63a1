"""Hypothesis: round trips and tampering."""

from hypothesis import given
from hypothesis import strategies as st

import trent

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=24)
contexts = st.dictionaries(text, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=24), max_size=4)
plaintexts = st.binary(min_size=1, max_size=4096)


@given(plaintexts, contexts)
def test_encrypt_round_trip(shared_kms, plaintext, context):
    key = _key(shared_kms)
    blob = shared_kms.encrypt(key, plaintext, context)
    assert plaintext not in blob or len(plaintext) < 8
    assert shared_kms.decrypt(blob, context) == plaintext
    assert shared_kms.decrypt(blob, dict(reversed(list(context.items()))), key_id=key) == plaintext


@given(plaintexts, contexts, st.data())
def test_any_flipped_bit_is_refused(shared_kms, plaintext, context, data):
    key = _key(shared_kms)
    blob = bytearray(shared_kms.encrypt(key, plaintext, context))
    i = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    blob[i] ^= 1 << bit
    try:
        shared_kms.decrypt(bytes(blob), context)
    except (trent.InvalidCiphertextException, trent.NotFoundException, trent.IncorrectKeyException):
        return
    raise AssertionError(f"a blob with bit {bit} of byte {i} flipped decrypted")


@given(plaintexts, contexts, st.data())
def test_truncated_or_extended_blobs_are_refused(shared_kms, plaintext, context, data):
    key = _key(shared_kms)
    blob = shared_kms.encrypt(key, plaintext, context)
    cut = data.draw(st.integers(0, len(blob) - 1))
    for bad in (blob[:cut], blob + data.draw(st.binary(min_size=1, max_size=8))):
        try:
            shared_kms.decrypt(bad, context)
        except trent.KmsError:
            continue
        raise AssertionError("a truncated or extended blob decrypted")


@given(plaintexts, contexts, text, text)
def test_changed_context_is_refused(shared_kms, plaintext, context, k, v):
    key = _key(shared_kms)
    blob = shared_kms.encrypt(key, plaintext, context)
    changed = dict(context)
    changed[k] = v if context.get(k) != v else v + "x"
    try:
        shared_kms.decrypt(blob, changed)
    except trent.InvalidCiphertextException:
        return
    raise AssertionError("a blob decrypted under another encryption context")


@given(contexts, st.sampled_from([None, 1, 16, 32, 64, 1024]))
def test_data_key_round_trip(shared_kms, context, n):
    key = _key(shared_kms)
    dk = shared_kms.generate_data_key(key, context, n)
    assert len(dk.plaintext) == (n or 32)
    assert shared_kms.decrypt(dk.ciphertext_blob, context) == dk.plaintext


@given(st.lists(st.tuples(plaintexts, contexts), min_size=1, max_size=8))
def test_batch_matches_single(shared_kms, items):
    key = _key(shared_kms)
    blobs = shared_kms.encrypt_batch(key, items)
    assert [shared_kms.decrypt(b, c) for b, (_, c) in zip(blobs, items)] == [p for p, _ in items]
    assert shared_kms.decrypt_batch(list(zip(blobs, [c for _, c in items]))) == [p for p, _ in items]


_KEYS = {}


def _key(kms):
    if id(kms) not in _KEYS:
        _KEYS[id(kms)] = kms.create_key("hypothesis")
    return _KEYS[id(kms)]
