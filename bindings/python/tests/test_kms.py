"""Every method of trent.Kms."""

import datetime as dt
import json

import pytest

import trent


def open_kms(**kw):
    return trent.Kms(allow_unlocked_memory=True, **kw)


def test_open_in_memory_and_properties(kms):
    assert kms.store_backend == "memory"
    assert isinstance(kms.memory_is_locked, bool)
    assert trent.Kms.version() == "0.1.0"
    assert "memory" in repr(kms)


def test_open_data_dir_persists(tmp_path):
    d = tmp_path / "data"
    with trent.Kms(d, allow_unlocked_memory=True) as k:
        assert k.store_backend == "sqlite"
        key = k.create_key("durable")
        blob = k.encrypt(key, b"persist me")
    assert (d / "trent.db").exists() and (d / "root.key").exists()
    with trent.Kms(d, allow_unlocked_memory=True) as k:
        assert k.decrypt(blob) == b"persist me"
        k.check_store_integrity()


def test_builder_options(tmp_path):
    db = tmp_path / "keys.db"
    with trent.Kms(
        sqlite=db,
        root_key_passphrase="correct horse",
        region="eu-west-1",
        account="444455556666",
        audit_file=tmp_path / "audit.jsonl",
        allow_unlocked_memory=True,
        locked_memory_budget=8 << 20,
        refresh_interval_ms=0,
        max_hot_versions=8,
    ) as k:
        key = k.create_key()
        assert k.describe_key(key)["arn"].startswith("arn:aws:kms:eu-west-1:444455556666:key/")
        k.encrypt(key, b"x")
        k.flush_audit()
        k.run_maintenance()
        k.refresh_now()
    assert (tmp_path / "audit.jsonl").read_text().count("\n") >= 2
    # The wrong root key is refused at open.
    with pytest.raises(trent.OpenRootKey):
        trent.Kms(sqlite=db, root_key_passphrase="wrong", allow_unlocked_memory=True)
    with pytest.raises(trent.OpenError):
        trent.Kms(sqlite=db, root_key=b"\x00" * 32, allow_unlocked_memory=True)


def test_builder_root_key_bytes_and_env(tmp_path, monkeypatch):
    with pytest.raises(trent.InvalidArgument):
        trent.Kms(root_key=b"short", allow_unlocked_memory=True)
    monkeypatch.setenv("TRENT_TEST_ROOT", "11" * 32)
    with trent.Kms(sqlite=tmp_path / "e.db", root_key_env="TRENT_TEST_ROOT", allow_unlocked_memory=True) as k:
        k.create_key()
    with trent.Kms(sqlite=tmp_path / "f.db", root_key_file=tmp_path / "root.key", allow_unlocked_memory=True) as k:
        k.create_key()
    with trent.Kms(sqlite=tmp_path / "g.db", root_key=bytes(range(32)), audit_table=True, allow_unlocked_memory=True) as k:
        k.create_key()
        k.flush_audit()


def test_rotate_root_key(tmp_path):
    db = tmp_path / "r.db"
    with trent.Kms(sqlite=db, root_key=b"\x01" * 32, allow_unlocked_memory=True) as k:
        key = k.create_key()
        blob = k.encrypt(key, b"survives")
        assert k.rotate_root_key(key=b"\x02" * 32) >= 1
        with pytest.raises(ValueError):
            k.rotate_root_key()
    with trent.Kms(sqlite=db, root_key=b"\x02" * 32, allow_unlocked_memory=True) as k:
        assert k.decrypt(blob) == b"survives"


def test_create_and_describe(kms):
    key = kms.create_key("hello")
    md = kms.describe_key(key)
    assert md["key_id"] == key
    assert md["description"] == "hello"
    assert md["key_state"] == "Enabled"
    assert md["enabled"] is True
    assert isinstance(md["creation_date"], dt.datetime)
    assert kms.describe_key(md["arn"])["key_id"] == key
    bare = kms.create_key()
    assert kms.describe_key(bare)["description"] == ""


