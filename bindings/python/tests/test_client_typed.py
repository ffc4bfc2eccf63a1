"""The client's typed fast paths answer exactly what its JSON path answers: the same members
and values, the same exceptions with the same messages, for good and bad input alike."""

import pytest

import trent
from trent import _client


def via_json(c, operation, **kwargs):
    """The call through the JSON dispatcher, whatever the typed paths would take."""
    return _client._invoke(c, operation, operation.encode(), kwargs)


def outcome(call):
    try:
        r = call()
    except trent.KmsError as e:
        return ("error", type(e), e.message, str(e), e.operation_name, e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"])
    except Exception as e:  # noqa: BLE001 - Python-side refusals must match too
        return ("python error", type(e), str(e))
    meta = dict(r.pop("ResponseMetadata"))
    headers = dict(meta.pop("HTTPHeaders"))
    assert meta.pop("RequestId") == headers.pop("x-amzn-requestid")
    return ("ok", r, meta, headers)


@pytest.fixture
def c(kms):
    return trent.client("kms", kms=kms)


def compare(c, typed, json, decrypt_ctx=None):
    a, b = outcome(typed), outcome(json)
    assert a[0] == b[0], (a, b)
    if a[0] != "ok":
        assert a == b
        return
    ra, rb = a[1], b[1]
    assert list(ra) == list(rb)
    assert a[2:] == b[2:]  # status, retries, content-type and content-length
    for k in ra:
        if k == "CiphertextBlob":  # fresh nonce: same size, same plaintext
            assert type(ra[k]) is bytes and len(ra[k]) == len(rb[k])
            kw = {"EncryptionContext": decrypt_ctx} if decrypt_ctx else {}
            pa = c.decrypt(CiphertextBlob=ra[k], **kw)["Plaintext"]
            assert pa == c.decrypt(CiphertextBlob=rb[k], **kw)["Plaintext"]
        else:
            assert ra[k] == rb[k], k


CONTEXTS = [None, {}, {"tenant": "acme"}, {"é ☃": 'quote " \\ \n', "": ""}, {f"k{i}": "v" * i for i in range(80)}]


@pytest.mark.parametrize("ctx", CONTEXTS, ids=range(len(CONTEXTS)))
@pytest.mark.parametrize("plaintext", [b"x", b"\x00" * 4096, "text é", bytearray(b"ba")], ids=["1", "4096", "str", "bytearray"])
def test_encrypt_answers_as_json(c, ctx, plaintext):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    c.create_alias(AliasName="alias/typed", TargetKeyId=key)
    arn = c.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    kw = {} if ctx is None else {"EncryptionContext": ctx}
    for key_id in (key, arn, "alias/typed", arn.replace(":key/" + key, ":alias/typed")):
        compare(c, lambda: c.encrypt(KeyId=key_id, Plaintext=plaintext, **kw), lambda: via_json(c, "Encrypt", KeyId=key_id, Plaintext=plaintext, **kw), ctx)


def test_encrypt_errors_answer_as_json(kms, c):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    disabled = c.create_key()["KeyMetadata"]["KeyId"]
    c.disable_key(KeyId=disabled)
    pending = c.create_key()["KeyMetadata"]["KeyId"]
    c.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
    other_region = f"arn:aws:kms:eu-west-3:111122223333:key/{key}"
    bad = [
        {"KeyId": "alias/missing", "Plaintext": b"x"},
        {"KeyId": "11111111-2222-3333-4444-555555555555", "Plaintext": b"x"},
        {"KeyId": disabled, "Plaintext": b"x"},
        {"KeyId": pending, "Plaintext": b"x"},
        {"KeyId": other_region, "Plaintext": b"x"},
        {"KeyId": "not a key id at all", "Plaintext": b"x"},
        {"KeyId": "arn:aws:kms:us-east-1:111122223333:bogus/x", "Plaintext": b"x"},
        {"KeyId": key, "Plaintext": b""},
        {"KeyId": key, "Plaintext": b"x" * 4097},
        {"KeyId": "", "Plaintext": b"x"},
        {"KeyId": "k" * 2049, "Plaintext": b"x"},
        {"KeyId": "nul\0", "Plaintext": b"x"},
        {"KeyId": key, "Plaintext": b"x", "EncryptionContext": {"k": 1}},
        {"KeyId": key, "Plaintext": b"x", "EncryptionContext": {"\ud800": "v"}},
        {"KeyId": key, "Plaintext": b"x", "EncryptionContext": None},
        {"KeyId": key, "Plaintext": "\ud800"},
        {"KeyId": key, "Plaintext": 12},
        {"KeyId": key},
        {"Plaintext": b"x"},
        {"KeyId": key, "Plaintext": b"x", "DryRun": True},
        {"KeyId": key, "Plaintext": b"x", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        {"KeyId": key, "Plaintext": b"x", "GrantTokens": [""]},
    ]
    for kw in bad:
        compare(c, lambda: c.encrypt(**kw), lambda: via_json(c, "Encrypt", **kw))
    bob = trent.client(kms=kms.as_principal("arn:aws:iam::111122223333:user/bob"))
    compare(bob, lambda: bob.encrypt(KeyId=key, Plaintext=b"x"), lambda: via_json(bob, "Encrypt", KeyId=key, Plaintext=b"x"))
    with pytest.raises(TypeError, match=r"encrypt\(\) only accepts keyword arguments"):
        c.encrypt(key, b"x")
    c.close()
    compare(c, lambda: c.encrypt(KeyId=key, Plaintext=b"x"), lambda: via_json(c, "Encrypt", KeyId=key, Plaintext=b"x"))


def test_the_typed_path_is_taken_for_well_formed_requests(c, monkeypatch):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    calls = []
    real = _client._invoke

    def spy(client, operation, op, kwargs):
        calls.append(operation)
        return real(client, operation, op, kwargs)

    monkeypatch.setattr(_client, "_invoke", spy)
    blob = c.encrypt(KeyId=key, Plaintext=b"typed", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert calls == []
    c.encrypt(KeyId=key, Plaintext=b"json", GrantTokens=[])
    assert calls == ["Encrypt"]
    assert c.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"typed"


def test_close_closes_the_engine_given_or_opened():
    """Client.close() closes the engine underneath, as its docstring says: one it opened, and
    one it was given (kms=)."""
    own = trent.client(allow_unlocked_memory=True)
    engine = own.kms
    own.close()
    assert engine.closed
    given = trent.Kms(allow_unlocked_memory=True)
    c = trent.client(kms=given)
    c.close()
    assert given.closed
    with pytest.raises(trent.ClosedError):
        given.create_key()
    with pytest.raises(trent.ClosedError):
        c.encrypt(KeyId="k", Plaintext=b"x")
