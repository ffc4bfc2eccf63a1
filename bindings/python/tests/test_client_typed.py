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


@pytest.mark.parametrize("ctx", CONTEXTS, ids=range(len(CONTEXTS)))
@pytest.mark.parametrize("plaintext", [b"x", b"\x00" * 4096, b"\xff" * 100], ids=["1", "4096", "100"])
def test_decrypt_answers_as_json(c, ctx, plaintext):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    c.create_alias(AliasName="alias/typed", TargetKeyId=key)
    arn = c.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    kw = {} if ctx is None else {"EncryptionContext": ctx}
    blob = c.encrypt(KeyId=key, Plaintext=plaintext, **kw)["CiphertextBlob"]
    c.rotate_key_on_demand(KeyId=key)  # the blob's material is no longer the current one
    for extra in ({}, {"KeyId": key}, {"KeyId": arn}, {"KeyId": "alias/typed"}):
        for b in (blob, bytearray(blob)):
            compare(c, lambda: c.decrypt(CiphertextBlob=b, **kw, **extra), lambda: via_json(c, "Decrypt", CiphertextBlob=b, **kw, **extra))
    r = c.decrypt(CiphertextBlob=blob, **kw)
    assert r["Plaintext"] == plaintext
    assert r["KeyMaterialId"] != c.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]


def test_decrypt_errors_answer_as_json(kms, c):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    other = c.create_key()["KeyMetadata"]["KeyId"]
    blob = c.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b"})["CiphertextBlob"]
    disabled = c.create_key()["KeyMetadata"]["KeyId"]
    dblob = c.encrypt(KeyId=disabled, Plaintext=b"x")["CiphertextBlob"]
    c.disable_key(KeyId=disabled)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    bad = [
        {"CiphertextBlob": blob},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "c"}},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "KeyId": other},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "KeyId": "alias/missing"},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "KeyId": ""},
        {"CiphertextBlob": bytes(tampered), "EncryptionContext": {"a": "b"}},
        {"CiphertextBlob": blob[:30], "EncryptionContext": {"a": "b"}},
        {"CiphertextBlob": b"x"},
        {"CiphertextBlob": b""},
        {"CiphertextBlob": b"x" * 6145},
        {"CiphertextBlob": dblob},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": 1}},
        {"CiphertextBlob": blob, "EncryptionContext": None},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "DryRun": True},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "GrantTokens": [""]},
        {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        {"CiphertextBlob": 12},
        {"EncryptionContext": {"a": "b"}},
    ]
    for kw in bad:
        compare(c, lambda: c.decrypt(**kw), lambda: via_json(c, "Decrypt", **kw))
    bob = trent.client(kms=kms.as_principal("arn:aws:iam::111122223333:user/bob"))
    compare(bob, lambda: bob.decrypt(CiphertextBlob=dblob), lambda: via_json(bob, "Decrypt", CiphertextBlob=dblob))
    with pytest.raises(TypeError, match=r"decrypt\(\) only accepts keyword arguments"):
        c.decrypt(blob)
    c.close()
    compare(c, lambda: c.decrypt(CiphertextBlob=blob), lambda: via_json(c, "Decrypt", CiphertextBlob=blob))


@pytest.mark.parametrize("ctx", CONTEXTS[:4], ids=range(4))
def test_re_encrypt_answers_as_json(c, ctx):
    src = c.create_key()["KeyMetadata"]["KeyId"]
    dst = c.create_key()["KeyMetadata"]["KeyId"]
    c.create_alias(AliasName="alias/dst", TargetKeyId=dst)
    kw = {} if ctx is None else {"SourceEncryptionContext": ctx}
    blob = c.encrypt(KeyId=src, Plaintext=b"moving", **({} if ctx is None else {"EncryptionContext": ctx}))["CiphertextBlob"]
    c.rotate_key_on_demand(KeyId=src)
    for dest in (dst, src, "alias/dst"):
        for dkw in ({}, {"DestinationEncryptionContext": {"d": "e"}}):
            compare(
                c,
                lambda: c.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest, **kw, **dkw),
                lambda: via_json(c, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId=dest, **kw, **dkw),
                dkw.get("DestinationEncryptionContext"),
            )
    bad = [
        {"CiphertextBlob": blob, "DestinationKeyId": "alias/missing", **kw},
        {"CiphertextBlob": blob, "DestinationKeyId": dst, "SourceEncryptionContext": {"z": "z"}},
        {"CiphertextBlob": b"x", "DestinationKeyId": dst},
        {"CiphertextBlob": b"", "DestinationKeyId": dst},
        {"CiphertextBlob": blob, "DestinationKeyId": "", **kw},
        {"CiphertextBlob": blob, "DestinationKeyId": dst, "SourceKeyId": dst, **kw},
        {"CiphertextBlob": blob, "DestinationKeyId": dst, "DestinationEncryptionContext": {"k": 1}, **kw},
        {"CiphertextBlob": blob, **kw},
    ]
    for b in bad:
        compare(c, lambda: c.re_encrypt(**b), lambda: via_json(c, "ReEncrypt", **b))


