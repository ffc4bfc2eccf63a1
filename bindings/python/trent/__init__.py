"""Trent: an embeddable key management engine with AWS KMS semantics, in-process.

`trent.Kms` is the Pythonic API over every operation of the C ABI; `trent.client()` is a
client with `boto3.client("kms")`'s method names, keyword arguments, response dicts and
exceptions. Every exception derives from `trent.KmsError` and is named after the AWS exception
(`trent.NotFoundException`, …) or the C ABI's result code.
"""

from . import _errors
from ._client import Client, client
from ._errors import EXCEPTION_NAMES, ClosedError, KmsError, OpenError
from ._errors import (  # generated from the result codes; the loop below adds any new one
    AccessDeniedException, AlreadyExistsException, ConflictException, DisabledException,
    DryRunOperationException, IncorrectKeyException, IndexOutOfRange, InvalidAliasNameException,
    InvalidArgument, InvalidArnException, InvalidCiphertextException, InvalidGrantTokenException,
    InvalidKeyUsageException, InvalidMarkerException, InvalidUtf8, KMSInternalException,
    KMSInvalidStateException, LimitExceededException, MalformedPolicyDocumentException,
    NotFoundException, NullParameter, OpenConfig, OpenLockedMemory, OpenRootKey, OpenSelfTest,
    OpenStore, Panic, TagException, UnknownException, UnsupportedOperationException,
    ValidationException,
)  # fmt: skip
from ._kms import DataKey, Kms

__version__ = "0.1.0"

for _name in EXCEPTION_NAMES:
    globals()[_name] = getattr(_errors, _name)
del _name

__all__ = ["Kms", "DataKey", "client", "Client", "KmsError", "OpenError", "ClosedError", *EXCEPTION_NAMES]
