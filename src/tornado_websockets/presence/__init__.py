"""Presence: which connections are here, on every node, and their join and leave events.

- ``base``: the store contract (paths, scopes, client ids and JSON texts: no handler objects);
- ``memory``: the store of one process; ``redis``: the store of many (with ``scripts``);
- ``tracker``: this node's entries and the coalescing of join and leave events;
- ``service``: the server's store and tracker, or a store to read from without a server;
- ``application``: what ``WebSocket`` offers (``presence()``, ``presence_stats()``, hooks).
"""

from __future__ import annotations

from .base import APP_SCOPE, PresenceStore
from .memory import MemoryPresenceStore

__all__ = ["APP_SCOPE", "PresenceStore", "MemoryPresenceStore"]
