"""Recovery: a reconnecting connection gets what it missed, in order, once, before new ones.

The client (it remembers the last offset and epoch of each stream it received from) reconnects
with ``$recover=1`` in the URL, then sends::

    {"event": "$recover", "data": {"broadcast": {"offset": 41, "epoch": "9f2c41d0"},
                                   "rooms": {"lobby": {"offset": 7, "epoch": "03be11aa"}}}}

From the handshake on, the connection's ``Recovery`` holds the stream messages fanned out to it.
The request is handled after every ``open`` handler of the connection has finished (the
application rejoins its rooms there), or after ``TORNADO['recovery_timeout']``. For each stream
it reads the history after the client's offset; when the epoch matches, the offset is not in
the future, the stream is one the connection may read (the broadcast stream, or a room it is
in now) and every missed message is still there (at most ``TORNADO['history_query_limit']``),
the missed messages are written in order. Then comes ``$recovered``::

    {"event": "$recovered", "data": {"recovered": true, "missed": 3,
        "broadcast": {"recovered": true, "missed": 2, "offset": 43, "epoch": "9f2c41d0"},
        "rooms": {"lobby": {"recovered": true, "missed": 1, "offset": 8, "epoch": "03be11aa"}}}}

(``recovered: false`` with a ``reason`` when a stream could not be recovered: the application
reloads its state), then the held messages that came after what the replay covered. Later
frames at or below a replayed offset (still on their way when history was read) are dropped.

Thread affinity: loop thread only. A recovery holds at most ``history_query_limit`` messages;
past that, the oldest held are dropped and the answer is ``recovered: false``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..encoding import dumps
from ..protocol import encode_event, text_frame
from .base import HistoryUnavailableError
from .feed import BROADCAST, DEFAULT_QUERY_LIMIT, store_of, with_position

if TYPE_CHECKING:
    from ..websockethandler import WebSocketHandler

__all__ = ["Recovery", "begin", "recover", "QUERY_FLAG", "REQUEST", "ANSWER", "MAX_OFFSET"]

logger = logging.getLogger("tornado_websockets")

QUERY_FLAG = "$recover"
"""The query argument of a handshake that will send a recovery request."""
REQUEST = "$recover"
ANSWER = "$recovered"
MAX_OFFSET = 2**53 - 1
"""Offsets past this are refused (JavaScript numbers stay exact below it)."""
MAX_EPOCH_LENGTH = 64
DEFAULT_TIMEOUT = 10.0
"""The default of ``TORNADO['recovery_timeout']``."""


class Recovery:
    """The recovery state of one connection: held frames, then the floors that drop late
    duplicates. Created by ``begin`` (at the handshake) or by the request itself."""

    __slots__ = (
        "socket",
        "held",
        "floors",
        "done",
        "requested",
        "overflowed",
        "opening",
        "ready",
        "limit",
        "_timer",
    )

    def __init__(self, socket: WebSocketHandler, opening: int, limit: int, timeout: float) -> None:
        self.socket = socket
        self.held: list[tuple[str, int, bytes]] = []
        self.floors: dict[str, int] = {}
        self.done = False
        self.requested = False
        self.overflowed = False
        self.opening = opening
        self.limit = limit
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if opening <= 0:
            self.ready.set_result(None)
        self._timer = asyncio.get_running_loop().call_later(timeout, self._time_out)

    def offer(self, stream: str, offset: int, frame: bytes) -> None:
        """A stream message fanned out to this connection: hold it, or send it unless the
        replay already covered it."""
        if self.done:
            if offset > self.floors.get(stream, 0):
                self.socket.send_frame(frame)
            return
        if len(self.held) >= self.limit:
            del self.held[0]
            self.overflowed = True
        self.held.append((stream, offset, frame))

    def open_handler_done(self) -> None:
        """One of the connection's ``open`` handlers finished."""
        self.opening -= 1
        if self.opening <= 0 and not self.ready.done():
            self.ready.set_result(None)

    def _time_out(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)
        if not self.requested:
            self.finish({})

    def finish(self, floors: dict[str, int]) -> None:
        """Send the held frames that come after ``floors``; from now on, pass frames through."""
        self._timer.cancel()
        self.floors = floors
        self.done = True
        held, self.held = self.held, []
        for stream, offset, frame in held:
            if offset > floors.get(stream, 0):
                self.socket.send_frame(frame)


def _settings(socket: WebSocketHandler) -> tuple[int, float, int]:
    config = socket._runtime.config
    return (
        int(getattr(config, "history_query_limit", DEFAULT_QUERY_LIMIT)),
        float(getattr(config, "recovery_timeout", DEFAULT_TIMEOUT)),
        int(config.max_rooms_per_socket),
    )


def begin(socket: WebSocketHandler, open_handlers: int) -> None:
    """At the handshake (loop thread): hold stream messages when the client said it will ask
    for recovery."""
    if socket.get_query_argument(QUERY_FLAG, None) is None:
        return
    limit, timeout, _rooms = _settings(socket)
    socket.recovery = Recovery(socket, open_handlers, limit, timeout)


