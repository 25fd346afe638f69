"""``ReadCache``: recent presence reads, shared by the client requests of one application.

A thousand pages that reconnect and ask who is here within the same second cost one read of
the store, not a thousand (each read of a big room is work for Redis). An answer is reused for
``TORNADO['presence_interval']`` seconds, the delay join and leave frames have anyway; while
one thread reads a scope, the others asking for it wait for that read instead of starting
their own. ``ws.presence()`` itself always reads. A ``$presence_diff`` delivered by this
process clears the cache, so that a page that was told of a join never reads an older answer.

Thread affinity: any thread (client requests are answered in the worker pool).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ReadCache"]

T = TypeVar("T")


class ReadCache:
    """Answers by key, each kept ``ttl`` seconds; at most one read per key at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[Any, tuple[float, Any]] = {}
        self._reading: dict[Any, threading.Lock] = {}

    def get(self, key: Any, ttl: float, read: Callable[[], T]) -> T:
        if ttl <= 0:
            return read()
        with self._lock:
            found = self._fresh(key)
            if found is not None:
                answer: T = found[1]
                return answer
            gate = self._reading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._fresh(key)
            if found is not None:
                answer = found[1]
                return answer
            answer = read()
            with self._lock:
                now = time.monotonic()
                # Forget what expired: the cache holds only what was asked in the last ttl.
                self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
                self._answers[key] = (now + ttl, answer)
                self._reading.pop(key, None)
            return answer

    def clear(self) -> None:
        """Forget every answer: a join or leave was announced, so the next read is fresh."""
        with self._lock:
            self._answers = {}

    def _fresh(self, key: Any) -> tuple[float, Any] | None:
        found = self._answers.get(key)
        return found if found is not None and found[0] > time.monotonic() else None
