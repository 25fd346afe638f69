"""``WebSocket(path)``: one WebSocket application, its event handlers and its connections.

Declaring ``WebSocket('/echo')`` registers the application on ``/ws/echo`` for every server of
this process (the route exists from the first connection, even when the app is declared after
the server started). ``@ws.on`` registers handlers; ``ws.emit`` sends to every connection.

Thread affinity: declare applications and handlers at import time. ``emit`` is safe from any
thread of a process that runs the server. ``handlers`` is changed only on the loop thread.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from . import runtime
from .encoding import dumps
from .exceptions import DuplicatePathError, InvalidHandlerError, NotCallableError
from .protocol import encode_event, normalize_emit_data, text_frame
from .rooms import Rooms, user_key

if TYPE_CHECKING:
    from .modules.module import Module
    from .websockethandler import WebSocketHandler

__all__ = ["WebSocket", "EventHandler", "LIFECYCLE_EVENTS", "get_websocket", "websockets"]

logger = logging.getLogger("tornado_websockets")

F = TypeVar("F", bound=Callable[..., Any])

Authorize = Callable[[Any, Any], Any]
"""``authorize(request, user)``: truthy to accept a handshake; may be ``async def``."""

URL_PREFIX = "/ws"
LIFECYCLE_EVENTS = frozenset({"open", "close"})
"""Events the server raises itself; a client sending these names triggers nothing."""

INJECTABLE = ("self", "socket", "data")

_registry: dict[str, WebSocket] = {}


def get_websocket(url_path: str) -> WebSocket | None:
    """The application served on ``url_path`` (e.g. ``'/ws/echo'``), if any. Any thread."""
    return _registry.get(url_path)


def websockets() -> list[WebSocket]:
    """Every declared application, in declaration order."""
    return list(_registry.values())


class EventHandler:
    """A handler function with its injection plan, worked out once at registration.

    ``invoke`` calls it with the parameters it asked for by name: ``self`` (the application's
    ``context``), ``socket`` (the connection) and ``data`` (the event's data).
    """

    __slots__ = ("function", "event", "wants_self", "wants_socket", "wants_data", "is_async")

    def __init__(self, event: str, function: Callable[..., Any]) -> None:
        self.event = event
        self.function = function
        # A callable object counts as async when its class's __call__ is.
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            type(function).__call__
        )
        wanted: set[str] = set()
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature: pass nothing
            parameters = ()  # type: ignore[assignment]
        for parameter in parameters:
            if parameter.kind is parameter.VAR_KEYWORD:
                wanted.update(("socket", "data"))
            elif parameter.kind is parameter.VAR_POSITIONAL:
                continue
            elif parameter.name in INJECTABLE and parameter.kind is not parameter.POSITIONAL_ONLY:
                wanted.add(parameter.name)
            elif parameter.default is parameter.empty:
                raise InvalidHandlerError(
                    f"Handler {_name_of(function)} of event {event!r} has a required parameter "
                    f"{parameter.name!r}; handlers may only ask for "
                    f"{', '.join(INJECTABLE)} (by keyword), or give other parameters defaults."
                )
        self.wants_self = "self" in wanted
        self.wants_socket = "socket" in wanted
        self.wants_data = "data" in wanted

    def invoke(self, context: Any, socket: WebSocketHandler, data: Any) -> Any:
        """Call the function; returns its result (a coroutine for ``async def`` handlers)."""
        kwargs: dict[str, Any] = {}
        if self.wants_self:
            kwargs["self"] = context
        if self.wants_socket:
            kwargs["socket"] = socket
        if self.wants_data:
            kwargs["data"] = data
        return self.function(**kwargs)

    def __repr__(self) -> str:
        return f"<EventHandler {self.event!r} → {_name_of(self.function)}>"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _name_of(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__qualname__", None) or repr(function))


def normalize_path(path: Any) -> str:
    """``'echo'``, ``'/echo'`` and ``' echo '`` all give ``'/echo'``; non-strings: TypeError."""
    if not isinstance(path, str):
        raise TypeError(f"The path of a WebSocket should be a string, got {path!r}.")
    stripped: str = path.strip()
    return stripped if stripped.startswith("/") else "/" + stripped


class WebSocket:
    """A WebSocket application served on ``/ws`` + ``path``.

    ``path`` is normalised (``'echo'`` → ``'/echo'``) and must be unique in the process
    (``DuplicatePathError`` otherwise). The application is also a sequence of its open
    connections: ``ws[0]``, ``len(ws)``, ``for socket in ws``.

    ``login_required=True`` refuses handshakes of anonymous users (HTTP 403).
    ``authorize(request, user)`` (plain or ``async def``) decides the others: falsy → 403. A
    plain ``authorize`` runs in the worker pool, so it may query the database.
    """

    def __init__(
        self,
        path: str,
        *,
        login_required: bool = False,
        authorize: Authorize | None = None,
    ) -> None:
        if authorize is not None and not callable(authorize):
            raise NotCallableError(authorize)
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
        if self.url_path in _registry:
            raise DuplicatePathError(self.url_path)
        _registry[self.url_path] = self

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
        events (``open``, ``close``) keep every handler, run in registration order.
        """
        if not callable(callback):
            raise NotCallableError(callback)
        if not isinstance(event, str) or not event:
            raise TypeError(f"An event name should be a non-empty string, got {event!r}.")
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
                    _name_of(previous.function),
                    _name_of(callback),
                )
            self.events[event] = handler
        return handler

    def bind(self, module: Module) -> None:
        """Attach ``module`` (e.g. a ``ProgressBar``) to this application."""
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
        """Send ``event`` with ``data`` to the connections of this application.

        - no ``to`` and no ``user``: every open connection;
        - ``to``: a room name, a connection, or a list of those;
        - ``user``: a Django user or its primary key (or a list): every connection of that user;
        - ``exclude``: a connection (or a list) that must not receive it, e.g. the sender.

        ``data``: falsy → ``{}``, a string → ``{'message': data}``, a dict as is; anything else
        raises ``TypeError``, as does a payload Django's JSON encoder cannot encode (raised here,
        naming the event). The frame is encoded once for all recipients. Safe from any thread;
        raises ``EmitHandlerError`` when no server runs in this process.
        """
        frame = text_frame(encode_event(event, normalize_emit_data(event, data), dumps))
        if to is None and user is None:
            if exclude is None:
                runtime.call_on_loop(self.send_frame_to_all, frame)
            else:
                runtime.call_on_loop(self._send_frame_to, frame, None, (), (), _as_list(exclude))
            return
        rooms: list[str] = []
        sockets: list[WebSocketHandler] = []
        for target in _as_list(to):
            if isinstance(target, str):
                rooms.append(target)
            elif hasattr(target, "send_frame"):
                sockets.append(target)
            else:
                raise TypeError(f"emit(to=...) takes room names and connections, got {target!r}.")
        users = [user_key(each) for each in _as_list(user)]
        runtime.call_on_loop(self._send_frame_to, frame, sockets, rooms, users, _as_list(exclude))

    def send_frame_to_all(self, frame: bytes) -> None:
        """Write a framed message (``protocol.text_frame``) to every open connection.

        Loop thread only; never raises: closed connections are skipped.
        """
        for socket in tuple(self.handlers):
            socket.send_frame(frame)

    def _send_frame_to(
        self,
        frame: bytes,
        sockets: list[WebSocketHandler] | None,
        rooms: list[str] | tuple[()],
        users: list[str] | tuple[()],
        exclude: list[Any],
    ) -> None:
        """Loop thread: write ``frame`` to the resolved recipients, each once."""
        if sockets is None:
            recipients: Iterable[WebSocketHandler] = tuple(self.handlers)
        else:
            recipients = self.rooms.members(rooms, users)
            recipients.update(sockets)
        excluded = set(exclude)
        for socket in recipients:
            if socket not in excluded:
                socket.send_frame(frame)

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
