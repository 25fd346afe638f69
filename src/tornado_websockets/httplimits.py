"""Time and size limits of HTTP requests, answered with 408 and 413 rather than held sockets.

Tornado's ``HTTPServer`` has a header timeout (``idle_connection_timeout``, an hour by
default), a body timeout and a maximum body size, but past the timeouts it closes the socket
without a word, and past the size it answers 400. ``LimitedHTTPServer`` wraps each request's
delegate in ``LimitedRequest``, which keeps its own timers and counts and answers:

- ``408 Request Timeout`` when the request line and headers (a WebSocket handshake included)
  have not all arrived ``header_timeout`` seconds after the connection started waiting for
  them (on a kept-alive connection: after the previous response). One timer per server checks
  the waiting requests (``HeaderDeadlines``), a quarter of ``header_timeout`` apart (a second at
  most), so the answer comes up to that much later; a timer per request cost every request,
  an upgrade included, a loop timer made and cancelled;
- ``408 Request Timeout`` when the body has not all arrived ``body_timeout`` seconds after the
  headers;
- ``413 Content Too Large`` when ``Content-Length`` announces more than ``max_body_size``
  bytes, before any of the body is read, or when a chunked body grows past it: what was read
  is dropped, so a large POST is never buffered whole.

- ``431 Request Header Fields Too Large`` when the request line and headers outgrow
  ``max_header_size`` (``HeaderLimitedIOStream``; Tornado closes such a connection without a
  word). Not over TLS terminated by this server: the answer would have to be encrypted, and
  the connection is closed as before.

The connection is closed after the answer. Tornado's own body timeout stays on, a little
looser, as a backstop; its header timeout is off: ours covers every wait for headers (it starts
with the request's delegate), and Tornado's would cost a ``with_timeout`` and a second timer
per request. The server also accepts connections with ``accept.add_accept_handler``, which
pauses while the process is out of file descriptors.

A WebSocket upgrade's stream is not watched for a close while its handler is on its way
(``_watch_for_close_next_iteration``): Tornado registers the socket with the loop to notice a
client gone while the application answers, and the upgrade's handler, which runs on the next
iteration, takes the socket off the stream before anything is read from it. On uvloop that
registration and its removal cost eight system calls an upgrade (``add_reader`` checks the
descriptor with an ``epoll_ctl`` add and delete, sets it non-blocking again, then adds it;
``remove_reader`` deletes it three times over). Loop thread only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tornado import httputil
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import UnsatisfiableReadError

from .accept import AcceptBackoff, add_accept_handler
from .requesthead import PlainHeadHTTP1Connection
from .scratchread import ScratchReadIOStream

__all__ = [
    "HTTPLimits",
    "HeaderLimitedIOStream",
    "LimitedHTTPServer",
    "LimitedRequest",
    "server_limits",
]

logger = logging.getLogger("tornado_websockets")

BACKSTOP = 5.0
"""Seconds Tornado's own timeouts are given past ours: ours answer first."""
UNLIMITED_BODY = 2**62
"""Tornado's body size check answers 400 before ours could answer 413: ours decides."""

_ANSWERS = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
}


