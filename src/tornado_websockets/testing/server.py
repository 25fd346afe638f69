"""The real server inside a test process.

``LiveServerThread`` runs a ``TornadoServer`` (Django through ``django_app()`` plus every declared
``WebSocket``) on an ephemeral port of 127.0.0.1 in a background thread. In-memory SQLite test
databases are shared with the server's worker threads, as Django's ``LiveServerTestCase`` does,
so that handlers and views see the test's data.

Thread affinity: create, start and stop the server from the test's thread; it runs on its own.
One server runs per process at a time: connections, emits and the worker pool reach the
process's running server, so a second one would have the first one's connections run their
handlers on its loop, from the wrong thread. ``start_and_wait`` refuses to start a second.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from ..conf import TornadoConfig
from ..tornadowrapper import TornadoServer

__all__ = ["LiveServerThread", "shared_in_memory_databases"]


def shared_in_memory_databases() -> dict[str, Any]:
    """The test thread's in-memory SQLite connections, made shareable with other threads."""
    from django.db import connections

    shared = {}
    for connection in connections.all():
        if connection.vendor == "sqlite" and getattr(connection, "is_in_memory_db")():  # noqa: B009
            connection.inc_thread_sharing()
            shared[connection.alias] = connection
    return shared


class LiveServerThread(threading.Thread):
    """A real server in a thread; ``start_and_wait()`` returns once it accepts connections.

    ``handlers`` defaults to ``config.handlers`` followed by ``django_app()``.
    ``connections_override`` (alias → connection) is installed in every worker thread; pass
    ``shared_in_memory_databases()`` when the test database lives in memory.
    """

    running: ClassVar[LiveServerThread | None] = None
    """The server started and not yet stopped in this process, if any (test thread only)."""

    def __init__(
        self,
        handlers: Sequence[Any] | None = None,
        settings: dict[str, Any] | None = None,
        config: TornadoConfig | None = None,
        address: str = "127.0.0.1",
        connections_override: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name="tornado-websockets-live-server", daemon=True)
        if handlers is None:
            from ..wsgi import django_app

            handlers = [*(config.handlers if config is not None else ()), django_app()]
        self.handlers = list(handlers)
        self.settings = dict(settings or {})
        self.config = config
        self.address = address
        self.connections_override = connections_override or {}
        self.port: int | None = None
        self.server: TornadoServer | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()

    def _install_connections(self) -> None:
        if self.connections_override:
            from django.db import connections

            for alias, connection in self.connections_override.items():
                connections[alias] = connection

    def run(self) -> None:
        try:
            self.server = TornadoServer(
                self.handlers, self.settings, self.config, self._install_connections
            )
            self.port = self.server.listen(0, self.address)
        except BaseException as error:  # reported to the thread waiting in start_and_wait
            self.error = error
            self._ready.set()
            return
        self._ready.set()
        self.server.start()

    def start_and_wait(self, timeout: float = 10.0) -> int:
        """Start the thread; return the bound port, or raise what made the start fail.

        With Django set up, the project's WebSocket modules are imported first, as
        ``runtornado`` does, so that every application answers from the first connection.
        """
        running = LiveServerThread.running
        if running is not None:
            raise RuntimeError(
                f"Another live server runs in this process (port {running.port}): stop it "
                "first. One server runs per process at a time."
            )
        from django.apps import apps

        if apps.ready:
            from ..apps import discover_websockets

            discover_websockets()
        self.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"The live server did not start within {timeout} s.")
        if self.error is not None:
            raise self.error
        assert self.port is not None
        LiveServerThread.running = self
        return self.port

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully and wait for the thread; raises ``TimeoutError`` if it hangs."""
        if self.server is not None:
            self.server.stop()
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"The live server did not stop within {timeout} s.")
        if LiveServerThread.running is self:
            LiveServerThread.running = None
        for connection in self.connections_override.values():
            connection.dec_thread_sharing()
        self.connections_override = {}

    @property
    def http_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{self.port}"
