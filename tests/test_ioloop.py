"""The server's IOLoop keeps a keep-alive connection's socket registered while its stream holds
a request it has not handled yet, and stops watching it only if the socket fires meanwhile.

A real server in a thread, on asyncio's own loop (whose ``remove_reader`` can be counted; the
IOLoop's logic is the same on uvloop), and raw sockets sending pipelined requests: the second
request of one write waits in the stream's buffer while the first is handled, which is when
Tornado stops reading the socket.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
import tornado.web

from tornado_websockets.testing.server import LiveServerThread

TIMEOUT = 10.0


class Gate:
    """An ``asyncio.Event`` on the server's loop, opened from the test thread."""

    def __init__(self) -> None:
        self.event: asyncio.Event | None = None
        self.waiting = threading.Event()

    async def wait(self) -> None:
        self.event = asyncio.Event()
        self.waiting.set()
        await self.event.wait()


GATE = Gate()


class Slow(tornado.web.RequestHandler):
    async def get(self) -> None:
        await GATE.wait()
        self.write("slow")


class Fast(tornado.web.RequestHandler):
    def get(self, name: str) -> None:
        self.write(name)


# The session's live server, with this module's configuration: pytest stops the others first
# (one server runs per process at a time).
pytestmark = pytest.mark.parametrize(
    "tornado_live_server_config",
    [
        pytest.param(
            {"event_loop": "asyncio", "handlers": [(r"/slow", Slow), (r"/fast/(\w+)", Fast)]},
            id="asyncio-loop",
        )
    ],
    indirect=True,
    scope="session",
)


@pytest.fixture
def server(tornado_server: LiveServerThread) -> LiveServerThread:
    return tornado_server


def counted_remove_reader(server: LiveServerThread) -> list[int]:
    """The descriptors the server's asyncio loop stops reading, in order, from now on."""
    assert server.server is not None
    loop: Any = server.server.loop.asyncio_loop  # type: ignore[attr-defined]
    removed: list[int] = []
    original = loop.remove_reader

    def remove_reader(fd: Any) -> bool:
        removed.append(fd if isinstance(fd, int) else fd.fileno())
        return bool(original(fd))

    loop.remove_reader = remove_reader
    return removed


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def read_bodies(sock: socket.socket, count: int) -> list[bytes]:
    """The bodies of the next ``count`` responses (each with a Content-Length)."""
    buffer, bodies = b"", []
    while len(bodies) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffer[:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            end = head_end + 4 + length
            if len(buffer) >= end:
                bodies.append(buffer[head_end + 4 : end])
                buffer = buffer[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(bodies)} responses"
        buffer += chunk
    return bodies


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)  # polling the server's state, bounded by the deadline


def paused_readers(server: LiveServerThread) -> set[int]:
    assert server.server is not None
    return set(getattr(server.server.loop, "_paused_readers", ()))


def test_a_request_read_ahead_keeps_the_socket_registered_until_it_fires_again(server) -> None:
    GATE.waiting.clear()
    removed = counted_remove_reader(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(get("/slow"))
        assert GATE.waiting.wait(TIMEOUT), "the first request never reached its handler"
        # Read ahead while the first is handled: it waits in the stream's buffer, and Tornado
        # stops reading the socket. The reader is paused, not removed.
        sock.sendall(get("/fast/second"))
        wait_until(lambda: paused_readers(server), "the reader to be paused")
        assert removed == []
        (fd,) = paused_readers(server)
        # Readable while paused: unwatched then, the bytes left in the socket.
        sock.sendall(get("/fast/third"))
        wait_until(lambda: removed == [fd], "the paused reader to be removed")
        assert paused_readers(server) == set()
        assert server.server is not None
        server.server.loop.add_callback(lambda: GATE.event.set())  # type: ignore[union-attr]
        assert read_bodies(sock, 3) == [b"slow", b"second", b"third"]
        # Watched again once the stream read on: the next request is served too.
        sock.sendall(get("/fast/fourth"))
        assert read_bodies(sock, 1) == [b"fourth"]


def test_keep_alive_requests_read_ahead_are_served_in_order(server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        for round_ in range(20):
            sock.sendall(b"".join(get(f"/fast/r{round_}n{n}") for n in range(3)))
            expected = [f"r{round_}n{n}".encode() for n in range(3)]
            assert read_bodies(sock, 3) == expected