def _answer(status: int) -> bytes:
    """The whole response: ``status``, its reason as the body, ``Connection: close``."""
    body = _ANSWERS[status]
    return (
        f"HTTP/1.1 {status} {body.decode()}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


@dataclass(frozen=True)
class HTTPLimits:
    header_timeout: float
    body_timeout: float
    max_body_size: int


def server_limits(limits: HTTPLimits, max_header_size: int) -> dict[str, Any]:
    """The keyword arguments of ``HTTPServer`` that go with ``limits``."""
    return {
        "body_timeout": limits.body_timeout + BACKSTOP,
        "max_body_size": UNLIMITED_BODY,
        "max_header_size": max_header_size,
    }


class LimitedHTTPServer(HTTPServer):
    """An ``HTTPServer`` whose requests are bound by ``limits`` (set it before serving), whose
    accept loop pauses while the process is out of file descriptors (``accept``), and whose
    requests' plain heads are parsed in one pass (``requesthead``)."""

    limits: HTTPLimits
    accept_backoff: AcceptBackoff | None = None

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.conn_params.header_timeout = None  # LimitedRequest times the headers

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        # TCPServer.add_sockets, with our accept handler (TCPServer.stop calls its remover).
        if self.accept_backoff is None:
            self.accept_backoff = AcceptBackoff()
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = add_accept_handler(
                sock, self._handle_connection, self.accept_backoff
            )

    def _handle_connection(self, connection: socket.socket, address: Any) -> None:
        if self.ssl_options is not None:  # TLS: see HeaderLimitedIOStream
            super()._handle_connection(connection, address)
            return
        # TCPServer._handle_connection's plain path, with the stream that answers 431 (made
        # as such: changing a stream's class afterwards cost 20,000 instructions a handshake).
        stream = HeaderLimitedIOStream(
            connection, max_buffer_size=self.max_buffer_size, read_chunk_size=self.read_chunk_size
        )
        self.handle_stream(stream, address)

    header_deadlines: HeaderDeadlines | None = None

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        if type(request_conn) is HTTP1Connection:
            request_conn.__class__ = PlainHeadHTTP1Connection  # made by Tornado, not by us
        delegate = super().start_request(server_conn, request_conn)
        deadlines = self.header_deadlines
        if deadlines is None:
            deadlines = self.header_deadlines = HeaderDeadlines(self.limits.header_timeout)
        return LimitedRequest(delegate, request_conn, self.limits, deadlines)


class HeaderDeadlines:
    """The requests of one server still waiting for their headers, oldest first, and the one
    timer that answers those past ``timeout`` with 408. Loop thread only."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.interval = min(1.0, timeout / 4)
        # Insertion order is deadline order: every request waits the same timeout.
        self._waiting: dict[LimitedRequest, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, request: LimitedRequest) -> None:
        self._waiting[request] = time.monotonic() + self.timeout
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._check)

    def discard(self, request: LimitedRequest) -> None:
        self._waiting.pop(request, None)

    def _check(self) -> None:
        self._timer = None
        now = time.monotonic()
        late = []
        for request, deadline in self._waiting.items():
            if deadline > now:
                break
            late.append(request)
        for request in late:
            request._refuse(408, "the headers took too long", "header_timeout")
        if self._waiting:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._check)


class LimitedRequest(httputil.HTTPMessageDelegate):
    """One request's delegate, wrapped: times its headers and body, counts its body."""

    def __init__(
        self,
        inner: httputil.HTTPMessageDelegate,
        connection: httputil.HTTPConnection,
        limits: HTTPLimits,
        header_deadlines: HeaderDeadlines,
    ) -> None:
        self.inner = inner
        self.connection = connection
        self.limits = limits
        self.received = 0
        self.refused = False
        self._started = False  # the inner delegate has the headers
        self._header_deadlines: HeaderDeadlines | None = header_deadlines
        header_deadlines.add(self)
        self._timer: asyncio.TimerHandle | None = None  # the body's
        self._upgrade = False

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        self._cancel()
        # Asked with `in` first: a GET has neither header, and HTTPHeaders.get raises and
        # catches a KeyError for each missing one.
        length = headers["Content-Length"] if "Content-Length" in headers else None
        if length is not None and length.strip().isdigit():
            if int(length) > self.limits.max_body_size:
                self._refuse(413, f"a body of {int(length)} bytes announced", "max_body_size")
                return None
            has_body = int(length) > 0
        else:
            has_body = (
                "Transfer-Encoding" in headers and "chunked" in headers["Transfer-Encoding"].lower()
            )
        if has_body:
            timeout, why = self.limits.body_timeout, "the body took too long"
            # asyncio's own timer: cheaper than IOLoop.current().call_later.
            self._timer = asyncio.get_running_loop().call_later(
                timeout, self._refuse, 408, why, "body_timeout"
            )
        self._started = True
        self._upgrade = "Upgrade" in headers
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        if self.refused:
            return None
        self.received += len(chunk)
        if self.received > self.limits.max_body_size:
            self._refuse(413, "a longer chunked body", "max_body_size")
            return None
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self._cancel()
        if not self.refused:
            if self._upgrade:
                _watch_for_close_next_iteration(self.connection)
            self.inner.finish()

    def on_connection_close(self) -> None:
        self._cancel()
        if not self.refused:
            self.inner.on_connection_close()

    def _cancel(self) -> None:
        if self._header_deadlines is not None:
            self._header_deadlines.discard(self)
            self._header_deadlines = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, status: int, why: str, setting: str) -> None:
        """Answer ``status`` and close; the request goes no further."""
        self._cancel()  # a fired timer's handle cancels harmlessly
        if self.refused:
            return
        self.refused = True
        stream = getattr(self.connection, "stream", None)
        context = getattr(self.connection, "context", None)
        logger.info(
            "HTTP %d to %s: %s (TORNADO[%r]).",
            status,
            getattr(context, "remote_ip", "a client"),
            why,
            setting,
        )
        if self._started:
            self.inner.on_connection_close()  # the application will never see the rest
        if stream is None or stream.closed():
            return
        try:
            written = stream.write(_answer(status))
        except Exception:  # closed meanwhile
            return
        IOLoop.current().add_future(written, lambda done: _close(stream, done))


class HeaderLimitedIOStream(ScratchReadIOStream):
    """A plain TCP connection's stream that answers ``431`` when Tornado closes it because
    the request line and headers outgrew ``max_header_size`` (its ``read_until_regex`` for
    them raised ``UnsatisfiableReadError``), and reads the socket through the thread's scratch
    buffer (``scratchread``). Loop thread only.

    The answer goes straight to the socket, without waiting: the stream then has nothing else
    to write (checked), the kernel's empty send buffer takes a few dozen bytes at once, and the
    connection is closed right after, as Tornado does. A chunked body's oversized size line
    (``read_until``) is not the headers' read and closes without an answer, as before.
    """

    def close(self, exc_info: Any = False) -> None:
        if (
            isinstance(exc_info, UnsatisfiableReadError)
            and self._read_regex is not None
            and not self.closed()
            and not self.writing()
        ):
            self._answer_headers_too_large()
        super().close(exc_info)

    def _answer_headers_too_large(self) -> None:
        sock = self.socket
        try:
            client = sock.getpeername()[0]
        except OSError:
            client = "a client"
        logger.info(
            "HTTP 431 to %s: request line and headers over %s bytes (TORNADO['max_header_size']).",
            client,
            self._read_max_bytes,
        )
        try:
            sock.send(_answer(431))
        except OSError:  # the client is gone or its window is full: closed without an answer
            pass


def _watch_for_close_next_iteration(connection: httputil.HTTPConnection) -> None:
    """Make the stream's next ``set_close_callback`` (``HTTP1Connection``'s, once the
    request is read) start watching the socket on the next loop iteration rather than now,
    and not at all if the callback is gone by then (the handler detached the stream)."""
    stream: Any = getattr(connection, "stream", None)
    if stream is None:
        return

    def set_close_callback(callback: Any) -> None:
        stream.__dict__.pop("set_close_callback", None)  # the stream's own method again
        stream._close_callback = callback
        if callback is not None:
            asyncio.get_running_loop().call_soon(stream._maybe_add_error_listener)

    stream.set_close_callback = set_close_callback


def _close(stream: Any, written: Any) -> None:
    written.exception()  # a client gone before the answer: nothing to report
    stream.close()
