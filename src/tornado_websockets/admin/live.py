"""The admin's WebSocket: staff only, it feeds the live page and carries its actions.

While at least one admin page is open on this node, a timer asks every node (through the
broker, on this application's channel) for its snapshot once a second, and pushes what came
back to the pages a moment later as ``$admin.snapshot``. Nobody looking: no timer, no envelope, no
snapshot; the send and receive paths of the other applications never see any of it.

Events of the page (``$`` names are the library's): ``$watch`` ``{search}`` chooses the
connections listed (by user name or primary key); ``$close`` ``{connection: "<node>:<id>"}``
and ``$close_user`` ``{user: <pk>}`` close with ``CLOSED_BY_ADMIN`` (4009) on whichever node
holds the connections. Both actions take the ``close_connections`` permission.

Broker envelopes (kind ``admin``, a JSON payload with ``op``): ``request`` ``{searches}``,
``reply`` ``{snapshot}``, ``close`` ``{connection}``, ``close_user`` ``{user}``.

Thread affinity: the timer, the envelopes and ``$watch`` run on the loop thread; the actions
are plain handlers, run in the worker pool (they query the database).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from tornado.ioloop import IOLoop, PeriodicCallback

from .. import cluster, runtime
from ..envelope import Envelope
from ..eventhandler import EventHandler
from ..exceptions import ClientError
from ..origins import policy_from_django
from ..protocol import CLOSED_BY_ADMIN
from ..rooms import user_key
from ..websocket import WebSocket, websockets
from . import ADMIN_PATH
from .access import is_staff, require_close_permission, still_staff
from .snapshot import MAX_SEARCH_LENGTH, node_snapshot, presence_snapshot, watched_paths

__all__ = ["AdminWebSocket", "declare", "ADMIN", "CLOSE_REASON", "NO_LONGER_STAFF"]

logger = logging.getLogger("tornado_websockets")

ADMIN = "admin"
"""Envelope kind of the admin's exchanges between nodes."""
CLOSE_REASON = "Closed by an administrator"
PERIOD = 1.0
"""Seconds between two snapshot rounds while a page is open."""
COLLECT = 0.3
"""Seconds the other nodes have to answer before the pages get the round's figures."""
STALE = 3.5
"""A node that has not answered for this long is left out (it stopped, or lost the broker)."""
MAX_SEARCHES = 20
"""Distinct search terms answered per round (one per open page, in practice)."""
RECHECK_ROUNDS = 10
"""Every this many rounds, the pages' users are read again: a page whose user is no longer
active staff is closed with ``NO_LONGER_STAFF`` (1008, a policy violation)."""
NO_LONGER_STAFF = 1008


def _staff_only(request: Any, user: Any) -> bool:
    """Worker thread. Staff only, and from the site's own pages: ``TORNADO['allowed_origins']``
    opens the project's sockets to other sites, never this one (Django's own origins only)."""
    origin = request.headers.get("Origin")
    if origin is not None and not policy_from_django(None).allows(origin, request.host):
        logger.warning("Refused the admin's WebSocket from origin %r.", origin)
        return False
    return is_staff(user)


