"""fork(): an engine belongs to the process that opened it.

In a forked child (multiprocessing's "fork" start method, gunicorn --preload, Celery's prefork
pool) every call on an engine inherited from the parent raises KMSInternalException; the child
opens an engine of its own, which sees the same keys on the same data directory. Closing the
inherited engine in the child leaves the parent's engine working.
"""

import multiprocessing
import os

import pytest

import trent

# The engine the pool's children inherit (set before the pool forks them).
_INHERITED = None


def _child(args):
    data_dir, key_id, i = args
    try:
        _INHERITED.encrypt(key_id, b"from the inherited engine")
        return ("not refused", None)
    except trent.KMSInternalException as e:
        message = e.message
    try:
        _INHERITED.describe_key(key_id)
        return ("describe_key not refused", None)
    except trent.KMSInternalException:
        pass
    with trent.Kms(data_dir, allow_unlocked_memory=True) as own:
        blob = own.encrypt(key_id, f"child {i}".encode())
    _INHERITED.close()  # harmless here: the parent's engine is untouched
    return (message, blob)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_child_must_open_its_own_engine(tmp_path):
    global _INHERITED
    data_dir = str(tmp_path / "data")
    _INHERITED = trent.Kms(data_dir, allow_unlocked_memory=True, audit_file=str(tmp_path / "audit.jsonl"))
    try:
        key_id = _INHERITED.create_key("fork")
        before = _INHERITED.encrypt(key_id, b"parent")
        # One task per child: each child closes its inherited engine when done, so a second
        # task in the same child would find it closed (ClosedError, not the fork refusal).
        with multiprocessing.get_context("fork").Pool(4, maxtasksperchild=1) as pool:
            results = pool.map(_child, [(data_dir, key_id, i) for i in range(16)])
        blobs = []
        for i, (message, blob) in enumerate(results):
            assert blob is not None, message
            assert "a fork() child" in message and "Open a new engine in the child" in message, message
            assert str(os.getpid()) in message
            blobs.append(blob)
        # The parent's engine still works, its keystore and audit log included, and reads the
        # children's ciphertexts.
        for i, blob in enumerate(blobs):
            assert _INHERITED.decrypt(blob) == f"child {i}".encode()
        assert _INHERITED.decrypt(before) == b"parent"
        _INHERITED.create_key("after the children")
        _INHERITED.flush_audit()
        _INHERITED.check_store_integrity()
    finally:
        _INHERITED.close()
        _INHERITED = None
