"""Use from 8 threads at once, and closing semantics."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import trent


def open_kms(**kw):
    return trent.Kms(allow_unlocked_memory=True, **kw)

THREADS = 8


def test_eight_threads_share_one_engine(kms):
    keys = [kms.create_key(f"t{i}") for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def work(i):
        key = keys[i]
        ctx = {"thread": str(i)}
        barrier.wait()
        for n in range(200):
            data = f"{i}:{n}".encode()
            blob = kms.encrypt(key, data, ctx)
            assert kms.decrypt(blob, ctx) == data
            dk = kms.generate_data_key(key, ctx)
            assert kms.decrypt(dk.ciphertext_blob, ctx, key_id=key) == dk.plaintext
        batch = kms.generate_data_keys(key, 500, ctx)
        assert len({d.plaintext for d in batch}) == 500
        blobs = kms.encrypt_batch(keys[(i + 1) % THREADS], [bytes([i]) * 10] * 50)
        assert kms.decrypt_batch(blobs) == [bytes([i]) * 10] * 50
        try:
            kms.decrypt(blob)  # wrong context: a per-thread error detail
        except trent.InvalidCiphertextException as e:
            assert e.message
        return i

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(work, range(THREADS))) == list(range(THREADS))


def test_eight_threads_on_the_client(kms):
    c = trent.client(kms=kms)
    key = c.create_key()["KeyMetadata"]["KeyId"]

    def work(i):
        for _ in range(50):
            r = c.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"i": str(i)})
            assert c.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"i": str(i)})["Plaintext"] == r["Plaintext"]
        return True

    with ThreadPoolExecutor(THREADS) as pool:
        assert all(pool.map(work, range(THREADS)))


CALLS = [
    ("create_key", ()),
    ("describe_key", ("k",)),
    ("list_keys", ()),
    ("list_aliases", ()),
    ("list_resource_tags", ("k",)),
    ("tag_resource", ("k", {"a": "b"})),
    ("untag_resource", ("k", ["a"])),
    ("enable_key", ("k",)),
    ("disable_key", ("k",)),
    ("schedule_key_deletion", ("k",)),
    ("cancel_key_deletion", ("k",)),
    ("update_key_description", ("k", "d")),
    ("enable_key_rotation", ("k",)),
    ("disable_key_rotation", ("k",)),
    ("rotate_key_on_demand", ("k",)),
    ("get_key_rotation_status", ("k",)),
    ("list_key_rotations", ("k",)),
    ("create_alias", ("alias/x", "k")),
    ("update_alias", ("alias/x", "k")),
    ("delete_alias", ("alias/x",)),
    ("encrypt", ("k", b"x")),
    ("encrypt", ("k", b"x", {"a": "b"})),
    ("decrypt", (b"blob",)),
    ("re_encrypt", (b"blob", "k")),
    ("generate_data_key", ("k",)),
    ("generate_data_key_without_plaintext", ("k",)),
    ("generate_random", (8,)),
    ("generate_data_keys", ("k", 4)),
    ("generate_data_keys_split", ("k", 4)),
    ("encrypt_batch", ("k", [b"x"])),
    ("decrypt_batch", ([b"x"],)),
    ("re_encrypt_batch", ("k", [b"x"])),
    ("call_json", ("ListKeys", {})),
    ("envelope_encrypt", ("k", b"x")),
    ("envelope_decrypt", (b"x",)),
    ("run_maintenance", ()),
    ("refresh_now", ()),
    ("check_store_integrity", ()),
    ("flush_audit", ()),
    ("rotate_root_key", ()),
    ("as_principal", ("arn:aws:iam::111122223333:user/x",)),
]


@pytest.mark.parametrize("name,args", CALLS, ids=[f"{n}{len(a)}" for n, a in CALLS])
def test_every_method_raises_after_close(name, args):
    k = open_kms()
    view = k.as_principal("arn:aws:iam::111122223333:user/v")
    k.close()
    kwargs = {"key": b"\x01" * 32} if name == "rotate_root_key" else {}
    with pytest.raises(trent.ClosedError):
        getattr(k, name)(*args, **kwargs)
    if name != "as_principal":
        with pytest.raises(trent.ClosedError):
            getattr(view, name)(*args, **kwargs)


def test_close_is_idempotent_and_properties_raise():
    k = open_kms()
    assert not k.closed
    k.close()
    k.close()
    assert k.closed
    assert "closed" in repr(k)
    with pytest.raises(trent.ClosedError):
        k.store_backend
    with pytest.raises(trent.ClosedError):
        k.memory_is_locked


def test_context_manager_closes():
    with open_kms() as k:
        key = k.create_key()
    with pytest.raises(trent.ClosedError):
        k.encrypt(key, b"x")


def test_client_after_close():
    c = trent.client(allow_unlocked_memory=True)
    c.close()
    with pytest.raises(trent.ClosedError):
        c.list_keys()


def test_close_while_threads_run_does_not_crash():
    """Closing under 8 busy threads: each call either completes or raises ClosedError."""
    for _ in range(3):
        k = open_kms()
        key = k.create_key()
        blob = k.encrypt(key, b"x")
        started = threading.Barrier(THREADS + 1)
        outcomes = []

        def work():
            started.wait()
            ok = closed = 0
            while True:
                try:
                    assert k.decrypt(blob) == b"x"
                    k.generate_data_keys(key, 64)
                    k.encrypt(key, b"y", {"a": "b"})
                    ok += 1
                except trent.ClosedError:
                    closed += 1
                    break
            outcomes.append((ok, closed))

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for t in threads:
            t.start()
        started.wait()
        k.close()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert len(outcomes) == THREADS and all(closed == 1 for _, closed in outcomes)


def test_garbage_collected_engine_is_freed():
    import gc
    import weakref

    k = open_kms()
    ref = weakref.ref(k)
    k.create_key()
    del k
    gc.collect()
    assert ref() is None