def test_create_key_options(kms):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
            ],
        }
    )
    key = kms.create_key("opts", policy=policy, tags={"team": "x"}, multi_region=True, key_spec="SYMMETRIC_DEFAULT", key_usage="ENCRYPT_DECRYPT")
    assert key.startswith("mrk-")
    assert kms.list_resource_tags(key) == {"team": "x"}
    assert kms.describe_key(key)["multi_region"] is True
    with pytest.raises(trent.MalformedPolicyDocumentException):
        kms.create_key(policy="{not json")
    with pytest.raises(trent.UnsupportedOperationException):
        kms.create_key(key_spec="RSA_2048", key_usage="SIGN_VERIFY")


def test_list_keys_and_aliases(kms):
    keys = [kms.create_key() for _ in range(3)]
    listed = {k["key_id"] for k in kms.list_keys()}
    assert set(keys) <= listed
    kms.create_alias("alias/one", keys[0])
    kms.create_alias("alias/two", keys[0])
    names = {a["alias_name"] for a in kms.list_aliases(keys[0])}
    assert names == {"alias/one", "alias/two"}
    kms.update_alias("alias/two", keys[1])
    assert {a["alias_name"] for a in kms.list_aliases(keys[1])} == {"alias/two"}
    assert kms.describe_key("alias/two")["key_id"] == keys[1]
    kms.delete_alias("alias/two")
    with pytest.raises(trent.NotFoundException):
        kms.describe_key("alias/two")
    with pytest.raises(trent.AlreadyExistsException):
        kms.create_alias("alias/one", keys[2])
    with pytest.raises(trent.InvalidAliasNameException):
        kms.create_alias("alias/aws/reserved", keys[2])


def test_tags(kms, key):
    kms.tag_resource(key, {"a": "1", "b": "2"})
    assert kms.list_resource_tags(key) == {"a": "1", "b": "2"}
    kms.untag_resource(key, ["a"])
    assert kms.list_resource_tags(key) == {"b": "2"}
    with pytest.raises(trent.TagException):
        kms.tag_resource(key, {"aws:reserved": "x"})


