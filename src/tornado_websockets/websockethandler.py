"""``WebSocketHandler``: one client connection, the ``socket`` handlers receive.

Dispatch rules (DESIGN §4):

- every Tornado object is touched on the loop thread only; ``emit`` and ``close`` are safe from
  any thread because they hop onto the loop with ``IOLoop.add_callback``;
- ``async def`` handlers run on the loop, each as its own task (started eagerly on Python
  3.12+, see ``eager``); plain handlers run in the worker pool, so the Django ORM works in them;
- handlers of one connection start in the order its messages arrived, and its plain handlers
  run one at a time: a message that arrives while a plain handler runs waits its turn;
- nothing a client sends and no exception a handler raises closes the connection: the client
  gets a warning (or an ack error when it asked for an ack) and the server logs the traceback.

Frames are written straight to the connection's stream, already framed, so that a broadcast
frames its payload once for every recipient (``send_frame``); a connection that negotiated
compression falls back to Tornado's ``write_message``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from functools import partial
from typing import Any

import tornado.websocket
from tornado.iostream import StreamBufferFullError, StreamClosedError

from . import auth, runtime
from .dispatch import MAX_QUEUED_MESSAGES, Dispatcher
from .encoding import dumps
from .exceptions import ProtocolError
from .handshake import admit
from .protocol import (
    RATE_EXCEEDED,
    SLOW_CONSUMER,
    EventData,
    encode_event,
    normalize_emit_data,
    parse_frame,
    text_frame,
)
from .ratelimit import TokenBucket
from .rooms import user_key
from .websocket import WebSocket

__all__ = ["WebSocketHandler", "SLOW_CONSUMER", "RATE_EXCEEDED"]

logger = logging.getLogger("tornado_websockets")

TOO_MANY_MESSAGES = "Too many messages: slow down."

_connection_ids = itertools.count(1)


class WebSocketHandler(Dispatcher, tornado.websocket.WebSocketHandler):
    """A client connection of a ``WebSocket`` application.

    Created by the server for each handshake on the application's path; do not instantiate it.
    ``id`` is unique in the process; ``websocket`` is the application.
    """

    websocket: WebSocket

    def initialize(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    # Defaults at class level and values derived on demand: an idle connection's instance dict
    # holds only what it uses, and stays under the size at which Python stops sharing the
    # keys of instance dicts (the difference is about 1.3 KiB a connection).
    last_seen = 0.0
    """When the peer last showed it is alive (``time.monotonic()``): a message or a pong.
    0.0 until the connection opened and again once it closed."""
    _id: int | None = None
    _user: Any = None
    _bucket: TokenBucket | None = None
    _plain_handler_running = False
    _waiting: deque[Any] | None = None
    _reading_paused: asyncio.Future[None] | None = None
    _state: dict[str, Any] | None = None
    _session: Any = None

    @property
    def id(self) -> int:
        """A number unique among the connections of this process."""
        if self._id is None:
            self._id = next(_connection_ids)
        return self._id

    @property
    def user(self) -> Any:
        """The Django user of the connection (``AnonymousUser`` when not logged in), read from
        the session cookie at the handshake; ``None`` without Django's auth apps."""
        if self._user is None and self._runtime.django_auth:
            return auth.anonymous_user()
        return self._user

    @user.setter
    def user(self, value: Any) -> None:
        self._user = value

    # -- handshake (loop thread) ----------------------------------------------------------

    async def prepare(self) -> None:
        # prepare() rather than get(): its frame is gone once the handshake is accepted, while
        # get() lives as long as the connection.
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            refusal = await admit(self, self._runtime)
            if refusal is not None:
                self.set_status(refusal.status)
                self.finish(refusal.reason)

    def check_origin(self, origin: str) -> bool:
        return True  # already decided by handshake.admit, with the configured policy

    @property
    def max_message_size(self) -> int:
        return int(
            self.settings.get("websocket_max_message_size", self._runtime.config.max_message_size)
        )

    @property
    def ping_interval(self) -> float | None:
        return None  # the server's Heartbeat pings every connection: no task per connection

    def on_pong(self, data: bytes) -> None:
        self.last_seen = time.monotonic()

    # -- lifecycle (loop thread) ----------------------------------------------------------

    def open(self, *args: str, **kwargs: str) -> None:
        config = self._runtime.config
        self.last_seen = time.monotonic()
        self._runtime.open_connections += 1
        self.websocket.stats.connections_open += 1
        if self.ws_connection is not None:
            stream = getattr(self.ws_connection, "stream", None)
            if stream is not None:
                # Past this many unsent bytes, writes raise StreamBufferFullError: see send_frame.
                stream.max_write_buffer_size = config.max_queued_bytes
        if getattr(self.user, "is_authenticated", False):
            self.websocket.rooms.add_user(self, user_key(self.user))
        self.websocket.handlers.append(self)
        empty = EventData()
        for handler in self.websocket.lifecycle["open"]:
            self._submit((handler, empty, None))

    def on_close(self) -> None:
        if not self.last_seen:  # refused or failed handshake: nothing to undo, no close handler
            return
        self.last_seen = 0.0
        self._runtime.open_connections -= 1
        self.websocket.stats.connections_open -= 1
        self.websocket.handlers.remove(self)
        authenticated = getattr(self.user, "is_authenticated", False)
        self.websocket.rooms.remove(self, user_key(self.user) if authenticated else None)
        empty = EventData()
        for handler in self.websocket.lifecycle["close"]:
            self._submit((handler, empty, None))
        if self._reading_paused is not None and not self._reading_paused.done():
            self._reading_paused.set_result(None)

    def on_message(self, message: str | bytes) -> asyncio.Future[None] | None:
        self.last_seen = time.monotonic()
        self.websocket.stats.messages_received += 1
        bucket = self._bucket
        if bucket is None:  # created on the first message: idle connections never need one
            config = self._runtime.config
            bucket = self._bucket = TokenBucket(config.message_rate, config.message_burst)
        if not bucket.take():
            if bucket.refused == 1:
                self._answer_in_turn(None, TOO_MANY_MESSAGES)
            elif bucket.refused == int(bucket.burst) + 1:  # once: later frames are just dropped
                logger.warning("Closing %r: it kept sending past TORNADO['message_rate'].", self)
                self._submit(partial(self.close, RATE_EXCEEDED, "Message rate exceeded"))
            return None
        try:
            frame = parse_frame(message, self._runtime.config.max_event_name_length)
        except ProtocolError as error:
            self._answer_in_turn(error.ack_id, error.message)
            return None
        handler = self.websocket.events.get(frame.event)
        if handler is None:
            # Unknown events are ignored, as in the original library; a request still gets an
            # answer so that the client's promise does not wait for its timeout.
            if frame.ack_id is not None:
                self._answer_in_turn(frame.ack_id, f"Unknown event {frame.event!r}.")
            return None
        try:
            data = frame.data()
        except ProtocolError as error:
            self._answer_in_turn(error.ack_id, error.message)
            return None
        self._submit((handler, data, frame.ack_id))
        waiting = self._waiting
        if waiting is not None and len(waiting) >= MAX_QUEUED_MESSAGES:
            self._reading_paused = asyncio.get_running_loop().create_future()
            return self._reading_paused
        return None

    # -- sending ---------------------------------------------------------------------------

    def emit(self, event: str, data: Any = None) -> None:
        """Send ``event`` with ``data`` to this client.

        ``data`` is normalised like ``WebSocket.emit`` (falsy → ``{}``, str →
        ``{'message': str}``); ``TypeError`` for anything else or for an unencodable payload.
        Safe from any thread; an emit to a closed connection is dropped.
        """
        frame = text_frame(encode_event(event, normalize_emit_data(event, data), dumps))
        run = self._runtime
        if run.thread_id == runtime.current_thread_id():
            self.send_frame(frame)
        else:
            run.loop.add_callback(self.send_frame, frame)

    def emit_warning(self, message: str) -> None:
        """Send a ``warning`` event with ``{'message': message}``. Safe from any thread."""
        self.emit("warning", {"message": message})

    def _send_payload(self, payload: bytes) -> None:
        self.send_frame(text_frame(payload))

    def send_frame(self, frame: bytes) -> bool:
        """Write an already framed message (``protocol.text_frame``). Loop thread only.

        Returns False, without raising, when the connection is closed or closing.
        """
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            return False
        # Tornado keeps these attributes on its protocol object; when they are missing (another
        # Tornado version) or compression was negotiated, take the regular, slower path.
        stream = getattr(connection, "stream", None)
        if stream is None or getattr(connection, "_compressor", True) is not None:
            try:
                self.write_message(_payload_of(frame))
            except tornado.websocket.WebSocketClosedError:
                return False
            except StreamBufferFullError:
                self._close_slow_consumer(stream)
                return False
            self.websocket.stats.messages_sent += 1
            return True
        try:
            stream.write(frame)
        except StreamClosedError:
            return False
        except StreamBufferFullError:
            self._close_slow_consumer(stream)
            return False
        self.websocket.stats.messages_sent += 1
        return True

    def _close_slow_consumer(self, stream: Any) -> None:
        logger.warning(
            "Closing %r with %d: more than TORNADO['max_queued_bytes'] (%d bytes) unsent.",
            self,
            SLOW_CONSUMER,
            stream.max_write_buffer_size,
        )
        self.websocket.stats.slow_consumer_disconnects += 1
        stream.max_write_buffer_size = None  # room for the close frame
        super().close(SLOW_CONSUMER, "Slow consumer")

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the connection (``code``, ``reason``). Safe from any thread."""
        run = self._runtime
        if run.thread_id == runtime.current_thread_id():
            super().close(code, reason)
        else:
            run.loop.add_callback(super().close, code, reason)

    @property
    def session(self) -> Any:
        """The Django session of the connection, read from its session cookie at the handshake
        (an empty, unsaved one without a cookie; ``None`` without Django's session app)."""
        if self._session is None and self._runtime.django_auth:
            self._session = auth.empty_session()
        return self._session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    # -- rooms -------------------------------------------------------------------------------

    def join(self, room: str) -> None:
        """Join ``room`` (any thread). ``TooManyRoomsError`` past ``max_rooms_per_socket``."""
        self.websocket.rooms.join(self, room, self._runtime.config.max_rooms_per_socket)

    def leave(self, room: str) -> None:
        """Leave ``room`` (any thread); leaving a room one is not in does nothing."""
        self.websocket.rooms.leave(self, room)

    @property
    def rooms(self) -> frozenset[str]:
        """The rooms this connection is in."""
        return self.websocket.rooms.rooms_of(self)

    @property
    def state(self) -> dict[str, Any]:
        """A dict of your own for this connection (a username, a counter...), empty at first."""
        if self._state is None:
            self._state = {}
        return self._state

    @property
    def closed(self) -> bool:
        """Whether the connection is closed or closing."""
        connection = self.ws_connection
        return connection is None or connection.is_closing()

    def __json__(self) -> dict[str, int]:
        return {"id": self.id}

    def __repr__(self) -> str:
        return f"<WebSocketHandler #{self.id} on {self.websocket.url_path}>"


def _payload_of(frame: bytes) -> bytes:
    """Strip the header ``text_frame`` added."""
    length = frame[1] & 0x7F
    return frame[2 + {126: 2, 127: 8}.get(length, 0) :]
