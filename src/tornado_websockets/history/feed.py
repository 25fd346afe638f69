"""What a ``WebSocket`` with history does with the store of its process.

``emit`` (any thread) stores a message in the broadcast stream or in each targeted room's
stream; the store announces it once stored, and ``deliver`` (loop thread) then writes it to the
stream's local recipients with its position added to the frame::

    {"event": "...", "data": {...}, "offset": 7, "epoch": "9f2c41d0", "room": "lobby"}

(``room`` only for a room's stream). Connections that are recovering get the frame through
their ``Recovery``, which holds it until their replay is written. ``read`` serves
``WebSocket.history``.

Thread affinity: ``emit`` and ``read_blocking`` from any thread; ``deliver``, ``store_of`` and
``aread`` on the loop thread.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import cluster, runtime
from ..envelope import EMIT, Envelope, decode
from ..exceptions import EmitHandlerError
from ..protocol import text_frame
from . import create_store
from .base import HistoryStore, HistoryUnavailableError, Window
from .memory import MemoryHistory
from .sequencer import Sequencer

if TYPE_CHECKING:
    from ..websocket import WebSocket

__all__ = [
    "BROADCAST",
    "DEFAULT_QUERY_LIMIT",
    "StoredMessage",
    "check_options",
    "deliver",
    "emit",
    "read_blocking",
    "aread",
    "store_of",
    "with_position",
]

BROADCAST = ""
"""The name of an application's broadcast stream (room names are never empty)."""
DEFAULT_QUERY_LIMIT = 1000
"""The default of ``TORNADO['history_query_limit']``."""

_standalone: HistoryStore | None = None
_lock = threading.Lock()
_sequencers: weakref.WeakKeyDictionary[WebSocket, Sequencer] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class StoredMessage:
    """A message of a stream's history, as ``WebSocket.history`` returns it."""

    offset: int
    epoch: str
    event: str
    data: Any
    time: float
    """When it was stored (``time.time()``)."""


def check_options(history: Any, history_ttl: Any) -> tuple[int, float]:
    """Validate ``WebSocket(history=..., history_ttl=...)``; ``ValueError`` naming the bad one."""
    if history is None or history is False:
        history = 0
    if type(history) is not int or history < 0:
        raise ValueError(
            f"history should be the number of messages each stream keeps (0 for none), "
            f"got {history!r}."
        )
    if isinstance(history_ttl, bool) or not isinstance(history_ttl, (int, float)):
        raise ValueError(f"history_ttl should be a number of seconds, got {history_ttl!r}.")
    if not history_ttl > 0:
        raise ValueError(f"history_ttl should be a positive number, got {history_ttl!r}.")
    return history, float(history_ttl)


def with_position(payload: bytes, stream: str, offset: int, epoch: str) -> bytes:
    """``payload`` (a ``{"event", "data"}`` JSON object) with its position in ``stream``."""
    room = b',"room":' + json.dumps(stream).encode() if stream else b""
    return b'%s,"offset":%d,"epoch":%s%s}' % (
        payload[:-1],
        offset,
        json.dumps(epoch).encode(),
        room,
    )


# -- stores ----------------------------------------------------------------------------------


def store_of(run: runtime.ServerRuntime) -> HistoryStore:
    """The server's store; an Application built by hand (no ``TornadoServer``) gets an
    in-memory one on first use. Any thread (the server made its store before serving)."""
    store: HistoryStore | None = getattr(run, "history", None)
    if store is None:
        store = create_store(None)
        store.start(_deliver_announcement)
        run.history = store
    return store


def _deliver_announcement(channel: str, data: bytes) -> None:
    from ..websocket import get_websocket

    websocket = get_websocket(channel)
    if websocket is not None:
        deliver(websocket, decode(data))


def _standalone_store() -> HistoryStore:
    global _standalone
    with _lock:
        if _standalone is None:
            from django.conf import settings

            if not settings.configured:
                raise EmitHandlerError(runtime.NO_SERVER_MESSAGE)
            from ..conf import load

            _standalone = create_store(load().broker)
        return _standalone


def _query_limit() -> int:
    run = runtime.current()
    if run is not None:
        return int(getattr(run.config, "history_query_limit", DEFAULT_QUERY_LIMIT))
    from ..conf import load

    return int(getattr(load(), "history_query_limit", DEFAULT_QUERY_LIMIT))


# -- emitting --------------------------------------------------------------------------------


