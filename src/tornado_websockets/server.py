"""The Tornado server: Application, HTTPServer, IOLoop, signals, graceful shutdown.

``TornadoServer`` is one server, run by the thread that calls ``listen`` then ``start``; it
also wires the broker, the history store and presence to the applications of the process.
The original library's class-level API over it, ``TornadoWrapper``, is in ``tornadowrapper.py``,
which re-exports ``TornadoServer``, ``WebSocketRouter`` and ``build_application``.

Routing (``routes.py``, re-exported here): every ``WebSocket`` of the process is matched first,
by exact path, through ``WebSocketRouter``; then the configured handlers in order
(``django_app()``'s catch-all last). A ``WebSocket`` declared after the server started is
routable at once.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.netutil import bind_sockets

from . import cluster, dispatch, runtime, transport
from .brokers import create_broker
from .conf import DEFAULT_ADDRESS, TornadoConfig
from .envelope import decode
from .heartbeat import Heartbeat
from .history import create_store
from .httplimits import HTTPLimits, LimitedHTTPServer, server_limits
from .ioloop import ServerIOLoop
from .origins import policy_from_django
from .presence import service as presence_service
from .presence.application import DIFF
from .protocol import GOING_AWAY
from .routes import WebSocketRouter, build_application
from .sessioncheck import SessionCheck
from .websocket import WebSocket, get_websocket, on_declared, serving_websockets, websockets
from .websockethandler import WebSocketHandler
from .wsgi import DjangoWSGIFallback

__all__ = ["TornadoServer", "WebSocketRouter", "build_application"]

logger = logging.getLogger("tornado_websockets")


def _metrics_route(path: str | None) -> list[Any]:
    if path is None:
        return []
    from .metrics import MetricsHandler, require_prometheus_client

    require_prometheus_client()
    return [(re.escape(path), MetricsHandler)]


def _fallbacks(application: tornado.web.Application) -> list[DjangoWSGIFallback]:
    found = []
    for rule in application.wildcard_router.rules:
        fallback = rule.target_kwargs.get("fallback")
        if isinstance(fallback, DjangoWSGIFallback):
            found.append(fallback)
    return found


def _open_connections() -> list[WebSocketHandler]:
    # Replaced applications included: their connections are pinged and closed like the others.
    return [socket for websocket in serving_websockets() for socket in websocket.handlers]


class TornadoServer:
    """One HTTP + WebSocket server.

    Call ``listen`` then ``start`` from the thread that will run the loop (``start`` blocks
    until the server stops). ``stop`` is safe from any thread and from signal handlers.
    """

    def __init__(
        self,
        handlers: Sequence[Any] = (),
        settings: dict[str, Any] | None = None,
        config: TornadoConfig | None = None,
        worker_initializer: Callable[[], None] | None = None,
    ) -> None:
        """``config`` brings the limits, origins, threads and timeouts (defaults if omitted);
        its ``handlers`` and ``settings`` are ignored in favour of the arguments.
        ``worker_initializer`` runs once in each worker thread (the test helpers use it)."""
        self.config = config or TornadoConfig()
        # The loop exists before the Application: Tornado's autoreload attaches to it there.
        uvloop = transport.wants_uvloop(self.config.event_loop, self.config.transport)
        self.loop: IOLoop = _loop_for_this_thread(uvloop)
        if self.config.transport == "asyncio":
            # Now rather than on the first handshake, when importing the websockets package
            # (tens of milliseconds) would hold the loop with every connection waiting.
            importlib.import_module("tornado_websockets.transport.takeover")
        routes = [*_metrics_route(self.config.metrics_path), *handlers]
        self.application = build_application(routes, settings)
        self.executor = ThreadPoolExecutor(
            self.config.threads,
            thread_name_prefix="tornado-websockets",
            initializer=worker_initializer,
        )
        broker = create_broker(self.config.broker)
        self.broker = broker if cluster.is_distributed(broker) else None
        self.history = create_store(self.config.broker)
        self._stop_subscribing: Callable[[], None] | None = None
        self.heartbeat: Heartbeat | None = None
        self.session_check: SessionCheck | None = None
        self.origin_policy = policy_from_django(self.config.allowed_origins)
        if self.origin_policy.opens_every_origin:
            logger.warning(
                "TORNADO['allowed_origins'] is '*': any web site may open WebSockets to this "
                "server with its visitors' cookies."
            )
        self.http_server: HTTPServer | None = None
        self.presence: presence_service.PresenceService | None = None
        self.port: int | None = None
        self._runtime: runtime.ServerRuntime | None = None
        self._stopping = False
        self.stopped = threading.Event()

    def listen(
        self,
        port: int,
        address: str = DEFAULT_ADDRESS,
        sockets: list[socket.socket] | None = None,
    ) -> int:
        """Bind ``address:port`` (port 0: any free port), or serve already bound ``sockets``
        (pre-forked processes share them); return the port."""
        self._runtime = runtime.attach(self.loop, self.executor, self.config, self.origin_policy)
        self._runtime.broker = self.broker
        self._runtime.history = self.history
        self.loop.add_callback(self.history.start, self._on_envelope)
        self.presence = presence_service.start(
            self.loop, cluster.node_id(), self.config, _announce_presence, _presence_events
        )
        if any(websocket.presence_enabled for websocket in websockets()):
            self.presence.ensure_started()  # alive before the first client: no first-use lag
        if self.broker is not None:
            self.loop.add_callback(self._start_broker)
        self._start_heartbeat()
        self._start_session_check(self._runtime)
        for fallback in _fallbacks(self.application):
            fallback.load()
        if sockets is None:
            sockets = bind_sockets(port, address)
        config = self.config
        limits = HTTPLimits(config.header_timeout, config.body_timeout, config.max_body_size)
        http_server = LimitedHTTPServer(
            self.application,
            xheaders=config.xheaders,
            ssl_options=self.ssl_context(),
            **server_limits(limits, config.max_header_size),
        )
        http_server.limits = limits
        self.http_server = http_server
        http_server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    def _start_heartbeat(self) -> None:
        settings = self.application.settings
        interval = settings.get("websocket_ping_interval", self.config.ping_interval)
        timeout = settings.get("websocket_ping_timeout", self.config.ping_timeout)
        if interval:
            self.heartbeat = Heartbeat(float(interval), float(timeout), _open_connections)
            self.heartbeat.start()

    def _start_session_check(self, run: runtime.ServerRuntime) -> None:
        interval = self.config.session_check_interval
        if interval and run.django_auth:
            self.session_check = SessionCheck(interval, run, _open_connections)
            self.session_check.start()

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS from ``certfile``/``keyfile`` (both needed), or ``None`` for plain HTTP."""
        certfile, keyfile = self.config.certfile, self.config.keyfile
        if certfile is None and keyfile is None:
            return None
        if certfile is None or keyfile is None:
            raise ValueError("TLS needs both a certificate file and its key file.")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        return context

    def log_stats_every(self, seconds: float, write: Callable[[str], None] | None = None) -> None:
        """Write a line of figures every ``seconds`` (``runtornado --stats``); before ``start``.

        ``write`` takes the line (default: the ``tornado_websockets`` logger, level INFO).
        """
        from .metrics import StatsLogger

        stats_logger = StatsLogger(seconds, write)
        PeriodicCallback(stats_logger.log, seconds * 1000).start()

    def start(
        self, handle_signals: Sequence[int] = (), second_signal_stops_at_once: bool = True
    ) -> None:
        """Run the loop until ``stop``; each of ``handle_signals`` stops the server gracefully.

        A second signal stops it at once, unless ``second_signal_stops_at_once`` is false
        (pre-forked children, whose supervisor and service manager may both signal them).
        With ``handle_signals`` the server owns its process: it collects garbage once, then
        freezes what exists (``gc.freeze()``) so that collections no longer walk it.
        """
        if self.http_server is None:
            raise RuntimeError("Call listen() before start().")
        asyncio_loop = asyncio.get_event_loop()
        if handle_signals:
            # The server owns the process (its main thread): what exists now (Django, the
            # applications, the routes) lives as long as the process. Frozen, the collector
            # stops walking it in every full collection.
            gc.collect()
            gc.freeze()
        on_signal = self.stop if second_signal_stops_at_once else self.stop_gracefully
        for signum in handle_signals:
            asyncio_loop.add_signal_handler(signum, on_signal)
        try:
            self.loop.start()
        finally:
            for signum in handle_signals:
                asyncio_loop.remove_signal_handler(signum)
            if self._runtime is not None:
                runtime.detach(self._runtime)
                if self._runtime.worker_lane is not None:
                    self._runtime.worker_lane.close()
            if self.presence is not None:
                presence_service.stop(self.presence)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.loop.close()
            self.stopped.set()

    def stop_gracefully(self) -> None:
        """Stop gracefully; further calls change nothing. Safe from any thread."""
        if not self._stopping:
            self.stop()

    def stop(self) -> None:
        """Stop gracefully; a second call stops at once. Safe from any thread."""
        loop = self.loop
        if self.stopped.is_set():
            return
        if self._stopping:
            loop.add_callback(loop.stop)
            return
        self._stopping = True
        loop.add_callback(self._shutdown)

    async def _shutdown(self) -> None:
        logger.info("Shutting down: closing WebSockets and finishing requests in flight.")
        for timer in (self.heartbeat, self.session_check):
            if timer is not None:
                timer.stop()
        if self.http_server is not None:
            self.http_server.stop()
        deadline = self.loop.time() + self.config.shutdown_timeout
        while True:
            # Again at each turn: a handshake accepted before http_server.stop() may open now.
            for connection in _open_connections():
                if not connection.closed:
                    connection.close(GOING_AWAY, "Server shutting down")
            if self.loop.time() >= deadline or not self._work_left():
                break
            # Polling keeps shutdown independent of how each piece reports completion.
            await asyncio.sleep(0.02)
        self._abandon_what_is_left()
        if self.presence is not None:
            await self.presence.close()  # leave events out, this node's entries removed
        if self.broker is not None:
            await self.broker.drain(min(1.0, self.config.shutdown_timeout))
            if self._stop_subscribing is not None:
                self._stop_subscribing()
            await self.broker.close()
        await self.history.close()
        if self.http_server is not None:
            await self.http_server.close_all_connections()
        self.loop.stop()

    def _work_left(self) -> bool:
        """Open connections, handlers running or waiting (``close`` handlers included), and
        Django requests in flight."""
        return bool(
            _open_connections()
            or dispatch.work_in_flight()
            or any(f.in_flight for f in _fallbacks(self.application))
        )

    def _abandon_what_is_left(self) -> None:
        if not self._work_left():
            return
        cancelled = dispatch.cancel_running_tasks()
        logger.warning(
            "Shutdown: TORNADO['shutdown_timeout'] (%s s) passed with %d connections open, "
            "%d handlers running or waiting (%d async ones cancelled).",
            self.config.shutdown_timeout,
            len(_open_connections()),
            dispatch.work_in_flight(),
            cancelled,
        )

    async def _start_broker(self) -> None:
        assert self.broker is not None
        broker = self.broker
        await broker.start(self._on_envelope)
        for websocket in websockets():
            await broker.subscribe(websocket.url_path)

        def subscribe(websocket: WebSocket) -> None:  # any thread: declared at import time
            self.loop.add_callback(broker.subscribe, websocket.url_path)

        self._stop_subscribing = on_declared(subscribe)

    def _on_envelope(self, channel: str, data: bytes) -> None:
        try:
            envelope = decode(data)
        except ValueError:
            logger.warning("Ignored a malformed envelope on channel %r.", channel)
            return
        if envelope.node == cluster.node_id() and envelope.offset is None:
            return  # delivered locally when it was emitted (stored messages come back here)
        websocket = get_websocket(channel)
        if websocket is not None:
            websocket.deliver_envelope(envelope)


def _announce_presence(path: str, scope: str, data: dict[str, Any]) -> None:
    websocket = get_websocket(path)
    if websocket is not None:
        websocket._forget_presence_reads()
        websocket.emit(DIFF, data, to=scope or None)


def _presence_events(path: str) -> bool | str:
    websocket = get_websocket(path)
    return websocket is not None and websocket.presence_events


def _loop_for_this_thread(prefer_uvloop: bool = False) -> IOLoop:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # No running loop: give this thread a fresh one (the main thread's implicit loop is
        # deprecated in recent Pythons, and worker threads have none); uvloop's with the
        # asyncio transport when it is installed.
        asyncio.set_event_loop(transport.new_event_loop(prefer_uvloop))
        made: IOLoop = ServerIOLoop()  # the IOLoop of that loop from now on (IOLoop.current())
        return made
    return IOLoop.current()
