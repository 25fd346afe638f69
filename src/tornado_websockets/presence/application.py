"""Presence as the ``WebSocket`` application offers it: ``ws.presence()``, the hooks, and the
``$presence`` requests of clients.

``WebSocket`` inherits ``PresenceMixin``. ``WebSocket('/chat', presence=True)`` records every
connection as present in the application from its opening, and in each room it joins; the
entries are shared through the store of ``TORNADO['broker']`` with every process.

Thread affinity: ``presence`` and ``presence_stats`` block (a Redis round trip): call them from
any thread but the server loop's, where they raise ``RuntimeError``; on the loop, await
``presence_async`` and ``presence_stats_async``. The connection hooks (``_presence_*``) are
called by ``WebSocketHandler``: open and close on the loop thread, join and leave from any
thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import runtime
from ..encoding import dumps
from ..eventhandler import EventHandler
from ..exceptions import ClientError, NotCallableError, PresenceUnavailableError
from . import service
from .base import APP_SCOPE, ROOMS_ONLY, PresenceStore
from .cache import ReadCache

if TYPE_CHECKING:
    from ..websockethandler import WebSocketHandler

__all__ = ["PresenceMixin", "REQUEST", "STATS_REQUEST", "DIFF", "default_presence_info"]

logger = logging.getLogger("tornado_websockets")

REQUEST = "$presence"
"""Client → server: ``{"room": <name or null>}`` with an ack id; answered with the entries."""
STATS_REQUEST = "$presence_stats"
"""Client → server: ``{"room": <name or null>}``; answered with ``{"clients", "users"}``."""
DIFF = "$presence_diff"
"""Server → client: ``{"room", "joins": [...], "leaves": [...]}`` (``"overflow": true`` when
too many changed at once: read the presence again)."""

ON_LOOP = (
    "ws.{name}() blocks on the store and cannot run on the server's loop thread "
    "(an async def handler): use `await ws.{name}_async(...)` there."
)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def default_presence_info(socket: Any) -> Any:
    """The username of an authenticated user, and nothing else; ``None`` for the others."""
    user = socket.user
    if user is not None and getattr(user, "is_authenticated", False):
        return {"username": user.get_username()}
    return None


class PresenceMixin:
    """The presence API of ``WebSocket``; see the module's docstring."""

    url_path: str
    events: dict[str, EventHandler]
    presence_enabled: bool = False
    """Whether connections of this application are recorded as present."""
    presence_events: bool | str = False
    """Whether members get ``$presence_diff`` frames (``join``/``leave`` in the JS client):
    ``True`` for the application and its rooms, ``"rooms"`` for rooms only."""
    _presence_info_hook: Callable[[Any], Any] = staticmethod(default_presence_info)
    _presence_visible_hook: Callable[[Any, str | None], Any] | None = None
    _presence_cache: ReadCache | None = None

    def _init_presence(self, presence: bool, presence_events: bool | str) -> None:
        if not isinstance(presence, bool):
            raise TypeError(f"WebSocket(presence=...) takes True or False, not {presence!r}.")
        if not isinstance(presence_events, bool) and presence_events != ROOMS_ONLY:
            raise TypeError(
                f"WebSocket(presence_events=...) takes True, False or {ROOMS_ONLY!r}, "
                f"not {presence_events!r}."
            )
        if presence_events and not presence:
            raise ValueError(f"WebSocket(presence_events={presence_events!r}) needs presence=True.")
        self.presence_enabled = presence
        self.presence_events = presence_events
        if presence:
            self.events[REQUEST] = EventHandler(REQUEST, self._presence_request)
            self.events[STATS_REQUEST] = EventHandler(STATS_REQUEST, self._presence_stats_request)

    # -- hooks --------------------------------------------------------------------------

    def presence_info(self, hook: F) -> F:
        """Decorator: ``hook(socket)`` returns what others may see of a connection (anything
        JSON can encode, at most ``TORNADO['presence_max_info_bytes']`` encoded; ``None`` for
        nothing). Called on the loop thread when the connection opens (it must not block), and
        in the thread of ``socket.join(room)`` for each room. Default: the username of an
        authenticated user."""
        if not callable(hook):
            raise NotCallableError(hook)
        self._presence_info_hook = hook
        return hook

    def presence_visible(self, hook: F) -> F:
        """Decorator: ``hook(socket, room)`` decides whether a client may read the presence of
        ``room`` (``None``: the whole application). Runs in the worker pool. Default: every
        connection sees the application, and members see their rooms."""
        if not callable(hook):
            raise NotCallableError(hook)
        self._presence_visible_hook = hook
        return hook

    # -- reading --------------------------------------------------------------------------

    def presence(self, room: str | None = None) -> list[dict[str, Any]]:
        """Every connection present in ``room`` (``None``: the application), on every node:
        ``[{"client": "<node id>:<connection id>", "user": <shared info or None>}, ...]``.

        Blocking; any thread but the server loop's (``RuntimeError`` there: await
        ``presence_async``), including a process without a server when the broker is Redis.
        Raises ``PresenceUnavailableError`` when presence is off or cannot be read.
        """
        store, scope = self._reader("presence", room)
        return [
            {"client": client, "user": info}
            for client, info in store.read(self.url_path, scope).items()
        ]

    def presence_stats(self, room: str | None = None) -> dict[str, int]:
        """``{"clients": n, "users": m}`` for ``room``: ``users`` counts distinct shared infos
        (a user with three tabs counts once; connections sharing ``None`` are not users). Same
        thread rules and errors as ``presence``."""
        store, scope = self._reader("presence_stats", room)
        clients, users = store.stats(self.url_path, scope)
        return {"clients": clients, "users": users}

    async def presence_async(self, room: str | None = None) -> list[dict[str, Any]]:
        """``presence`` for the loop thread: the read runs in the worker pool."""
        entries: list[dict[str, Any]] = await self._in_worker(self.presence, room)
        return entries

    async def presence_stats_async(self, room: str | None = None) -> dict[str, int]:
        """``presence_stats`` for the loop thread: the read runs in the worker pool."""
        stats: dict[str, int] = await self._in_worker(self.presence_stats, room)
        return stats

    async def _in_worker(self, function: Callable[[str | None], Any], room: str | None) -> Any:
        run = runtime.current()
        if run is None:
            return await asyncio.get_running_loop().run_in_executor(None, function, room)
        return await asyncio.wrap_future(runtime.run_in_worker(run, function, room))

    def _reader(self, name: str, room: str | None) -> tuple[PresenceStore, str]:
        if not self.presence_enabled:
            raise PresenceUnavailableError(
                f"Presence is off for {self.url_path}: declare it with WebSocket(..., "
                "presence=True)."
            )
        if room is not None and (not isinstance(room, str) or not room):
            raise TypeError(f"A room name should be a non-empty string, got {room!r}.")
        run = runtime.current()
        if run is not None and run.thread_id == threading.get_ident():
            raise RuntimeError(ON_LOOP.format(name=name))
        active = service.active()
        if run is not None and active is not None:
            _wait_for_own_writes(run, active)
        return self._store(), APP_SCOPE if room is None else room

    @staticmethod
    def _store() -> PresenceStore:
        active = service.active()
        return active.store if active is not None else service.standalone_store()

    # -- client requests (worker pool) ---------------------------------------------------

    def _visible_room(self, socket: WebSocketHandler, data: Any) -> str | None:
        room = data.get("room")
        if room is not None and (not isinstance(room, str) or not room):
            raise ClientError("The room should be a non-empty string or null.")
        hook = self._presence_visible_hook
        allowed = hook(socket, room) if hook is not None else room is None or room in socket.rooms
        if not allowed:
            where = "this application" if room is None else f"room {room!r}"
            raise ClientError(f"You may not see who is in {where}.")
        return room

    def _presence_request(self, socket: WebSocketHandler, data: Any) -> list[dict[str, Any]]:
        room = self._visible_room(socket, data)
        return self._cached(socket, ("entries", room), lambda: self.presence(room))

    def _presence_stats_request(self, socket: WebSocketHandler, data: Any) -> dict[str, int]:
        room = self._visible_room(socket, data)
        return self._cached(socket, ("stats", room), lambda: self.presence_stats(room))

    def _forget_presence_reads(self) -> None:
        """A join or leave of this application was announced: cached answers are stale."""
        if self._presence_cache is not None:
            self._presence_cache.clear()

    def _cached(self, socket: WebSocketHandler, key: Any, read: Callable[[], T]) -> T:
        cache = self._presence_cache
        if cache is None:
            cache = self._presence_cache = ReadCache()  # two threads may race: both work
        return cache.get(key, socket._runtime.config.presence_interval, read)

    # -- connections (called by WebSocketHandler) ---------------------------------------

    def _presence_info_of(self, socket: WebSocketHandler) -> str:
        try:
            info = dumps(self._presence_info_hook(socket))
        except Exception:
            logger.exception("The presence_info hook of %s failed; sharing null.", self.url_path)
            return "null"
        limit = socket._runtime.config.presence_max_info_bytes
        if len(info.encode()) > limit:
            logger.warning(
                "The presence info of %r is over TORNADO['presence_max_info_bytes'] (%d bytes); "
                "sharing null.",
                socket,
                limit,
            )
            return "null"
        return info

    def _presence_opened(self, socket: WebSocketHandler) -> None:
        active = service.active()
        if active is not None:
            active.ensure_started()
            info = self._presence_info_of(socket)
            active.tracker.add(self.url_path, APP_SCOPE, socket.id, info)

    def _presence_closed(self, socket: WebSocketHandler) -> None:
        active = service.active()
        if active is not None:
            active.tracker.close(self.url_path, socket.id)

    def _presence_joined(self, socket: WebSocketHandler, room: str) -> None:
        active = service.active()
        if active is not None:
            info = self._presence_info_of(socket)
            runtime.call_on_loop(active.tracker.add, self.url_path, room, socket.id, info)

    def _presence_left(self, socket: WebSocketHandler, room: str) -> None:
        active = service.active()
        if active is not None:
            runtime.call_on_loop(active.tracker.remove, self.url_path, room, socket.id)


OWN_WRITES_WAIT = 1.0
"""Seconds a read in the server's process waits for this node's own changes to be written."""


def _wait_for_own_writes(run: runtime.ServerRuntime, active: service.PresenceService) -> None:
    """Read-your-writes in the server's process: what this node changed before the read (a
    connection that just joined, the reader itself) is in the store when the read starts."""
    loop = getattr(run.loop, "asyncio_loop", None)
    if loop is None or not active.started:
        return
    try:
        asyncio.run_coroutine_threadsafe(active.store.flushed(OWN_WRITES_WAIT), loop).result(
            OWN_WRITES_WAIT * 2
        )
    except Exception:  # a stopping loop, a slow one: read what is there
        logger.debug("Presence read without waiting for this node's writes.", exc_info=True)
