"""A stand-in IB Gateway per test (tests/venues/ib_gateway), on a free local port."""

from __future__ import annotations

import pytest

from tests.venues.ib_gateway import StandInGateway


@pytest.fixture()
def gateway():
    with StandInGateway() as gw:
        yield gw


@pytest.fixture()
def settings(gateway):
    from lab.live.ib.settings import IBSettings

    return IBSettings(port=gateway.port, client_id=21, timeout_s=5)
