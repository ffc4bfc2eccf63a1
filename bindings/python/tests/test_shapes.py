"""The Python client against the table of AWS shapes (`trent._shapes`, generated with the
engine's and the Go adapter's tables by tools/shapes-gen): the same operations, members,
paginators and error codes as the engine built into the native library and as trent.h."""

import re
from pathlib import Path

import pytest

import trent
from trent import _client, _errors, _shapes
from trent._client import _snake

HEADER = Path(__file__).resolve().parents[3] / "ffi" / "include" / "trent.h"


@pytest.fixture
def client(kms):
    return trent.client("kms", kms=kms)


def test_the_client_has_a_method_for_every_operation_of_the_table():
    ops = set(_shapes.INPUT_MEMBERS)
    assert set(_shapes.IMPLEMENTED) | set(_shapes.NOT_IMPLEMENTED) == ops
    assert not set(_shapes.IMPLEMENTED) & set(_shapes.NOT_IMPLEMENTED)
    assert _client.OPERATIONS == _shapes.IMPLEMENTED and _client.NOT_IMPLEMENTED == _shapes.NOT_IMPLEMENTED
    methods = {name for name in vars(_client.Client) if not name.startswith("_")}
    assert {_snake(op) for op in ops} <= methods
    assert len(_shapes.NOT_IMPLEMENTED) + len(_shapes.IMPLEMENTED) - len(_shapes.TRENT_OPERATIONS) == 54


def test_the_engine_implements_exactly_the_operations_of_the_table(client):
    # A KeyId of the wrong type: every implemented operation refuses it, or ignores it; only the
    # ones the engine does not implement say so.
    for op in _shapes.IMPLEMENTED + _shapes.NOT_IMPLEMENTED:
        try:
            getattr(client, _snake(op))(KeyId=5)
        except client.exceptions.UnsupportedOperationException as e:
            assert op in _shapes.NOT_IMPLEMENTED, f"{op}: {e}"
        except _errors.KmsError as e:
            assert op in _shapes.IMPLEMENTED, f"{op}: {e}"
        else:
            assert op in _shapes.IMPLEMENTED, op


def test_the_engine_requires_the_members_of_the_table(client):
    for op in _shapes.IMPLEMENTED:
        required = _shapes.REQUIRED_MEMBERS[op]
        if not required:
            continue
        with pytest.raises(client.exceptions.ValidationException) as e:
            getattr(client, _snake(op))()
        n = len(required)
        fields = [r[:1].lower() + r[1:] for r in required]
        expected = f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(
            f"Value null at '{f}' failed to satisfy constraint: Member must not be null" for f in fields
        )
        assert e.value.message == expected, op


def test_blob_timestamp_and_map_members_come_from_the_table():
    for op, members in _shapes.INPUT_MEMBERS.items():
        for m in members:
            if m in ("Plaintext", "CiphertextBlob"):
                assert m in _client._BLOBS, (op, m)
    assert "Message" in _client._BLOBS and "Message" not in _client._RESPONSE_BLOBS
    assert {"CreationDate", "DeletionDate", "NextRotationDate", "RotationDate"} <= _client._TIMESTAMPS
    assert {"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext"} <= _client._USER_MAPS
    for op, pager in _shapes.PAGINATORS.items():
        assert pager["result_key"] in _shapes.OUTPUT_MEMBERS[op], op
        assert pager["input_token"] in _shapes.INPUT_MEMBERS[op], op


def test_paginators_of_the_table(client):
    key = client.create_key()["KeyMetadata"]["KeyId"]
    for i in range(3):
        client.create_alias(AliasName=f"alias/page-{i}", TargetKeyId=key)
    assert client.can_paginate("list_aliases") and not client.can_paginate("encrypt")
    pages = list(client.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Aliases"]) for p in pages] == [2, 1]


def test_error_codes_agree_with_the_table():
    codes = {cls.__name__: cls.code for cls in map(_errors.error_class_by_name, _errors.EXCEPTION_NAMES)}
    engine = {name: code for name, code in codes.items() if code >= 1000}
    assert engine == _shapes.ERROR_CODES
    assert set(_shapes.ERROR_CODES) <= set(_shapes.ERROR_NAMES)


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's trent.h")
def test_error_codes_agree_with_the_header():
    header = {}
    for name, value in re.findall(r"\bTRENT_RESULT_([A-Z0-9_]+) = (\d+)", HEADER.read_text()):
        if int(value) >= 1000:
            header[name] = int(value)
    screaming = {re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", n).upper(): c for n, c in _shapes.ERROR_CODES.items()}
    assert screaming == header
