"""Heartbeats: one timer for the whole server pings every connection and reaps the silent ones.

Every ``ping_interval`` seconds, each open connection gets a ping; one that has sent nothing
(no pong, no message) for more than ``ping_timeout`` seconds is closed with 1011 and the reason
``ping timed out``, and its ``close`` handlers run once Tornado gives up on the closing
handshake. A dead peer is therefore reaped
between ``ping_timeout`` and ``ping_timeout + ping_interval`` seconds after it went silent.

One timer instead of Tornado's task per connection keeps idle connections small.
Loop thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketClosedError

from .protocol import PING_TIMEOUT

if TYPE_CHECKING:
    from .websockethandler import WebSocketHandler

__all__ = ["Heartbeat"]

logger = logging.getLogger("tornado_websockets")


class Heartbeat:
    """Pings ``connections()`` every ``interval`` s; closes those silent for ``timeout`` s."""

    def __init__(
        self,
        interval: float,
        timeout: float,
        connections: Callable[[], Iterable[WebSocketHandler]],
    ) -> None:
        self.interval = interval
        self.timeout = timeout
        self.connections = connections
        self._timer = PeriodicCallback(self.beat, interval * 1000)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def beat(self) -> None:
        now = time.monotonic()
        for connection in self.connections():
            protocol = connection.ws_connection
            if protocol is None or protocol.is_closing():
                continue
            if now - connection.last_seen > self.timeout:
                logger.info("Closing %r: silent for more than %s s.", connection, self.timeout)
                connection.close(PING_TIMEOUT, "ping timed out")
                continue
            try:
                protocol.write_ping(b"")
            except (WebSocketClosedError, OSError):
                continue