def test_lifecycle(kms, key):
    kms.update_key_description(key, "new words")
    assert kms.describe_key(key)["description"] == "new words"
    kms.disable_key(key)
    assert kms.describe_key(key)["key_state"] == "Disabled"
    with pytest.raises(trent.DisabledException):
        kms.encrypt(key, b"x")
    kms.enable_key(key)
    blob = kms.encrypt(key, b"x")
    kms.schedule_key_deletion(key, 7)
    md = kms.describe_key(key)
    assert md["key_state"] == "PendingDeletion"
    assert isinstance(md["deletion_date"], dt.datetime)
    with pytest.raises(trent.KMSInvalidStateException):
        kms.decrypt(blob)
    kms.cancel_key_deletion(key)
    assert kms.describe_key(key)["key_state"] == "Disabled"
    kms.enable_key(key)
    assert kms.decrypt(blob) == b"x"
    kms.schedule_key_deletion(key)  # default window: 30 days
    days = (kms.describe_key(key)["deletion_date"] - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400
    assert 29 < days <= 30.01


def test_rotation(kms, key):
    status = kms.get_key_rotation_status(key)
    assert status["key_rotation_enabled"] is False
    kms.enable_key_rotation(key, 90)
    status = kms.get_key_rotation_status(key)
    assert status["key_rotation_enabled"] is True
    assert status["rotation_period_in_days"] == 90
    assert isinstance(status["next_rotation_date"], dt.datetime)
    kms.enable_key_rotation(key)  # default period
    assert kms.get_key_rotation_status(key)["rotation_period_in_days"] == 365
    kms.disable_key_rotation(key)
    assert kms.get_key_rotation_status(key)["key_rotation_enabled"] is False
    old = kms.encrypt(key, b"before")
    kms.rotate_key_on_demand(key)
    rotations = kms.list_key_rotations(key)
    assert len(rotations) == 1 and rotations[0]["rotation_type"] == "ON_DEMAND"
    new = kms.encrypt(key, b"after")
    assert old[:22] != new[:22]  # another key version in the header
    assert kms.decrypt(old) == b"before" and kms.decrypt(new) == b"after"
    with pytest.raises(trent.ValidationException):
        kms.enable_key_rotation(key, 10)


def test_encrypt_decrypt(kms, key):
    ctx = {"tenant": "acme", "purpose": "test"}
    blob = kms.encrypt(key, b"hello", ctx)
    assert kms.decrypt(blob, dict(reversed(list(ctx.items())))) == b"hello"
    assert kms.decrypt(blob, ctx, key_id=key) == b"hello"
    with pytest.raises(trent.InvalidCiphertextException):
        kms.decrypt(blob)
    with pytest.raises(trent.InvalidCiphertextException):
        kms.decrypt(blob, {"tenant": "acme"})
    other = kms.create_key()
    with pytest.raises(trent.IncorrectKeyException):
        kms.decrypt(blob, ctx, key_id=other)
    # bytes-like inputs
    assert kms.decrypt(bytearray(kms.encrypt(key, bytearray(b"ba")))) == b"ba"
    assert kms.decrypt(memoryview(kms.encrypt(key, memoryview(b"mv")))) == b"mv"
    with pytest.raises(TypeError):
        kms.encrypt(key, "not bytes")
    with pytest.raises(TypeError):
        kms.encrypt(key, b"x", {"k": 1})
    with pytest.raises(trent.ValidationException):
        kms.encrypt(key, b"x" * 4097)
    with pytest.raises(trent.ValidationException):
        kms.encrypt(key, b"")
    with pytest.raises(trent.NotFoundException):
        kms.encrypt("alias/missing", b"x")


def test_encrypt_via_alias_and_arn(kms, key):
    kms.create_alias("alias/app", key)
    arn = kms.describe_key(key)["arn"]
    for ident in ("alias/app", arn, key, arn.replace(":key/" + key, ":alias/app")):
        assert kms.decrypt(kms.encrypt(ident, b"v")) == b"v"


def test_re_encrypt(kms, key):
    other = kms.create_key()
    blob = kms.encrypt(key, b"move me", {"a": "1"})
    moved = kms.re_encrypt(blob, other, {"a": "1"}, {"b": "2"})
    assert kms.decrypt(moved, {"b": "2"}, key_id=other) == b"move me"
    with pytest.raises(trent.InvalidCiphertextException):
        kms.re_encrypt(blob, other)


def test_data_keys(kms, key):
    dk = kms.generate_data_key(key, {"file": "a"})
    assert len(dk.plaintext) == 32
    assert kms.decrypt(dk.ciphertext_blob, {"file": "a"}) == dk.plaintext
    assert "plaintext=<32 bytes>" in repr(dk) and repr(dk.plaintext) not in repr(dk)
    small = kms.generate_data_key(key, number_of_bytes=16)
    assert len(small.plaintext) == 16
    blob = kms.generate_data_key_without_plaintext(key, {"file": "b"})
    assert len(kms.decrypt(blob, {"file": "b"})) == 32
    assert len(kms.decrypt(kms.generate_data_key_without_plaintext(key, number_of_bytes=64))) == 64
    with pytest.raises(trent.ValidationException):
        kms.generate_data_key(key, number_of_bytes=2000)


def test_generate_random(kms):
    r = kms.generate_random(64)
    assert len(r) == 64 and r != kms.generate_random(64)
    with pytest.raises(trent.ValidationException):
        kms.generate_random(5000)


def test_generate_data_keys_batch(kms, key):
    n = 20000  # more than one engine call (DATA_KEYS_CHUNK)
    keys = kms.generate_data_keys(key, n, {"batch": "1"})
    assert len(keys) == n
    assert len({k.plaintext for k in keys}) == n
    for i in (0, 1, 8191, 8192, n - 1):
        assert kms.decrypt(keys[i].ciphertext_blob, {"batch": "1"}) == keys[i].plaintext
    plains, blobs = kms.generate_data_keys_split(key, 10, number_of_bytes=24)
    assert [len(p) for p in plains] == [24] * 10
    assert [kms.decrypt(b) for b in blobs] == plains
    assert kms.generate_data_keys(key, 0) == []
    with pytest.raises(ValueError):
        kms.generate_data_keys(key, -1)
    with pytest.raises(trent.NotFoundException):
        kms.generate_data_keys("alias/nope", 3)


def test_encrypt_decrypt_batch(kms, key):
    items = [b"one", (b"two", {"k": "v"}), (bytearray(b"three"), None)]
    blobs = kms.encrypt_batch(key, items)
    assert all(isinstance(b, bytes) for b in blobs)
    back = kms.decrypt_batch([blobs[0], (blobs[1], {"k": "v"}), blobs[2], b"garbage"])
    assert back[:3] == [b"one", b"two", b"three"]
    assert isinstance(back[3], trent.InvalidCiphertextException)
    bad = kms.encrypt_batch(key, [b"ok", b""])
    assert isinstance(bad[0], bytes) and isinstance(bad[1], trent.ValidationException)
    with pytest.raises(trent.NotFoundException):
        kms.encrypt_batch("alias/nope", [b"x"])


def test_re_encrypt_batch(kms, key):
    other = kms.create_key()
    blobs = kms.encrypt_batch(key, [b"a", (b"b", {"c": "d"})])
    out = kms.re_encrypt_batch(other, [blobs[0], (blobs[1], {"c": "d"}, {"e": "f"}), b"junk"])
    assert kms.decrypt(out[0], key_id=other) == b"a"
    assert kms.decrypt(out[1], {"e": "f"}) == b"b"
    assert isinstance(out[2], trent.InvalidCiphertextException)


def test_call_json(kms, key):
    resp = kms.call_json("DescribeKey", {"KeyId": key})
    assert resp["KeyMetadata"]["KeyId"] == key
    with pytest.raises(trent.ValidationException):
        kms.call_json("DescribeKey", {})
    with pytest.raises(trent.UnsupportedOperationException):
        kms.call_json("Sign", {"KeyId": key})
    with pytest.raises(trent.DryRunOperationException):
        kms.call_json("Encrypt", {"KeyId": key, "Plaintext": "aGk=", "DryRun": True})


def test_as_principal(kms, key):
    other = kms.as_principal("arn:aws:iam::111122223333:user/alice")
    with pytest.raises(trent.AccessDeniedException):
        other.encrypt(key, b"x")
    assert "alice" in repr(other)
    with pytest.raises(trent.ValidationException):
        kms.as_principal("not an arn")


def test_no_secrets_in_reprs_or_errors(kms, key):
    secret = b"TOP-SECRET-PLAINTEXT"
    blob = kms.encrypt(key, secret, {"ctx": "v"})
    with pytest.raises(trent.InvalidCiphertextException) as info:
        kms.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), {"ctx": "v"})
    e = info.value
    assert secret.decode() not in str(e) and secret.decode() not in repr(e.response)
    dk = kms.generate_data_key(key)
    assert dk.plaintext.hex() not in repr(dk) and str(dk.plaintext) not in repr(dk)


