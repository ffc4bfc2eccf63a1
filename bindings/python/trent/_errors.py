"""Exceptions, generated from the C ABI's result codes.

Every code of `trent.h`'s `trent_result` enum other than `TRENT_RESULT_OK` becomes a class,
named after `trent_result_name(code)`: the AWS exception name for the engine band
(`NotFoundException`, `KMSInvalidStateException`, …), the short name otherwise
(`InvalidArgument`, `OpenLockedMemory`, …). All derive from `KmsError`; the argument and
boundary codes also from `ValueError`, the engine-opening codes from `OpenError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Type

from ._ffi import cells, ffi, lib


class KmsError(Exception):
    """Base class of every error Trent raises.

    `code` is the C ABI's result code, `name` the exception's wire name (the AWS exception
    name for engine errors), `message` the engine's message (never plaintext or key material).
    `response` and `operation_name` have the shape botocore's `ClientError` gives them:
    `err.response["Error"]["Code"]` is the AWS exception name.
    """

    code: int = 0
    name: str = "KmsError"

    def __init__(self, message: str = "", *, operation_name: Optional[str] = None) -> None:
        # Exception.__init__ directly: the client's classes also derive from botocore's
        # ClientError, whose __init__ takes other arguments.
        Exception.__init__(self, message)
        self.message = message
        self.operation_name = operation_name
        self.response: Dict[str, Any] = {
            "Error": {"Code": self.name, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": _http_status(self.code)},
        }

    def __str__(self) -> str:
        if self.operation_name:
            return (
                f"An error occurred ({self.name}) when calling the {self.operation_name} "
                f"operation: {self.message}"
            )
        return f"{self.name}: {self.message}" if self.message else self.name


class OpenError(KmsError):
    """The engine refused to open (self test, locked memory, configuration, store, root key)."""


class ClosedError(KmsError, ValueError):
    """The `Kms` (or the engine it shares) was closed."""

    name = "Closed"


def _http_status(code: int) -> int:
    if code >= 1000:
        return 500 if code == getattr(lib, "TRENT_RESULT_KMS_INTERNAL_EXCEPTION", -1) else 400
    return 0


def _codes() -> Dict[int, str]:
    """Every result code of the header but OK, with its name."""
    codes = {}
    for attr in dir(lib):
        if attr.startswith("TRENT_RESULT_") and attr != "TRENT_RESULT_OK":
            code = getattr(lib, attr)
            codes[code] = ffi.string(lib.trent_result_name(code)).decode()
    return codes


_BY_CODE: Dict[int, Type[KmsError]] = {}
_BY_NAME: Dict[str, Type[KmsError]] = {}


def _generate() -> None:
    for code, name in sorted(_codes().items()):
        if code >= 1000:
            bases: tuple = (KmsError,)
        elif code >= 100:
            bases = (OpenError,)
        else:
            bases = (KmsError, ValueError) if code in (2, 3, 4, 5) else (KmsError,)
        doc = ffi.string(lib.trent_result_message(code)).decode()
        cls = type(name, bases, {"code": code, "name": name, "__doc__": f"{name} ({code}): {doc}."})
        cls.__module__ = "trent"
        _BY_CODE[code] = cls
        _BY_NAME[name] = cls
        globals()[name] = cls


_generate()

#: The names of the generated exception classes, in code order.
EXCEPTION_NAMES = [cls.__name__ for _, cls in sorted(_BY_CODE.items())]


def error_class(code: int) -> Type[KmsError]:
    """The exception class of a result code (`KmsError` for a code this build does not know)."""
    return _BY_CODE.get(code, KmsError)


def error_class_by_name(name: str) -> Type[KmsError]:
    """The exception class of a wire name (`KmsError` for a name this build does not know)."""
    return _BY_NAME.get(name, KmsError)


def take_error(rc: int, operation_name: Optional[str] = None) -> KmsError:
    """The exception of a failed call `rc`, with the detail the call left in the calling
    thread's error cell (`cells.err`, which is cleared)."""
    return take_error_in(cells.err, rc, operation_name)


def take_error_in(cell: Any, rc: int, operation_name: Optional[str] = None) -> KmsError:
    """`take_error` for a call given another error cell (a `trent_error **`, cleared): the
    hot calls' slots have their own."""
    err = cell[0]
    message = ""
    if err != ffi.NULL:
        cell[0] = ffi.NULL
        try:
            message = ffi.string(lib.trent_error_message(err)).decode("utf-8", "replace")
            rc = lib.trent_error_code(err) or rc
        finally:
            lib.trent_error_free(err)
        prefix = ffi.string(lib.trent_result_name(rc)).decode() + ": "
        if message.startswith(prefix):
            message = message[len(prefix):]
    return error_class(rc)(message, operation_name=operation_name)


def from_item(code: int, message: str = "") -> KmsError:
    return error_class(code)(message)


if TYPE_CHECKING:  # the generated classes, for type checkers (tests check the list is complete)

    class Panic(KmsError): ...
    class NullParameter(KmsError, ValueError): ...
    class InvalidUtf8(KmsError, ValueError): ...
    class InvalidArgument(KmsError, ValueError): ...
    class IndexOutOfRange(KmsError, ValueError): ...
    class UnknownException(KmsError): ...
    class OpenSelfTest(OpenError): ...
    class OpenLockedMemory(OpenError): ...
    class OpenConfig(OpenError): ...
    class OpenStore(OpenError): ...
    class OpenRootKey(OpenError): ...
    class NotFoundException(KmsError): ...
    class DisabledException(KmsError): ...
    class KMSInvalidStateException(KmsError): ...
    class AlreadyExistsException(KmsError): ...
    class ConflictException(KmsError): ...
    class InvalidCiphertextException(KmsError): ...
    class IncorrectKeyException(KmsError): ...
    class InvalidKeyUsageException(KmsError): ...
    class InvalidArnException(KmsError): ...
    class InvalidAliasNameException(KmsError): ...
    class InvalidMarkerException(KmsError): ...
    class InvalidGrantTokenException(KmsError): ...
    class MalformedPolicyDocumentException(KmsError): ...
    class TagException(KmsError): ...
    class UnsupportedOperationException(KmsError): ...
    class LimitExceededException(KmsError): ...
    class DryRunOperationException(KmsError): ...
    class AccessDeniedException(KmsError): ...
    class ValidationException(KmsError): ...
    class KMSInternalException(KmsError): ...

#: The names under TYPE_CHECKING above; the tests compare them with EXCEPTION_NAMES.
STATIC_EXCEPTION_NAMES = [
    "Panic", "NullParameter", "InvalidUtf8", "InvalidArgument", "IndexOutOfRange",
    "UnknownException", "OpenSelfTest", "OpenLockedMemory", "OpenConfig", "OpenStore",
    "OpenRootKey", "NotFoundException", "DisabledException", "KMSInvalidStateException",
    "AlreadyExistsException", "ConflictException", "InvalidCiphertextException",
    "IncorrectKeyException", "InvalidKeyUsageException", "InvalidArnException",
    "InvalidAliasNameException", "InvalidMarkerException", "InvalidGrantTokenException",
    "MalformedPolicyDocumentException", "TagException", "UnsupportedOperationException",
    "LimitExceededException", "DryRunOperationException", "AccessDeniedException",
    "ValidationException", "KMSInternalException",
]  # fmt: skip
