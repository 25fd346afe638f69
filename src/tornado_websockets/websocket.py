"""``WebSocket(path)``: one WebSocket application, its event handlers and its connections.

Declaring ``WebSocket('/echo')`` registers the application on ``/ws/echo`` for every server of
this process (the route exists from the first connection, even when the app is declared after
the server started). ``@ws.on`` registers handlers; ``ws.emit`` sends to every connection.

Thread affinity: declare applications and handlers at import time. ``emit`` is safe from any
thread of a process that runs the server. ``handlers`` is changed only on the loop thread.

The declaration registry (``get_websocket``, ``websockets``, ``serving_websockets``,
``on_declared``, ``normalize_path``) lives in ``registry.py`` and the emit-target resolution and
``emit(path, ...)`` in ``targets.py``; both are re-exported here, where users import them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from . import auth, cluster, registry, runtime
from .encoding import dumps
from .envelope import EMIT, LOGOUT, SESSION_ENDED, Envelope
from .eventhandler import EventHandler, name_of
from .exceptions import InvalidInstanceError, NotCallableError
from .fanout import FanOut
from .history import feed, recovery
from .presence.application import DIFF, PresenceMixin
from .protocol import LOGGED_OUT, encode_event, normalize_emit_data, text_frame
from .registry import URL_PREFIX as URL_PREFIX  # re-exported for existing imports
from .registry import (
    _caller_frame,
    get_websocket,
    on_declared,
    serving_websockets,
    websockets,
)
from .registry import normalize_path as normalize_path
from .rooms import Rooms, user_key
from .stats import PathStats
from .targets import as_list, split_targets
from .targets import emit as emit  # re-exported: ``tornado_websockets.websocket.emit``

if TYPE_CHECKING:
    from .modules.module import Module
    from .websockethandler import WebSocketHandler

__all__ = [
    "WebSocket",
    "EventHandler",
    "LIFECYCLE_EVENTS",
    "get_websocket",
    "websockets",
    "serving_websockets",
    "on_declared",
]

logger = logging.getLogger("tornado_websockets")

F = TypeVar("F", bound=Callable[..., Any])

Authorize = Callable[[Any, Any], Any]
"""``authorize(request, user)``: truthy to accept a handshake; may be ``async def``."""

LIFECYCLE_EVENTS = frozenset({"open", "close"})
"""Events the server raises itself; a client sending these names triggers nothing."""
RESERVED_PREFIX = "$"
"""Wire event names starting with it belong to the library (``$recover``, ``$recovered``,
``$presence``, ``$presence_stats``, ``$presence_diff``)."""


class WebSocket(PresenceMixin):
    """A WebSocket application served on ``/ws`` + ``path``.

    ``path`` is normalised (``'echo'`` → ``'/echo'``). Declaring a path again (a test's
    ``setUp``, a reloaded module) replaces the older application, with a
    ``PathRedeclaredWarning`` naming both declarations (see ``declare``). The application is
    also a sequence of its open connections: ``ws[0]``, ``len(ws)``, ``for socket in ws``.

    ``login_required=True`` refuses handshakes of anonymous users (HTTP 403).
    ``authorize(request, user)`` (plain or ``async def``) decides the others: falsy → 403. A
    plain ``authorize`` runs in the worker pool, so it may query the database.

    ``history=N`` keeps the last ``N`` messages of the broadcast stream and of each room's
    stream, each for ``history_ttl`` seconds, so that reconnecting clients recover what they
    missed (see ``docs/topics/delivery.md``). ``ValueError`` for a bad ``history`` or
    ``history_ttl``.

    ``presence=True`` records who is connected, on every node (``presence()``,
    ``presence_stats()``); ``presence_events=True`` also sends the joins and leaves to the
    members of each room and to every connection of the application (``"rooms"``: rooms only).
    """

    def __init__(
        self,
        path: str,
        *,
        login_required: bool = False,
        authorize: Authorize | None = None,
        history: int = 0,
        history_ttl: float = 300.0,
        presence: bool = False,
        presence_events: bool | str = False,
    ) -> None:
        if authorize is not None and not callable(authorize):
            raise NotCallableError(authorize)
        self.history_size, self.history_ttl = feed.check_options(history, history_ttl)
        self.path = normalize_path(path)
        self.url_path = URL_PREFIX + self.path
        self.events: dict[str, EventHandler] = {}
        self.lifecycle: dict[str, list[EventHandler]] = {name: [] for name in LIFECYCLE_EVENTS}
        self.handlers: list[WebSocketHandler] = []
        self.context: Any = None
        self.modules: list[Module] = []
        self.login_required = login_required
        self.authorize = authorize
        self.authorize_is_async = authorize is not None and inspect.iscoroutinefunction(authorize)
        self.rooms: Rooms[WebSocketHandler] = Rooms()
        self.stats = PathStats()
        # The library's own request, under a reserved name that register() refuses.
        self.events[recovery.REQUEST] = EventHandler(recovery.REQUEST, recovery.recover)
        self.fanout = FanOut()
        """Writes this application's frames in order, a chunk per loop iteration."""
        self._init_presence(presence, presence_events)
        caller = _caller_frame()
        self.declared_at = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        """``file:line`` of the ``WebSocket(...)`` call, named by ``PathRedeclaredWarning``."""
        self._declaring_module: dict[str, Any] = caller.f_globals
        self.declare()

    # -- declaration ------------------------------------------------------------------------

    def declare(self) -> None:
        """Serve this application on its path; ``WebSocket(path)`` calls it for you.

        Another application declared on the path is replaced, with a ``PathRedeclaredWarning``
        naming both declarations. Connections open on the replaced one stay with it (its
        handlers, its rooms, its emits) until they close; new handshakes reach this one. Call it
        again after ``undeclare`` to serve this application again. Declare at import time or from
        the loop thread; routing reads the declaration on each handshake.
        """
        registry.declare(self)

    def undeclare(self) -> None:
        """Stop serving this application: new handshakes on its path find no WebSocket (the
        next routes answer, usually 404). Open connections stay until they close. Does nothing
        when another application has replaced it. Same thread rules as ``declare``."""
        registry.undeclare(self)

    # -- handlers ---------------------------------------------------------------------------

    def on(self, callback: F) -> F:
        """Decorator: run ``callback`` when a client sends the event named like the function.

        ``open(socket)`` and ``close(socket)`` run when a connection opens and closes; clients
        cannot trigger them by sending those names. Raises ``NotCallableError``.
        """
        if not callable(callback):
            raise NotCallableError(callback)
        self.register(callback.__name__, callback)
        return callback

    def register(self, event: str, callback: Callable[..., Any]) -> EventHandler:
        """Register ``callback`` for ``event`` under any name (``on`` uses the function's name).

        A second handler for the same client event replaces the first (logged); lifecycle
        events (``open``, ``close``) keep every handler, run in registration order. Names
        starting with ``$`` are reserved for the library (``ValueError``).
        """
        if not callable(callback):
            raise NotCallableError(callback)
        if not isinstance(event, str) or not event:
            raise TypeError(f"An event name should be a non-empty string, got {event!r}.")
        if event.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"Event names starting with {RESERVED_PREFIX!r} are reserved for the library, "
                f"got {event!r}."
            )
        handler = EventHandler(event, callback)
        if event in LIFECYCLE_EVENTS:
            self.lifecycle[event].append(handler)
        else:
            previous = self.events.get(event)
            if previous is not None and previous.function is not callback:
                logger.warning(
                    "Event %r of %s was handled by %s; %s replaces it.",
                    event,
                    self.url_path,
                    name_of(previous.function),
                    name_of(callback),
                )
            self.events[event] = handler
        return handler

    def bind(self, module: Module) -> None:
        """Attach ``module`` (e.g. a ``ProgressBar``) to this application.

        Raises ``InvalidInstanceError`` (a ``TypeError``) for anything but a ``Module``.
        """
        from .modules.module import Module

        if not isinstance(module, Module):
            raise InvalidInstanceError(module, "tornado_websockets.modules.Module")
        if module in self.modules:
            return
        module.attach(self)
        self.modules.append(module)

    # -- emitting ---------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: Any = None,
        exclude: Any = None,
        user: Any = None,
    ) -> None:
        """Send ``event`` with ``data`` to the connections of this application, on every node.

        - no ``to`` and no ``user``: every open connection;
        - ``to``: a room name, a connection, or a list of those;
        - ``user``: a Django user or its primary key (or a list): every connection of that user;
        - ``exclude``: a connection (or a list) that must not receive it, e.g. the sender.

        ``data``: falsy → ``{}``, a string → ``{'message': data}``, a dict as is; anything else
        raises ``TypeError``, as does a payload Django's JSON encoder cannot encode (raised here,
        naming the event). The frame is encoded once for all recipients.

        Safe from any thread. Connections of this process get it at once; with a broker
        (``TORNADO['broker']``) the other processes get it through the broker. In a process
        without a server, the emit goes through the broker only; ``EmitHandlerError`` when none
        is configured.
        """
        payload = encode_event(event, normalize_emit_data(event, data), dumps)
        broadcast = to is None and user is None
        rooms, sockets = split_targets(to)
        users = tuple(user_key(each) for each in as_list(user))
        excluded = tuple(as_list(exclude))
        if self.history_size and not users and not sockets and not event.startswith("$"):
            # Stored first, then fanned out on every node in offset order (history/feed.py).
            # The library's own events ($presence_diff...) are live only: never stored.
            addresses = tuple(cluster.socket_address(socket.id) for socket in excluded)
            feed.emit(self, event, payload, rooms, addresses)
            return
        run = runtime.current()
        if run is not None:
            frame = text_frame(payload)
            if broadcast and not excluded:
                runtime.call_on_loop(self.send_frame_to_all, frame)
            else:
                send = self._send_to
                runtime.call_on_loop(send, frame, broadcast, rooms, users, sockets, excluded)
            if run.broker is None or not (broadcast or rooms or users):
                return
        envelope = Envelope(
            EMIT,
            cluster.node_id(),
            event,
            payload,
            broadcast,
            rooms,
            users,
            exclude=tuple(cluster.socket_address(socket.id) for socket in excluded),
        )
        cluster.publish(self.url_path, envelope)

    def send_frame_to_all(self, frame: bytes) -> None:
        """Write a framed message (``protocol.text_frame``) to every open connection.

        Loop thread only; never raises: closed connections are skipped. A large fan-out is
        written a chunk per loop iteration (``fanout.FanOut``), in order with every other
        frame to the same connections.
        """
        self.stats.emits += 1
        self.fanout.send(frame, tuple(self.handlers))

    def _send_to(
        self,
        frame: bytes,
        broadcast: bool,
        rooms: tuple[str, ...],
        users: tuple[str, ...],
        sockets: Iterable[WebSocketHandler],
        excluded: Iterable[WebSocketHandler],
    ) -> None:
        """Loop thread: write ``frame`` to the resolved recipients, each once."""
        self.stats.emits += 1
        if broadcast:
            recipients: set[WebSocketHandler] = set(self.handlers)
        else:
            recipients = self.rooms.members(rooms, users)
            recipients.update(sockets)
        recipients.difference_update(excluded)
        self.fanout.send(frame, tuple(recipients))

    def close_user(self, user: Any) -> None:
        """Close every connection of ``user`` (a user or its primary key) with 4001, on every
        node. Any thread; called for you when a user logs out."""
        key = user_key(user)

        def close_here() -> None:
            for socket in self.rooms.members(users=[key]):
                socket.close(LOGGED_OUT, "Logged out")

        run = runtime.current()
        if run is not None:
            runtime.call_on_loop(close_here)
        if run is None or run.broker is not None:
            cluster.publish(self.url_path, Envelope(LOGOUT, cluster.node_id(), users=(key,)))

    def close_session(self, session_key: str) -> None:
        """Close, with 4001 and on every node, the connections that logged-in users opened with
        the session ``session_key``, which has ended. Any thread; called for you when a login
        replaces a browser's session (another user logs in in the same browser)."""
        digest = auth.session_digest(session_key)
        run = runtime.current()
        if run is not None:
            runtime.call_on_loop(self._close_session_here, digest)
        if run is None or run.broker is not None:
            ended = Envelope(SESSION_ENDED, cluster.node_id(), session=digest)
            cluster.publish(self.url_path, ended)

    def _close_session_here(self, digest: str) -> None:
        # A scan of the connections rather than an index: sessions end this way only when a
        # login replaces them, rarely, and an index would cost every connection its memory.
        for socket in list(self.handlers):
            if socket._logged_in_with_session(digest):
                socket.close(LOGGED_OUT, "Logged out")

    def deliver_envelope(self, envelope: Envelope) -> None:
        """Loop thread: deliver what another node published on this application's channel."""
        if envelope.offset is not None:
            feed.deliver(self, envelope)
            return
        if envelope.kind == LOGOUT:
            for socket in self.rooms.members(users=envelope.users):
                socket.close(LOGGED_OUT, "Logged out")
            return
        if envelope.kind == SESSION_ENDED:
            self._close_session_here(envelope.session)
            return
        own = cluster.node_id() + ":"
        wanted = {int(a[len(own) :]) for a in envelope.sockets if a.startswith(own)}
        excluded = {int(a[len(own) :]) for a in envelope.exclude if a.startswith(own)}
        if envelope.broadcast:
            recipients: set[WebSocketHandler] = set(self.handlers)
        else:
            recipients = self.rooms.members(envelope.rooms, envelope.users)
            if wanted:
                recipients.update(s for s in self.handlers if s.id in wanted)
        if envelope.event == DIFF:
            self._forget_presence_reads()
        frame = text_frame(envelope.payload)
        self.fanout.send(frame, tuple(s for s in recipients if s.id not in excluded))
        for module in self.modules:
            module.mirror(envelope.event, envelope.payload)

    # -- history ------------------------------------------------------------------------------

    def history(
        self, room: str | None = None, limit: int | None = None, since: int | None = None
    ) -> list[feed.StoredMessage]:
        """The stored messages of the broadcast stream (or of ``room``'s), oldest first.

        ``since``: only those after this offset (at most ``limit``); without it, the latest
        ``limit``. ``limit`` defaults to the history size, at most
        ``TORNADO['history_query_limit']``. Any thread, and processes without a server (with
        the Redis broker); on the loop thread with Redis, use ``await ws.ahistory(...)``.
        ``ValueError`` when this WebSocket keeps no history or for a bad argument.
        """
        return feed.read_blocking(self, room, limit, since)

    async def ahistory(
        self, room: str | None = None, limit: int | None = None, since: int | None = None
    ) -> list[feed.StoredMessage]:
        """``history`` for ``async def`` code on the server's loop."""
        return await feed.aread(self, room, limit, since)

    # -- the sequence of connections -------------------------------------------------------

    def __getitem__(self, index: int) -> WebSocketHandler:
        return self.handlers[index]

    def __len__(self) -> int:
        return len(self.handlers)

    def __iter__(self) -> Iterator[WebSocketHandler]:
        return iter(tuple(self.handlers))

    def __bool__(self) -> bool:
        # An application with no connection is still an application: `if ws:` must not lie.
        return True

    def __repr__(self) -> str:
        return f"<WebSocket {self.url_path} ({len(self.handlers)} open)>"
