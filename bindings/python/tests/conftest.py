import os

import pytest
from hypothesis import HealthCheck, settings

import trent

settings.register_profile(
    "trent",
    max_examples=int(os.environ.get("TRENT_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,  # no .hypothesis directory
)
settings.load_profile("trent")


def open_kms(**kw):
    # The tests run anywhere: memory may not be lockable (CI containers, small ulimit -l).
    return trent.Kms(allow_unlocked_memory=True, **kw)


@pytest.fixture
def kms():
    k = open_kms()
    yield k
    k.close()


@pytest.fixture(scope="module")
def shared_kms():
    k = open_kms()
    yield k
    k.close()


@pytest.fixture
def key(kms):
    return kms.create_key("test key")
