"""Key management of `trent.Kms`: keys, their tags, state and rotation, aliases, and the
listings (every page followed)."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, cast

try:
    from typing import TypedDict
except ImportError:  # Python < 3.8
    from typing_extensions import TypedDict  # type: ignore

from ._args import NULL, blob, check, opt_text, tag_array, take_buffer
from ._errors import take_error
from ._ffi import cells, ffi, lib
from ._handle import Handle

__all__ = ["KeyMetadata", "KeyOps"]

_NULL = NULL
_unpack = ffi.unpack


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


#: The members every key has, in `KeyMetadata`'s order: each name, the `trent.h` function that
#: reads it (`trent_key_metadata_<name>`) and what makes its value Python's.
METADATA_MEMBERS = tuple(
    (name, getattr(lib, "trent_key_metadata_" + name), convert)
    for names, convert in (
        (("key_id", "arn", "aws_account_id", "description", "key_state", "key_spec", "key_usage", "origin", "key_manager"), _str),
        (("enabled", "multi_region"), bool),
        (("creation_date",), _millis),
    )
    for name in names
)


def _metadata(md: Any) -> KeyMetadata:
    out = cast(KeyMetadata, {name: convert(get(md)) for name, get, convert in METADATA_MEMBERS})
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


def _text_out(call: Any) -> str:
    """The text a `(out, out_cap, len_out)` call writes, in the thread's text cell, or in a
    buffer of the size the call asks for when it does not fit."""
    out = cells.text
    size = cells.size
    rc = call(out, len(out), size)
    if rc == lib.TRENT_RESULT_VALIDATION_EXCEPTION and size[0] > len(out):
        take_error(rc)  # (the detail: capacity too small)
        out = ffi.new("char[]", size[0] + 1)
        rc = call(out, len(out), size)
    check(rc)
    return ffi.buffer(out, size[0])[:].decode()


class KeyOps:
    """Mixin of `Kms`: key management."""

    __slots__ = ()
    _eng: Any
    _caller: Any

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
        if policy is None and not tags and not multi_region and key_spec is None and key_usage is None:
            out = ffi.new("trent_buffer **")
            if description is None:
                check(lib.trent_kms_create_key(self._eng.ptr, self._caller.ptr, _NULL, 0, out, cells.err))
            else:
                d = description.encode()
                check(lib.trent_kms_create_key(self._eng.ptr, self._caller.ptr, d, len(d), out, cells.err))
            return take_buffer(out[0]).decode()
        d, dl = opt_text(description)
        ks, ksl = opt_text(key_spec)
        ku, kul = opt_text(key_usage)
        po, pol = opt_text(policy)
        tarr, tn, _keep = tag_array(tags)
        out = ffi.new("trent_key_metadata **")
        check(
            lib.trent_kms_create_key_with_options(
                self._eng.ptr, self._caller.ptr, d, dl, ks, ksl, ku, kul, po, pol, tarr, tn, bool(multi_region), out, cells.err
            )
        )
        with Handle(out[0], lib.trent_key_metadata_free, "key metadata") as md:
            return _str(lib.trent_key_metadata_key_id(md))

    def describe_key(self, key_id: str) -> KeyMetadata:
        """DescribeKey: the key's metadata, AWS's `KeyMetadata` with snake_case names
        (`key_id`, `arn`, `key_state`, `creation_date` as a datetime, …; `deletion_date` only while
        a deletion is scheduled; `pending_deletion_window_in_days` only in state
        `PendingReplicaDeletion`, as AWS)."""
        k = key_id.encode()
        out = ffi.new("trent_key_metadata **")
        check(lib.trent_kms_describe_key(self._eng.ptr, self._caller.ptr, k, len(k), out, cells.err))
        with Handle(out[0], lib.trent_key_metadata_free, "key metadata") as md:
            return _metadata(md)

    def key_arn(self, key_id: str) -> str:
        """The ARN of the key `key_id` names (an id, ARN, alias name or alias ARN), as
        DescribeKey finds it (and audited as DescribeKey)."""
        k = key_id.encode()
        return _text_out(lambda out, cap, size: lib.trent_kms_key_arn(self._eng.ptr, self._caller.ptr, k, len(k), out, cap, size, cells.err))

    def ciphertext_key_arn(self, ciphertext_blob: bytes) -> str:
        """The ARN of the key a ciphertext blob names, read from the blob without decrypting it
        (`InvalidCiphertextException` for a blob that is not Trent's)."""
        c = blob(ciphertext_blob, "ciphertext_blob")
        return _text_out(lambda out, cap, size: lib.trent_kms_ciphertext_key_arn(self._eng.ptr, c, len(c), out, cap, size, cells.err))

    def _list(self, fn: Any, args: Tuple[Any, ...], fields: Sequence[str]) -> List[Dict[str, Optional[str]]]:
        """Every page of a listing: rows of `{AwsFieldName: text or None}`."""
        rows: List[Dict[str, Optional[str]]] = []
        names = [(f, f.encode()) for f in fields]
        marker: Optional[bytes] = None
        out = ffi.new("trent_list **")
        value = ffi.new("trent_str *")
        while True:
            m, ml = (marker, len(marker)) if marker else (_NULL, 0)
            check(fn(self._eng.ptr, self._caller.ptr, *args, 0, m, ml, out, cells.err))
            with Handle(out[0], lib.trent_list_free, "list") as page:
                for row in range(lib.trent_list_len(page)):
                    item: Dict[str, Optional[str]] = {}
                    for name, raw in names:
                        check(lib.trent_list_get(page, row, raw, len(raw), value, cells.err))
                        item[name] = None if value.data == _NULL else _unpack(value.data, value.len).decode()
                    rows.append(item)
                nxt = lib.trent_list_next_marker(page)
                marker = None if nxt.data == _NULL else _unpack(nxt.data, nxt.len)
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
        k = key_id.encode()
        tarr, tn, _keep = tag_array(tags)
        check(lib.trent_kms_tag_resource(self._eng.ptr, self._caller.ptr, k, len(k), tarr, tn, cells.err))

    def untag_resource(self, key_id: str, tag_keys: Iterable[str]) -> None:
        """UntagResource: removes the tags with these keys (names it lacks are ignored)."""
        k = key_id.encode()
        names = [t.encode() for t in tag_keys]
        arr = ffi.new("trent_str[]", len(names))
        keep = []
        for i, n in enumerate(names):
            c = ffi.new("char[]", n)
            keep.append(c)
            arr[i].data = c
            arr[i].len = len(n)
        check(lib.trent_kms_untag_resource(self._eng.ptr, self._caller.ptr, k, len(k), arr, len(names), cells.err))

    def _key_op(self, fn: Any, key_id: str) -> None:
        k = key_id.encode()
        check(fn(self._eng.ptr, self._caller.ptr, k, len(k), cells.err))

    def enable_key(self, key_id: str) -> None:
        """EnableKey."""
        self._key_op(lib.trent_kms_enable_key, key_id)

    def disable_key(self, key_id: str) -> None:
        """DisableKey: cryptographic operations raise `DisabledException` until enabled."""
        self._key_op(lib.trent_kms_disable_key, key_id)

    def schedule_key_deletion(self, key_id: str, pending_window_in_days: Optional[int] = None) -> None:
        """ScheduleKeyDeletion: `PendingDeletion`, deleted after 7–30 days (default 30)."""
        k = key_id.encode()
        check(lib.trent_kms_schedule_key_deletion(self._eng.ptr, self._caller.ptr, k, len(k), pending_window_in_days or 0, cells.err))

    def cancel_key_deletion(self, key_id: str) -> None:
        """CancelKeyDeletion: the key becomes `Disabled`."""
        self._key_op(lib.trent_kms_cancel_key_deletion, key_id)

    def update_key_description(self, key_id: str, description: str) -> None:
        """UpdateKeyDescription."""
        k = key_id.encode()
        d = description.encode()
        check(lib.trent_kms_update_key_description(self._eng.ptr, self._caller.ptr, k, len(k), d, len(d), cells.err))

    # -- rotation -----------------------------------------------------------------------------

    def enable_key_rotation(self, key_id: str, rotation_period_in_days: Optional[int] = None) -> None:
        """EnableKeyRotation: every 90–2560 days (default 365)."""
        k = key_id.encode()
        check(lib.trent_kms_enable_key_rotation(self._eng.ptr, self._caller.ptr, k, len(k), rotation_period_in_days or 0, cells.err))

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
        k = key_id.encode()
        enabled = ffi.new("bool *")
        period = ffi.new("uint32_t *")
        nxt = ffi.new("int64_t *")
        check(lib.trent_kms_get_key_rotation_status(self._eng.ptr, self._caller.ptr, k, len(k), enabled, period, nxt, cells.err))
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
        a = alias_name.encode()
        t = target_key_id.encode()
        check(lib.trent_kms_create_alias(self._eng.ptr, self._caller.ptr, a, len(a), t, len(t), cells.err))

    def update_alias(self, alias_name: str, target_key_id: str) -> None:
        """UpdateAlias: points the alias at another key."""
        a = alias_name.encode()
        t = target_key_id.encode()
        check(lib.trent_kms_update_alias(self._eng.ptr, self._caller.ptr, a, len(a), t, len(t), cells.err))

    def delete_alias(self, alias_name: str) -> None:
        """DeleteAlias (the key stays)."""
        a = alias_name.encode()
        check(lib.trent_kms_delete_alias(self._eng.ptr, self._caller.ptr, a, len(a), cells.err))
