"""Test helpers for projects that use django-tornado-websockets.

- ``LiveServerThread``: the real server (Django and every WebSocket) on an ephemeral port;
- ``WebSocketTestClient`` / ``AsyncWebSocketTestClient``: clients of this library's protocol,
  with ``connect(path, user=...)``, ``emit``, ``request``, ``receive``, ``receive_nothing``;
- ``TornadoLiveServerTestCase``: a ``TransactionTestCase`` with a live server (import it once
  Django settings are configured);
- ``isolate_websockets(test)``, ``isolated_websockets()``, ``restore_websockets(saved)``: undo
  the ``WebSocket`` declarations of a test (suites that declare in ``setUp``);
- pytest fixtures ``tornado_live_server``, ``ws_client`` and ``isolated_websockets`` (see
  ``pytest_plugin``).

The clients need ``pip install "django-tornado-websockets[testing]"``.
"""

from __future__ import annotations

from typing import Any

from .client import (
    AsyncTestConnection,
    AsyncWebSocketTestClient,
    RequestFailed,
    TestConnection,
    WebSocketTestClient,
)
from .declarations import isolate_websockets, isolated_websockets, restore_websockets
from .server import LiveServerThread, shared_in_memory_databases

__all__ = [
    "AsyncTestConnection",
    "AsyncWebSocketTestClient",
    "LiveServerThread",
    "RequestFailed",
    "TestConnection",
    "TornadoLiveServerTestCase",
    "WebSocketTestClient",
    "isolate_websockets",
    "isolated_websockets",
    "restore_websockets",
    "shared_in_memory_databases",
]


def __getattr__(name: str) -> Any:
    # django.test must not be imported before settings are configured: load it on first use.
    if name == "TornadoLiveServerTestCase":
        from .testcase import TornadoLiveServerTestCase

        return TornadoLiveServerTestCase
    raise AttributeError(name)
