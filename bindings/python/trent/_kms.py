"""`trent.Kms`: the Pythonic API over the C ABI (`trent.h`).

The class is put together from one module per job: opening, closing and the engine's own
calls here; key management in `_keys`, the cryptographic operations in `_crypto`, the batches
in `_batches`, envelope encryption in `_envelope`; arguments (contexts, key ids, output sizes)
in `_args`, the ownership of native handles in `_handle`, the library itself in `_ffi`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _errors
from ._args import BytesLike, Context, check, take_buffer
from ._batches import DATA_KEYS_CHUNK, BatchOps
from ._crypto import CryptoOps, DataKey
from ._envelope import EnvelopeOps
from ._errors import ClosedError, take_error
from ._ffi import cells, ffi, lib
from ._handle import Handle
from ._keys import KeyMetadata, KeyOps

__all__ = ["Kms", "DataKey", "KeyMetadata", "BytesLike", "Context", "DATA_KEYS_CHUNK"]


class _NeverOpened:
    """The handles of a `Kms` whose opening failed: closed."""

    closed = True

    @property
    def ptr(self) -> Any:
        raise ClosedError("the engine is closed")

    def close(self) -> None:
        pass


_NEVER_OPENED = _NeverOpened()


class Kms(KeyOps, CryptoOps, BatchOps, EnvelopeOps):
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

    __slots__ = ("_eng", "_caller", "_principal", "__weakref__")

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
        self._eng: Any = _NEVER_OPENED
        self._caller: Any = _NEVER_OPENED
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
                check(lib.trent_kms_open_in_memory(out, cells.err))
            else:
                d = os.fsencode(path)
                check(lib.trent_kms_open_dir(d, len(d), out, cells.err))
        else:
            self._open_with_builder(out, path, postgres_schema, audit_table, allow_unlocked_memory, options)
        self._eng = Handle(out[0], lib.trent_kms_free, "engine")
        cout = ffi.new("trent_caller **")
        rc = lib.trent_caller_root(self._eng.ptr, cout)
        if rc:
            raise _errors.error_class(rc)("could not make the root caller")
        self._caller = Handle(cout[0], lib.trent_caller_free, "caller")

    @staticmethod
    def _open_with_builder(out: Any, path: Any, schema: Any, audit_table: bool, unlocked: bool, o: dict) -> None:
        bout = ffi.new("trent_kms_builder **")
        rc = lib.trent_kms_builder_new(bout)
        if rc:
            raise _errors.error_class(rc)("could not make a builder")
        with Handle(bout[0], lib.trent_kms_builder_free, "builder") as b:
            Kms._configure(b, out, path, schema, audit_table, unlocked, o)

    @staticmethod
    def _configure(b: Any, out: Any, path: Any, schema: Any, audit_table: bool, unlocked: bool, o: dict) -> None:
        def text(fn: Any, value: Any) -> None:
            v = os.fsencode(value) if not isinstance(value, str) else value.encode()
            check(fn(b, v, len(v), cells.err))

        if path is not None:
            text(lib.trent_kms_builder_data_dir, path)
        if o["sqlite"] is not None:
            text(lib.trent_kms_builder_sqlite, o["sqlite"])
        if o["postgres"] is not None:
            url = o["postgres"].encode()
            if schema is None:
                check(lib.trent_kms_builder_postgres(b, url, len(url), ffi.NULL, 0, cells.err))
            else:
                s = schema.encode()
                check(lib.trent_kms_builder_postgres(b, url, len(url), s, len(s), cells.err))
        if o["region"] is not None:
            text(lib.trent_kms_builder_region, o["region"])
        if o["account"] is not None:
            text(lib.trent_kms_builder_account, o["account"])
        if o["root_key"] is not None:
            key = bytes(o["root_key"])
            check(lib.trent_kms_builder_root_key(b, key, len(key), cells.err))
        if o["root_key_file"] is not None:
            text(lib.trent_kms_builder_root_key_file, o["root_key_file"])
        if o["root_key_passphrase"] is not None:
            text(lib.trent_kms_builder_root_key_passphrase, o["root_key_passphrase"])
        if o["root_key_env"] is not None:
            text(lib.trent_kms_builder_root_key_env, o["root_key_env"])
        if o["audit_file"] is not None:
            text(lib.trent_kms_builder_audit_file, o["audit_file"])
        if audit_table:
            check(lib.trent_kms_builder_audit_table(b, True, cells.err))
        if unlocked:
            check(lib.trent_kms_builder_allow_unlocked_memory(b, True, cells.err))
        if o["locked_memory_budget"] is not None:
            check(lib.trent_kms_builder_locked_memory_budget(b, int(o["locked_memory_budget"]), cells.err))
        if o["refresh_interval_ms"] is not None:
            check(lib.trent_kms_builder_refresh_interval_ms(b, int(o["refresh_interval_ms"]), cells.err))
        if o["max_hot_versions"] is not None:
            check(lib.trent_kms_builder_max_hot_versions(b, int(o["max_hot_versions"]), cells.err))
        check(lib.trent_kms_builder_open(b, out, cells.err))

    # -- the object ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the engine (for this object and every `as_principal` view of it).

        Later calls raise `trent.ClosedError`. Calls already running in other threads finish
        first: the native engine is freed when the last of them returns. Idempotent.
        """
        self._eng.close()

    @property
    def closed(self) -> bool:
        return self._eng.closed

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
        self._eng.ptr  # raises ClosedError once closed
        a = arn.encode()
        cout = ffi.new("trent_caller **")
        check(lib.trent_caller_from_arn(a, len(a), cout, cells.err))
        view = Kms.__new__(Kms)
        view._eng = self._eng
        view._caller = Handle(cout[0], lib.trent_caller_free, "caller")
        view._principal = arn
        return view

    # -- engine -------------------------------------------------------------------------------

    @property
    def store_backend(self) -> str:
        """The keystore backend: `"memory"`, `"sqlite"` or `"postgres"`."""
        return ffi.string(lib.trent_kms_store_backend(self._eng.ptr)).decode()

    @property
    def memory_is_locked(self) -> bool:
        """Whether key material is really in locked memory."""
        return bool(lib.trent_kms_memory_is_locked(self._eng.ptr))

    @staticmethod
    def version() -> str:
        """The native library's version."""
        return ffi.string(lib.trent_version()).decode()

    def run_maintenance(self) -> None:
        """Carries out what the clock has made due (deletions, automatic rotations)."""
        check(lib.trent_kms_run_maintenance(self._eng.ptr, cells.err))

    def refresh_now(self) -> None:
        """Applies the changes other engines made to a shared keystore now."""
        check(lib.trent_kms_refresh_now(self._eng.ptr, cells.err))

    def check_store_integrity(self) -> None:
        """Checks the keystore; raises `KMSInternalException` with the finding otherwise."""
        check(lib.trent_kms_check_store_integrity(self._eng.ptr, cells.err))

    def flush_audit(self) -> None:
        """Waits until every audit event of the operations returned so far is stored."""
        check(lib.trent_kms_flush_audit(self._eng.ptr, cells.err))

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
        check(lib.trent_kms_rotate_root_key(self._eng.ptr, kind, v, len(v), n, cells.err))
        return int(n[0])

    def call_json(self, operation: str, request: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Runs any operation by its AWS wire name with an AWS JSON request (PascalCase members,
        blobs in base64) and returns the JSON response as a dict. The boto3-shaped
        `trent.client` is built on this."""
        body = json.dumps(request or {}).encode()
        return json.loads(self._call_json_raw(operation, body))

    def _call_json_raw(self, operation: str, body: bytes) -> bytes:
        op = operation.encode()
        out = ffi.new("trent_buffer **")
        rc = lib.trent_kms_call_json(self._eng.ptr, self._caller.ptr, op, len(op), body, len(body), out, cells.err)
        if rc:
            raise take_error(rc)
        return take_buffer(out[0])
