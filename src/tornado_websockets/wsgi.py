"""Django over WSGI on the Tornado server, in the worker pool.

``django_app()`` returns the catch-all route the documentation puts last in
``TORNADO['handlers']``. It is lazy: calling it at the end of ``settings.py`` imports nothing of
Django's request machinery and touches no setting; Django's WSGI handler is built when the
server starts (``DjangoWSGIFallback.load``) or, failing that, on the first request.

Views run in the server's worker pool (``TORNADO['threads']``), never on the loop, so a slow
view delays neither WebSocket traffic nor other requests.

One request costs one trip to the pool and one back: the worker builds the WSGI environ, calls
Django, reads and closes the response and prepares the headers; the loop only writes them with
the body, in one write. (``tornado.wsgi.WSGIContainer`` makes a trip to the pool for the view
and one more for each chunk of the body and its end, three for a plain ``HttpResponse``; and
``FallbackHandler`` builds a ``RequestHandler`` per request that Django has no use for.)
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any
from urllib.parse import unquote_to_bytes

import tornado
import tornado.web
from tornado.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from tornado.log import access_log
from tornado.routing import Router

from . import runtime
from .conf import DEFAULT_THREADS
from .handoff import LoopInbox, PoolQueue

__all__ = ["django_app", "DjangoWSGIFallback"]

logger = logging.getLogger("tornado_websockets")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Outcome = tuple[int, str, HTTPHeaders, bytes]

SUPPORTED_METHODS = frozenset(tornado.web.FallbackHandler.SUPPORTED_METHODS)
"""Methods passed to Django; others get 405, as they did behind ``FallbackHandler``."""
SERVER = f"TornadoServer/{tornado.version}"


class DjangoWSGIFallback(Router):
    """The ``fallback`` of the catch-all route: Django's WSGI handler, built lazily.

    ``TornadoServer`` routes to it as a ``Router`` (``find_handler``: the request's body is
    gathered by ``DjangoRequest``); an ``Application`` built by hand reaches it through
    ``FallbackHandler``, which calls it with the whole request. Loop thread only, except
    ``load`` (any thread).
    """

    def __init__(self) -> None:
        self._application: WSGIApp | None = None
        self._pool: PoolQueue | None = None
        self._inboxes: dict[asyncio.AbstractEventLoop, LoopInbox] = {}
        self._lock = threading.Lock()
        self.serve_static = False
        """Serve ``STATIC_URL`` with the staticfiles finders, as ``runserver`` does in DEBUG;
        set before ``load`` (``runtornado`` sets it)."""
        self.in_flight = 0
        """Requests received and not yet answered (read by the graceful shutdown)."""

    def load(self) -> WSGIApp:
        """Build Django's WSGI handler now (loads middleware; raises on configuration errors)."""
        with self._lock:
            if self._application is None:
                from django.core.wsgi import get_wsgi_application

                run = runtime.current()
                if run is not None:
                    self._pool = PoolQueue(run.executor, run.config.threads)
                else:
                    self._pool = PoolQueue(_fallback_executor(), DEFAULT_THREADS)
                application: Any = get_wsgi_application()
                if self.serve_static:
                    from django.contrib.staticfiles.handlers import StaticFilesHandler

                    application = StaticFilesHandler(application)
                self._application = application
            return self._application

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate:
        return DjangoRequest(self, request)

    def __call__(self, request: HTTPServerRequest) -> None:
        """Serve ``request`` (its body read) through Django in the pool; answer on the loop."""
        if request.method not in SUPPORTED_METHODS:
            _answer(request, 405, "Method Not Allowed")
            return
        application = self._application or self.load()
        pool = self._pool
        assert pool is not None
        loop = asyncio.get_running_loop()
        inbox = self._inboxes.get(loop)
        if inbox is None:
            inbox = self._inboxes[loop] = LoopInbox(loop)
            # A loop closed by a stopped server must not be kept alive by this table.
            for old in [old for old in self._inboxes if old.is_closed()]:
                del self._inboxes[old]
        self.in_flight += 1
        try:
            pool.put(self._serve, application, inbox, request)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self.in_flight -= 1
            logger.exception("Serving %s %s through Django failed.", request.method, request.uri)
            _answer(request, 500, "Internal Server Error")

    def _serve(self, application: WSGIApp, inbox: LoopInbox, request: HTTPServerRequest) -> None:
        """Worker thread: call Django, then hand the response to the loop."""
        outcome: Outcome | None
        try:
            outcome = call_application(application, request)
        except Exception:
            # Django answers its own errors; this is a failure around it (no start_response,
            # a body that fails to iterate). Answer 500 rather than leave the client waiting.
            logger.exception("Serving %s %s through Django failed.", request.method, request.uri)
            outcome = None
        try:
            inbox.put(self._respond, request, outcome)
        except RuntimeError:  # the loop is closed: the server stopped, the client is gone
            pass

    def _respond(self, request: HTTPServerRequest, outcome: Outcome | None) -> None:
        """Loop thread: write the response (headers and body in one write)."""
        try:
            if outcome is None:
                _answer(request, 500, "Internal Server Error")
                return
            code, reason, headers, body = outcome
            if request.method == "HEAD":
                # Django leaves the body to the server to drop; Tornado would refuse it and
                # close the connection. The headers stay those of a GET, Content-Length included.
                body = b""
            connection = request.connection
            assert connection is not None
            connection.write_headers(ResponseStartLine("HTTP/1.1", code, reason), headers, body)
            connection.finish()
            _log(code, request)
        except Exception:  # a response Tornado cannot write (a header with a newline, say)
            logger.exception("Serving %s %s through Django failed.", request.method, request.uri)
            _answer(request, 500, "Internal Server Error")
        finally:
            self.in_flight -= 1


