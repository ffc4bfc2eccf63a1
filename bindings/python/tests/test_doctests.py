import doctest

import trent
from trent import _client, _kms


def test_doctests():
    for module in (trent, _kms, _client):
        failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failures == 0, module.__name__
