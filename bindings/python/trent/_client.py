"""`trent.client()`: the method names, keyword arguments, response dicts and exceptions of
`boto3.client("kms")`, over an embedded engine.

The keyword arguments are the AWS request members (blobs as `bytes`), the response is the AWS
response with blobs decoded to `bytes`, timestamps as timezone-aware `datetime`s and a
`ResponseMetadata` member, as botocore returns them. Encrypt with the members the typed C call
takes (`KeyId`, `Plaintext`, `EncryptionContext`, well-formed) runs on that call
(`trent_kms_encrypt_into`, no JSON); every other call goes through the engine's AWS JSON 1.1
dispatcher (`trent_kms_call_json`). Both answer alike, the tests check it. Errors are raised as
`client.exceptions.<AWS name>`, which are also the matching `trent` exceptions and, when
botocore is installed, subclasses of `botocore.exceptions.ClientError`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import datetime as _dt
import json
import re
import uuid
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Type

from . import _errors, _shapes
from ._args import BLOB_OVERHEAD as _BLOB_OVERHEAD
from ._args import packed
from ._args import ciphertext_len as _ciphertext_len
from ._args import take_buffer as _take_buffer
from ._args import wipe as _wipe
# The hot calls' functions, bound once where `Kms` binds them.
from ._crypto import _buffer, _decrypt_into, _encrypt_into, _gdk_into, _gdkwp_into, _new, _re_encrypt_into
from ._errors import EXCEPTION_NAMES, ClosedError, KmsError, take_error
from ._ffi import cells, ffi, lib
from ._kms import Kms

__all__ = ["client", "Client"]

#: Operations the engine implements, by AWS wire name (Trent's batches last), and the AWS KMS
#: operations it does not implement yet: the client has methods for both (as boto3's does) and
#: the latter raise `UnsupportedOperationException`. From the table of shapes (`_shapes.py`).
OPERATIONS = _shapes.IMPLEMENTED
NOT_IMPLEMENTED = _shapes.NOT_IMPLEMENTED

#: botocore's paginators: operation → its tokens and result key.
_PAGINATED = _shapes.PAGINATORS

#: Blob members (base64 on the wire): of requests; of responses (`Message` is a blob only in
#: requests, Sign's and Verify's; in responses it is an error's text).
_BLOBS = _shapes.INPUT_BLOBS
_RESPONSE_BLOBS = _shapes.OUTPUT_BLOBS
_TIMESTAMPS = _shapes.OUTPUT_TIMESTAMPS | _shapes.INPUT_TIMESTAMPS
#: Map members: user maps (encryption contexts), passed as they are.
_USER_MAPS = _shapes.INPUT_MAPS | _shapes.OUTPUT_MAPS

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.JSONDecoder().decode
_quote = encode_basestring
_b64encode = base64.b64encode
_b64decode = binascii.a2b_base64
_call_json = lib.trent_kms_call_json
_ciphertext_key_arn = lib.trent_kms_ciphertext_key_arn
_ciphertext_key_material_id = lib.trent_kms_ciphertext_key_material_id
_plaintext_len_max = lib.trent_plaintext_len_max
_NULL = ffi.NULL

# Request ids shaped like AWS's (a UUID): a random per-process prefix and a counter, cheaper
# than a uuid4 per call.
_REQUEST_PREFIX = str(uuid.uuid4())[:24]
# Counts from 2**48, so that hex(n)[3:] is the 12 hex digits of the counter.
_REQUEST_COUNTER = itertools.count((1 << 48) + 1)
_hex = hex

_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


def _encode(value: Any, key: str = "") -> Any:
    """A request value as AWS JSON: blobs (bytes, or str as UTF-8) to base64, datetimes to
    epoch seconds; user maps (encryption contexts) as they are."""
    t = type(value)
    if t is bytes or t is bytearray or t is memoryview:
        return _b64encode(value).decode()
    if t is str:
        return _b64encode(value.encode()).decode() if key in _BLOBS else value
    if t is dict:
        if key in _USER_MAPS:
            return value
        return {k: _encode(v, k) for k, v in value.items()}
    if t is list or t is tuple:
        return [_encode(v, key) for v in value]
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return _encode(dict(value), key)
    return value


def _request_body(kwargs: Dict[str, Any]) -> bytes:
    """A request's JSON body. The common shape (members that are text, blobs, numbers, booleans
    and encryption contexts) is written directly; anything else goes through `_encode` and the
    json module."""
    parts = []
    for k, v in kwargs.items():
        t = type(v)
        if t is str and k not in _BLOBS:
            parts.append(f'"{k}":{_quote(v)}')
        elif t is bytes or t is bytearray:
            # base64 needs no JSON escaping
            parts.append(f'"{k}":"{_b64encode(v).decode()}"')
        elif t is int:
            parts.append(f'"{k}":{v}')
        elif t is bool:
            parts.append(f'"{k}":{"true" if v else "false"}')
        elif t is dict and k in _USER_MAPS:
            parts.append(f'"{k}":{_dumps(v)}')
        else:
            return _dumps(_encode(kwargs)).encode()
    return ("{" + ",".join(parts) + "}").encode()


def _decode(value: Any, key: str = "") -> Any:
    """A response value as botocore parses it: blobs to bytes, timestamps to datetimes."""
    t = type(value)
    if t is dict:
        if key in _USER_MAPS:
            return value
        for k, v in value.items():
            tv = type(v)
            if tv is str:
                if k in _RESPONSE_BLOBS:
                    value[k] = _b64decode(v)
            elif tv is dict or tv is list or k in _TIMESTAMPS:
                value[k] = _decode(v, k)
        return value
    if t is list:
        return [_decode(v, key) for v in value]
    if key in _TIMESTAMPS and (t is int or t is float):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    return value


def _client_exceptions() -> SimpleNamespace:
    """`client.exceptions`: one class per AWS exception, each a subclass of the `trent`
    exception of the same name and, when botocore is importable, of its `ClientError`."""
    try:
        from botocore.exceptions import ClientError as BotoClientError  # type: ignore
    except Exception:  # botocore is optional
        BotoClientError = None
    if BotoClientError is not None:
        base: Type[KmsError] = type("ClientError", (KmsError, BotoClientError), {"__module__": "trent.client"})
        ns = {"ClientError": BotoClientError}
    else:
        base = KmsError
        ns = {"ClientError": KmsError}
    for name in EXCEPTION_NAMES:
        cls = getattr(_errors, name)
        if cls.code < 1000:
            continue
        ns[name] = cls if base is KmsError else type(name, (cls, base), {"__module__": "trent.client"})
    return SimpleNamespace(**ns)


_EXCEPTIONS: Optional[SimpleNamespace] = None


def _exceptions() -> SimpleNamespace:
    global _EXCEPTIONS
    if _EXCEPTIONS is None:
        _EXCEPTIONS = _client_exceptions()
    return _EXCEPTIONS


class _Paginator:
    def __init__(self, client: "Client", operation: str) -> None:
        self._client = client
        self._operation = operation

    def paginate(self, **kwargs: Any) -> Iterator[Dict[str, Any]]:
        pager = _PAGINATED[self._operation]
        config = kwargs.pop("PaginationConfig", None) or {}
        if "PageSize" in config:
            kwargs[pager["limit_key"]] = config["PageSize"]
        if "StartingToken" in config:
            kwargs[pager["input_token"]] = config["StartingToken"]
        method = getattr(self._client, _snake(self._operation))
        while True:
            page = method(**kwargs)
            yield page
            if not page.get(pager["more_results"]):
                return
            kwargs[pager["input_token"]] = page[pager["output_token"]]


class Client:
    """A KMS client with the interface of `boto3.client("kms")`, running on an embedded
    engine. Made by `trent.client(...)`. Methods take keyword arguments only, as boto3's do.

    >>> kms = client("kms", allow_unlocked_memory=True)
    >>> key = kms.create_key(Description="example")["KeyMetadata"]["KeyId"]
    >>> blob = kms.encrypt(KeyId=key, Plaintext=b"hi")["CiphertextBlob"]
    >>> kms.decrypt(CiphertextBlob=blob)["Plaintext"]
    b'hi'
    >>> try:
    ...     kms.describe_key(KeyId="alias/none")
    ... except kms.exceptions.NotFoundException as e:
    ...     print(e.response["Error"]["Code"])
    NotFoundException
    >>> kms.close()
    """

    def __init__(self, kms: Kms, region_name: str) -> None:
        self._kms = kms
        # Key ids (and key ARNs) the typed Encrypt path was given: the key ARN it answered, and
        # the length of the JSON response less the blob's base64.
        self._key_arns: Dict[str, Tuple[str, int]] = {}
        # The key ARN and key material id a blob's header names (its key id and version),
        # with their quoted JSON lengths, for the typed Decrypt, ReEncrypt and GenerateDataKey.
        self._blob_ids: Dict[bytes, Tuple[str, str, int]] = {}
        self.exceptions = _exceptions()
        self.meta = SimpleNamespace(region_name=region_name, service_model=SimpleNamespace(service_name="kms"))

    @property
    def kms(self) -> Kms:
        """The engine underneath (its Pythonic methods)."""
        return self._kms

    def close(self) -> None:
        """Closes the engine underneath, also one given as `trent.client(kms=...)` (later calls
        on the client or the engine raise `trent.ClosedError`). Idempotent."""
        self._kms.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def can_paginate(self, operation_name: str) -> bool:
        return _camel(operation_name) in _PAGINATED

    def get_paginator(self, operation_name: str) -> _Paginator:
        op = _camel(operation_name)
        if op not in _PAGINATED:
            raise ValueError(f"operation cannot be paginated: {operation_name}")
        return _Paginator(self, op)

    def _raise(self, err: KmsError, operation: str, request_id: str) -> None:
        cls = getattr(self.exceptions, err.name, None)
        if cls is not None and cls is not type(err):
            err = cls(err.message, operation_name=operation)
        else:
            err.operation_name = operation
        err.response["ResponseMetadata"] = _metadata(request_id, err.response["ResponseMetadata"]["HTTPStatusCode"], 0)
        raise err

    def _call(self, operation: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        return _invoke(self, operation, operation.encode(), kwargs)


def _request_id() -> str:
    return _REQUEST_PREFIX + _hex(next(_REQUEST_COUNTER))[3:]


def _engine(client: Client, operation: str) -> Any:
    """The engine's pointer for one call (`ClosedError` naming the operation once closed)."""
    try:
        return client._kms._eng.ptr
    except ClosedError:
        raise _errors.ClosedError("the client is closed", operation_name=operation) from None


