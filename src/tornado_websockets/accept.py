"""Accepting connections, with a pause while the process is out of file descriptors.

Tornado's accept handler lets ``accept()``'s ``EMFILE`` ("Too many open files") escape to the
loop, which logs a traceback and, the listening socket being still readable, calls it again at
once: a busy loop that logs megabytes a second. ``add_accept_handler`` here stops watching the
listening socket instead, and looks again after a delay (50 ms, doubling to 1 s); the pending
connections wait in the kernel's backlog meanwhile. ``AcceptBackoff`` logs one warning when
an episode starts and one line when connections are accepted again.

``raise_fd_limit`` lifts the process's soft ``RLIMIT_NOFILE`` to its hard limit (what
``runtornado`` does at start).

Loop thread only, except ``raise_fd_limit`` (any thread, before the server starts).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop

__all__ = ["AcceptBackoff", "add_accept_handler", "raise_fd_limit"]

logger = logging.getLogger("tornado_websockets")

OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""``accept()`` errors that mean "not now": retrying at once cannot help."""
FIRST_DELAY = 0.05
MAX_DELAY = 1.0
ACCEPTS_PER_EVENT = 128
"""Connections accepted per readiness event before other callbacks get their turn."""


class AcceptBackoff:
    """The pause of a server's accept handlers while out of resources, logged once an episode."""

    def __init__(self) -> None:
        self.since: float | None = None
        """When the current episode started (``time.monotonic()``), or ``None``."""
        self.failures = 0
        """``accept()`` calls that failed in the current episode."""
        self.episodes = 0

    def failed(self, error: OSError) -> float:
        """Count a failed ``accept()``; the seconds to wait before the next."""
        if self.since is None:
            self.since = time.monotonic()
            self.failures = 0
            self.episodes += 1
            logger.warning(
                "Cannot accept connections: %s. Pausing new connections until file descriptors "
                "are freed (they wait in the listen backlog); raise the limit (ulimit -n, "
                "LimitNOFILE) if this happens under normal load.",
                error.strerror or error,
            )
        self.failures += 1
        return float(min(FIRST_DELAY * 2 ** (self.failures - 1), MAX_DELAY))

    def recovered(self) -> None:
        """An ``accept()`` succeeded: end the episode, if any."""
        if self.since is not None:
            logger.warning(
                "Accepting connections again, after %.1f s out of file descriptors.",
                time.monotonic() - self.since,
            )
            self.since = None


def add_accept_handler(
    sock: socket.socket,
    callback: Callable[[socket.socket, Any], None],
    backoff: AcceptBackoff,
) -> Callable[[], None]:
    """``tornado.netutil.add_accept_handler``, pausing on ``OUT_OF_RESOURCES`` errors.

    Returns the function that stops accepting (and cancels a pending resumption).
    """
    loop = IOLoop.current()
    removed = False
    watching = True
    resumption: object | None = None

    def accept(fd: Any, events: int) -> None:
        for _ in range(ACCEPTS_PER_EVENT):
            if removed or not watching:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as error:
                if error.errno not in OUT_OF_RESOURCES:
                    raise
                pause(backoff.failed(error))
                return
            if backoff.since is not None:
                backoff.recovered()
            callback(connection, address)

    def pause(delay: float) -> None:
        nonlocal watching, resumption
        watching = False
        loop.remove_handler(sock)
        resumption = loop.call_later(delay, resume)

    def resume() -> None:
        nonlocal watching, resumption
        resumption = None
        if not removed:
            watching = True
            loop.add_handler(sock, accept, IOLoop.READ)

    def remove() -> None:
        nonlocal removed
        removed = True
        if resumption is not None:
            loop.remove_timeout(resumption)
        if watching:
            loop.remove_handler(sock)

    loop.add_handler(sock, accept, IOLoop.READ)
    return remove


def raise_fd_limit() -> tuple[int, int] | None:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; ``(before, after)``, or ``None``
    where the platform has no such limit. ``after`` equals ``before`` when it cannot be
    raised."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        # Linux refuses an infinite soft limit for file descriptors; this is its usual ceiling.
        target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft, soft
        return soft, target
    return soft, soft