def emit(
    websocket: WebSocket,
    event: str,
    payload: bytes,
    rooms: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Store ``payload`` in the broadcast stream (no ``rooms``) or in each room's stream, then
    let the store announce it. Any thread; never blocks a loop (a thread without a server
    waits for Redis; ``EmitHandlerError`` when it cannot store)."""
    streams = rooms or (BROADCAST,)
    heads = [
        Envelope(
            EMIT,
            cluster.node_id(),
            event,
            broadcast=not rooms,
            rooms=(stream,) if rooms else (),
            exclude=exclude,
            stream=stream,
        ).head()
        for stream in streams
    ]
    size, ttl, channel = websocket.history_size, websocket.history_ttl, websocket.url_path
    if runtime.current() is not None:
        runtime.call_on_loop(_append_on_loop, channel, streams, payload, heads, size, ttl)
        return
    store = _standalone_store()
    try:
        for stream, head in zip(streams, heads, strict=True):
            store.append_blocking(channel, stream, payload, head, size, ttl)
    except HistoryUnavailableError as error:
        raise EmitHandlerError(f"{runtime.NO_SERVER_MESSAGE} ({error})") from error


def _append_on_loop(
    channel: str,
    streams: tuple[str, ...],
    payload: bytes,
    heads: list[bytes],
    size: int,
    ttl: float,
) -> None:
    run = runtime.current()
    if run is None:
        return
    store = store_of(run)
    for stream, head in zip(streams, heads, strict=True):
        store.append(channel, stream, payload, head, size, ttl)


# -- delivering (loop thread) ---------------------------------------------------------------


def deliver(websocket: WebSocket, envelope: Envelope) -> None:
    """Write a stored, announced message to the local recipients of its stream, in offset
    order, missed ones first (see ``sequencer``). Loop thread."""
    run = runtime.current()
    if run is None:
        return
    sequencer = _sequencers.get(websocket)
    if sequencer is None:
        sequencer = _sequencers[websocket] = Sequencer()
    limit = int(getattr(run.config, "history_query_limit", DEFAULT_QUERY_LIMIT))
    sequencer.accept(websocket, envelope, store_of(run), limit, _write)


def _write(websocket: WebSocket, envelope: Envelope) -> None:
    stream, offset, epoch = envelope.stream or BROADCAST, envelope.offset, envelope.epoch
    if offset is None or epoch is None:
        return
    own = cluster.node_id() + ":"
    excluded = {int(a[len(own) :]) for a in envelope.exclude if a.startswith(own)}
    recipients = websocket.handlers if stream == BROADCAST else websocket.rooms.members((stream,))
    frame = text_frame(with_position(envelope.payload, stream, offset, epoch))
    websocket.stats.emits += 1
    direct = []
    for socket in tuple(recipients):
        if excluded and socket.id in excluded:
            continue
        recovery = socket.recovery
        if recovery is None:
            direct.append(socket)
        else:
            recovery.offer(stream, offset, frame)
    # Through the application's fan-out, as every emit: in order, a chunk per loop iteration.
    websocket.fanout.send(frame, direct)
    if envelope.node != cluster.node_id():
        for module in websocket.modules:
            module.mirror(envelope.event, envelope.payload)


# -- reading ---------------------------------------------------------------------------------


def _check_query(websocket: WebSocket, room: Any, limit: Any, since: Any) -> tuple[str, int, int]:
    if not websocket.history_size:
        raise ValueError(f"{websocket.url_path} keeps no history: declare it with history=N.")
    if room is not None and (not isinstance(room, str) or not room):
        raise TypeError(f"room should be a room name or None, got {room!r}.")
    most = _query_limit()
    if limit is None:
        limit = min(most, websocket.history_size)
    if type(limit) is not int or not 1 <= limit <= most:
        raise ValueError(
            f"limit should be an integer from 1 to {most} (TORNADO['history_query_limit']), "
            f"got {limit!r}."
        )
    if since is None:
        since = 0
    if type(since) is not int or since < 0:
        raise ValueError(f"since should be an offset ≥ 0, got {since!r}.")
    return room or BROADCAST, limit, since


def _messages(window: Window, since: int, limit: int) -> list[StoredMessage]:
    entries = window.entries
    if since == 0 and len(entries) > limit:  # no position given: the latest ones
        entries = entries[-limit:]
    messages = []
    for entry in entries[:limit]:
        frame = json.loads(entry.payload)
        epoch = window.epoch or ""
        event, data = frame["event"], frame["data"]
        messages.append(StoredMessage(entry.offset, epoch, event, data, entry.time))
    return messages


def read_blocking(websocket: WebSocket, room: Any, limit: Any, since: Any) -> list[StoredMessage]:
    """``WebSocket.history``: any thread but the loop's when the store is networked."""
    stream, limit, since = _check_query(websocket, room, limit, since)
    run = runtime.current()
    if run is None:
        store = _standalone_store()
    else:
        store = store_of(run)
        if run.thread_id == threading.get_ident() and not isinstance(store, MemoryHistory):
            raise RuntimeError(
                "ws.history() would block the server's loop on Redis: "
                "use `await ws.ahistory(...)` in async handlers."
            )
    # Without a position, read the whole window and keep the latest `limit` of it.
    count = max(limit, websocket.history_size) if since == 0 else limit
    window = store.read_blocking(websocket.url_path, stream, since, count, websocket.history_ttl)
    return _messages(window, since, limit)


async def aread(websocket: WebSocket, room: Any, limit: Any, since: Any) -> list[StoredMessage]:
    """``WebSocket.ahistory``: on the server's loop."""
    stream, limit, since = _check_query(websocket, room, limit, since)
    run = runtime.current()
    if run is None:
        raise RuntimeError("ws.ahistory() runs on the server's loop; use ws.history() elsewhere.")
    count = max(limit, websocket.history_size) if since == 0 else limit
    store = store_of(run)
    window = await store.read(websocket.url_path, stream, since, count, websocket.history_ttl)
    return _messages(window, since, limit)
