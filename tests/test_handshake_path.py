"""The upgrade's answer on the asyncio transport: what Tornado writes from the 101 on is held
until the end of the loop iteration, then sent by the connection's new transport, or by
Tornado's stream for the connections that stay on it, abort, or wait in ``open``.

What the client sees must not change: the 101 first, then what ``open`` wrote, in order; a
close or an abort in ``open`` after the 101; many upgrades at once each answered.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
import time
import traceback
import zlib
from typing import Any

import pytest
import tornado

from tornado_websockets.transport import event_loop_name
from tornado_websockets.websocket import WebSocket
from tornado_websockets.websockethandler import WebSocketHandler

from .wsclient import TIMEOUT

app = WebSocket("/t_handshake_path")
authorize_entered = threading.Event()
authorize_release: list[asyncio.Event] = []  # made on the server's loop


async def authorize_when_released(request: Any, user: Any) -> bool:
    release = asyncio.Event()
    authorize_release.append(release)
    authorize_entered.set()
    await release.wait()
    return True


waiting_app = WebSocket("/t_handshake_waiting", authorize=authorize_when_released)
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class GreetingHandler(WebSocketHandler):
    """Writes two messages from ``open``, before the connection has left Tornado."""

    def open(self, *args: str, **kwargs: str) -> Any:
        result = super().open(*args, **kwargs)
        assert self.ws_connection is not None
        self.ws_connection.write_message("first")
        self.ws_connection.write_message("second")
        return result


class DeflatingGreetingHandler(GreetingHandler):
    """The same, with permessage-deflate offered: its connections stay on Tornado's path."""

    def get_compression_options(self) -> dict[str, Any]:
        return {}


class ClosingHandler(WebSocketHandler):
    """Closes the connection from ``open``."""

    def open(self, *args: str, **kwargs: str) -> Any:
        result = super().open(*args, **kwargs)
        assert self.ws_connection is not None
        self.ws_connection.close(4003, "not today")
        return result


class FailingHandler(WebSocketHandler):
    """Raises in ``open``: Tornado aborts the connection."""

    def open(self, *args: str, **kwargs: str) -> Any:
        raise RuntimeError("open failed on purpose")

    def log_exception(self, *args: Any) -> None:
        pass  # expected: keeps the test's output clean


class AnsweringHandler(WebSocketHandler):
    """Sets a header of its own before the upgrade and picks the last subprotocol offered."""

    async def prepare(self) -> None:
        self.set_header("X-Checked-By", "prepare")
        await super().prepare()

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[-1] if subprotocols else None


class CookieHandler(WebSocketHandler):
    """Sets a cookie before the upgrade: Tornado writes that answer, cookie included."""

    async def prepare(self) -> None:
        self.set_cookie("seen", "yes")
        await super().prepare()


def routes(handler: type[WebSocketHandler], path: str) -> tuple[str, Any, dict[str, Any]]:
    return (path, handler, {"websocket": app})


ON_EACH_LOOP = pytest.mark.parametrize(
    "tornado_live_server_config",
    [
        pytest.param(
            {
                "event_loop": event_loop,
                "handlers": [
                    routes(GreetingHandler, "/greeting"),
                    routes(DeflatingGreetingHandler, "/deflating-greeting"),
                    routes(ClosingHandler, "/closing"),
                    routes(FailingHandler, "/failing"),
                    routes(AnsweringHandler, "/answering"),
                    routes(CookieHandler, "/cookie"),
                ],
            },
            id=f"{event_loop}-loop",
        )
        for event_loop in ("asyncio", "uvloop")
    ],
    indirect=True,
    scope="session",
)


@pytest.fixture
def server(tornado_server: Any, tornado_live_server_config: Any) -> Any:
    running = event_loop_name(tornado_server.server.loop.asyncio_loop)
    assert running == tornado_live_server_config.event_loop
    return tornado_server


