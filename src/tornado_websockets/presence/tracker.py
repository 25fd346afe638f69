"""``PresenceTracker``: this node's entries, and their join and leave events, coalesced.

The tracker tells the store of every change at once, and gathers the changes of each room
(and of the whole application, unless the application asked for rooms only) into one
``$presence_diff`` frame per interval (``TORNADO['presence_interval']``): the first
change after a quiet interval goes out at the next loop iteration, the following ones wait for
the interval to end. A connection that joins and leaves within one interval is announced as a
leave only (a member may have read it in the presence meanwhile). A
frame with more than ``TORNADO['presence_max_batch']`` changes becomes an overflow notice, on
which clients read the presence again: a reconnect storm costs each member a bounded number of
frames of bounded size.

Thread affinity: loop thread only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop

from .base import APP_SCOPE, ROOMS_ONLY, Entries, PresenceStore

__all__ = ["PresenceTracker", "Announce", "entry"]

Announce = Callable[[str, str, dict[str, Any]], None]
"""``announce(path, scope, data)``: send a ``$presence_diff`` frame to the members of scope."""


def entry(client: str, info: str) -> dict[str, Any]:
    """The dict users see for an entry."""
    return {"client": client, "user": json.loads(info)}


class PresenceTracker:
    """The entries of this node's connections and the changes not yet announced."""

    def __init__(
        self,
        store: PresenceStore,
        node: str,
        interval: float,
        max_batch: int,
        announce: Announce,
        wants_events: Callable[[str], bool | str],
    ) -> None:
        self.store, self.node, self.interval, self.max_batch = store, node, interval, max_batch
        self._announce, self._wants_events = announce, wants_events
        self._scopes: dict[tuple[str, int], dict[str, str]] = {}
        self._pending: dict[tuple[str, str], dict[str, tuple[bool, str]]] = {}
        self._timer: object | None = None
        self._last_flush = 0.0

    def __len__(self) -> int:
        """Connections of this node with presence."""
        return len(self._scopes)

    def client(self, connection: int) -> str:
        return f"{self.node}:{connection}"

    def add(self, path: str, scope: str, connection: int, info: str) -> None:
        """``connection`` is present in ``scope``; a room needs the application scope first
        (a join that arrives after its connection closed is ignored)."""
        scopes = self._scopes.get((path, connection))
        if scopes is None:
            if scope != APP_SCOPE:
                return
            scopes = self._scopes[(path, connection)] = {}
        if scopes.get(scope) == info:
            return
        scopes[scope] = info
        self.store.add(path, scope, self.client(connection), info)
        self._change(path, scope, self.client(connection), True, info)

    def remove(self, path: str, scope: str, connection: int) -> None:
        scopes = self._scopes.get((path, connection))
        if scopes is None or scope not in scopes:
            return
        info = scopes.pop(scope)
        self.store.remove(path, scope, self.client(connection))
        self._change(path, scope, self.client(connection), False, info)

    def close(self, path: str, connection: int) -> None:
        """``connection`` closed: it leaves its rooms, then the application."""
        scopes = self._scopes.get((path, connection))
        if scopes is None:
            return
        for scope in sorted(scopes, key=lambda name: name == APP_SCOPE):
            self.remove(path, scope, connection)
        del self._scopes[(path, connection)]

    def expired(self, path: str, scope: str, entries: Entries) -> None:
        """Another node's entries expired: its clients leave (the store's callback)."""
        for client, info in entries:
            self._change(path, scope, client, False, info)

    def resynced(self) -> None:
        """This node's entries were taken for gone and written again: they join again."""
        for (path, connection), scopes in self._scopes.items():
            for scope, info in scopes.items():
                self._change(path, scope, self.client(connection), True, info)

    def _change(self, path: str, scope: str, client: str, joined: bool, info: str) -> None:
        events = self._wants_events(path)
        if not events or (scope == APP_SCOPE and events == ROOMS_ONLY):
            return
        # The latest change of a client wins. A join and a leave within one interval are not
        # dropped together: the store had the entry meanwhile, so a member that read the
        # presence then would keep it for ever without the leave.
        self._pending.setdefault((path, scope), {})[client] = (joined, info)
        if self._timer is None:
            loop = IOLoop.current()
            delay = max(0.0, self._last_flush + self.interval - loop.time())
            self._timer = loop.call_later(delay, self.flush)

    def flush(self) -> None:
        """Announce every pending change now, one frame per scope."""
        if self._timer is not None:
            IOLoop.current().remove_timeout(self._timer)
            self._timer = None
        self._last_flush = IOLoop.current().time()
        pending, self._pending = self._pending, {}
        for (path, scope), changes in pending.items():
            if not changes:
                continue
            room = None if scope == APP_SCOPE else scope
            data: dict[str, Any] = {"room": room, "joins": [], "leaves": []}
            if len(changes) > self.max_batch:
                data["overflow"] = True
            else:
                for client, (joined, info) in changes.items():
                    data["joins" if joined else "leaves"].append(entry(client, info))
            self._announce(path, scope, data)
