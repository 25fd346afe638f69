"""The running server of this process, as the layers below the server see it.

The server (``server.TornadoServer``) attaches its IOLoop and its worker pool here when it
starts and detaches them when it stops. ``WebSocket.emit`` and connections use ``on_loop`` (or
``call_on_loop``) to reach the loop from any thread and ``run_in_worker`` to run blocking
handler code.

Thread affinity: ``attach``/``detach`` run on the loop thread; everything else is safe from any
thread. One server runs per process at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import thread as _pool_threads
from functools import partial
from typing import Any, TypeVar

from tornado.ioloop import IOLoop

from .brokers import Broker
from .conf import TornadoConfig
from .exceptions import EmitHandlerError
from .history.base import HistoryStore
from .origins import OriginPolicy
from .workerlane import WorkerLane

T = TypeVar("T")

NO_SERVER_MESSAGE = (
    "No Tornado server is running in this process, so this emit cannot reach any client. "
    "Emit from code that runs inside `runtornado`, or set TORNADO['broker'] so that other "
    "processes can emit through it."
)


class ServerRuntime:
    """The loop that owns every connection, its thread, and the worker pool."""

    __slots__ = (
        "loop",
        "thread_id",
        "executor",
        "config",
        "origin_policy",
        "django_configured",
        "django_auth",
        "debug",
        "open_connections",
        "broker",
        "history",
        "worker_lane",
    )

    def __init__(
        self,
        loop: IOLoop,
        executor: ThreadPoolExecutor,
        config: TornadoConfig | None = None,
        origin_policy: OriginPolicy | None = None,
    ) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.executor = executor
        self.config = config or TornadoConfig()
        self.origin_policy = origin_policy or OriginPolicy()
        self.django_configured = _django_configured()
        self.django_auth = self.django_configured and _django_auth_available()
        """Django's sessions and auth apps are installed: connections get users."""
        self.debug = self.django_configured and _django_debug()
        """Django's DEBUG: handler errors then tell the client the exception, not just its event."""
        self.open_connections = 0
        """Open WebSocket connections of this process (loop thread only)."""
        self.broker: Broker | None = None
        """The broker that reaches the other processes; ``None`` when there are none."""
        self.history: HistoryStore | None = None
        """The message history store (``history.feed.store_of`` makes one when missing)."""
        self.worker_lane: WorkerLane | None = None
        """Where plain handlers' jobs wait for a thread (``start_in_worker``); ``None`` for a
        pool that is not a ``ThreadPoolExecutor``."""
        if type(executor) is ThreadPoolExecutor and hasattr(executor, "_work_queue"):
            self.worker_lane = WorkerLane(
                loop, partial(_put_in_pool, executor), executor._max_workers
            )


_current: ServerRuntime | None = None


def _django_configured() -> bool:
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency
        return False
    return bool(settings.configured)


def _django_auth_available() -> bool:
    from .auth import available

    return available()


def _django_debug() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "DEBUG", False))


def attach(
    loop: IOLoop,
    executor: ThreadPoolExecutor,
    config: TornadoConfig | None = None,
    origin_policy: OriginPolicy | None = None,
) -> ServerRuntime:
    """Make ``loop`` the one this process emits on. Call on the loop's own thread."""
    global _current
    _current = ServerRuntime(loop, executor, config, origin_policy)
    return _current


def attach_default() -> ServerRuntime:
    """Attach the current loop with a default pool: for an Application built by hand around
    our handler, without ``TornadoServer``. Loop thread."""
    from .conf import DEFAULT_THREADS

    executor = ThreadPoolExecutor(DEFAULT_THREADS, thread_name_prefix="tornado-websockets")
    return attach(IOLoop.current(), executor)


def detach(runtime: ServerRuntime) -> None:
    """Forget ``runtime`` if it is still the current one."""
    global _current
    if _current is runtime:
        _current = None


def current() -> ServerRuntime | None:
    """The running server's runtime, or ``None`` when no server runs in this process."""
    return _current