class DjangoRequest(HTTPMessageDelegate):
    """One request on its way to Django: gathers the body, then calls the fallback.

    Loop thread only. The limits (time, size) are kept by ``httplimits.LimitedRequest`` in
    front of it.
    """

    __slots__ = ("fallback", "request", "chunks")

    def __init__(self, fallback: DjangoWSGIFallback, request: HTTPServerRequest) -> None:
        self.fallback = fallback
        self.request = request
        self.chunks: list[bytes] | None = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        return None  # the router built the request from them already

    def data_received(self, chunk: bytes) -> None:
        if self.chunks is not None:
            self.chunks.append(chunk)

    def finish(self) -> None:
        chunks = self.chunks
        if chunks is None:
            return
        self.chunks = None
        if chunks:
            self.request.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.fallback(self.request)

    def on_connection_close(self) -> None:
        self.chunks = None  # the client left before the end of its request


def call_application(application: WSGIApp, request: HTTPServerRequest) -> Outcome:
    """Worker thread: call ``application``, read its whole body and close it here.

    Closing in this thread keeps Django's ``request_finished`` receivers (closing database
    connections, say) in the thread that served the request. Returns the status code, reason,
    headers (those Tornado's ``WSGIContainer`` adds included) and body.
    """
    status_headers: list[Any] = []
    body: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], Any]:
        if exc_info is not None and status_headers:
            raise exc_info[1].with_traceback(exc_info[2])  # too late to change (PEP 3333)
        status_headers[:] = (status, headers)
        return body.append

    response = application(environ(request), start_response)
    try:
        body.extend(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    if not status_headers:
        raise RuntimeError("The WSGI application did not call start_response.")
    status, headers = status_headers
    code_text, _, reason = status.partition(" ")
    code = int(code_text)
    content = body[0] if len(body) == 1 else b"".join(body)
    return code, reason, response_headers(headers, code, len(content)), content


def response_headers(headers: list[tuple[str, str]], code: int, length: int) -> HTTPHeaders:
    """The response's headers as ``WSGIContainer`` sends them (any thread)."""
    result = HTTPHeaders()
    for name, value in headers:
        # Django writes Set-Cookie values with a leading space (Morsel.output(header="")) that
        # recent Tornado versions refuse as an invalid header value.
        result.add(name, value.strip())
    if code != 304:
        if "Content-Length" not in result:
            result["Content-Length"] = str(length)
        if "Content-Type" not in result:
            result["Content-Type"] = "text/html; charset=UTF-8"
    if "Server" not in result:
        result["Server"] = SERVER
    return result


_HEADER_KEYS: dict[str, str] = {}
"""``'User-Agent'`` → ``'HTTP_USER_AGENT'``, for the usual names (bounded: clients choose)."""
_MAX_HEADER_KEYS = 256


def environ(request: HTTPServerRequest) -> dict[str, Any]:
    """The WSGI environ of ``request``, as ``WSGIContainer.environ`` builds it (any thread;
    the request is not touched by the loop while it is served). Repeated headers are joined
    with commas; the request's headers are left as they are."""
    host = request.host
    hostport = host.split(":")
    if len(hostport) == 2:
        server_name, port = hostport[0], str(int(hostport[1]))
    else:
        server_name, port = host, "443" if request.protocol == "https" else "80"
    path = request.path
    if "%" in path or not path.isascii():
        path = unquote_to_bytes(path).decode("latin1")
    result: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": request.query,
        "REMOTE_ADDR": request.remote_ip,
        "SERVER_NAME": server_name,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": request.version,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.protocol,
        "wsgi.input": BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    keys = _HEADER_KEYS
    for name, value in request.headers.get_all():
        key = keys.get(name)
        if key is None:
            key = "HTTP_" + name.replace("-", "_").upper()
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                key = key[5:]
            if len(keys) < _MAX_HEADER_KEYS:
                keys[name] = key
        if key in result:
            result[key] += "," + value
        else:
            result[key] = value
    return result


def _log(code: int, request: HTTPServerRequest) -> None:
    """The access log line ``WSGIContainer`` writes (``tornado.access``), when enabled."""
    level = logging.INFO if code < 400 else logging.WARNING if code < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        summary = f"{request.method} {request.uri} ({request.remote_ip})"
        access_log.log(level, "%d %s %.2fms", code, summary, 1000.0 * request.request_time())


def _answer(request: HTTPServerRequest, code: int, reason: str) -> None:
    connection = request.connection
    if connection is None:
        return
    try:
        body = reason.encode()
        headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": str(len(body))})
        connection.write_headers(ResponseStartLine("HTTP/1.1", code, reason), headers, body)
        connection.finish()
    except Exception:  # the response had started, or the client left: nothing more to say
        logger.debug("Could not send a %d for %s.", code, request.uri, exc_info=True)


_executor: ThreadPoolExecutor | None = None


def _fallback_executor() -> ThreadPoolExecutor:
    """A pool for Applications built by hand, outside ``TornadoWrapper``."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(DEFAULT_THREADS, thread_name_prefix="tornado-websockets")
    return _executor


def django_app() -> tuple[str, type[tornado.web.FallbackHandler], dict[str, Any]]:
    """The catch-all route serving Django: put it last in ``TORNADO['handlers']``.

    ``build_application`` routes straight to the fallback (a ``Router``) rather than through
    ``FallbackHandler``; an ``Application`` built by hand works with the route as it is.
    """
    return (r".*", tornado.web.FallbackHandler, {"fallback": DjangoWSGIFallback()})
