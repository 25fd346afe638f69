"""Fixtures shared by the suite: one real server per test session, real WebSocket clients."""

from __future__ import annotations

import shutil

import pytest

from tornado_websockets.conf import TornadoConfig

from .redisserver import machine_redis, redis_server  # noqa: F401  (shared fixtures)
from .skipping import IN_CI, require  # noqa: F401

# Modules whose tests run on both paths a connection can take (TORNADO['transport']).
BOTH_TRANSPORTS = {
    "tests.test_connection",
    "tests.test_direct_writes",
    "tests.test_security",
    "tests.test_admin_figures",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__ in BOTH_TRANSPORTS and "tornado_server" in metafunc.fixturenames:
        metafunc.parametrize(
            "tornado_live_server_config",
            ["tornado", "asyncio"],
            indirect=True,
            scope="session",
            ids=lambda transport: f"{transport}-transport",
        )


@pytest.fixture(scope="session")
def tornado_live_server_config(request: pytest.FixtureRequest) -> TornadoConfig:
    """Generous limits for the shared server: the limits are tested on servers of their own."""
    return TornadoConfig(
        threads=8,
        max_message_size=2**21,
        message_rate=1e6,
        message_burst=10**6,
        transport=getattr(request, "param", TornadoConfig.transport),
        presence_interval=0.2,
    )


@pytest.fixture(scope="session")
def tornado_server(tornado_live_server_thread):
    """The Tornado server serving the test project and every WebSocket declared by tests."""
    return tornado_live_server_thread


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium")
    require(path is not None, "Debian's chromium is not installed")
    assert path is not None
    return path