def on_loop(run: ServerRuntime, callback: Callable[..., object], *args: Any) -> None:
    """Run ``callback(*args)`` on ``run``'s loop: now if already there, else as soon as it can.

    The one way from any thread to the loop (``IOLoop.add_callback`` is its thread-safe door).
    Each thread counts the callbacks it handed over and the loop those it ran, so that a
    thread knows whether some are still waiting (``hops_waiting``).
    """
    if run.thread_id == threading.get_ident():
        callback(*args)
        return
    hops = getattr(_this_thread, "hops", None)
    if hops is None:
        hops = _this_thread.hops = _Hops()
    hops.made += 1
    run.loop.add_callback(_hop, hops, callback, args)


class _Hops:
    """Callbacks one thread handed to the loop: ``made`` is written by that thread only,
    ``done`` by the loop thread only, so that neither count loses an update."""

    __slots__ = ("made", "done")

    def __init__(self) -> None:
        self.made = 0
        self.done = 0


_this_thread = threading.local()


def _hop(hops: _Hops, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
    try:
        callback(*args)
    finally:
        hops.done += 1


def hops_waiting() -> bool:
    """Whether this thread handed the loop callbacks (``on_loop``) that it has not run yet:
    what this thread writes to a socket itself must then wait its turn behind them."""
    hops = getattr(_this_thread, "hops", None)
    return hops is not None and hops.made != hops.done


def call_on_loop(callback: Callable[..., object], *args: Any) -> None:
    """``on_loop`` on the running server's loop.

    Raises ``EmitHandlerError`` when no server runs in this process.
    """
    runtime = _current
    if runtime is None:
        raise EmitHandlerError(NO_SERVER_MESSAGE)
    on_loop(runtime, callback, *args)


def run_in_worker(runtime: ServerRuntime, function: Callable[..., T], *args: Any) -> Future[T]:
    """Run blocking ``function(*args)`` in the worker pool.

    When Django is configured, stale database connections are closed before and after, as
    Django does around each request, so that a handler never inherits a broken connection.
    """
    if runtime.django_configured:
        return runtime.executor.submit(_with_fresh_db_connections, function, *args)
    return runtime.executor.submit(function, *args)


def start_in_worker(runtime: ServerRuntime, function: Callable[..., object], *args: Any) -> None:
    """Run ``function(*args)`` in the worker pool, like ``run_in_worker`` but without a Future:
    for callers that report back themselves (an exception it raises is only logged).

    The job waits in the runtime's ``WorkerLane``, taken by as few threads of the pool as keep
    up (``workerlane.py``); a pool of another kind gets it by ``submit``. Raises
    ``RuntimeError`` once the pool is shut down, as ``submit`` does. Loop thread (the pool is
    shut down from there too).
    """
    if runtime.django_configured:
        args = (function, *args)
        function = _with_fresh_db_connections
    lane = runtime.worker_lane
    if lane is None:
        runtime.executor.submit(_Job(function, args).run)
        return
    lane.add(_Job(function, args).run)


def _put_in_pool(executor: ThreadPoolExecutor, function: Callable[[], None]) -> None:
    """``executor.submit(function)`` without a Future: straight onto the pool's queue (no
    condition variables, no done callbacks), then a thread made ready, in that order as
    ``submit`` does."""
    if executor._shutdown or _pool_threads._shutdown:
        raise RuntimeError("cannot schedule new futures after shutdown")
    executor._work_queue.put(_Job(function, ()))  # type: ignore[arg-type]
    executor._adjust_thread_count()


class _Job:
    """A work item of the pool's queue: what its threads call (``run``) and what its shutdown
    cancels (``future.cancel()``: the job is then dropped)."""

    __slots__ = ("function", "args")

    def __init__(self, function: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.function = function
        self.args = args

    @property
    def future(self) -> _Job:
        return self

    def cancel(self) -> bool:
        return True

    def run(self, *_context: Any) -> None:
        try:
            self.function(*self.args)
        except BaseException:
            logging.getLogger("tornado_websockets").exception(
                "Work %r in the worker pool raised an exception.", self.function
            )


def _with_fresh_db_connections(function: Callable[..., T], *args: Any) -> T:
    from django.db import close_old_connections

    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()