class AdminWebSocket(WebSocket):
    """``WebSocket(ADMIN_PATH)`` with the staff check at the handshake and the live exchange."""

    library_internal = True
    """Not one of the project's applications: the start-up banner lists it apart."""

    def __init__(self) -> None:
        super().__init__(ADMIN_PATH, login_required=True, authorize=_staff_only)
        self.answers: dict[str, tuple[float, dict[str, Any]]] = {}
        """Node id → (when it answered, its snapshot). Loop thread."""
        self.presence_figures: dict[str, Any] = {}
        self._timer: PeriodicCallback | None = None
        self._timer_loop: IOLoop | None = None
        self._presence_pending = False
        self._rounds = 0
        self.register("open", self._page_opened)
        self.register("close", self._page_closed)
        # `$` names belong to the library: `register` refuses them to applications.
        for event, callback in (
            ("$watch", self._watch),
            ("$close", self._close),
            ("$close_user", self._close_user),
        ):
            self.events[event] = EventHandler(event, callback)

    # -- the timer, while pages are open (loop thread) ---------------------------------------

    async def _page_opened(self) -> None:
        loop = IOLoop.current()
        if self._timer is None or self._timer_loop is not loop:
            self._timer, self._timer_loop = PeriodicCallback(self._round, PERIOD * 1000), loop
            self._timer.start()
            self._round()

    async def _page_closed(self) -> None:
        if not self.handlers and self._timer is not None:
            self._timer.stop()
            self._timer = self._timer_loop = None
            self.answers.clear()
            self.presence_figures = {}

    def _round(self) -> None:
        run = runtime.current()
        if run is None or not self.handlers:
            return
        searches = sorted({str(s.state.get("search", "")) for s in self.handlers})[:MAX_SEARCHES]
        mine = node_snapshot(self, searches, run.config.admin_max_rows)
        self.answers[mine["node"]] = (time.monotonic(), mine)
        if run.broker is not None:
            self._publish({"op": "request", "searches": searches})
        presence_on = any(getattr(w, "presence_enabled", False) for w in watched_paths(self))
        if presence_on and not self._presence_pending:  # a slow store: one query at a time
            self._presence_pending = True
            future = runtime.run_in_worker(run, presence_snapshot, self, run.config.admin_max_rows)
            future.add_done_callback(lambda done: run.loop.add_callback(self._keep_presence, done))
        self._rounds += 1
        if self._rounds % RECHECK_ROUNDS == 0:
            keys = {user_key(s.user) for s in self.handlers}
            checked = runtime.run_in_worker(run, still_staff, keys)
            checked.add_done_callback(lambda done: run.loop.add_callback(self._recheck, done))
        run.loop.call_later(COLLECT, self._push)

    def _recheck(self, done: Any) -> None:
        if done.exception() is not None:
            logger.warning(
                "Could not check the staff status of the admin's pages: %s", done.exception()
            )
            return
        staff = done.result()
        for socket in self.handlers:
            if user_key(socket.user) not in staff:
                socket.close(NO_LONGER_STAFF, "No longer staff")

    def _keep_presence(self, done: Any) -> None:
        self._presence_pending = False
        error = done.exception()
        if error is None:
            self.presence_figures = done.result()
        else:  # shown on the row of each path that has presence on
            paths = watched_paths(self)
            on = [w.url_path for w in paths if getattr(w, "presence_enabled", False)]
            self.presence_figures = {path: {"error": str(error)} for path in on}

    def _push(self) -> None:
        now = time.monotonic()
        for node in [n for n, (at, _) in self.answers.items() if now - at > STALE]:
            del self.answers[node]
        nodes = sorted((snap for _, snap in self.answers.values()), key=lambda s: s["node"])
        for socket in self.handlers:
            term = str(socket.state.get("search", ""))
            empty: dict[str, Any] = {"rows": [], "matched": 0}
            view = [
                {
                    **{k: v for k, v in snap.items() if k != "connections"},
                    "connections": snap["connections"].get(term, empty),
                }
                for snap in nodes
            ]
            socket.emit(
                "$admin.snapshot",
                {"nodes": view, "presence": self.presence_figures, "search": term},
            )

    # -- between nodes (loop thread) -------------------------------------------------------

    def _publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":")).encode()
        cluster.publish(self.url_path, Envelope(ADMIN, cluster.node_id(), payload=payload))

    def deliver_envelope(self, envelope: Envelope) -> None:
        if envelope.kind != ADMIN:
            super().deliver_envelope(envelope)
            return
        try:
            message = json.loads(envelope.payload)
            op = message["op"]
        except (ValueError, KeyError, TypeError):
            logger.warning("Ignored a malformed admin envelope from node %s.", envelope.node)
            return
        if op == "request":
            run = runtime.current()
            rows = run.config.admin_max_rows if run is not None else 0
            terms = [str(t)[:MAX_SEARCH_LENGTH] for t in message.get("searches", ())]
            snapshot = node_snapshot(self, terms[:MAX_SEARCHES], rows)
            self._publish({"op": "reply", "snapshot": snapshot})
        elif op == "reply" and self.handlers:
            self.answers[envelope.node] = (time.monotonic(), message["snapshot"])
        elif op == "close":
            self._close_here(str(message.get("connection", "")))
        elif op == "close_user":
            self._close_user_here(str(message.get("user", "")))

    # -- actions --------------------------------------------------------------------------

    async def _watch(self, socket: Any, data: Any) -> dict[str, str]:
        search = str(data.get("search", "")).strip()[:MAX_SEARCH_LENGTH]
        socket.state["search"] = search
        return {"search": search}

    def _close(self, socket: Any, data: Any) -> dict[str, str]:
        """Worker thread. Close one connection, wherever it is."""
        staff = require_close_permission(socket.user)
        address = str(data.get("connection", ""))
        node, _, number = address.partition(":")
        if not node or not number.isdigit():
            raise ClientError("A connection is named '<node>:<id>', as the page lists it.")
        logger.info("%s closed the WebSocket %s from the admin.", staff.get_username(), address)
        if node == cluster.node_id():
            runtime.call_on_loop(self._close_here, address)
        else:
            runtime.call_on_loop(self._publish, {"op": "close", "connection": address})
        return {"closed": address}

    def _close_user(self, socket: Any, data: Any) -> dict[str, str]:
        """Worker thread. Close every connection of a user, on every node."""
        staff = require_close_permission(socket.user)
        key = str(data.get("user", "")).strip()
        if not key:
            raise ClientError("Which user? Send {user: <primary key>}.")
        logger.info(
            "%s closed every WebSocket of user %s from the admin.", staff.get_username(), key
        )
        runtime.call_on_loop(self._close_user_here, key)
        runtime.call_on_loop(self._publish, {"op": "close_user", "user": key})
        return {"closed_user": key}

    def _close_here(self, address: str) -> None:
        node, _, number = address.partition(":")
        if node != cluster.node_id() or not number.isdigit():
            return
        for websocket in websockets():
            for socket in websocket.handlers:
                if socket.id == int(number):
                    socket.close(CLOSED_BY_ADMIN, CLOSE_REASON)
                    return

    def _close_user_here(self, key: str) -> None:
        for websocket in websockets():
            for socket in websocket.rooms.members(users=[key]):
                socket.close(CLOSED_BY_ADMIN, CLOSE_REASON)


_declared: AdminWebSocket | None = None


def declare() -> AdminWebSocket:
    """The admin application of the process, declared on the first call (by ``register``).
    Call at start-up, where applications are declared."""
    global _declared
    if _declared is None:
        _declared = AdminWebSocket()
    return _declared
