"""The periodic session re-check: no socket outlives the session it was opened with.

A logout closes its user's sockets at once, on every process, through the broker, and so
does a login that replaces the browser's session (``apps.close_sockets_of_replaced_session``);
but a broker that is down drops that close, a session can end without either (a password
change, an expired or deleted session), and a handshake can race a logout. Every
``TORNADO['session_check_interval']`` seconds, the sessions of the connections of logged-in
users are read again, with ``django.contrib.auth.get_user``'s semantics; a connection whose
session is gone or logs in someone else is closed with 4001.

The work is bounded: the sessions are read in the worker pool, ``BATCH`` at a time, one batch
after the other (one worker thread at most, the others stay free for handlers and views); a
sweep that outlasts the interval makes the next tick a no-op. Connections sharing a session
(tabs of one browser) cost one read.

Loop thread only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tornado.ioloop import PeriodicCallback

from . import auth, runtime
from .protocol import LOGGED_OUT

if TYPE_CHECKING:
    from .websockethandler import WebSocketHandler

__all__ = ["SessionCheck", "BATCH"]

logger = logging.getLogger("tornado_websockets")

BATCH = 200
"""Sessions read by one job of the worker pool."""

Key = tuple[str | None, Any]


class SessionCheck:
    """Re-checks the sessions of ``connections()`` every ``interval`` seconds."""

    def __init__(
        self,
        interval: float,
        run: runtime.ServerRuntime,
        connections: Callable[[], Iterable[WebSocketHandler]],
    ) -> None:
        self.interval = interval
        self.run = run
        self.connections = connections
        self._timer = PeriodicCallback(self.tick, interval * 1000)
        self._sweep: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def tick(self) -> None:
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.ensure_future(self.sweep())

    async def sweep(self) -> None:
        """Read every logged-in connection's session once; close those that ended."""
        sessions: dict[Key, list[WebSocketHandler]] = {}
        for connection in self.connections():
            user = connection.user
            if getattr(user, "is_authenticated", False) and not connection.closed:
                key = (getattr(connection.session, "session_key", None), user.pk)
                sessions.setdefault(key, []).append(connection)
        keys = list(sessions)
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            future = runtime.run_in_worker(self.run, auth.still_current, batch)
            try:
                verdicts = await asyncio.wrap_future(future)
            except Exception:
                logger.exception("Could not re-check sessions; next try in %s s.", self.interval)
                return
            for key, current in zip(batch, verdicts, strict=True):
                if not current:
                    for connection in sessions[key]:
                        logger.info("Closing %r: its session ended.", connection)
                        connection.close(LOGGED_OUT, "Logged out")