@pytest.mark.parametrize("n", [1, 2, 17, 1000, 4096])
def test_output_sizes_are_the_librarys(kms, key, n):
    """Blob sizes come from trent_ciphertext_len / trent_plaintext_len_max, not from the
    binding; inputs of every buffer type, outputs always bytes."""
    from trent._ffi import lib

    data = bytes(range(256)) * 16
    blob = kms.encrypt(key, data[:n], {"n": str(n)})
    assert type(blob) is bytes and len(blob) == lib.trent_ciphertext_len(n)
    assert lib.trent_plaintext_len_max(len(blob)) == n
    for form in (bytes, bytearray, memoryview):
        plain = kms.decrypt(form(blob), {"n": str(n)})
        assert type(plain) is bytes and plain == data[:n]
        assert kms.encrypt(key, form(data[:n])) != blob
    again = kms.re_encrypt(bytearray(blob), key, {"n": str(n)})
    assert type(again) is bytes and len(again) == len(blob)


def test_contexts_have_only_the_engines_limits(kms, key):
    """The binding adds no limit of its own (its old C glue refused more than 64 pairs)."""
    for pairs in (65, 300):
        ctx = {f"key-{i}": f"value-{i}" * 3 for i in range(pairs)}
        blob = kms.encrypt(key, b"many pairs", ctx)
        assert kms.decrypt(blob, dict(reversed(list(ctx.items())))) == b"many pairs"
        dk = kms.generate_data_key(key, ctx)
        assert kms.decrypt(dk.ciphertext_blob, ctx) == dk.plaintext
        with pytest.raises(trent.InvalidCiphertextException):
            kms.decrypt(blob, {**ctx, "key-0": "other"})
    with pytest.raises(TypeError):
        kms.encrypt(key, b"x", {"k": 1})
    with pytest.raises(TypeError):
        kms.encrypt(key, b"x", [("k", "v")])


