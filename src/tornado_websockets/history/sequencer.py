"""Each stream's messages written on this node in offset order, and without gaps when it can.

Redis publishes a stream's announcements in offset order, but a node whose subscription
dropped (its broker reconnecting) misses those published meanwhile, and its connected clients
with them. The next announcement shows the gap: the node reads the missing messages from the
store and writes them first, holding the announcements that arrive during the read. An
announcement at or below the last offset written (same epoch) is dropped. When the missing
messages are gone (expired, out of the window, more than ``history_query_limit``), the node
logs it and goes on.

Loop thread only. One ``Sequencer`` per application; it remembers the last position of at most
``MAX_STREAMS`` streams (the oldest forgotten first).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..envelope import EMIT, Envelope
from .base import HistoryStore

if TYPE_CHECKING:
    from ..websocket import WebSocket

__all__ = ["Sequencer", "MAX_STREAMS"]

logger = logging.getLogger("tornado_websockets.history")

MAX_STREAMS = 10_000

Write = Callable[["WebSocket", Envelope], None]

_filling_tasks: set[asyncio.Future[None]] = set()


class Sequencer:
    """Puts one application's announced messages in order before ``write`` fans them out."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[str, int]] = {}
        self.held: dict[str, list[Envelope]] = {}

    def accept(
        self,
        websocket: WebSocket,
        envelope: Envelope,
        store: HistoryStore,
        limit: int,
        write: Write,
    ) -> None:
        stream, offset, epoch = envelope.stream or "", envelope.offset, envelope.epoch
        if offset is None or epoch is None:
            return
        held = self.held.get(stream)
        if held is not None:
            held.append(envelope)
            return
        known = self.last.get(stream)
        if known is not None and known[0] == epoch:
            if offset <= known[1]:
                return  # already written
            if offset > known[1] + 1:
                self.held[stream] = [envelope]
                fill = self._fill(websocket, stream, epoch, known[1], offset, store, limit, write)
                task = asyncio.ensure_future(fill)
                _filling_tasks.add(task)
                task.add_done_callback(_filling_tasks.discard)
                return
        self._remember(stream, epoch, offset)
        write(websocket, envelope)

    def _remember(self, stream: str, epoch: str, offset: int) -> None:
        last = self.last
        if stream not in last and len(last) >= MAX_STREAMS:
            del last[next(iter(last))]
        last[stream] = (epoch, offset)

    async def _fill(
        self,
        websocket: WebSocket,
        stream: str,
        epoch: str,
        after: int,
        before: int,
        store: HistoryStore,
        limit: int,
        write: Write,
    ) -> None:
        missing = before - after - 1
        written = 0
        try:
            window = await store.read(
                websocket.url_path, stream, after, min(missing, limit), websocket.history_ttl
            )
            if window.epoch == epoch:
                for entry in window.entries:
                    if after < entry.offset < before:
                        write(
                            websocket,
                            _envelope(websocket, stream, epoch, entry.offset, entry.payload),
                        )
                        written += 1
        except Exception:
            logger.exception(
                "Could not read the messages %s missed on %s.", stream, websocket.url_path
            )
        finally:
            if written < missing:
                logger.warning(
                    "%d messages of %s on %s were missed while this process was not listening "
                    "and are no longer in history: its clients do not get them.",
                    missing - written,
                    repr(stream) if stream else "the broadcast stream",
                    websocket.url_path,
                )
            self._remember(stream, epoch, before - 1)
            for envelope in self.held.pop(stream, []):
                self.accept(websocket, envelope, store, limit, write)


def _envelope(
    websocket: WebSocket, stream: str, epoch: str, offset: int, payload: bytes
) -> Envelope:
    # Modules follow the event names of what other processes emitted: read it when they care.
    event = ""
    if websocket.modules:
        frame: Any = json.loads(payload)
        event = str(frame.get("event", ""))
    return Envelope(EMIT, "", event, payload, stream=stream, offset=offset, epoch=epoch)
