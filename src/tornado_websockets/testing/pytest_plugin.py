"""pytest fixtures, registered by the package's ``pytest11`` entry point (needs pytest-django).

- ``tornado_live_server``: the live server (started once per session) with database access
  for the test, like pytest-django's ``live_server``;
- ``ws_client``: a ``WebSocketTestClient`` on it; its connections close after the test;
- ``tornado_live_server_config``: override it to give the server a ``TornadoConfig``;
- ``isolated_websockets``: the ``WebSocket`` declarations the test makes are undone after it.

Importing this module imports neither Django nor the server: fixtures do, when used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tornado_live_server_config() -> Any:
    """The ``TornadoConfig`` of the live server (defaults); override to change it."""
    return None


@pytest.fixture(scope="session")
def tornado_live_server_thread(
    django_db_setup: Any, django_db_blocker: Any, tornado_live_server_config: Any
) -> Iterator[Any]:
    """The session's live server thread (no database access by itself)."""
    from django.test import modify_settings

    from .server import LiveServerThread, shared_in_memory_databases

    # As pytest-django's live_server: requests to the live server's host are allowed.
    allowed = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})
    allowed.enable()
    with django_db_blocker.unblock():
        server = LiveServerThread(
            config=tornado_live_server_config,
            connections_override=shared_in_memory_databases(),
        )
        server.start_and_wait()
    yield server
    server.stop()
    allowed.disable()


@pytest.fixture
def tornado_live_server(tornado_live_server_thread: Any, transactional_db: Any) -> Any:
    """The live server, with the database open to it and to the test (flushed after)."""
    return tornado_live_server_thread


@pytest.fixture
def ws_client(tornado_live_server: Any) -> Iterator[Any]:
    from .client import WebSocketTestClient

    client = WebSocketTestClient(tornado_live_server)
    yield client
    client.close()


@pytest.fixture
def isolated_websockets() -> Iterator[None]:
    """The ``WebSocket`` declarations the test makes are undone after it."""
    from .declarations import isolated_websockets as isolated

    with isolated():
        yield
