"""What the Redis-backed parts share: redis-py's import, URL redaction, timeouts, backoff,
and the blocking client of other threads.

``import_redis``, ``redact``, ``aclose_quietly`` and ``SyncClient`` are used by the Redis
broker, history store and presence store (the first two re-exported by ``brokers.redis``, where
existing code imports them). ``import_redis`` and ``redact`` are pure functions, any thread;
``aclose_quietly`` runs on the loop that owns the client; ``SyncClient`` is safe from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "redis://127.0.0.1:6379/0"
INSTALL_HINT = (
    'The Redis broker needs the redis package: pip install "django-tornado-websockets[redis]"'
)
# The broker owns retries and decoding: envelopes are bytes, reconnection is its own.
RESERVED_OPTIONS = frozenset(
    {"retry", "retry_on_error", "retry_on_timeout", "decode_responses", "single_connection_client"}
)
DEFAULT_TIMEOUT = 5.0
BACKOFF_INITIAL = 0.1
BACKOFF_MAX = 5.0
START_WAIT = 3.0
"""How long ``start`` waits for the first connection attempt before it returns anyway."""


def import_redis() -> ModuleType:
    """redis-py, or ``ImportError`` saying how to install it."""
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return redis


def redact(url: str) -> str:
    """``url`` with its password hidden, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


async def aclose_quietly(client: Any, errors: tuple[type[BaseException], ...]) -> None:
    """Close an asyncio redis-py ``client`` (``None``: nothing to do) at shutdown; a connection
    that is already broken (one of ``errors``) is not worth a log line then."""
    if client is None:
        return
    try:
        await client.aclose()
    except errors:
        pass


class SyncClient:
    """A blocking redis-py client, made by ``make()`` on first use and shared by every thread
    that calls ``get``: the stores write with asyncio clients on the loop, and only the other
    threads (emits from views, reads in the worker pool) need this one, so a process that never
    asks opens no connection. redis-py's client is thread-safe (a connection pool). Any thread.
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._client: Any = None

    def get(self) -> Any:
        """The client, made now if this is the first call (or the first since ``close``)."""
        with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client

    def close(self) -> None:
        """Close the client if one was made; a later ``get`` makes a new one."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
