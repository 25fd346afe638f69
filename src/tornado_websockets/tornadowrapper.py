"""``TornadoWrapper``: the class-level API of the original library (``start_app``, ``listen``,
``loop``, ``add_handler``, ``app``, ``server``, ``handlers``) over one ``TornadoServer``.

The server itself (routes, Application, HTTPServer, IOLoop, signals, graceful shutdown) is in
``server.py``; ``TornadoServer``, ``WebSocketRouter`` and ``build_application`` are re-exported
here, where existing code imports them.

Thread affinity: ``listen`` and ``loop`` from the thread that will run the loop (``loop``
blocks until the server stops); ``stop`` from any thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.routing import Rule

from .conf import DEFAULT_ADDRESS, DEFAULT_THREADS, TornadoConfig
from .server import TornadoServer, WebSocketRouter
from .server import build_application as build_application

__all__ = ["TornadoServer", "TornadoWrapper", "WebSocketRouter"]


class TornadoWrapper:
    """The original library's class-level API over one ``TornadoServer``.

    ``handlers`` holds routes added with ``add_handler`` before ``start_app``; WebSocket routes
    are not listed there any more: every ``WebSocket`` is routed by ``WebSocketRouter``.
    """

    app: tornado.web.Application | None = None
    server: HTTPServer | None = None
    handlers: list[Any] = []
    instance: TornadoServer | None = None

    @classmethod
    def start_app(
        cls,
        handlers: Sequence[Any] | None = None,
        settings: dict[str, Any] | None = None,
        threads: int = DEFAULT_THREADS,
        config: TornadoConfig | None = None,
    ) -> tornado.web.Application:
        """Create the Tornado application with ``handlers`` (after ``add_handler``'s) and
        ``settings``; ``config`` (a ``TornadoConfig``) sets the limits, origins and the rest of
        the ``TORNADO`` keys for code that runs without Django settings."""
        if config is None:
            config = TornadoConfig(threads=threads)
        cls.instance = TornadoServer([*cls.handlers, *(handlers or [])], settings, config)
        cls.app = cls.instance.application
        return cls.app

    @classmethod
    def listen(cls, tornado_port: int, address: str = DEFAULT_ADDRESS) -> int:
        """Listen on ``address:tornado_port``; returns the bound port."""
        if cls.instance is None:
            raise TypeError(
                "Tornado application was not instantiated, call TornadoWrapper.start_app first."
            )
        port = cls.instance.listen(tornado_port, address)
        cls.server = cls.instance.http_server
        return port

    @classmethod
    def loop(cls) -> None:
        """Run the server until SIGINT/SIGTERM (handled when called from the main thread)."""
        if cls.instance is None:
            raise TypeError("Call TornadoWrapper.start_app and listen before loop.")
        in_main_thread = threading.current_thread() is threading.main_thread()
        cls.instance.start((signal.SIGINT, signal.SIGTERM) if in_main_thread else ())

    @classmethod
    def stop(cls) -> None:
        """Stop the server gracefully. Safe from any thread."""
        if cls.instance is not None:
            cls.instance.stop()

    @classmethod
    def add_handler(cls, handler: Any) -> None:
        """Add a route, or a list of routes; once the app exists they go before its catch-all.

        Routes added later are matched first, as in the original library. A route is a tuple
        (``(pattern, handler_class[, kwargs])``), a list or a ``tornado.routing.Rule``; anything
        else (a string, say) raises ``TypeError``.
        """
        routes = [handler] if isinstance(handler, (tuple, Rule)) else handler
        if isinstance(routes, (str, bytes)) or not isinstance(routes, (list, tuple)):
            raise TypeError(
                "add_handler takes a route (pattern, handler_class[, kwargs]) or a list of "
                f"routes, got {handler!r}."
            )
        for route in routes:
            if not isinstance(route, (tuple, list, Rule)):
                raise TypeError(
                    "add_handler takes routes as (pattern, handler_class[, kwargs]) tuples, "
                    f"got {route!r} in {handler!r}."
                )
        routes = list(routes)
        if cls.app is None:
            cls.handlers = routes + cls.handlers
            return
        router = cls.app.wildcard_router
        router.add_rules(routes)
        added = router.rules[len(router.rules) - len(routes) :]
        del router.rules[len(router.rules) - len(routes) :]
        # Right after the WebSocket router, ahead of the configured routes and the catch-all.
        position = next(
            (
                i + 1
                for i, rule in enumerate(router.rules)
                if isinstance(rule.target, WebSocketRouter)
            ),
            0,
        )
        router.rules[position:position] = added
