"""`trent.Kms`: the Pythonic API over the C ABI (`trent.h`)."""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import re
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, repeat
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

try:
    from typing import TypedDict
except ImportError:  # Python < 3.8
    from typing_extensions import TypedDict  # type: ignore

from . import _errors
from ._errors import ClosedError, KmsError, take_error
from ._native import ffi, lib

__all__ = ["Kms", "DataKey", "KeyMetadata", "BytesLike", "Context"]

BytesLike = Union[bytes, bytearray, memoryview]
Context = Mapping[str, str]

_NULL = ffi.NULL
_unpack = ffi.unpack
_tp_encrypt = lib.tp_encrypt
_tp_decrypt = lib.tp_decrypt
_tp_encrypt_into = lib.tp_encrypt_into
_tp_decrypt_into = lib.tp_decrypt_into

#: Encrypt and Decrypt write their result straight into a new `bytes` object of the expected
#: size (the blob is the plaintext plus this overhead in format v1): on CPython, a `bytes`
#: passed to a `char *` parameter is passed as a pointer to its own storage, and a fresh
#: object of size >= 2 is shared with no one. Elsewhere (PyPy copies) the result is copied out
#: of the library's buffer instead. A size that does not match falls back to that copy.
_INTO = platform.python_implementation() == "CPython"
_ELSEWHERE = lib.TP_ELSEWHERE
_tp_encrypt0 = lib.tp_encrypt0
_tp_decrypt0 = lib.tp_decrypt0
_tp_gdk0 = lib.tp_generate_data_key0
_tp_encrypt_ctx0 = lib.tp_encrypt_ctx0
_tp_decrypt_ctx0 = lib.tp_decrypt_ctx0
BLOB_OVERHEAD = 62
_tp_gdk = lib.tp_generate_data_key
_tp_err = lib.tp_err
_buffer_free = lib.trent_buffer_free
_secret_free = lib.trent_secret_free
_tuple_new = tuple.__new__

#: Data keys per engine call in `Kms.generate_data_keys`: the plaintexts of one call live in the
#: engine's locked memory (4 MiB by default) until they are copied out.
DATA_KEYS_CHUNK = 8192


class DataKey(NamedTuple):
    """A data key: `plaintext` (use it, then drop it) and `ciphertext_blob` (store it).

    The plaintext is a Python `bytes`, which cannot be wiped: see the README's "Secrets". The
    repr never shows it.
    """

    plaintext: bytes
    ciphertext_blob: bytes

    def __repr__(self) -> str:
        return f"DataKey(plaintext=<{len(self.plaintext)} bytes>, ciphertext_blob=<{len(self.ciphertext_blob)} bytes>)"


_KEY_IDS: Dict[str, Optional[bytes]] = {}


def _key_id_c(key_id: str) -> Optional[bytes]:
    """The UTF-8 bytes of a key id for the NUL-terminated fast path (cached: a service uses
    few key ids), or None when it holds a NUL (the slow path passes its length)."""
    k = _KEY_IDS.get(key_id)
    if k is None:
        if type(key_id) is not str:
            raise TypeError(f"key_id must be str, not {type(key_id).__name__}")
        if "\0" in key_id:
            return None
        if len(_KEY_IDS) >= 4096:
            _KEY_IDS.clear()
        k = _KEY_IDS[key_id] = key_id.encode()
    return k


def _session(h: Any, caller: Any) -> Any:
    """The (engine, caller) pair the fewest-argument C helpers take. It holds raw pointers:
    every call that passes it first reads `_eng.h` into a local, which keeps the engine alive
    for the call (the caller lives as long as the `Kms` object holding both)."""
    s = ffi.new("tp_session *")
    s.kms = h
    s.caller = caller
    return s


class _Engine:
    """The native engine handle, shared by a `Kms` and the views `as_principal` makes.

    Each call reads `h` into a local, which keeps the handle alive for the call: `close()`
    drops this reference, and `trent_kms_free` runs (through `ffi.gc`) when the last call
    using the engine has returned.
    """

    __slots__ = ("h",)

    def __init__(self, h: Any) -> None:
        self.h = h


def _closed() -> ClosedError:
    return ClosedError("the engine is closed")


def _text(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be str, not {type(value).__name__}")


def _blob(value: Any, what: str) -> Any:
    """bytes go straight to `const char *`; other buffers through ffi.from_buffer."""
    if type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)) or hasattr(value, "__buffer__"):
        return ffi.from_buffer(value)
    raise TypeError(f"{what} must be bytes-like, not {type(value).__name__}")


def _context(context: Optional[Context]) -> Tuple[Any, int, list]:
    """An encryption context as a `trent_context_entry` array, and what keeps it alive."""
    if not context:
        return _NULL, 0, []
    if not isinstance(context, Mapping):
        raise TypeError(f"encryption context must be a mapping of str to str, not {type(context).__name__}")
    n = len(context)
    arr = ffi.new("trent_context_entry[]", n)
    keep: list = [arr]
    for i, (k, v) in enumerate(context.items()):
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("encryption context keys and values must be str")
        kb = ffi.new("char[]", k.encode())
        vb = ffi.new("char[]", v.encode())
        e = arr[i]
        e.key = kb
        e.key_len = len(kb) - 1
        e.value = vb
        e.value_len = len(vb) - 1
        keep.append(kb)
        keep.append(vb)
    return arr, n, keep


_chain = chain.from_iterable


def _packed(context: Context) -> Tuple[bytes, int]:
    """An encryption context packed for the C helpers: "k1\\0v1\\0k2\\0v2", and its size."""
    try:
        text = "\0".join(_chain(context.items()))
    except (TypeError, AttributeError):
        if not isinstance(context, Mapping):
            raise TypeError(f"encryption context must be a mapping of str to str, not {type(context).__name__}") from None
        raise TypeError("encryption context keys and values must be str") from None
    n = len(context)
    if text.count("\0") != 2 * n - 1:
        raise _errors.error_class(lib.TRENT_RESULT_INVALID_ARGUMENT)("an encryption context key or value holds a NUL")
    return text.encode(), n


def _check(rc: int) -> None:
    if rc:
        raise take_error(rc)


