"""Django over WSGI on the Tornado server, in the worker pool.

``django_app()`` returns the catch-all route the documentation puts last in
``TORNADO['handlers']``. It is lazy: calling it at the end of ``settings.py`` imports nothing of
Django's request machinery and touches no setting; Django's WSGI handler is built when the
server starts (``DjangoWSGIFallback.load``) or, failing that, on the first request.

Views run in the server's worker pool (``TORNADO['threads']``), never on the loop, so a slow
view delays neither WebSocket traffic nor other requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.web
from tornado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from tornado.ioloop import IOLoop
from tornado.wsgi import WSGIContainer

from . import runtime

__all__ = ["django_app", "DjangoWSGIFallback"]

logger = logging.getLogger("tornado_websockets")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _buffering(application: WSGIApp) -> WSGIApp:
    """Read the whole response and close it in the worker thread.

    WSGIContainer buffers the body anyway; doing it here keeps Django's ``close()`` (and the
    ``request_finished`` receivers behind it, such as closing database connections) in the
    thread that served the request instead of on the loop.
    """

    def buffered(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        def start_response_with_clean_headers(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # Django writes Set-Cookie values with a leading space (Morsel.output(header=""))
            # that recent Tornado versions refuse as an invalid header value.
            cleaned = [(name, value.strip()) for name, value in headers]
            return start_response(status, cleaned, exc_info)

        response = application(environ, start_response_with_clean_headers)
        try:
            return list(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return buffered


class DjangoWSGIFallback:
    """The ``fallback`` of the catch-all route: a ``WSGIContainer`` around Django, built lazily.

    Loop thread only (Tornado calls it with each request).
    """

    def __init__(self) -> None:
        self._container: WSGIContainer | None = None
        self._lock = threading.Lock()
        self.serve_static = False
        """Serve ``STATIC_URL`` with the staticfiles finders, as ``runserver`` does in DEBUG;
        set before ``load`` (``runtornado`` sets it)."""
        self.in_flight = 0
        """Requests received and not yet answered (read by the graceful shutdown)."""

    def load(self) -> WSGIContainer:
        """Build Django's WSGI handler now (loads middleware; raises on configuration errors)."""
        with self._lock:
            if self._container is None:
                from django.core.wsgi import get_wsgi_application

                run = runtime.current()
                executor = run.executor if run is not None else _fallback_executor()
                application: Any = get_wsgi_application()
                if self.serve_static:
                    from django.contrib.staticfiles.handlers import StaticFilesHandler

                    application = StaticFilesHandler(application)
                self._container = WSGIContainer(_buffering(application), executor=executor)
            return self._container

    def __call__(self, request: HTTPServerRequest) -> None:
        container = self._container or self.load()
        IOLoop.current().spawn_callback(self._serve, container, request)

    async def _serve(self, container: WSGIContainer, request: HTTPServerRequest) -> None:
        self.in_flight += 1
        try:
            await container.handle_request(request)
        except Exception:
            # Django answers its own errors; this is a failure around it (a response Tornado
            # cannot write). Answer 500 rather than leave the client waiting.
            logger.exception("Serving %s %s through Django failed.", request.method, request.uri)
            _answer_500(request)
        finally:
            self.in_flight -= 1


def _answer_500(request: HTTPServerRequest) -> None:
    connection = request.connection
    if connection is None:
        return
    try:
        body = b"Internal Server Error"
        headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": str(len(body))})
        connection.write_headers(
            ResponseStartLine("HTTP/1.1", 500, "Internal Server Error"), headers, body
        )
        connection.finish()
    except Exception:  # the response had started, or the client left: nothing more to say
        logger.debug("Could not send a 500 for %s.", request.uri, exc_info=True)


_executor: ThreadPoolExecutor | None = None


def _fallback_executor() -> ThreadPoolExecutor:
    """A pool for Applications built by hand, outside ``TornadoWrapper``."""
    global _executor
    if _executor is None:
        from .conf import DEFAULT_THREADS

        _executor = ThreadPoolExecutor(DEFAULT_THREADS, thread_name_prefix="tornado-websockets")
    return _executor


def django_app() -> tuple[str, type[tornado.web.FallbackHandler], dict[str, Any]]:
    """The catch-all route serving Django: put it last in ``TORNADO['handlers']``."""
    return (r".*", tornado.web.FallbackHandler, {"fallback": DjangoWSGIFallback()})
