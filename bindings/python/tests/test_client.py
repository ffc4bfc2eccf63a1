"""trent.client: boto3's method names, keyword arguments, response dicts and exceptions."""

import datetime as dt

import pytest

import trent


@pytest.fixture
def client(kms):
    return trent.client("kms", kms=kms)


def test_open_own_engine():
    c = trent.client("kms", region_name="eu-central-1", allow_unlocked_memory=True, endpoint_url="ignored")
    key = c.create_key()["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:eu-central-1:")
    assert c.meta.region_name == "eu-central-1"
    c.close()
    with pytest.raises(ValueError):
        trent.client("s3")


def test_encrypt_response_shape(client):
    key = client.create_key(Description="c")["KeyMetadata"]["KeyId"]
    r = client.encrypt(KeyId=key, Plaintext=b"hi", EncryptionContext={"a": "b"})
    assert set(r) >= {"CiphertextBlob", "KeyId", "EncryptionAlgorithm", "ResponseMetadata"}
    assert r["KeyId"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert r["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert isinstance(r["CiphertextBlob"], bytes)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200 and r["ResponseMetadata"]["RequestId"]
    d = client.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert d["Plaintext"] == b"hi" and d["KeyId"] == r["KeyId"]
    # str plaintexts are UTF-8, as botocore sends them
    assert client.decrypt(CiphertextBlob=client.encrypt(KeyId=key, Plaintext="é")["CiphertextBlob"])["Plaintext"] == "é".encode()


def test_timestamps_are_datetimes(client):
    md = client.create_key()["KeyMetadata"]
    assert isinstance(md["CreationDate"], dt.datetime) and md["CreationDate"].tzinfo is not None
    s = client.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    assert isinstance(s["DeletionDate"], dt.datetime) and s["KeyState"] == "PendingDeletion"


def test_every_operation_is_a_method(client):
    from trent._client import NOT_IMPLEMENTED, OPERATIONS, _snake

    key = client.create_key()["KeyMetadata"]["KeyId"]
    for op in OPERATIONS + NOT_IMPLEMENTED:
        assert callable(getattr(client, _snake(op)))
    for op in NOT_IMPLEMENTED:
        with pytest.raises(client.exceptions.UnsupportedOperationException):
            getattr(client, _snake(op))(KeyId=key)


def test_data_key_ops(client):
    key = client.create_key()["KeyMetadata"]["KeyId"]
    r = client.generate_data_key(KeyId=key, KeySpec="AES_256")
    assert len(r["Plaintext"]) == 32
    assert client.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"] == r["Plaintext"]
    assert len(client.generate_data_key(KeyId=key, NumberOfBytes=64)["Plaintext"]) == 64
    w = client.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_128")
    assert "Plaintext" not in w and len(client.decrypt(CiphertextBlob=w["CiphertextBlob"])["Plaintext"]) == 16
    assert len(client.generate_random(NumberOfBytes=20)["Plaintext"]) == 20
    other = client.create_key()["KeyMetadata"]["KeyId"]
    re = client.re_encrypt(CiphertextBlob=r["CiphertextBlob"], DestinationKeyId=other)
    assert re["SourceKeyId"].endswith(key) and re["KeyId"].endswith(other)


def test_batches(client):
    key = client.create_key()["KeyMetadata"]["KeyId"]
    r = client.generate_data_keys(KeyId=key, Count=5, KeySpec="AES_256")
    assert len(r["DataKeys"]) == 5 and all(len(d["Plaintext"]) == 32 for d in r["DataKeys"])
    e = client.encrypt_batch(KeyId=key, Items=[{"Plaintext": b"a"}, {"Plaintext": b"b", "EncryptionContext": {"x": "y"}}])
    blobs = [i["CiphertextBlob"] for i in e["CiphertextBlobs"]]
    d = client.decrypt_batch(Items=[{"CiphertextBlob": blobs[0]}, {"CiphertextBlob": blobs[1]}])
    assert d["Results"][0]["Plaintext"] == b"a"
    assert d["Results"][1]["Error"]["Code"] == "InvalidCiphertextException"
    rb = client.re_encrypt_batch(DestinationKeyId=key, Items=[{"CiphertextBlob": blobs[0]}])
    assert isinstance(rb["Results"][0]["CiphertextBlob"], bytes)


def test_exceptions_like_boto3(client):
    with pytest.raises(client.exceptions.NotFoundException) as info:
        client.describe_key(KeyId="alias/missing")
    e = info.value
    assert e.response["Error"]["Code"] == "NotFoundException"
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.operation_name == "DescribeKey"
    assert "when calling the DescribeKey operation" in str(e)
    assert isinstance(e, trent.NotFoundException) and isinstance(e, trent.KmsError)
    assert isinstance(e, client.exceptions.ClientError)
    botocore = pytest.importorskip("botocore.exceptions")
    assert isinstance(e, botocore.ClientError)
    with pytest.raises(botocore.ClientError):
        client.encrypt(KeyId="alias/missing", Plaintext=b"x")


def test_keyword_arguments_only(client):
    with pytest.raises(TypeError):
        client.list_keys("positional")


def test_paginators(client):
    keys = {client.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)}
    assert client.can_paginate("list_keys") and not client.can_paginate("encrypt")
    pages = list(client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    assert keys <= {k["KeyId"] for p in pages for k in p["Keys"]}
    with pytest.raises(ValueError):
        client.get_paginator("encrypt")


def test_aliases_tags_rotation(client):
    key = client.create_key()["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName="alias/c", TargetKeyId=key)
    aliases = client.list_aliases(KeyId=key)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/c"]
    client.tag_resource(KeyId=key, Tags=[{"TagKey": "k", "TagValue": "v"}])
    assert client.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    client.enable_key_rotation(KeyId=key, RotationPeriodInDays=100)
    st = client.get_key_rotation_status(KeyId=key)
    assert st["KeyRotationEnabled"] is True and st["RotationPeriodInDays"] == 100
    client.rotate_key_on_demand(KeyId=key)
    rot = client.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rot) == 1 and isinstance(rot[0]["RotationDate"], dt.datetime)


def test_request_encoding_of_text_numbers_booleans_and_contexts(client):
    weird = 'quote " backslash \\ newline \n tab \t é ☃ \x01'
    md = client.create_key(Description=weird, MultiRegion=True)["KeyMetadata"]
    assert md["Description"] == weird and md["MultiRegion"] is True and md["KeyId"].startswith("mrk-")
    ctx = {weird: weird, "k": ""}
    r = client.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=24, EncryptionContext=ctx)
    assert client.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == r["Plaintext"]
    with pytest.raises(client.exceptions.DryRunOperationException):
        client.encrypt(KeyId=md["KeyId"], Plaintext=b"x", DryRun=True)
    assert client.encrypt(KeyId=md["KeyId"], Plaintext=b"x", DryRun=False)["CiphertextBlob"]
    with pytest.raises(client.exceptions.ValidationException):
        client.generate_data_key(KeyId=md["KeyId"], NumberOfBytes="24")
