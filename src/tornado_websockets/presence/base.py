"""The presence store contract: which connections are present, per application and scope.

A *scope* is a room name, or ``APP_SCOPE`` (``""``) for every connection of the application.
An *entry* is one connection: its client id ``"<node id>:<connection id>"`` and the JSON text
of what the application chose to share about it (``"null"`` when nothing).

Stores know paths, scopes, client ids and JSON texts: never handler or ``WebSocket`` objects.

Thread affinity: ``start``, ``close``, ``add``, ``remove`` run on the server's loop thread and
never block it (a networked store writes in the background). ``snapshot`` blocks: call it from
any thread but the loop's. A store without a server (another process) only reads.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["APP_SCOPE", "ROOMS_ONLY", "Entries", "Expired", "Resynced", "PresenceStore", "count"]

APP_SCOPE = ""
"""The scope of every connection of an application (room names are never empty)."""

ROOMS_ONLY = "rooms"
"""``WebSocket(presence_events=ROOMS_ONLY)``: events for rooms, none for the application."""

Entries = list[tuple[str, str]]
"""``[(client id, shared info as JSON text), ...]``."""

Expired = Callable[[str, str, Entries], None]
"""``expired(path, scope, entries)``: another node stopped refreshing; its entries are gone.
Called on the loop thread, once per scope, by exactly one surviving node."""

Resynced = Callable[[], None]
"""Called on the loop thread when this node's entries were written again from scratch after
another node had taken them for gone (a long pause, a Redis outage)."""


class PresenceStore(abc.ABC):
    """Where the entries of every node are kept and read."""

    async def start(  # noqa: B027  (a store of one process has nothing to keep alive)
        self, node: str, expired: Expired, resynced: Resynced
    ) -> None:
        """Begin keeping this node's entries alive (loop thread)."""

    async def close(self) -> None:  # noqa: B027
        """Remove this node's entries at once and stop (loop thread)."""

    async def flushed(self, timeout: float) -> None:  # noqa: B027  (memory: always written)
        """Wait (at most ``timeout`` seconds) until every change made so far is readable by
        ``read``, so that a reader sees what this node did before it asked (loop thread)."""

    @abc.abstractmethod
    def add(self, path: str, scope: str, client: str, info: str) -> None:
        """Record ``client`` as present in ``scope`` of ``path`` (loop thread, never blocks)."""

    @abc.abstractmethod
    def remove(self, path: str, scope: str, client: str) -> None:
        """Forget ``client`` in ``scope`` of ``path`` (loop thread, never blocks)."""

    @abc.abstractmethod
    def read(self, path: str, scope: str) -> dict[str, Any]:
        """Every live entry of ``scope`` of ``path``, on every node: client id → shared info
        (decoded). Blocking; any thread but the loop's. Raises ``PresenceUnavailableError``
        when the store cannot be read."""

    @abc.abstractmethod
    def stats(self, path: str, scope: str) -> tuple[int, int]:
        """``(clients, users)`` of ``scope``: users are the distinct infos other than null.
        Same rules as ``read``."""


def count(infos: Iterable[str]) -> tuple[int, int]:
    """``(clients, users)`` from the JSON texts of entries."""
    texts = list(infos)
    return len(texts), len({text for text in texts if text != "null"})
