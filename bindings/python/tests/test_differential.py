"""One script of operations through trent.client and through boto3 on moto's in-process mock:
the same response keys and the same error codes, step by step.

Where moto is known not to follow AWS, the step says so and compares only what moto gets
right (see MOTO_DEVIATIONS).
"""

import os

import pytest

import trent

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")
botocore = pytest.importorskip("botocore.exceptions")

# Response members AWS returns (kms-service-2.json output shapes and the AWS KMS API
# reference) that moto leaves out: extra in trent, allowed.
MOTO_MISSING = {
    "KeyMaterialId", "SourceKeyMaterialId", "DestinationKeyMaterialId", "CurrentKeyMaterialId",
    "EncryptionAlgorithm",  # Encrypt, Decrypt
    "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm",  # ReEncrypt
    "KeyUsage", "MultiRegion",  # KeyMetadata
    "KeyState", "PendingWindowInDays",  # ScheduleKeyDeletion
}  # fmt: skip

# Members moto returns that AWS does not for a symmetric encryption key: only in moto, allowed.
MOTO_EXTRA = {"SigningAlgorithms"}

# GetKeyRotationStatus: AWS returns KeyId, RotationPeriodInDays and NextRotationDate with
# rotation on; moto only KeyRotationEnabled.
MOTO_MISSING |= {"KeyId", "RotationPeriodInDays", "NextRotationDate"}

# Steps where moto does not follow AWS: the step's name and why.
# (AWS's answer, which trent must give.)
MOTO_DEVIATIONS = {
    "encrypt_disabled": "DisabledException",  # moto encrypts under a disabled key
    "encrypt_pending_deletion": "KMSInvalidStateException",  # moto encrypts under a key pending deletion
}

# Where this engine does not follow AWS yet (reported; remove when fixed): step -> members.
TRENT_DEVIATIONS: dict = {}


def script(c):
    """The operations, as (step name, callable) pairs, run in order on client `c`."""
    state = {}

    def key():
        return state["key"]

    steps = [
        ("create_key", lambda: state.setdefault("r", c.create_key(Description="diff"))),
        ("create_key_2", lambda: c.create_key(Description="second")),
        ("create_alias", lambda: c.create_alias(AliasName="alias/diff", TargetKeyId=key())),
        ("create_alias_again", lambda: c.create_alias(AliasName="alias/diff", TargetKeyId=key())),
        ("describe_alias", lambda: c.describe_key(KeyId="alias/diff")),
        ("describe_missing", lambda: c.describe_key(KeyId="alias/missing")),
        ("encrypt", lambda: state.setdefault("blob", c.encrypt(KeyId="alias/diff", Plaintext=b"secret data"))),
        ("decrypt", lambda: c.decrypt(CiphertextBlob=state["blob"]["CiphertextBlob"])),
        ("encrypt_ctx", lambda: state.setdefault("blobc", c.encrypt(KeyId=key(), Plaintext=b"ctx data", EncryptionContext={"tenant": "acme"}))),
        ("decrypt_ctx", lambda: c.decrypt(CiphertextBlob=state["blobc"]["CiphertextBlob"], EncryptionContext={"tenant": "acme"})),
        ("decrypt_without_ctx", lambda: c.decrypt(CiphertextBlob=state["blobc"]["CiphertextBlob"])),
        ("decrypt_wrong_ctx", lambda: c.decrypt(CiphertextBlob=state["blobc"]["CiphertextBlob"], EncryptionContext={"tenant": "evil"})),
        ("re_encrypt", lambda: c.re_encrypt(CiphertextBlob=state["blobc"]["CiphertextBlob"], SourceEncryptionContext={"tenant": "acme"}, DestinationKeyId=state["key2"])),
        ("generate_data_key", lambda: c.generate_data_key(KeyId=key(), KeySpec="AES_256")),
        ("generate_data_key_bytes", lambda: c.generate_data_key(KeyId=key(), NumberOfBytes=64, EncryptionContext={"f": "1"})),
        ("generate_data_key_without_plaintext", lambda: c.generate_data_key_without_plaintext(KeyId=key(), KeySpec="AES_128")),
        ("generate_random", lambda: c.generate_random(NumberOfBytes=32)),
        ("update_key_description", lambda: c.update_key_description(KeyId=key(), Description="new")),
        ("tag_resource", lambda: c.tag_resource(KeyId=key(), Tags=[{"TagKey": "team", "TagValue": "core"}])),
        ("list_resource_tags", lambda: c.list_resource_tags(KeyId=key())),
        ("untag_resource", lambda: c.untag_resource(KeyId=key(), TagKeys=["team"])),
        ("enable_key_rotation", lambda: c.enable_key_rotation(KeyId=key())),
        ("get_key_rotation_status", lambda: c.get_key_rotation_status(KeyId=key())),
        ("disable_key_rotation", lambda: c.disable_key_rotation(KeyId=key())),
        ("rotate_key_on_demand", lambda: c.rotate_key_on_demand(KeyId=key())),
        ("list_key_rotations", lambda: c.list_key_rotations(KeyId=key())),
        ("list_keys", lambda: c.list_keys()),
        ("list_aliases", lambda: c.list_aliases()),
        ("list_aliases_of_key", lambda: c.list_aliases(KeyId=key())),
        ("update_alias", lambda: c.update_alias(AliasName="alias/diff", TargetKeyId=state["key2"])),
        ("delete_alias", lambda: c.delete_alias(AliasName="alias/diff")),
        ("disable_key", lambda: c.disable_key(KeyId=key())),
        ("encrypt_disabled", lambda: c.encrypt(KeyId=key(), Plaintext=b"x")),
        ("enable_key", lambda: c.enable_key(KeyId=key())),
        ("schedule_key_deletion", lambda: c.schedule_key_deletion(KeyId=key(), PendingWindowInDays=7)),
        ("encrypt_pending_deletion", lambda: c.encrypt(KeyId=key(), Plaintext=b"x")),
        ("describe_pending_deletion", lambda: c.describe_key(KeyId=key())),
        ("cancel_key_deletion", lambda: c.cancel_key_deletion(KeyId=key())),
    ]
    return state, steps


