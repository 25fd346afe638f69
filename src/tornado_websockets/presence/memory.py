"""``MemoryPresenceStore``: the entries of the one process that serves the application.

Thread affinity: writes come from the loop thread, reads from any thread; a lock keeps each
read a consistent copy. Nothing expires: a process that dies takes its entries with it.
"""

from __future__ import annotations

import threading

from .base import Entries, PresenceStore

__all__ = ["MemoryPresenceStore"]


class MemoryPresenceStore(PresenceStore):
    """Entries in a dict of this process (the default, with the in-memory broker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], dict[str, str]] = {}

    async def close(self) -> None:
        with self._lock:
            self._entries.clear()

    def add(self, path: str, scope: str, client: str, info: str) -> None:
        with self._lock:
            self._entries.setdefault((path, scope), {})[client] = info

    def remove(self, path: str, scope: str, client: str) -> None:
        with self._lock:
            entries = self._entries.get((path, scope))
            if entries is not None:
                entries.pop(client, None)
                if not entries:
                    del self._entries[(path, scope)]

    def snapshot(self, path: str, scope: str) -> Entries:
        with self._lock:
            return list(self._entries.get((path, scope), {}).items())
