"""``MemoryPresenceStore``: the entries of the one process that serves the application.

Thread affinity: writes come from the loop thread, reads from any thread; a lock keeps each
read a consistent copy. Nothing expires: a process that dies takes its entries with it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .base import PresenceStore, count

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

    def read(self, path: str, scope: str) -> dict[str, Any]:
        with self._lock:
            entries = dict(self._entries.get((path, scope), {}))
        return {client: json.loads(info) for client, info in entries.items()}

    def stats(self, path: str, scope: str) -> tuple[int, int]:
        with self._lock:
            return count(self._entries.get((path, scope), {}).values())