def run(c):
    state, steps = script(c)
    results = {}
    for name, fn in steps:
        try:
            r = fn()
            results[name] = ("ok", r)
        except botocore.ClientError as e:  # trent's client errors are ClientErrors too
            results[name] = ("error", e.response["Error"]["Code"])
        if name == "create_key":
            state["key"] = r["KeyMetadata"]["KeyId"]
        if name == "create_key_2":
            state["key2"] = r["KeyMetadata"]["KeyId"]
    return results


def keys_of(r):
    out = {k for k in r if k != "ResponseMetadata"}
    for nested in ("KeyMetadata",):
        if nested in r:
            out |= {f"{nested}.{k}" for k in r[nested]}
    return out


@pytest.fixture
def moto_results():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        c = boto3.client("kms", region_name="us-east-1")
        yield run(c)


def test_trent_matches_moto(moto_results, kms):
    ours = run(trent.client("kms", kms=kms))
    assert list(ours) == list(moto_results)
    mismatches = []
    for step, (kind, value) in moto_results.items():
        if step in MOTO_DEVIATIONS:
            # Still compare with AWS's documented answer.
            assert ours[step] == ("error", MOTO_DEVIATIONS[step]), step
            continue
        okind, ovalue = ours[step]
        if kind != okind:
            mismatches.append(f"{step}: moto {kind} {value if kind == 'error' else ''}, trent {okind} {ovalue if okind == 'error' else ''}")
            continue
        if kind == "error":
            if value != ovalue:
                mismatches.append(f"{step}: moto raised {value}, trent {ovalue}")
            continue
        theirs = keys_of(value)
        mine = keys_of(ovalue)
        missing = {k for k in theirs - mine if k.split(".")[-1] not in MOTO_EXTRA}
        extra = {k for k in mine - theirs if k.split(".")[-1] not in MOTO_MISSING}
        extra -= TRENT_DEVIATIONS.get(step, set())
        if missing or extra:
            mismatches.append(f"{step}: keys only in moto {sorted(missing)}, only in trent {sorted(extra)}")
    assert not mismatches, "\n".join(mismatches)