def _position(value: Any) -> tuple[int, str] | str:
    """``(offset, epoch)`` of a valid position, else the reason it is refused."""
    if not isinstance(value, dict):
        return "A position is an object with an offset and an epoch."
    offset, epoch = value.get("offset"), value.get("epoch")
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
        return f"The offset should be an integer from 0 to {MAX_OFFSET}."
    if not isinstance(epoch, str) or not 0 < len(epoch) <= MAX_EPOCH_LENGTH:
        return "The epoch should be the string the server sent."
    return offset, epoch


def _refused(reason: str) -> dict[str, Any]:
    return {"recovered": False, "missed": 0, "reason": reason}


async def recover(socket: WebSocketHandler, data: Any) -> None:
    """The ``$recover`` request (runs as the connection's handler of that event)."""
    recovery = socket.recovery
    limit, timeout, max_rooms = _settings(socket)
    if recovery is None or recovery.done:
        recovery = socket.recovery = Recovery(socket, 0, limit, timeout)
    recovery.requested = True
    websocket = socket.websocket
    if not websocket.history_size:
        _answer(socket, recovery, {}, _refused(f"{websocket.url_path} keeps no history."), {})
        return
    await recovery.ready
    try:
        await _recover(socket, recovery, data, limit, max_rooms)
    except Exception:
        # Whatever failed, the connection must get its held messages and an answer.
        logger.exception("Recovery of %r failed.", socket)
        if not recovery.done:
            _answer(socket, recovery, {}, _refused("Recovery failed on the server."), {})


async def _recover(
    socket: WebSocketHandler, recovery: Recovery, data: Any, limit: int, max_rooms: int
) -> None:
    wanted: dict[str, Any] = {}
    rooms = data.get("rooms") if isinstance(data, dict) else None
    if isinstance(data, dict) and data.get("broadcast") is not None:
        wanted[BROADCAST] = data["broadcast"]
    if rooms is not None and not isinstance(rooms, dict):
        _answer(socket, recovery, {}, _refused("rooms should be an object."), {})
        return
    if rooms and len(rooms) > max_rooms:
        reason = f"More rooms than TORNADO['max_rooms_per_socket'] ({max_rooms})."
        _answer(socket, recovery, {}, _refused(reason), {})
        return
    wanted.update((name, position) for name, position in (rooms or {}).items() if name)
    member_of = socket.rooms
    results: dict[str, dict[str, Any]] = {}
    floors: dict[str, int] = {}
    replay: list[bytes] = []
    for stream, raw in wanted.items():
        results[stream] = await _recover_stream(
            socket, stream, raw, member_of, limit, floors, replay
        )
    for frame in replay:
        socket.send_frame(frame)
    overall = {
        "recovered": all(r["recovered"] for r in results.values()) and not recovery.overflowed,
        "missed": sum(r["missed"] for r in results.values()),
    }
    if recovery.overflowed:
        overall["reason"] = "Too many messages arrived during recovery."
    _answer(socket, recovery, results, overall, floors)


async def _recover_stream(
    socket: WebSocketHandler,
    stream: str,
    raw: Any,
    member_of: frozenset[str],
    limit: int,
    floors: dict[str, int],
    replay: list[bytes],
) -> dict[str, Any]:
    position = _position(raw)
    if isinstance(position, str):
        return _refused(position)
    since, epoch = position
    if stream != BROADCAST and stream not in member_of:
        return _refused("This connection is not in this room.")
    websocket = socket.websocket
    store = store_of(socket._runtime)
    try:
        window = await store.read(websocket.url_path, stream, since, limit, websocket.history_ttl)
    except HistoryUnavailableError as error:
        logger.warning("Recovery of %r failed: %s", socket, error)
        return _refused("History is unavailable.")
    result: dict[str, Any] = {"recovered": False, "missed": 0, "offset": window.top}
    if window.epoch is not None:
        result["epoch"] = window.epoch
        floors[stream] = window.top
    if window.epoch != epoch:
        result["reason"] = "The history of this stream was lost (new epoch)."
    elif since > window.top:
        result["reason"] = "The offset is ahead of this stream."
    elif window.top - since > limit:
        result["reason"] = "More messages were missed than TORNADO['history_query_limit']."
    elif not window.complete_after(since):
        result["reason"] = "Missed messages are no longer in history."
    else:
        result["recovered"] = True
        result["missed"] = len(window.entries)
        for entry in window.entries:
            replay.append(text_frame(with_position(entry.payload, stream, entry.offset, epoch)))
    return result


def _answer(
    socket: WebSocketHandler,
    recovery: Recovery,
    results: dict[str, dict[str, Any]],
    overall: dict[str, Any],
    floors: dict[str, int],
) -> None:
    answer = dict(overall)
    if BROADCAST in results:
        answer["broadcast"] = results.pop(BROADCAST)
    answer["rooms"] = results
    socket.send_frame(text_frame(encode_event(ANSWER, answer, dumps)))
    recovery.finish(floors)
