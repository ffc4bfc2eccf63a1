"""Every exception class: generated from the header's result codes, one per code."""

import re
from pathlib import Path

import pytest

import trent
from trent import _errors
from trent._ffi import ffi, lib

HEADER = Path(__file__).resolve().parents[3] / "ffi" / "include" / "trent.h"


def header_codes():
    text = HEADER.read_text()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(TRENT_RESULT_[A-Z0-9_]+) = (\d+)", text)}


def test_one_class_per_result_code():
    codes = {getattr(lib, n) for n in dir(lib) if n.startswith("TRENT_RESULT_") and n != "TRENT_RESULT_OK"}
    assert {getattr(trent, n).code for n in trent._errors.EXCEPTION_NAMES} == codes
    for name in trent._errors.EXCEPTION_NAMES:
        cls = getattr(trent, name)
        assert issubclass(cls, trent.KmsError)
        assert cls.__name__ == name == ffi.string(lib.trent_result_name(cls.code)).decode()
        assert name in trent.__all__
        assert cls.__doc__
        e = cls("detail")
        assert e.response["Error"]["Code"] == name and e.message == "detail"
        if cls.code >= 1000:
            assert name.endswith("Exception")
        elif cls.code >= 100:
            assert issubclass(cls, trent.OpenError)


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's trent.h")
def test_classes_match_the_header_in_the_tree():
    codes = header_codes()
    del codes["TRENT_RESULT_OK"]
    assert sorted(codes.values()) == sorted(getattr(trent, n).code for n in trent._errors.EXCEPTION_NAMES)


def test_static_names_for_type_checkers_are_complete():
    assert _errors.STATIC_EXCEPTION_NAMES == _errors.EXCEPTION_NAMES


def test_aws_exceptions_are_not_value_errors_but_argument_errors_are():
    assert not issubclass(trent.NotFoundException, ValueError)
    assert issubclass(trent.InvalidArgument, ValueError)
    assert issubclass(trent.ClosedError, trent.KmsError)


def test_error_str_and_http_status():
    e = trent.NotFoundException("no such key", operation_name="Encrypt")
    assert str(e) == "An error occurred (NotFoundException) when calling the Encrypt operation: no such key"
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert trent.KMSInternalException("x").response["ResponseMetadata"]["HTTPStatusCode"] == 500


# Each engine exception raised by a real call, where this engine can raise it today.
def _raise(kms, name):
    key = kms.create_key()
    if name == "NotFoundException":
        kms.encrypt("alias/none", b"x")
    elif name == "DisabledException":
        kms.disable_key(key)
        kms.encrypt(key, b"x")
    elif name == "KMSInvalidStateException":
        kms.schedule_key_deletion(key)
        kms.encrypt(key, b"x")
    elif name == "AlreadyExistsException":
        kms.create_alias("alias/dup", key)
        kms.create_alias("alias/dup", key)
    elif name == "InvalidCiphertextException":
        kms.decrypt(b"\x00" * 80)
    elif name == "IncorrectKeyException":
        kms.decrypt(kms.encrypt(key, b"x"), key_id=kms.create_key())
    elif name == "InvalidAliasNameException":
        kms.create_alias("alias/aws/reserved", key)
    elif name == "InvalidMarkerException":
        kms.call_json("ListKeys", {"Marker": "bogus-marker"})
    elif name == "MalformedPolicyDocumentException":
        kms.create_key(policy="[]")
    elif name == "TagException":
        kms.tag_resource(key, {"aws:x": "y"})
    elif name == "UnsupportedOperationException":
        kms.call_json("Sign", {"KeyId": key})
    elif name == "DryRunOperationException":
        kms.call_json("Encrypt", {"KeyId": key, "Plaintext": "eA==", "DryRun": True})
    elif name == "AccessDeniedException":
        kms.as_principal("arn:aws:iam::111122223333:user/bob").encrypt(key, b"x")
    elif name == "ValidationException":
        kms.generate_random(0)
    elif name == "InvalidArnException":
        kms.call_json("Encrypt", {"KeyId": "arn:aws:kms:us-east-1:111122223333:bogus/x", "Plaintext": "eA=="})
    elif name == "InvalidGrantTokenException":
        kms.call_json("Encrypt", {"KeyId": key, "Plaintext": "eA==", "GrantTokens": [""]})
    elif name == "LimitExceededException":
        for _ in range(26):
            kms.rotate_key_on_demand(key)
    elif name == "InvalidKeyUsageException":
        kms.call_json("Encrypt", {"KeyId": key, "Plaintext": "eA==", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
    elif name == "InvalidArgument":
        kms.describe_key("a key id with a NUL\0")
    elif name == "OpenRootKey":
        raise AssertionError("covered in test_kms.test_builder_options")
    else:
        pytest.skip(f"{name}: no call of this engine raises it on demand")


TRIGGERABLE = [
    "NotFoundException", "DisabledException", "KMSInvalidStateException", "AlreadyExistsException",
    "InvalidCiphertextException", "IncorrectKeyException", "InvalidAliasNameException",
    "InvalidMarkerException", "MalformedPolicyDocumentException", "TagException",
    "UnsupportedOperationException", "DryRunOperationException", "AccessDeniedException",
    "ValidationException", "LimitExceededException", "InvalidArgument",
]  # fmt: skip


@pytest.mark.parametrize("name", TRIGGERABLE)
def test_raised_by_the_engine(kms, name):
    cls = getattr(trent, name)
    with pytest.raises(cls) as info:
        _raise(kms, name)
    assert type(info.value) is cls
    assert info.value.response["Error"]["Code"] == name
    assert info.value.message


# Inputs named after an exception, and the exception the engine answers them with (as AWS
# does: a malformed key ARN is NotFoundException, an empty grant token a validation error).
ANSWERED_OTHERWISE = {
    "InvalidArnException": "NotFoundException",
    "InvalidGrantTokenException": "ValidationException",
    "InvalidKeyUsageException": "InvalidKeyUsageException",
}


@pytest.mark.parametrize("name", sorted(ANSWERED_OTHERWISE))
def test_raised_or_refused_otherwise(kms, name):
    """Each input gets exactly the exception named for it, with a message."""
    cls = getattr(trent, ANSWERED_OTHERWISE[name])
    with pytest.raises(cls) as info:
        _raise(kms, name)
    assert type(info.value) is cls and info.value.message
