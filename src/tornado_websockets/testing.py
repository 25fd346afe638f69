"""Helpers to run the real server inside a test process.

``LiveServerThread`` runs a ``TornadoServer`` (Django through ``django_app()`` plus every declared
``WebSocket``) on an ephemeral port of 127.0.0.1 in a background thread.

Thread affinity: create, start and stop it from the test's thread; the server runs on its own.
One server runs per process at a time (emits go to the process's running server).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .conf import TornadoConfig
from .tornadowrapper import TornadoServer

__all__ = ["LiveServerThread"]


class LiveServerThread(threading.Thread):
    """A real server in a thread; ``start_and_wait()`` returns once it accepts connections."""

    def __init__(
        self,
        handlers: Sequence[Any] | None = None,
        settings: dict[str, Any] | None = None,
        config: TornadoConfig | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        super().__init__(name="tornado-websockets-live-server", daemon=True)
        if handlers is None:
            from .wsgi import django_app

            handlers = [django_app()]
        self.handlers = list(handlers)
        self.settings = dict(settings or {})
        self.config = config
        self.address = address
        self.port: int | None = None
        self.server: TornadoServer | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()

    def run(self) -> None:
        try:
            self.server = TornadoServer(self.handlers, self.settings, self.config)
            self.port = self.server.listen(0, self.address)
        except BaseException as error:  # reported to the thread waiting in start_and_wait
            self.error = error
            self._ready.set()
            return
        self._ready.set()
        self.server.start()

    def start_and_wait(self, timeout: float = 10.0) -> int:
        """Start the thread; return the bound port, or raise what made the start fail."""
        self.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"The live server did not start within {timeout} s.")
        if self.error is not None:
            raise self.error
        assert self.port is not None
        return self.port

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully and wait for the thread; raises ``TimeoutError`` if it hangs."""
        if self.server is not None:
            self.server.stop()
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"The live server did not stop within {timeout} s.")

    @property
    def http_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{self.port}"