def test_handle_frees_once_and_only_after_running_calls():
    """The ownership wrapper: `free` runs exactly once, never while a caller still holds the
    pointer it got for a call, and a closed handle refuses new calls."""
    import gc

    from trent._ffi import ffi
    from trent._handle import Handle

    freed = []
    h = Handle(ffi.cast("void *", 0x1000), lambda p: freed.append(int(ffi.cast("uintptr_t", p))), "test handle")
    in_call = h.ptr  # what a running call holds
    h.close()
    h.close()
    assert h.closed and freed == []
    with pytest.raises(trent.ClosedError, match="the test handle is closed"):
        h.ptr
    del in_call
    gc.collect()
    assert freed == [0x1000]
    with Handle(ffi.cast("void *", 0x2000), lambda p: freed.append(int(ffi.cast("uintptr_t", p)))) as p:
        assert int(ffi.cast("uintptr_t", p)) == 0x2000
    del p
    gc.collect()
    assert freed == [0x1000, 0x2000]
    with pytest.raises(ValueError):
        Handle(ffi.NULL, lambda p: None)


def test_envelope_encrypt_decrypt(kms, key):
    data = bytes(range(256)) * 5000  # 1.28 MB: several chunks
    sealed = kms.envelope_encrypt(key, data, {"file": "x"}, chunk_size=64 * 1024)
    assert data not in sealed and len(sealed) > len(data)
    assert kms.envelope_decrypt(sealed) == data
    assert kms.envelope_decrypt(bytearray(kms.envelope_encrypt(key, b"small"))) == b"small"
    tampered = bytearray(sealed)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(trent.InvalidCiphertextException, match="failed to authenticate"):
        kms.envelope_decrypt(bytes(tampered))
    with pytest.raises(trent.InvalidCiphertextException, match="truncated"):
        kms.envelope_decrypt(sealed[:-1])
    with pytest.raises(trent.NotFoundException):
        kms.envelope_encrypt("alias/none", b"x")


def test_key_arn_and_ciphertext_key_arn(kms, key):
    arn = kms.describe_key(key)["arn"]
    kms.create_alias("alias/arn-test", key)
    assert kms.key_arn(key) == kms.key_arn("alias/arn-test") == kms.key_arn(arn) == arn
    blob = kms.encrypt("alias/arn-test", b"x")
    assert kms.ciphertext_key_arn(blob) == kms.ciphertext_key_arn(bytearray(blob)) == arn
    with pytest.raises(trent.NotFoundException):
        kms.key_arn("alias/none")
    with pytest.raises(trent.InvalidCiphertextException):
        kms.ciphertext_key_arn(b"\x00" * 80)
    kms.close()
    with pytest.raises(trent.ClosedError):
        kms.key_arn(key)
