"""Fixtures shared by the suite: one real server per test session, real WebSocket clients."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tornado_websockets.conf import TornadoConfig
from tornado_websockets.transport import uvloop_installed

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
    """Generous limits for the shared server: the limits are tested on servers of their own.

    A module may parametrize it (indirectly, at session scope) with a transport's name or a
    dict of other settings, ``"tls": True`` for the session's ``certificate``. pytest then
    stops the server before it starts the next: one server runs per process at a time.
    """
    param = getattr(request, "param", {})
    changes = {"transport": param} if isinstance(param, str) else dict(param)
    if changes.pop("tls", False):
        cert, key = request.getfixturevalue("certificate")
        changes.update(certfile=str(cert), keyfile=str(key))
    if changes.get("event_loop") == "uvloop":
        require(uvloop_installed(), "uvloop is not installed")
    settings: dict[str, Any] = {
        "threads": 8,
        "max_message_size": 2**21,
        "message_rate": 1e6,
        "message_burst": 10**6,
        "presence_interval": 0.2,
    }
    return TornadoConfig(**{**settings, **changes})


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


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its private key (PEM files)."""
    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl is not installed")
    folder = tmp_path_factory.mktemp("certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key