def upgrade(
    port: int, path: str, extensions: str | None = None, protocols: str | None = None
) -> socket.socket:
    """A bare socket that sent an upgrade request for ``path``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    extra = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    extra += f"Sec-WebSocket-Protocol: {protocols}\r\n" if protocols else ""
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        ).encode()
    )
    return sock


class Reader:
    """What a bare socket receives: the HTTP answer's head, then server frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> bytes:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return chunk

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                raise EOFError(f"closed before the answer's end: {self.buffer!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return head

    def accepted(self) -> bytes:
        """The answer's head, checked to be the 101 that accepts ``KEY``."""
        head = self.head()
        assert head.startswith(b"HTTP/1.1 101 ") and ACCEPT in head, head
        return head

    def exact(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not self._more():
                raise EOFError(f"closed after {len(self.buffer)} of {count} bytes")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def frame(self) -> tuple[int, int, bytes]:
        """(first byte, opcode, payload) of one unmasked server frame."""
        first, second = self.exact(2)
        assert not second & 0x80, "a server frame was masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.exact(8))
        return first, first & 0x0F, self.exact(length)

    def at_end(self) -> bool:
        """Whether the server closed the connection, with nothing more sent."""
        try:
            return not self.buffer and not self._more()
        except ConnectionResetError:
            return not self.buffer


def masked_close(code: int) -> bytes:
    return b"\x88\x82\x00\x00\x00\x00" + struct.pack("!H", code)


def inflate(payload: bytes) -> bytes:
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")


@ON_EACH_LOOP
def test_what_open_writes_follows_the_101_in_order_on_the_asyncio_transport(server) -> None:
    with upgrade(server.port, "/greeting") as sock:
        reader = Reader(sock)
        assert b"Sec-WebSocket-Extensions" not in reader.accepted()
        assert reader.frame()[1:] == (0x1, b"first")
        assert reader.frame()[1:] == (0x1, b"second")


@ON_EACH_LOOP
def test_what_open_writes_follows_the_101_in_order_when_compression_keeps_tornados_path(
    server,
) -> None:
    with upgrade(server.port, "/deflating-greeting", "permessage-deflate") as sock:
        reader = Reader(sock)
        assert b"permessage-deflate" in reader.accepted()
        for expected in (b"first", b"second"):
            first, opcode, payload = reader.frame()
            assert opcode == 0x1 and first & 0x40, "not a compressed text frame"
            assert inflate(payload) == expected


@ON_EACH_LOOP
def test_the_101_answer_is_the_handlers_headers_then_the_upgrades_as_tornado_writes_them(
    server,
) -> None:
    # Written by the takeover, not by RequestHandler.finish: the same lines in the same order
    # (Content-Type dropped from a 1xx, header names as Tornado's HTTPHeaders spells them).
    with upgrade(server.port, "/answering", protocols="chat, superchat") as sock:
        lines = Reader(sock).accepted().split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"
    assert lines[1] == f"Server: TornadoServer/{tornado.version}".encode()
    assert lines[2].startswith(b"Date: ") and lines[2].endswith(b" GMT")
    assert lines[3:] == [
        b"X-Checked-By: prepare",
        b"Sec-Websocket-Protocol: superchat",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        ACCEPT,
    ]


@ON_EACH_LOOP
def test_a_cookie_set_before_the_upgrade_is_in_the_101_answer(server) -> None:
    with upgrade(server.port, "/cookie") as sock:
        reader = Reader(sock)
        assert b"\r\nSet-Cookie: seen=yes; Path=/" in reader.accepted()
        sock.sendall(masked_close(1000))
        assert reader.frame()[1] == 0x8  # served on the asyncio transport all the same
        assert reader.at_end()


@ON_EACH_LOOP
def test_an_accepted_upgrade_is_in_the_access_log_when_it_is_on(server, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="tornado.access"):
        with upgrade(server.port, "/greeting") as sock:
            Reader(sock).accepted()
        deadline = time.monotonic() + TIMEOUT
        while not any(r.getMessage().startswith("101 GET /greeting") for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.01)


@ON_EACH_LOOP
def test_a_close_in_open_comes_after_the_101_and_completes(server) -> None:
    with upgrade(server.port, "/closing") as sock:
        reader = Reader(sock)
        reader.accepted()
        _, opcode, payload = reader.frame()
        assert opcode == 0x8
        assert struct.unpack("!H", payload[:2])[0] == 4003 and payload[2:] == b"not today"
        sock.sendall(masked_close(4003))
        assert reader.at_end()


@ON_EACH_LOOP
def test_an_open_that_raises_sends_the_101_then_drops_the_connection(server) -> None:
    with upgrade(server.port, "/failing") as sock:
        reader = Reader(sock)
        reader.accepted()
        assert reader.at_end()


@ON_EACH_LOOP
def test_fifty_upgrades_at_once_are_each_answered_and_their_closes_completed(server) -> None:
    sockets = [upgrade(server.port, "/ws/t_handshake_path") for _ in range(50)]
    try:
        readers = [Reader(sock) for sock in sockets]
        for reader in readers:
            reader.accepted()
            reader.sock.sendall(masked_close(1000))
        for reader in readers:
            _, opcode, payload = reader.frame()
            assert (opcode, payload[:2]) == (0x8, struct.pack("!H", 1000))
            assert reader.at_end()
    finally:
        for sock in sockets:
            sock.close()


@ON_EACH_LOOP
def test_an_upgrade_is_taken_over_without_tornado_ever_watching_its_socket(server) -> None:
    # Tornado would register the socket to notice a close while the handler is on its way,
    # and the takeover would remove it again: system calls for nothing. Only that watch is
    # counted: the socket is also registered, rightly, when the server tries to read the
    # request before the client has sent it (a loaded machine may run the client late).
    loop = server.server.loop
    registered: list[Any] = []
    add_handler = loop.add_handler

    def recording_add_handler(fd: Any, handler: Any, events: int) -> None:
        callers = {frame.name for frame in traceback.extract_stack()}
        if "_maybe_add_error_listener" in callers:
            registered.append(fd)
        add_handler(fd, handler, events)

    loop.add_handler = recording_add_handler
    try:
        with upgrade(server.port, "/greeting") as sock:
            reader = Reader(sock)
            reader.accepted()
            assert reader.frame()[1:] == (0x1, b"first")
            assert reader.frame()[1:] == (0x1, b"second")
            sock.sendall(masked_close(1000))
            assert reader.frame()[1] == 0x8
            assert reader.at_end()
    finally:
        del loop.add_handler
    assert registered == []


def open_http_connections(server: Any) -> int:
    return len(server.server.http_server._connections)


def release_authorize(server: Any) -> None:
    for release in authorize_release:
        server.server.loop.add_callback(release.set)


@ON_EACH_LOOP
def test_a_client_that_leaves_while_authorize_waits_is_noticed_and_never_counted_open(
    server,
) -> None:
    before = open_http_connections(server)
    authorize_entered.clear()
    authorize_release.clear()
    sock = upgrade(server.port, "/ws/t_handshake_waiting")
    try:
        assert authorize_entered.wait(TIMEOUT)
        assert open_http_connections(server) == before + 1
    finally:
        sock.close()
    try:
        deadline = time.monotonic() + TIMEOUT
        while open_http_connections(server) > before:  # the close is seen, authorize waiting
            assert time.monotonic() < deadline, "the server never noticed the client leave"
            time.sleep(0.01)
    finally:
        release_authorize(server)  # the handshake goes on, for a client that is gone
    # A client that stays: once it is open, the one that left has been through open() too.
    authorize_entered.clear()
    authorize_release.clear()
    with upgrade(server.port, "/ws/t_handshake_waiting") as staying:
        assert authorize_entered.wait(TIMEOUT)
        release_authorize(server)
        Reader(staying).accepted()
        assert len(waiting_app) == 1  # only the client that stayed is served