@pytest.mark.parametrize("op", ["GenerateDataKey", "GenerateDataKeyWithoutPlaintext"])
def test_generate_data_key_answers_as_json(kms, c, op):
    method = getattr(c, _client._snake(op))
    key = c.create_key()["KeyMetadata"]["KeyId"]
    c.create_alias(AliasName="alias/dk", TargetKeyId=key)
    c.rotate_key_on_demand(KeyId=key)
    good = [
        {"KeyId": key, "KeySpec": "AES_256"},
        {"KeyId": "alias/dk", "KeySpec": "AES_128"},
        {"KeyId": key, "NumberOfBytes": 1},
        {"KeyId": key, "NumberOfBytes": 1024, "EncryptionContext": {"a": "b"}},
        {"KeyId": key, "NumberOfBytes": 7, "EncryptionContext": {}},
    ]

    def same(a, b):
        """Fresh keys: compare all but Plaintext and CiphertextBlob, then their sizes."""
        ra, rb = outcome(a), outcome(b)
        assert ra[0] == rb[0] == "ok", (ra, rb)
        assert list(ra[1]) == list(rb[1])
        assert ra[2:] == rb[2:]
        for k in ra[1]:
            if k in ("Plaintext", "CiphertextBlob"):
                assert type(ra[1][k]) is bytes and len(ra[1][k]) == len(rb[1][k])
            else:
                assert ra[1][k] == rb[1][k], k
        return ra[1]

    for kw in good:
        r = same(lambda: method(**kw), lambda: via_json(c, op, **kw))
        pt = c.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=kw.get("EncryptionContext", {}))
        if op == "GenerateDataKey":
            assert pt["Plaintext"] == r["Plaintext"]
    disabled = c.create_key()["KeyMetadata"]["KeyId"]
    c.disable_key(KeyId=disabled)
    bad = [
        {"KeyId": key},
        {"KeyId": key, "NumberOfBytes": 16, "KeySpec": "AES_128"},
        {"KeyId": key, "NumberOfBytes": 0},
        {"KeyId": key, "NumberOfBytes": 1025},
        {"KeyId": key, "NumberOfBytes": True},
        {"KeyId": key, "NumberOfBytes": "16"},
        {"KeyId": key, "KeySpec": "AES_512"},
        {"KeyId": "alias/missing", "NumberOfBytes": 16},
        {"KeyId": disabled, "NumberOfBytes": 16},
        {"KeyId": "", "NumberOfBytes": 16},
        {"KeyId": key, "NumberOfBytes": 16, "EncryptionContext": {"k": 1}},
        {"KeyId": key, "NumberOfBytes": 16, "DryRun": True},
        {"KeyId": key, "NumberOfBytes": 16, "GrantTokens": [""]},
        {"NumberOfBytes": 16},
    ]
    for kw in bad:
        compare(c, lambda: method(**kw), lambda: via_json(c, op, **kw))
    bob = trent.client(kms=kms.as_principal("arn:aws:iam::111122223333:user/bob"))
    bmethod = getattr(bob, _client._snake(op))
    compare(bob, lambda: bmethod(KeyId=key, NumberOfBytes=16), lambda: via_json(bob, op, KeyId=key, NumberOfBytes=16))


def test_the_typed_paths_are_taken_for_well_formed_requests(c, monkeypatch):
    key = c.create_key()["KeyMetadata"]["KeyId"]
    calls = []
    real = _client._invoke

    def spy(client, operation, op, kwargs):
        calls.append(operation)
        return real(client, operation, op, kwargs)

    monkeypatch.setattr(_client, "_invoke", spy)
    ctx_blob = c.encrypt(KeyId=key, Plaintext=b"typed", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert c.decrypt(CiphertextBlob=ctx_blob, EncryptionContext={"a": "b"})["Plaintext"] == b"typed"
    blob = c.encrypt(KeyId=key, Plaintext=b"typed")["CiphertextBlob"]
    assert c.decrypt(CiphertextBlob=blob, KeyId=key)["Plaintext"] == b"typed"
    blob = c.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key, DestinationEncryptionContext={"a": "b"})["CiphertextBlob"]
    dk = c.generate_data_key(KeyId=key, KeySpec="AES_256")
    c.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=16)
    assert calls == []
    assert c.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    c.encrypt(KeyId=key, Plaintext=b"json", GrantTokens=[])
    c.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"}, GrantTokens=[])
    c.generate_data_key(KeyId=key, NumberOfBytes=16, GrantTokens=[])
    assert calls == ["Encrypt", "Decrypt", "GenerateDataKey"]