def _take_buffer(out: Any) -> bytes:
    b = out[0]
    try:
        return _unpack(ffi.cast("char *", lib.trent_buffer_data(b)), lib.trent_buffer_len(b))
    finally:
        _buffer_free(b)


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
def _snake(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


class KeyMetadata(TypedDict, total=False):
    """DescribeKey's `KeyMetadata`, with snake_case names."""

    key_id: str
    arn: str
    aws_account_id: str
    description: str
    key_state: str
    key_spec: str
    key_usage: str
    origin: str
    key_manager: str
    current_key_material_id: str
    enabled: bool
    multi_region: bool
    creation_date: _dt.datetime
    deletion_date: _dt.datetime
    pending_deletion_window_in_days: int


def _str(s: Any) -> str:
    """A `trent_str` as Python text ("" for `{NULL, 0}`)."""
    return "" if s.data == _NULL else _unpack(s.data, s.len).decode("utf-8", "replace")


def _millis(ms: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc)


def _opt_text(value: Optional[str]) -> Tuple[Any, int]:
    if value is None:
        return _NULL, 0
    b = value.encode()
    return b, len(b)


def _tags(tags: Optional[Mapping[str, str]]) -> Tuple[Any, int, list]:
    if not tags:
        return _NULL, 0, []
    arr = ffi.new("trent_tag[]", len(tags))
    keep: list = [arr]
    for i, (k, v) in enumerate(tags.items()):
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("tag keys and values must be str")
        kb = ffi.new("char[]", k.encode())
        vb = ffi.new("char[]", v.encode())
        arr[i].key = kb
        arr[i].key_len = len(kb) - 1
        arr[i].value = vb
        arr[i].value_len = len(vb) - 1
        keep += (kb, vb)
    return arr, len(tags), keep


def _metadata(md: Any) -> KeyMetadata:
    out: KeyMetadata = {
        "key_id": _str(lib.trent_key_metadata_key_id(md)),
        "arn": _str(lib.trent_key_metadata_arn(md)),
        "aws_account_id": _str(lib.trent_key_metadata_aws_account_id(md)),
        "description": _str(lib.trent_key_metadata_description(md)),
        "key_state": _str(lib.trent_key_metadata_key_state(md)),
        "key_spec": _str(lib.trent_key_metadata_key_spec(md)),
        "key_usage": _str(lib.trent_key_metadata_key_usage(md)),
        "origin": _str(lib.trent_key_metadata_origin(md)),
        "key_manager": _str(lib.trent_key_metadata_key_manager(md)),
        "enabled": bool(lib.trent_key_metadata_enabled(md)),
        "multi_region": bool(lib.trent_key_metadata_multi_region(md)),
        "creation_date": _millis(lib.trent_key_metadata_creation_date(md)),
    }
    material = _str(lib.trent_key_metadata_current_key_material_id(md))
    if material:
        out["current_key_material_id"] = material
    deletion = lib.trent_key_metadata_deletion_date(md)
    if deletion:
        out["deletion_date"] = _millis(deletion)
    window = lib.trent_key_metadata_pending_deletion_window_in_days(md)
    if window:
        out["pending_deletion_window_in_days"] = int(window)
    return out


_DATE_FIELDS = frozenset(["CreationDate", "LastUpdatedDate", "RotationDate"])


def _row(row: Mapping[str, Optional[str]]) -> Dict[str, Any]:
    """A listing row with snake_case names, dates as datetimes, absent members left out."""
    out: Dict[str, Any] = {}
    for k, v in row.items():
        if v is None:
            continue
        out[_snake(k)] = _millis(int(v)) if k in _DATE_FIELDS else v
    return out


class Kms:
    """An embedded Trent engine: every operation of the C ABI as a method.

    `Kms()` opens an in-memory engine (keys are lost when it closes); `Kms(path)` opens the
    embedded default engine on a data directory (a SQLite keystore and a root key file,
    created at the first open). Keyword options choose another keystore (`sqlite=`,
    `postgres=`), the root key source, audit and memory settings; see `__init__`.

    Methods take `str` key ids (key id, key ARN, alias name or alias ARN), `bytes` data and
    `dict` encryption contexts, and run as the account's root principal unless the object
    came from `as_principal`. Errors are subclasses of `trent.KmsError` named after the AWS
    exceptions. The engine handle is shared by threads: every method may be called from any
    number of threads at once, and the GIL is released during each engine call.

    >>> with Kms(allow_unlocked_memory=True) as kms:
    ...     key = kms.create_key("example")
    ...     blob = kms.encrypt(key, b"hello", {"tenant": "acme"})
    ...     kms.decrypt(blob, {"tenant": "acme"})
    b'hello'
    """

    __slots__ = ("_eng", "_caller", "_sess", "_principal", "__weakref__")

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]", None] = None,
        *,
        sqlite: Union[str, "os.PathLike[str]", None] = None,
        postgres: Optional[str] = None,
        postgres_schema: Optional[str] = None,
        region: Optional[str] = None,
        account: Optional[str] = None,
        root_key: Optional[bytes] = None,
        root_key_file: Union[str, "os.PathLike[str]", None] = None,
        root_key_passphrase: Optional[str] = None,
        root_key_env: Optional[str] = None,
        audit_file: Union[str, "os.PathLike[str]", None] = None,
        audit_table: bool = False,
        allow_unlocked_memory: bool = False,
        locked_memory_budget: Optional[int] = None,
        refresh_interval_ms: Optional[int] = None,
        max_hot_versions: Optional[int] = None,
    ) -> None:
        self._eng = _Engine(None)
        self._caller = None
        self._sess = None
        self._principal: Optional[str] = None
        out = ffi.new("trent_kms **")
        options = dict(
            sqlite=sqlite, postgres=postgres, region=region, account=account, root_key=root_key,
            root_key_file=root_key_file, root_key_passphrase=root_key_passphrase,
            root_key_env=root_key_env, audit_file=audit_file, locked_memory_budget=locked_memory_budget,
            refresh_interval_ms=refresh_interval_ms, max_hot_versions=max_hot_versions,
        )  # fmt: skip
        if postgres_schema is not None and postgres is None:
            raise ValueError("postgres_schema needs postgres")
        if all(v is None for v in options.values()) and not audit_table and not allow_unlocked_memory:
            if path is None:
                _check(lib.trent_kms_open_in_memory(out, _tp_err()))
            else:
                d = os.fsencode(path)
                _check(lib.trent_kms_open_dir(d, len(d), out, _tp_err()))
        else:
            self._open_with_builder(out, path, postgres_schema, audit_table, allow_unlocked_memory, options)
        self._eng = _Engine(ffi.gc(out[0], lib.trent_kms_free))
        cout = ffi.new("trent_caller **")
        rc = lib.trent_caller_root(self._eng.h, cout)
        if rc:
            raise _errors.error_class(rc)("could not make the root caller")
        self._caller = ffi.gc(cout[0], lib.trent_caller_free)
        self._sess = _session(self._eng.h, self._caller)

    @staticmethod
    def _open_with_builder(out: Any, path: Any, schema: Any, audit_table: bool, unlocked: bool, o: dict) -> None:
        bout = ffi.new("trent_kms_builder **")
        rc = lib.trent_kms_builder_new(bout)
        if rc:
            raise _errors.error_class(rc)("could not make a builder")
        b = ffi.gc(bout[0], lib.trent_kms_builder_free)

        def text(fn: Any, value: Any) -> None:
            v = os.fsencode(value) if not isinstance(value, str) else value.encode()
            _check(fn(b, v, len(v), _tp_err()))

        if path is not None:
            text(lib.trent_kms_builder_data_dir, path)
        if o["sqlite"] is not None:
            text(lib.trent_kms_builder_sqlite, o["sqlite"])
        if o["postgres"] is not None:
            url = o["postgres"].encode()
            if schema is None:
                _check(lib.trent_kms_builder_postgres(b, url, len(url), _NULL, 0, _tp_err()))
            else:
                s = schema.encode()
                _check(lib.trent_kms_builder_postgres(b, url, len(url), s, len(s), _tp_err()))
        if o["region"] is not None:
            text(lib.trent_kms_builder_region, o["region"])
        if o["account"] is not None:
            text(lib.trent_kms_builder_account, o["account"])
        if o["root_key"] is not None:
            key = bytes(o["root_key"])
            _check(lib.trent_kms_builder_root_key(b, key, len(key), _tp_err()))
        if o["root_key_file"] is not None:
            text(lib.trent_kms_builder_root_key_file, o["root_key_file"])
        if o["root_key_passphrase"] is not None:
            text(lib.trent_kms_builder_root_key_passphrase, o["root_key_passphrase"])
        if o["root_key_env"] is not None:
            text(lib.trent_kms_builder_root_key_env, o["root_key_env"])
        if o["audit_file"] is not None:
            text(lib.trent_kms_builder_audit_file, o["audit_file"])
        if audit_table:
            _check(lib.trent_kms_builder_audit_table(b, True, _tp_err()))
        if unlocked:
            _check(lib.trent_kms_builder_allow_unlocked_memory(b, True, _tp_err()))
        if o["locked_memory_budget"] is not None:
            _check(lib.trent_kms_builder_locked_memory_budget(b, int(o["locked_memory_budget"]), _tp_err()))
        if o["refresh_interval_ms"] is not None:
            _check(lib.trent_kms_builder_refresh_interval_ms(b, int(o["refresh_interval_ms"]), _tp_err()))
        if o["max_hot_versions"] is not None:
            _check(lib.trent_kms_builder_max_hot_versions(b, int(o["max_hot_versions"]), _tp_err()))
        _check(lib.trent_kms_builder_open(b, out, _tp_err()))

    # -- the object ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the engine (for this object and every `as_principal` view of it).

        Later calls raise `trent.ClosedError`. Calls already running in other threads finish
        first: the native engine is freed when the last of them returns. Idempotent.
        """
        self._eng.h = None

    @property
    def closed(self) -> bool:
        return self._eng.h is None

    def __enter__(self) -> "Kms":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.store_backend
        who = f", principal={self._principal!r}" if self._principal else ""
        return f"<trent.Kms {state}{who}>"

    def as_principal(self, arn: str) -> "Kms":
        """A view of the same engine whose calls run as the principal `arn`
        (`arn:aws:iam::<account>:…` or `arn:aws:sts::<account>:…`). Today every principal but
        the account's root gets `AccessDeniedException` (key policies come later).
        """
        self._h()
        a = arn.encode()
        cout = ffi.new("trent_caller **")
        _check(lib.trent_caller_from_arn(a, len(a), cout, _tp_err()))
        view = Kms.__new__(Kms)
        view._eng = self._eng
        view._caller = ffi.gc(cout[0], lib.trent_caller_free)
        view._sess = _session(self._eng.h, view._caller)
        view._principal = arn
        return view

    def _h(self) -> Any:
        h = self._eng.h
        if h is None:
            raise _closed()
        return h

    # -- engine -------------------------------------------------------------------------------

    @property
    def store_backend(self) -> str:
        """The keystore backend: `"memory"`, `"sqlite"` or `"postgres"`."""
        return ffi.string(lib.trent_kms_store_backend(self._h())).decode()

    @property
    def memory_is_locked(self) -> bool:
        """Whether key material is really in locked memory."""
        return bool(lib.trent_kms_memory_is_locked(self._h()))

    @staticmethod
    def version() -> str:
        """The native library's version."""
        return ffi.string(lib.trent_version()).decode()

    def run_maintenance(self) -> None:
        """Carries out what the clock has made due (deletions, automatic rotations)."""
        _check(lib.trent_kms_run_maintenance(self._h(), _tp_err()))

    def refresh_now(self) -> None:
        """Applies the changes other engines made to a shared keystore now."""
        _check(lib.trent_kms_refresh_now(self._h(), _tp_err()))

    def check_store_integrity(self) -> None:
        """Checks the keystore; raises `KMSInternalException` with the finding otherwise."""
        _check(lib.trent_kms_check_store_integrity(self._h(), _tp_err()))

    def flush_audit(self) -> None:
        """Waits until every audit event of the operations returned so far is stored."""
        _check(lib.trent_kms_flush_audit(self._h(), _tp_err()))

    def rotate_root_key(
        self,
        *,
        key: Optional[bytes] = None,
        file: Union[str, "os.PathLike[str]", None] = None,
        passphrase: Optional[str] = None,
        env: Optional[str] = None,
    ) -> int:
        """Rewraps all key material under a new root key (exactly one source); returns the
        number of versions rewrapped."""
        given: List[Tuple[str, Any]] = [(k, v) for k, v in (("key", key), ("file", file), ("passphrase", passphrase), ("env", env)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of key, file, passphrase, env")
        kind_name, value = given[0]
        kind = {
            "key": lib.TRENT_ROOT_KEY_KIND_BYTES,
            "file": lib.TRENT_ROOT_KEY_KIND_FILE,
            "passphrase": lib.TRENT_ROOT_KEY_KIND_PASSPHRASE,
            "env": lib.TRENT_ROOT_KEY_KIND_ENV,
        }[kind_name]
        v = bytes(value) if kind_name == "key" else (os.fsencode(value) if kind_name == "file" else value.encode())
        n = ffi.new("uint64_t *")
        _check(lib.trent_kms_rotate_root_key(self._h(), kind, v, len(v), n, _tp_err()))
        return int(n[0])

    def call_json(self, operation: str, request: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Runs any operation by its AWS wire name with an AWS JSON request (PascalCase members,
        blobs in base64) and returns the JSON response as a dict. The boto3-shaped
        `trent.client` is built on this."""
        body = json.dumps(request or {}).encode()
        return json.loads(self._call_json_raw(operation, body))

    def _call_json_raw(self, operation: str, body: bytes) -> bytes:
        h = self._h()
        op = operation.encode()
        out = ffi.new("trent_buffer **")
        rc = lib.trent_kms_call_json(h, self._caller, op, len(op), body, len(body), out, _tp_err())
        if rc:
            raise take_error(rc)
        return _take_buffer(out)

    # -- keys ---------------------------------------------------------------------------------

    def create_key(
        self,
        description: Optional[str] = None,
        *,
        policy: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        multi_region: bool = False,
        key_spec: Optional[str] = None,
        key_usage: Optional[str] = None,
    ) -> str:
        """CreateKey: a new KMS key; returns its key id.

        `policy` is a key policy (JSON text; AWS's default policy otherwise), `tags` a
        `{tag_key: tag_value}` dict, `multi_region` makes a multi-Region primary key (`mrk-…`);
        `key_spec` and `key_usage` default to `SYMMETRIC_DEFAULT` and `ENCRYPT_DECRYPT`
        (the only ones this engine offers yet).
        """
        h = self._h()
        if policy is None and not tags and not multi_region and key_spec is None and key_usage is None:
            out = ffi.new("trent_buffer **")
            if description is None:
                _check(lib.trent_kms_create_key(h, self._caller, _NULL, 0, out, _tp_err()))
            else:
                d = description.encode()
                _check(lib.trent_kms_create_key(h, self._caller, d, len(d), out, _tp_err()))
            return _take_buffer(out).decode()
        d, dl = _opt_text(description)
        ks, ksl = _opt_text(key_spec)
        ku, kul = _opt_text(key_usage)
        po, pol = _opt_text(policy)
        tarr, tn, _keep = _tags(tags)
        out = ffi.new("trent_key_metadata **")
        _check(
            lib.trent_kms_create_key_with_options(
                h, self._caller, d, dl, ks, ksl, ku, kul, po, pol, tarr, tn, bool(multi_region), out, _tp_err()
            )
        )
        md = ffi.gc(out[0], lib.trent_key_metadata_free)
        return _str(lib.trent_key_metadata_key_id(md))

    def describe_key(self, key_id: str) -> KeyMetadata:
        """DescribeKey: the key's metadata, AWS's `KeyMetadata` with snake_case names
        (`key_id`, `arn`, `key_state`, `creation_date` as a datetime, …; `deletion_date` only while
        a deletion is scheduled; `pending_deletion_window_in_days` only in state
        `PendingReplicaDeletion`, as AWS)."""
        h = self._h()
        k = key_id.encode()
        out = ffi.new("trent_key_metadata **")
        _check(lib.trent_kms_describe_key(h, self._caller, k, len(k), out, _tp_err()))
        md = out[0]
        try:
            return _metadata(md)
        finally:
            lib.trent_key_metadata_free(md)

    def _list(self, fn: Any, args: Tuple[Any, ...], fields: Sequence[str]) -> List[Dict[str, Optional[str]]]:
        """Every page of a listing: rows of `{AwsFieldName: text or None}`."""
        h = self._h()
        rows: List[Dict[str, Optional[str]]] = []
        names = [(f, f.encode()) for f in fields]
        marker: Optional[bytes] = None
        out = ffi.new("trent_list **")
        value = ffi.new("trent_str *")
        while True:
            m, ml = (marker, len(marker)) if marker else (_NULL, 0)
            _check(fn(h, self._caller, *args, 0, m, ml, out, _tp_err()))
            page = out[0]
            try:
                for row in range(lib.trent_list_len(page)):
                    item: Dict[str, Optional[str]] = {}
                    for name, raw in names:
                        _check(lib.trent_list_get(page, row, raw, len(raw), value, _tp_err()))
                        item[name] = None if value.data == _NULL else _unpack(value.data, value.len).decode()
                    rows.append(item)
                nxt = lib.trent_list_next_marker(page)
                marker = None if nxt.data == _NULL else _unpack(nxt.data, nxt.len)
            finally:
                lib.trent_list_free(page)
            if marker is None:
                return rows

    def list_keys(self) -> List[Dict[str, str]]:
        """ListKeys, every page: `[{"key_id": …, "key_arn": …}, …]`."""
        rows = self._list(lib.trent_kms_list_keys, (), ["KeyId", "KeyArn"])
        return [{"key_id": r["KeyId"] or "", "key_arn": r["KeyArn"] or ""} for r in rows]

    def list_aliases(self, key_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """ListAliases, every page (of one key when `key_id` is given):
        `[{"alias_name", "alias_arn", "target_key_id", "creation_date", "last_updated_date"}]`
        (absent members left out)."""
        k = key_id.encode() if key_id else None
        args = (k, len(k)) if k else (_NULL, 0)
        rows = self._list(lib.trent_kms_list_aliases, args, ["AliasName", "AliasArn", "TargetKeyId", "CreationDate", "LastUpdatedDate"])
        return [_row(r) for r in rows]

    def list_resource_tags(self, key_id: str) -> Dict[str, str]:
        """ListResourceTags, every page, as `{tag_key: tag_value}`."""
        k = key_id.encode()
        rows = self._list(lib.trent_kms_list_resource_tags, (k, len(k)), ["TagKey", "TagValue"])
        return {r["TagKey"] or "": r["TagValue"] or "" for r in rows}

    def tag_resource(self, key_id: str, tags: Mapping[str, str]) -> None:
        """TagResource: adds or replaces the tags `{tag_key: tag_value}`."""
        h = self._h()
        k = key_id.encode()
        tarr, tn, _keep = _tags(tags)
        _check(lib.trent_kms_tag_resource(h, self._caller, k, len(k), tarr, tn, _tp_err()))

    def untag_resource(self, key_id: str, tag_keys: Iterable[str]) -> None:
        """UntagResource: removes the tags with these keys (names it lacks are ignored)."""
        h = self._h()
        k = key_id.encode()
        names = [t.encode() for t in tag_keys]
        arr = ffi.new("trent_str[]", len(names))
        keep = []
        for i, n in enumerate(names):
            c = ffi.new("char[]", n)
            keep.append(c)
            arr[i].data = c
            arr[i].len = len(n)
        _check(lib.trent_kms_untag_resource(h, self._caller, k, len(k), arr, len(names), _tp_err()))

    def _key_op(self, fn: Any, key_id: str) -> None:
        h = self._h()
        k = key_id.encode()
        _check(fn(h, self._caller, k, len(k), _tp_err()))

    def enable_key(self, key_id: str) -> None:
        """EnableKey."""
        self._key_op(lib.trent_kms_enable_key, key_id)

    def disable_key(self, key_id: str) -> None:
        """DisableKey: cryptographic operations raise `DisabledException` until enabled."""
        self._key_op(lib.trent_kms_disable_key, key_id)

    def schedule_key_deletion(self, key_id: str, pending_window_in_days: Optional[int] = None) -> None:
        """ScheduleKeyDeletion: `PendingDeletion`, deleted after 7–30 days (default 30)."""
        h = self._h()
        k = key_id.encode()
        _check(lib.trent_kms_schedule_key_deletion(h, self._caller, k, len(k), pending_window_in_days or 0, _tp_err()))

    def cancel_key_deletion(self, key_id: str) -> None:
        """CancelKeyDeletion: the key becomes `Disabled`."""
        self._key_op(lib.trent_kms_cancel_key_deletion, key_id)

    def update_key_description(self, key_id: str, description: str) -> None:
        """UpdateKeyDescription."""
        h = self._h()
        k = key_id.encode()
        d = description.encode()
        _check(lib.trent_kms_update_key_description(h, self._caller, k, len(k), d, len(d), _tp_err()))

    # -- rotation -----------------------------------------------------------------------------

    def enable_key_rotation(self, key_id: str, rotation_period_in_days: Optional[int] = None) -> None:
        """EnableKeyRotation: every 90–2560 days (default 365)."""
        h = self._h()
        k = key_id.encode()
        _check(lib.trent_kms_enable_key_rotation(h, self._caller, k, len(k), rotation_period_in_days or 0, _tp_err()))

    def disable_key_rotation(self, key_id: str) -> None:
        """DisableKeyRotation."""
        self._key_op(lib.trent_kms_disable_key_rotation, key_id)

    def rotate_key_on_demand(self, key_id: str) -> None:
        """RotateKeyOnDemand: new key material now; older ciphertexts still decrypt."""
        self._key_op(lib.trent_kms_rotate_key_on_demand, key_id)

    def get_key_rotation_status(self, key_id: str) -> Dict[str, Any]:
        """GetKeyRotationStatus: `{"key_rotation_enabled": bool}`, with
        `"rotation_period_in_days"` when rotation is on and `"next_rotation_date"` (a datetime)
        when one is due."""
        h = self._h()
        k = key_id.encode()
        enabled = ffi.new("bool *")
        period = ffi.new("uint32_t *")
        nxt = ffi.new("int64_t *")
        _check(lib.trent_kms_get_key_rotation_status(h, self._caller, k, len(k), enabled, period, nxt, _tp_err()))
        status: Dict[str, Any] = {"key_rotation_enabled": bool(enabled[0])}
        if period[0]:
            status["rotation_period_in_days"] = int(period[0])
        if nxt[0]:
            status["next_rotation_date"] = _millis(nxt[0])
        return status

    def list_key_rotations(self, key_id: str) -> List[Dict[str, Any]]:
        """ListKeyRotations, every page, oldest first: `[{"key_id", "key_material_id",
        "key_material_state", "rotation_date", "rotation_type"}]`."""
        k = key_id.encode()
        rows = self._list(
            lib.trent_kms_list_key_rotations, (k, len(k)),
            ["KeyId", "KeyMaterialId", "KeyMaterialState", "RotationDate", "RotationType"],
        )  # fmt: skip
        return [_row(r) for r in rows]


    # -- aliases ------------------------------------------------------------------------------

    def create_alias(self, alias_name: str, target_key_id: str) -> None:
        """CreateAlias: `alias/…` names the key; `AlreadyExistsException` if it exists."""
        h = self._h()
        a = alias_name.encode()
        t = target_key_id.encode()
        _check(lib.trent_kms_create_alias(h, self._caller, a, len(a), t, len(t), _tp_err()))

    def update_alias(self, alias_name: str, target_key_id: str) -> None:
        """UpdateAlias: points the alias at another key."""
        h = self._h()
        a = alias_name.encode()
        t = target_key_id.encode()
        _check(lib.trent_kms_update_alias(h, self._caller, a, len(a), t, len(t), _tp_err()))

    def delete_alias(self, alias_name: str) -> None:
        """DeleteAlias (the key stays)."""
        h = self._h()
        a = alias_name.encode()
        _check(lib.trent_kms_delete_alias(h, self._caller, a, len(a), _tp_err()))

    # -- cryptography -------------------------------------------------------------------------

    def encrypt(self, key_id: str, plaintext: BytesLike, context: Optional[Context] = None) -> bytes:
        """Encrypt: 1–4096 bytes under `key_id`, bound to the encryption context; returns the
        ciphertext blob."""
        h = self._eng.h
        if h is None:
            raise _closed()
        if type(plaintext) is not bytes:
            plaintext = _blob(plaintext, "plaintext")
        n = len(plaintext)
        if _INTO:
            out = bytes(n + BLOB_OVERHEAD)
            k = _KEY_IDS.get(key_id) or _key_id_c(key_id)
            if k is not None:
                # (`h`, a local, keeps the engine the session points to alive for the call.)
                if not context:
                    rc = _tp_encrypt0(self._sess, k, plaintext, n, out, len(out))
                else:
                    c, cn = _packed(context)
                    rc = _tp_encrypt_ctx0(self._sess, k, plaintext, n, c, len(c), cn, out, len(out))
            else:
                k = key_id.encode()
                c, cn = _packed(context) if context else (_NULL, 0)
                rc = _tp_encrypt_into(h, self._caller, k, len(k), plaintext, n, c, len(c) if cn else 0, cn, out, len(out))
            if rc == 0:
                return out
            if rc != _ELSEWHERE:
                raise take_error(rc)
            b = lib.tp_take_buffer()
            try:
                return _unpack(ffi.cast("char *", lib.trent_buffer_data(b)), lib.trent_buffer_len(b))
            finally:
                _buffer_free(b)
        k = key_id.encode()
        c, cn = _packed(context) if context else (_NULL, 0)
        r = _tp_encrypt(h, self._caller, k, len(k), plaintext, n, c, len(c) if cn else 0, cn)
        if r.rc:
            raise take_error(r.rc)
        try:
            return _unpack(r.data, r.len)
        finally:
            _buffer_free(r.handle)

    def decrypt(self, ciphertext_blob: BytesLike, context: Optional[Context] = None, key_id: Optional[str] = None) -> bytes:
        """Decrypt: the plaintext of a blob from encrypt, generate_data_key or re_encrypt,
        given the same encryption context. `key_id` (optional) names the key expected. Every
        decryption failure is the same `InvalidCiphertextException`.

        The plaintext is returned as `bytes`, which Python cannot wipe: see the README."""
        h = self._eng.h
        if h is None:
            raise _closed()
        c = ciphertext_blob if type(ciphertext_blob) is bytes else _blob(ciphertext_blob, "ciphertext_blob")
        x, xn = _packed(context) if context else (_NULL, 0)
        xl = len(x) if xn else 0
        if key_id is None:
            k, kl = _NULL, 0
        else:
            k = key_id.encode()
            kl = len(k)
        size = len(c) - BLOB_OVERHEAD
        if _INTO and size >= 2:
            out = bytes(size)
            if kl == 0:
                if xn == 0:
                    rc = _tp_decrypt0(self._sess, c, len(c), out, size)
                else:
                    rc = _tp_decrypt_ctx0(self._sess, c, len(c), x, xl, xn, out, size)
            else:
                rc = _tp_decrypt_into(h, self._caller, c, len(c), x, xl, xn, k, kl, out, size)
            if rc == 0:
                return out
            if rc != _ELSEWHERE:
                raise take_error(rc)
            sec = lib.tp_take_secret()
            try:
                return _unpack(ffi.cast("char *", lib.trent_secret_data(sec)), lib.trent_secret_len(sec))
            finally:
                _secret_free(sec)
        r = _tp_decrypt(h, self._caller, c, len(c), x, xl, xn, k, kl)
        if r.rc:
            raise take_error(r.rc)
        try:
            return _unpack(r.data, r.len)
        finally:
            _secret_free(r.handle)

    def re_encrypt(
        self,
        ciphertext_blob: BytesLike,
        destination_key_id: str,
        source_context: Optional[Context] = None,
        destination_context: Optional[Context] = None,
    ) -> bytes:
        """ReEncrypt: decrypts and encrypts under `destination_key_id` inside the engine (the
        plaintext never reaches Python); returns the new blob."""
        h = self._h()
        c = ffi.from_buffer("uint8_t[]", ciphertext_blob)
        sa, sn, _k1 = _context(source_context)
        da, dn, _k2 = _context(destination_context)
        d = destination_key_id.encode()
        out = ffi.new("trent_buffer **")
        rc = lib.trent_kms_re_encrypt(
            h, self._caller, c, len(c), sa, sn, d, len(d), da, dn, out, _tp_err()
        )
        if rc:
            raise take_error(rc)
        return _take_buffer(out)

    def generate_data_key(
        self, key_id: str, context: Optional[Context] = None, number_of_bytes: Optional[int] = None
    ) -> DataKey:
        """GenerateDataKey: an AES-256 data key (or `number_of_bytes` random bytes, 1–1024)
        under `key_id`: `DataKey(plaintext, ciphertext_blob)`. Keep only the blob; decrypt
        unwraps it."""
        h = self._eng.h
        if h is None:
            raise _closed()
        nbytes = number_of_bytes or 0
        k = _KEY_IDS.get(key_id) or _key_id_c(key_id)
        if _INTO and k is not None and (nbytes == 0 or 2 <= nbytes <= 1024):
            size = nbytes or 32
            x, n = _packed(context) if context else (_NULL, 0)
            p = bytes(size)
            b = bytes(size + BLOB_OVERHEAD)
            # (`h`, a local, keeps the engine the session points to alive for the call.)
            rc = _tp_gdk0(self._sess, k, nbytes, x, len(x) if n else 0, n, p, size, b, len(b))
            if rc == 0:
                return _tuple_new(DataKey, (p, b))
            if rc != _ELSEWHERE:
                raise take_error(rc)
            sec = lib.tp_take_secret()
            buf = lib.tp_take_buffer()
            try:
                return _tuple_new(
                    DataKey,
                    (
                        _unpack(ffi.cast("char *", lib.trent_secret_data(sec)), lib.trent_secret_len(sec)),
                        _unpack(ffi.cast("char *", lib.trent_buffer_data(buf)), lib.trent_buffer_len(buf)),
                    ),
                )
            finally:
                _secret_free(sec)
                _buffer_free(buf)
        k = key_id.encode()
        x, n = _packed(context) if context else (_NULL, 0)
        r = _tp_gdk(h, self._caller, k, len(k), number_of_bytes or 0, x, len(x) if n else 0, n)
        if r.rc:
            raise take_error(r.rc)
        try:
            return _tuple_new(DataKey, (_unpack(r.data, r.len), _unpack(r.data2, r.len2)))
        finally:
            _secret_free(ffi.cast("trent_secret *", r.handle))
            _buffer_free(ffi.cast("trent_buffer *", r.handle2))

    def generate_data_key_without_plaintext(
        self, key_id: str, context: Optional[Context] = None, number_of_bytes: Optional[int] = None
    ) -> bytes:
        """GenerateDataKeyWithoutPlaintext: only the wrapped data key."""
        h = self._h()
        k = key_id.encode()
        arr, n, _keep = _context(context)
        out = ffi.new("trent_buffer **")
        _check(lib.trent_kms_generate_data_key_without_plaintext(h, self._caller, k, len(k), number_of_bytes or 0, arr, n, out, _tp_err()))
        return _take_buffer(out)

    def generate_random(self, number_of_bytes: int) -> bytes:
        """GenerateRandom: 1–1024 random bytes."""
        h = self._h()
        out = ffi.new("trent_secret **")
        _check(lib.trent_kms_generate_random(h, self._caller, number_of_bytes, out, _tp_err()))
        s = out[0]
        try:
            return _unpack(ffi.cast("char *", lib.trent_secret_data(s)), lib.trent_secret_len(s))
        finally:
            _secret_free(s)

    # -- envelope encryption -------------------------------------------------------------------

    def envelope_encrypt(
        self,
        key_id: str,
        plaintext: BytesLike,
        context: Optional[Context] = None,
        chunk_size: Optional[int] = None,
    ) -> bytes:
        """Envelope-encrypts data of any size inside the engine: a fresh data key from
        GenerateDataKey on `key_id` (bound to `context`), the data sealed with it in
        authenticated chunks of `chunk_size` bytes (default 256 KiB; 1 KiB to 64 MiB). Returns
        the envelope (Trent's envelope file format: the wrapped data key, the key and context
        in its header, then the chunks); `envelope_decrypt` opens it."""
        h = self._h()
        k = key_id.encode()
        arr, n, _keep = _context(context)
        data = ffi.from_buffer("uint8_t[]", plaintext)
        out = ffi.new("trent_buffer **")
        _check(lib.trent_kms_envelope_encrypt(h, self._caller, k, len(k), arr, n, chunk_size or 0, data, len(data), out, _tp_err()))
        return _take_buffer(out)

    def envelope_decrypt(self, envelope: BytesLike) -> bytes:
        """Opens an envelope from `envelope_encrypt`: Decrypt unwraps its data key (the key and
        context come from its header), then every chunk is authenticated. The plaintext is
        returned as `bytes` (see the README's "Secrets"); the library's copy is zeroed."""
        h = self._h()
        data = ffi.from_buffer("uint8_t[]", envelope)
        out = ffi.new("trent_buffer **")
        _check(lib.trent_kms_envelope_decrypt(h, self._caller, data, len(data), out, _tp_err()))
        return _take_buffer(out)

    # -- batches ------------------------------------------------------------------------------

    def generate_data_keys(
        self,
        key_id: str,
        count: int,
        context: Optional[Context] = None,
        number_of_bytes: Optional[int] = None,
    ) -> List[DataKey]:
        """GenerateDataKey `count` times under one key, over the engine's thread pool: a list of
        `DataKey`. Raises when the key cannot be used; an item that failed on its own (rare:
        locked memory exhausted) is raised as its exception.

        Runs in engine calls of `DATA_KEYS_CHUNK` keys, so a large count does not hold all its
        plaintexts in locked memory at once.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        plains, blobs = self._data_keys(key_id, count, context, number_of_bytes)
        # A million small tuples would set off the cyclic GC many times over (tuples are
        # tracked; none of these can be in a cycle): hold it off while building them.
        enabled = gc.isenabled()
        if enabled:
            gc.disable()
        try:
            return list(map(_tuple_new, repeat(DataKey), zip(plains, blobs)))
        finally:
            if enabled:
                gc.enable()

    def generate_data_keys_split(
        self,
        key_id: str,
        count: int,
        context: Optional[Context] = None,
        number_of_bytes: Optional[int] = None,
    ) -> Tuple[List[bytes], List[bytes]]:
        """Like `generate_data_keys`, as two lists: the plaintexts and the ciphertext blobs (in
        the same order). The fastest form."""
        if count < 0:
            raise ValueError("count must be >= 0")
        return self._data_keys(key_id, count, context, number_of_bytes)

    def _data_keys(
        self, key_id: str, count: int, context: Optional[Context], number_of_bytes: Optional[int]
    ) -> Tuple[List[bytes], List[bytes]]:
        h = self._h()
        k = key_id.encode()
        arr, n, _keep = _context(context)
        nbytes = number_of_bytes or 0
        size = nbytes or 32
        caller = self._caller
        sizes = [min(DATA_KEYS_CHUNK, count - i) for i in range(0, count, DATA_KEYS_CHUNK)]

        def generate(m: int) -> Any:
            """One chunk, engine and export in one C call (run on a worker thread for all
            chunks but the first, so the engine makes chunk i + 1 while Python slices chunk i)."""
            pbuf = ffi.new("uint8_t[]", m * size)
            ccap = m * (size + 256)
            cbuf = ffi.new("uint8_t[]", ccap)
            ends = ffi.new("size_t[]", m)
            totals = ffi.new("size_t[2]")
            rc = lib.tp_data_keys_into(h, caller, k, len(k), nbytes, arr, n, m, pbuf, m * size, cbuf, ccap, ends, totals)
            if rc:
                lib.tp_wipe(ffi.cast("char *", pbuf), m * size)
                raise take_error(rc)
            return m, pbuf, cbuf, ends, totals[0], totals[1]

        plains: List[bytes] = []
        blobs: List[bytes] = []
        if not sizes:
            return plains, blobs
        if len(sizes) == 1:
            _slice_chunk(generate(sizes[0]), size, plains, blobs)
            return plains, blobs
        with ThreadPoolExecutor(1, thread_name_prefix="trent-data-keys") as pool:
            pending = pool.submit(generate, sizes[0])
            for m in sizes[1:] + [0]:
                chunk = pending.result()
                if m:
                    pending = pool.submit(generate, m)
                try:
                    _slice_chunk(chunk, size, plains, blobs)
                except BaseException:
                    if m:
                        pending.cancel()
                        try:
                            other = pending.result()
                            lib.tp_wipe(ffi.cast("char *", other[1]), other[0] * size)
                        except Exception:  # noqa: BLE001 - the first error is the one to raise
                            pass
                    raise
        return plains, blobs

    def encrypt_batch(self, key_id: str, items: Sequence[Union[BytesLike, Tuple[BytesLike, Optional[Context]]]]) -> List[Union[bytes, KmsError]]:
        """Encrypt in bulk under one key, over the engine's thread pool. `items` are plaintexts
        or `(plaintext, context)` pairs; returns one ciphertext blob per item, or the item's
        exception (an instance, not raised) where that item failed. Raises when the key
        cannot be used."""
        h = self._h()
        k = key_id.encode()
        arr, keep = _batch_items(items)
        out = ffi.new("trent_batch_results **")
        _check(lib.trent_kms_encrypt_batch(h, self._caller, k, len(k), arr, len(items), out, _tp_err()))
        return _batch_results(out[0])

    def decrypt_batch(self, items: Sequence[Union[BytesLike, Tuple[BytesLike, Optional[Context]]]]) -> List[Union[bytes, KmsError]]:
        """Decrypt in bulk (blobs may come from different keys): `items` are blobs or
        `(blob, context)` pairs; returns one plaintext per item, or the item's exception
        (an instance, not raised) where that item failed."""
        h = self._h()
        arr, keep = _batch_items(items)
        out = ffi.new("trent_batch_results **")
        _check(lib.trent_kms_decrypt_batch(h, self._caller, arr, len(items), out, _tp_err()))
        return _batch_results(out[0])

    def re_encrypt_batch(
        self,
        destination_key_id: str,
        items: Sequence[Union[BytesLike, Tuple[BytesLike, Optional[Context], Optional[Context]]]],
    ) -> List[Union[bytes, KmsError]]:
        """ReEncrypt in bulk to one destination key, over the engine's thread pool (the
        plaintexts never reach Python): `items` are blobs or `(blob, source_context,
        destination_context)` triples; returns one new blob per item, or the item's exception
        (an instance, not raised) where that item failed."""
        h = self._h()
        d = destination_key_id.encode()
        n = len(items)
        arr = ffi.new("trent_re_encrypt_item[]", n)
        keep: list = [arr]
        for i, item in enumerate(items):
            blob: Any
            sctx: Any
            dctx: Any
            if isinstance(item, tuple):
                blob, sctx, dctx = (tuple(item) + (None, None))[:3]
            else:
                blob, sctx, dctx = item, None, None
            if not isinstance(blob, (bytes, bytearray, memoryview)):
                raise TypeError(f"batch items must be bytes-like, not {type(blob).__name__}")
            buf = ffi.from_buffer("uint8_t[]", blob)
            sa, sn, sk = _context(sctx)
            da, dn, dk = _context(dctx)
            e = arr[i]
            e.ciphertext = buf
            e.ciphertext_len = len(buf)
            e.source_context = sa
            e.source_context_len = sn
            e.destination_context = da
            e.destination_context_len = dn
            keep += (buf, sk, dk)
        out = ffi.new("trent_batch_results **")
        _check(lib.trent_kms_re_encrypt_batch(h, self._caller, d, len(d), arr, n, out, _tp_err()))
        return _batch_results(out[0])



def _slice_chunk(chunk: Any, size: int, plains: List[bytes], blobs: List[bytes]) -> None:
    """Appends a generated chunk's plaintexts and blobs as `bytes`, then wipes the chunk's
    plaintext buffer."""
    m, pbuf, cbuf, ends, ptotal, ctotal = chunk
    try:
        if ptotal != m * size:
            raise _errors.KMSInternalException("data keys of an unexpected size")
        pb = ffi.buffer(pbuf, ptotal)
        plains += [pb[i : i + size] for i in range(0, ptotal, size)]
        cb = ffi.buffer(cbuf, ctotal)
        width = ends[0]
        if ctotal == m * width and ffi.unpack(ends, m) == list(range(width, ctotal + 1, width)):
            blobs += [cb[i : i + width] for i in range(0, ctotal, width)]
        else:
            e = ffi.unpack(ends, m)
            blobs += [cb[s:t] for s, t in zip([0] + e[:-1], e)]
    finally:
        lib.tp_wipe(ffi.cast("char *", pbuf), m * size)


def _item_error(code: int, err: Any) -> KmsError:
    message = ""
    if err != _NULL:
        try:
            message = ffi.string(lib.trent_error_message(err)).decode("utf-8", "replace")
        finally:
            lib.trent_error_free(err)
        prefix = ffi.string(lib.trent_result_name(code)).decode() + ": "
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return _errors.error_class(code)(message)


def _batch_items(items: Sequence[Any]) -> Tuple[Any, list]:
    n = len(items)
    arr = ffi.new("trent_batch_item[]", n)
    if n and all(type(i) is bytes for i in items):
        # The common case (no contexts): the items joined into one string and their lengths,
        # the array filled in C. (For Encrypt the join is one more transient copy of the
        # plaintexts, which Python's bytes already are.)
        joined = b"".join(items)
        lib.tp_batch_fill(arr, joined, [len(d) for d in items], n)
        return arr, [arr, joined]
    keep: list = [arr]
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            data, ctx = (tuple(item) + (None,))[:2]
        else:
            data, ctx = item, None
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"batch items must be bytes-like, not {type(data).__name__}")
        buf = ffi.from_buffer("uint8_t[]", data)
        carr, cn, ckeep = _context(ctx)
        e = arr[i]
        e.data = buf
        e.data_len = len(buf)
        e.context = carr
        e.context_len = cn
        keep.append(buf)
        keep.append(ckeep)
    return arr, keep


def _batch_results(res: Any) -> List[Union[bytes, KmsError]]:
    """One result per item, copied out in two C calls; the copy of plaintexts (Decrypt) is
    wiped once sliced into `bytes`."""
    try:
        n = lib.trent_batch_results_len(res)
        total = ffi.new("size_t *")
        lib.tp_batch_results_total(res, n, total)
        buf = ffi.new("char[]", max(total[0], 1))
        ends_c = ffi.new("size_t[]", n)
        codes_c = ffi.new("uint32_t[]", n)
        lib.tp_batch_results_copy(res, n, buf, ends_c, codes_c)
        try:
            ends = ffi.unpack(ends_c, n)
            codes = ffi.unpack(codes_c, n)
            b = ffi.buffer(buf, total[0])
            out: List[Union[bytes, KmsError]] = [b[s:t] for s, t in zip([0] + ends[:-1], ends)]
        finally:
            lib.tp_wipe(buf, total[0])
        if any(codes):
            data = ffi.new("uint8_t **")
            size = ffi.new("size_t *")
            for i, code in enumerate(codes):
                if code:
                    err = ffi.new("trent_error **")
                    lib.trent_batch_results_get(res, i, data, size, err)
                    out[i] = _item_error(code, err[0])
        return out
    finally:
        lib.trent_batch_results_free(res)
