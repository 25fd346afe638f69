"""Fixtures shared by the suite: one real server per test session, real WebSocket clients."""

from __future__ import annotations

import os
import shutil

import pytest

from tornado_websockets.testing import LiveServerThread

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real dependency is missing; under CI (CI=true) fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tornado_server(django_db_setup, django_db_blocker):
    """The Tornado server serving the test project and every WebSocket declared by tests."""
    with django_db_blocker.unblock():
        server = LiveServerThread(threads=8)
        server.start_and_wait()
    yield server
    server.stop()


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium")
    require(path is not None, "Debian's chromium is not installed")
    assert path is not None
    return path
