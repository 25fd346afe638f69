"""``WebSocketHandler``: one client connection, the ``socket`` handlers receive.

Dispatch rules:

- every Tornado object is touched on the loop thread only; ``emit`` and ``close`` are safe from
  any thread because they hop onto the loop (``runtime.on_loop``);
- ``async def`` handlers run on the loop, each as its own task (started eagerly on Python
  3.11+; on 3.11 one that cannot wait runs without a task, see ``eager``); plain handlers run
  in the worker pool, so the Django ORM works in them;
- handlers of one connection start in the order its messages arrived, and its plain handlers
  run one at a time: a message that arrives while a plain handler runs waits its turn;
- nothing a client sends and no exception a handler raises closes the connection: the client
  gets a warning (or an ack error when it asked for an ack) and the server logs the traceback;
  the limits (rate, sizes, RFC 6455 itself) are the exceptions, each with its close code.

A connection of a logged-in user is in that user's group from ``open`` on, then re-checks in the
worker pool that its session still logs that user in before it serves anything: a logout that
happened between the handshake's reading of the session and ``open`` closes it with 4001.

Writing to the client (the outbox, slow consumers) is ``framewriter.FrameWriter``'s.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable
from functools import partial
from typing import Any

import tornado.websocket

from . import auth, runtime
from .encoding import dumps
from .framewriter import FrameWriter
from .handshake import admit
from .history import recovery as history_recovery
from .protocol import (
    LOGGED_OUT,
    RATE_EXCEEDED,
    SLOW_CONSUMER,
    EventData,
    encode_event,
    normalize_emit_data,
    text_frame,
)
from .ratelimit import TokenBucket
from .responseheaders import default_headers
from .rfc6455 import MaskedFramesOnly
from .rooms import user_key
from .websocket import WebSocket

__all__ = ["WebSocketHandler", "SLOW_CONSUMER", "RATE_EXCEEDED"]

# What Tornado's get_websocket_protocol builds a WebSocketProtocol13 from (Tornado 6.x); None
# on a version without it, where Tornado's method is called and its protocol's params used.
_WebSocketParams: Any = getattr(tornado.websocket, "_WebSocketParams", None)

logger = logging.getLogger("tornado_websockets")

TOO_MANY_MESSAGES = "Too many messages: slow down."

_connection_ids = itertools.count(1)


class WebSocketHandler(FrameWriter):
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
    _waiting_bytes = 0
    _reading_paused: asyncio.Future[None] | None = None
    _state: dict[str, Any] | None = None
    _session: Any = None
    recovery: history_recovery.Recovery | None = None
    """Set while the connection recovers what it missed (WebSockets with history only)."""

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

    def _logged_in_with_session(self, digest: str) -> bool:
        """Whether a logged-in user opened this connection with the session whose key has
        ``digest`` (``auth.session_digest``). Loop thread."""
        if not getattr(self._user, "is_authenticated", False):
            return False
        key = getattr(self._session, "session_key", None)
        return isinstance(key, str) and auth.session_digest(key) == digest

    # -- handshake (loop thread) ----------------------------------------------------------

    def clear(self) -> None:
        """Reset the answer's headers, status and body, as ``RequestHandler.clear`` does, with
        the ``Date`` formatted once a second (``responseheaders``). Loop thread."""
        self._headers = default_headers()
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = "OK"

    async def prepare(self) -> None:
        # prepare() rather than get(): its frame is gone once the handshake is accepted, while
        # get() lives as long as the connection.
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            refusal = await admit(self, self._runtime)
            if refusal is not None:
                self.websocket.stats.refused_handshakes += 1
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

    def get_websocket_protocol(self) -> Any:
        # Tornado's method builds a WebSocketProtocol13 from these parameters; ours builds its
        # subclass from the same, rather than both (one protocol object a handshake fewer).
        if _WebSocketParams is not None and (
            self.request.headers.get("Sec-WebSocket-Version") == "13"
        ):
            params = _WebSocketParams(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                max_message_size=self.max_message_size,
                compression_options=self.get_compression_options(),
            )
        else:
            protocol = super().get_websocket_protocol()
            if type(protocol) is not tornado.websocket.WebSocketProtocol13:
                return protocol  # none for this request, or another Tornado version's
            params = protocol.params
        if self._runtime.config.transport == "asyncio":
            # Tornado for the handshake, then an asyncio Protocol: see transport.takeover.
            from .transport.takeover import TakeoverProtocol13

            return TakeoverProtocol13(self, False, params)
        # The subclass itself rather than a __class__ assignment, which on Python 3.13 gives
        # the object a dict of its own (about 340 bytes more per connection).
        return MaskedFramesOnly(self, False, params)

    def on_pong(self, data: bytes) -> None:
        self.last_seen = time.monotonic()

    # -- lifecycle (loop thread) ----------------------------------------------------------

    def open(self, *args: str, **kwargs: str) -> Awaitable[None] | None:
        if self._on_close_called:
            # The client left while the handshake's checks waited (a session read, an
            # authorize): Tornado has called on_close already and will not again, so the
            # connection is neither counted nor served.
            return None
        run = self._runtime  # looked up once: runtime.current() is not free
        config = run.config
        self.last_seen = time.monotonic()
        run.open_connections += 1
        self.websocket.stats.connections_open += 1
        if self.ws_connection is not None:
            stream = getattr(self.ws_connection, "stream", None)
            if stream is not None:
                # Past this many unsent bytes, writes raise StreamBufferFullError: see send_frame.
                stream.max_write_buffer_size = config.max_queued_bytes
        user = self._user  # unset: the anonymous user (or None), never authenticated
        if user is not None and getattr(user, "is_authenticated", False):
            # In the user's group first: a logout from now on closes this socket, and one that
            # came before has already deleted the session, which the re-check then finds gone.
            self.websocket.rooms.add_user(self, user_key(self.user))
            return self._serve_if_session_current()  # Tornado reads no frame until it is done
        self._serve()
        return None

    async def _serve_if_session_current(self) -> None:
        key = getattr(self.session, "session_key", None)
        future = runtime.run_in_worker(self._runtime, auth.still_current, [(key, self.user.pk)])
        try:
            (current,) = await asyncio.wrap_future(future)
        except Exception:
            # The handshake read this session a moment ago; the periodic re-check tries again.
            logger.exception("Could not re-check the session of %r: kept open.", self)
            current = True
        if not current:
            self.close(LOGGED_OUT, "Logged out")
        elif not self.closed:
            self._serve()

    def _serve(self) -> None:
        """Listed among the application's connections, open handlers started."""
        self.websocket.handlers.append(self)
        if self.websocket.history_size:
            history_recovery.begin(self, len(self.websocket.lifecycle["open"]))
        if self.websocket.presence_enabled:
            self.websocket._presence_opened(self)
        empty = EventData()
        for handler in self.websocket.lifecycle["open"]:
            self._submit((handler, empty, None))

    def on_close(self) -> None:
        if not self.last_seen:  # refused or failed handshake: nothing to undo, no close handler
            return
        self.last_seen = 0.0
        self._runtime.open_connections -= 1
        self.websocket.stats.connections_open -= 1
        self._outbox = None
        authenticated = getattr(self.user, "is_authenticated", False)
        self.websocket.rooms.remove(self, user_key(self.user) if authenticated else None)
        self._drop_waiting_frames()
        try:
            self.websocket.handlers.remove(self)
        except ValueError:
            return  # closed before it was served (its session had ended): no open, no close
        if self.websocket.presence_enabled:
            self.websocket._presence_closed(self)
        empty = EventData()
        for handler in self.websocket.lifecycle["close"]:
            self._submit((handler, empty, None))

    def on_message(self, message: str | bytes) -> asyncio.Future[None] | None:
        self.last_seen = time.monotonic()
        self.websocket.stats.messages_received += 1
        connection = self.ws_connection
        if connection is None or connection.server_terminated:
            return None  # the server is closing it: what still arrives is not handled
        bucket = self._bucket
        if bucket is None:  # created on the first message: idle connections never need one
            config = self._runtime.config
            bucket = self._bucket = TokenBucket(config.message_rate, config.message_burst)
        if not bucket.take():
            if bucket.refused == 1:
                self._answer_in_turn(None, TOO_MANY_MESSAGES)
            elif bucket.refused == int(bucket.burst) + 1:  # once: later frames are just dropped
                logger.warning("Closing %r: it kept sending past TORNADO['message_rate'].", self)
                self.websocket.stats.rate_limit_closes += 1
                self._submit(partial(self.close, RATE_EXCEEDED, "Message rate exceeded"))
            return None
        return self._receive_in_turn(message)

    # -- sending ---------------------------------------------------------------------------

    def emit(self, event: str, data: Any = None) -> None:
        """Send ``event`` with ``data`` to this client.

        ``data`` is normalised like ``WebSocket.emit`` (falsy → ``{}``, str →
        ``{'message': str}``); ``TypeError`` for anything else or for an unencodable payload.
        Safe from any thread; an emit to a closed connection is dropped.
        """
        frame = text_frame(encode_event(event, normalize_emit_data(event, data), dumps))
        self._send_from_any_thread(frame)

    def emit_warning(self, message: str) -> None:
        """Send a ``warning`` event with ``{'message': message}``. Safe from any thread."""
        self.emit("warning", {"message": message})

    def _send_payload(self, payload: bytes) -> None:
        self._send_in_order(text_frame(payload))

    def _send_in_order(self, frame: bytes) -> None:
        # Behind the frames of a fan-out still being written, so that none overtakes another.
        self.websocket.fanout.send(frame, (self,))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the connection (``code``, ``reason``), after the frames already emitted to it
        (even those a fan-out has not written yet).
        Safe from any thread."""
        close = partial(self._close_after_outbox, code, reason)
        runtime.on_loop(self._runtime, self.websocket.fanout.in_order, close)

    def _close_after_outbox(self, code: int | None, reason: str | None) -> None:
        self._flush_outbox()
        super().close(code, reason)

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
        if self.websocket.presence_enabled:
            self.websocket._presence_joined(self, room)

    def leave(self, room: str) -> None:
        """Leave ``room`` (any thread); leaving a room one is not in does nothing."""
        self.websocket.rooms.leave(self, room)
        if self.websocket.presence_enabled:
            self.websocket._presence_left(self, room)

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

    def __json__(self) -> dict[str, int]:
        return {"id": self.id}

    def __repr__(self) -> str:
        return f"<WebSocketHandler #{self.id} on {self.websocket.url_path}>"