def _invoke(client: Client, operation: str, op: bytes, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """One call through the engine's JSON dispatcher."""
    body = _request_body(kwargs)
    kms = client._kms
    eng = _engine(client, operation)
    out = cells.buffer
    rc = _call_json(eng, kms._caller.ptr, op, len(op), body, len(body), out, cells.err)
    request_id = _request_id()
    if rc:
        client._raise(take_error(rc, operation_name=operation), operation, request_id)
    raw = _take_buffer(out[0])  # frees (wipes) the library's copy: it may hold a plaintext
    resp = _decode(_loads(raw.decode()))
    resp["ResponseMetadata"] = _metadata(request_id, 200, len(raw))
    return resp


# -- typed fast paths -----------------------------------------------------------------------------
# An operation's typed path takes the request when its members are the ones the typed C call
# takes and are well formed (types, and the lengths the service model allows); anything else
# (other members, other types, text that cannot be UTF-8) goes to the JSON dispatcher, which
# answers as it always did. The typed path answers exactly what the JSON path would: the same
# members with the same values, the same exceptions (the engine's), and a content-length that
# is the length of the JSON response the dispatcher would have written.

_SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
# The JSON Encrypt response around its three values: {"CiphertextBlob":"…","KeyId":"…",
# "EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}.
_ENCRYPT_JSON_LEN = len('{"CiphertextBlob":"","KeyId":"","EncryptionAlgorithm":""}') + len(_SYMMETRIC_DEFAULT)


_ABSENT = object()
#: Key ids the typed path took before, as UTF-8 (a service uses few).
_TYPED_KEY_IDS: Dict[str, bytes] = {}


def _typed_context(ctx: Any) -> Any:
    """A context the typed path takes, as `(packed, length)`, or None (not one: use JSON)."""
    if ctx is _ABSENT:
        return _NULL, 0
    if type(ctx) is not dict:
        return None
    for k, v in ctx.items():
        if type(k) is not str or type(v) is not str:
            return None
    try:
        p = packed(ctx)
    except UnicodeEncodeError:
        return None
    return (p, len(p)) if p else (_NULL, 0)


def _typed_key_id(key_id: Any) -> Optional[bytes]:
    """A key id the typed path takes (1–2048 characters, UTF-8, no NUL), as bytes, or None."""
    if type(key_id) is not str or not 1 <= len(key_id) <= 2048 or "\0" in key_id:
        return None
    try:
        k = key_id.encode()
    except UnicodeEncodeError:
        return None
    if len(_TYPED_KEY_IDS) >= 4096:
        _TYPED_KEY_IDS.clear()
    _TYPED_KEY_IDS[key_id] = k
    return k


def _typed_plaintext(plaintext: Any) -> Optional[bytes]:
    """A plaintext the typed path takes (bytes, bytearray, or str as UTF-8), or None."""
    t = type(plaintext)
    if t is bytes:
        return plaintext
    if t is bytearray:
        return bytes(plaintext)
    if t is str:
        try:
            return plaintext.encode()
        except UnicodeEncodeError:
            return None
    return None


def _encrypt(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    if args:
        raise TypeError("encrypt() only accepts keyword arguments.")
    ctx = kwargs.get("EncryptionContext", _ABSENT)
    # Exactly KeyId and Plaintext, and EncryptionContext if given (a member missing is None).
    if len(kwargs) == (2 if ctx is _ABSENT else 3):
        key_id: Any = kwargs.get("KeyId")
        k = _TYPED_KEY_IDS.get(key_id) if type(key_id) is str else None
        if k is None:
            k = _typed_key_id(key_id)
        plaintext = kwargs.get("Plaintext")
        if type(plaintext) is not bytes:
            plaintext = _typed_plaintext(plaintext)
        x = (_NULL, 0) if ctx is _ABSENT else _typed_context(ctx)
        if k is not None and plaintext is not None and 0 < len(plaintext) <= 4096 and x is not None:
            # The typed call: Encrypt into this thread's output buffer, then the key's ARN
            # from the blob.
            eng = _typed_engine(self, "Encrypt")
            n = len(plaintext)
            m = n + _BLOB_OVERHEAD  # trent.h: the blob's size, always
            c = cells
            size = c.size
            rc = _encrypt_into(eng, self._kms._caller.ptr, k, len(k), plaintext, n, x[0], x[1], c.out, m, size, c.err)
            request_id = _REQUEST_PREFIX + _hex(next(_REQUEST_COUNTER))[3:]
            if rc:
                self._raise(take_error(rc, operation_name="Encrypt"), "Encrypt", request_id)
            blob = c.view[:m]
            known = self._key_arns.get(key_id)
            if known is None:
                text = c.text
                rc = _ciphertext_key_arn(eng, blob, m, text, len(text), size, c.err)
                if rc:
                    raise take_error(rc)
                arn = _buffer(text, size[0])[:].decode()
                # With the length of the JSON response the dispatcher writes for the three
                # values, less the blob's base64.
                known = (arn, _ENCRYPT_JSON_LEN + len(_quote(arn)) - 2)
                # A key id or key ARN names one key for good (ids are never reused), so its
                # ARN can be remembered; an alias can be pointed elsewhere, so it is not.
                if arn == key_id or arn.endswith(":key/" + key_id):
                    if len(self._key_arns) >= 4096:
                        self._key_arns.clear()
                    self._key_arns[key_id] = known
            arn, length = known
            return {
                "CiphertextBlob": blob,
                "KeyId": arn,
                "EncryptionAlgorithm": _SYMMETRIC_DEFAULT,
                "ResponseMetadata": _metadata(request_id, 200, length + 4 * ((m + 2) // 3)),
            }
    return _invoke(self, "Encrypt", b"Encrypt", kwargs)


# The JSON responses around their values (each value's quoted length is added).
_DECRYPT_JSON_LEN = len('{"Plaintext":,"KeyId":,"EncryptionAlgorithm":"","KeyMaterialId":}') + len(_SYMMETRIC_DEFAULT)
_RE_ENCRYPT_JSON_LEN = len(
    '{"CiphertextBlob":"","SourceKeyId":,"KeyId":,"SourceEncryptionAlgorithm":"",'
    '"DestinationEncryptionAlgorithm":"","SourceKeyMaterialId":,"DestinationKeyMaterialId":}'
) + 2 * len(_SYMMETRIC_DEFAULT)
_DATA_KEY_JSON_LEN = len('{"Plaintext":"","CiphertextBlob":"","KeyId":,"KeyMaterialId":}')
_DATA_KEY_WITHOUT_PLAINTEXT_JSON_LEN = len('{"CiphertextBlob":"","KeyId":,"KeyMaterialId":}')
# The header bytes that name a blob's key and version (see the engine's ciphertext format).
_BLOB_NAMES = slice(2, 22)


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def _typed_blob(blob: Any) -> Optional[bytes]:
    """A ciphertext blob the typed path takes (bytes or bytearray, 1–6144 bytes), or None."""
    t = type(blob)
    if t is bytearray:
        blob = bytes(blob)
    elif t is not bytes:
        return None
    return blob if 0 < len(blob) <= 6144 else None


def _typed_key_id_of(key_id: Any) -> Optional[bytes]:
    k = _TYPED_KEY_IDS.get(key_id) if type(key_id) is str else None
    return k if k is not None else _typed_key_id(key_id)


def _typed_engine(self: Client, operation: str) -> Any:
    try:
        return self._kms._eng.ptr
    except ClosedError:
        raise _errors.ClosedError("the client is closed", operation_name=operation) from None


def _typed_into(self: Client, operation: str, into: Any, *args: Any) -> Tuple[Any, str, int]:
    """One typed `_into` call, `into(engine, caller, *args, size, err)`, on the client's engine
    and caller with this thread's cells, raised as the client raises: the engine's pointer (for
    the blob lookups that follow), the request id and the size written."""
    eng = _typed_engine(self, operation)
    c = cells
    size = c.size
    rc = into(eng, self._kms._caller.ptr, *args, size, c.err)
    request_id = _request_id()
    if rc:
        self._raise(take_error(rc, operation_name=operation), operation, request_id)
    return eng, request_id, size[0]


def _blob_ids(self: Client, eng: Any, blob: bytes) -> Tuple[str, str, int]:
    """The key ARN and key material id `blob` names, and the length of both quoted in JSON."""
    names = blob[_BLOB_NAMES]
    known = self._blob_ids.get(names)
    if known is None:
        c = cells
        text, size = c.text, c.size
        rc = _ciphertext_key_arn(eng, blob, len(blob), text, len(text), size, c.err)
        if rc:
            raise take_error(rc)
        arn = _buffer(text, size[0])[:].decode()
        rc = _ciphertext_key_material_id(eng, blob, len(blob), text, len(text), size, c.err)
        if rc:
            raise take_error(rc)
        mid = _buffer(text, size[0])[:].decode()
        # A key's id and a version's number name the same key and material for good.
        known = (arn, mid, len(_quote(arn)) + len(_quote(mid)))
        if len(self._blob_ids) >= 4096:
            self._blob_ids.clear()
        self._blob_ids[names] = known
    return known


def _decrypt(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    if args:
        raise TypeError("decrypt() only accepts keyword arguments.")
    ctx = kwargs.get("EncryptionContext", _ABSENT)
    key_id = kwargs.get("KeyId", _ABSENT)
    # CiphertextBlob, and EncryptionContext and KeyId if given.
    if len(kwargs) == 1 + (ctx is not _ABSENT) + (key_id is not _ABSENT):
        blob = _typed_blob(kwargs.get("CiphertextBlob"))
        x = _typed_context(ctx)
        k = (_NULL, 0) if key_id is _ABSENT else _typed_key_id_of(key_id)
        if blob is not None and x is not None and k is not None:
            if type(k) is bytes:
                k = (k, len(k))
            n = len(blob)
            cap = _plaintext_len_max(n)
            out = _new("uint8_t[]", cap or 1)
            eng, request_id, m = _typed_into(self, "Decrypt", _decrypt_into, blob, n, x[0], x[1], k[0], k[1], out, cap)
            plaintext = _buffer(out, m)[:]
            _wipe(out, m)
            arn, mid, quoted = _blob_ids(self, eng, blob)
            return {
                "Plaintext": plaintext,
                "KeyId": arn,
                "EncryptionAlgorithm": _SYMMETRIC_DEFAULT,
                "KeyMaterialId": mid,
                "ResponseMetadata": _metadata(request_id, 200, _DECRYPT_JSON_LEN + quoted + 2 + _b64_len(m)),
            }
    return _invoke(self, "Decrypt", b"Decrypt", kwargs)


def _re_encrypt(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    if args:
        raise TypeError("re_encrypt() only accepts keyword arguments.")
    sctx = kwargs.get("SourceEncryptionContext", _ABSENT)
    dctx = kwargs.get("DestinationEncryptionContext", _ABSENT)
    # CiphertextBlob and DestinationKeyId, and the two contexts if given.
    if len(kwargs) == 2 + (sctx is not _ABSENT) + (dctx is not _ABSENT):
        blob = _typed_blob(kwargs.get("CiphertextBlob"))
        dest = _typed_key_id_of(kwargs.get("DestinationKeyId"))
        sx = _typed_context(sctx)
        dx = _typed_context(dctx)
        if blob is not None and dest is not None and sx is not None and dx is not None:
            n = len(blob)
            cap = _ciphertext_len(_plaintext_len_max(n))
            out = _new("uint8_t[]", cap)
            eng, request_id, m = _typed_into(
                self, "ReEncrypt", _re_encrypt_into, blob, n, sx[0], sx[1], dest, len(dest), dx[0], dx[1], out, cap
            )
            new = _buffer(out, m)[:]
            src_arn, src_mid, src_quoted = _blob_ids(self, eng, blob)
            arn, mid, quoted = _blob_ids(self, eng, new)
            length = _RE_ENCRYPT_JSON_LEN + src_quoted + quoted + _b64_len(m)
            return {
                "CiphertextBlob": new,
                "SourceKeyId": src_arn,
                "KeyId": arn,
                "SourceEncryptionAlgorithm": _SYMMETRIC_DEFAULT,
                "DestinationEncryptionAlgorithm": _SYMMETRIC_DEFAULT,
                "SourceKeyMaterialId": src_mid,
                "DestinationKeyMaterialId": mid,
                "ResponseMetadata": _metadata(request_id, 200, length),
            }
    return _invoke(self, "ReEncrypt", b"ReEncrypt", kwargs)


#: KeySpec as the number of bytes the typed GenerateDataKey call takes (0: AES_256).
_KEY_SPEC_BYTES = {"AES_256": 0, "AES_128": 16}


def _typed_data_key(kwargs: Dict[str, Any]) -> Any:
    """`(key id, number of bytes, context)` of a GenerateDataKey request the typed path takes:
    KeyId, exactly one of NumberOfBytes (1–1024) and KeySpec, and EncryptionContext if given."""
    ctx = kwargs.get("EncryptionContext", _ABSENT)
    number = kwargs.get("NumberOfBytes", _ABSENT)
    spec = kwargs.get("KeySpec", _ABSENT)
    if len(kwargs) != 2 + (ctx is not _ABSENT) or (number is _ABSENT) == (spec is _ABSENT):
        return None
    if number is _ABSENT:
        n = _KEY_SPEC_BYTES.get(spec) if type(spec) is str else None
        if n is None:
            return None
    elif type(number) is int and 1 <= number <= 1024:
        n = number
    else:
        return None
    k = _typed_key_id_of(kwargs.get("KeyId"))
    x = _typed_context(ctx)
    if k is None or x is None:
        return None
    return k, n, x


def _typed_generate_data_key(self: Client, operation: str, kwargs: Dict[str, Any], plaintext: bool) -> Any:
    """The typed path of GenerateDataKey (`plaintext`) and GenerateDataKeyWithoutPlaintext: the
    response, or None for a request it does not take."""
    typed = _typed_data_key(kwargs)
    if typed is None:
        return None
    k, n, x = typed
    length = n or 32
    cap = _ciphertext_len(length)
    out = _new("uint8_t[]", cap)
    response: Dict[str, Any]
    if plaintext:
        key = _new("uint8_t[]", length)
        eng, request_id, m = _typed_into(self, operation, _gdk_into, k, len(k), n, x[0], x[1], key, length, out, cap)
        response = {"Plaintext": _buffer(key, length)[:]}
        _wipe(key, length)
        json_len = _DATA_KEY_JSON_LEN + _b64_len(length)
    else:
        eng, request_id, m = _typed_into(self, operation, _gdkwp_into, k, len(k), n, x[0], x[1], out, cap)
        response = {}
        json_len = _DATA_KEY_WITHOUT_PLAINTEXT_JSON_LEN
    blob = _buffer(out, m)[:]
    arn, mid, quoted = _blob_ids(self, eng, blob)
    response["CiphertextBlob"] = blob
    response["KeyId"] = arn
    response["KeyMaterialId"] = mid
    response["ResponseMetadata"] = _metadata(request_id, 200, json_len + quoted + _b64_len(m))
    return response


def _generate_data_key(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    if args:
        raise TypeError("generate_data_key() only accepts keyword arguments.")
    response = _typed_generate_data_key(self, "GenerateDataKey", kwargs, True)
    return response if response is not None else _invoke(self, "GenerateDataKey", b"GenerateDataKey", kwargs)


def _generate_data_key_without_plaintext(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    if args:
        raise TypeError("generate_data_key_without_plaintext() only accepts keyword arguments.")
    op = "GenerateDataKeyWithoutPlaintext"
    response = _typed_generate_data_key(self, op, kwargs, False)
    return response if response is not None else _invoke(self, op, op.encode(), kwargs)


def _metadata(request_id: str, status: int, length: int) -> Dict[str, Any]:
    return {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": {
            "x-amzn-requestid": request_id,
            "content-type": "application/x-amz-json-1.1",
            "content-length": str(length),
        },
        "RetryAttempts": 0,
    }


def _camel(name: str) -> str:
    if "_" in name or name[:1].islower():
        return "".join(p[:1].upper() + p[1:] for p in name.split("_"))
    return name


def _method(operation: str) -> Callable[..., Dict[str, Any]]:
    op = operation.encode()

    def call(self: Client, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        if args:
            raise TypeError(f"{_snake(operation)}() only accepts keyword arguments.")
        return _invoke(self, operation, op, kwargs)

    call.__name__ = _snake(operation)
    call.__qualname__ = f"Client.{call.__name__}"
    call.__doc__ = f"{operation}: the AWS KMS request members as keyword arguments; returns the response dict."
    return call


for _op in OPERATIONS + NOT_IMPLEMENTED:
    setattr(Client, _snake(_op), _method(_op))
del _op

#: The operations with a typed fast path, by method name.
TYPED = {
    "encrypt": _encrypt,
    "decrypt": _decrypt,
    "re_encrypt": _re_encrypt,
    "generate_data_key": _generate_data_key,
    "generate_data_key_without_plaintext": _generate_data_key_without_plaintext,
}
for _name, _fn in TYPED.items():
    _generic = getattr(Client, _name)
    _fn.__name__ = _name
    _fn.__qualname__ = f"Client.{_name}"
    _fn.__doc__ = _generic.__doc__
    setattr(Client, _name, _fn)
del _name, _fn, _generic


def client(
    service_name: str = "kms",
    region_name: Optional[str] = None,
    *,
    kms: Optional[Kms] = None,
    data_dir: Optional[str] = None,
    account: Optional[str] = None,
    allow_unlocked_memory: bool = False,
    **ignored: Any,
) -> Client:
    """A boto3-shaped KMS client: `trent.client("kms")` where code had `boto3.client("kms")`.

    With `kms=`, the client runs on that engine (and `close()` closes it). Otherwise it opens
    one: in memory, or on `data_dir`, in `region_name` (default `us-east-1`) and `account`.
    boto3's connection arguments (`endpoint_url`, `aws_access_key_id`, `config`, …) are
    accepted and ignored: there is no connection.
    """
    if service_name != "kms":
        raise ValueError(f"trent.client serves only 'kms', not {service_name!r}")
    if kms is None:
        opts: Dict[str, Any] = {}
        if region_name:
            opts["region"] = region_name
        if account:
            opts["account"] = account
        if allow_unlocked_memory:
            opts["allow_unlocked_memory"] = True
        kms = Kms(data_dir, **opts)
    return Client(kms, region_name or "us-east-1")
