"""A thin layer over the `websockets` sync client for readable tests."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from websockets.asyncio.client import connect as connect_on_a_loop
from websockets.sync.client import ClientConnection, connect

TIMEOUT = 10.0


def open_socket(server: Any, path: str, **kwargs: Any) -> ClientConnection:
    """Connect to ``/ws`` + ``path`` on the live server."""
    return connect(f"{server.ws_url}/ws{path}", open_timeout=TIMEOUT, **kwargs)


def send(conn: ClientConnection, frame: Any) -> None:
    conn.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))


def receive(conn: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next frame, decoded; fails the test after ``timeout`` seconds."""
    return json.loads(conn.recv(timeout=timeout))


def receive_event(conn: ClientConnection, event: str, timeout: float = TIMEOUT) -> Any:
    """The data of the next frame, which must be ``event``."""
    frame = receive(conn, timeout)
    assert frame.get("event") == event, f"expected event {event!r}, got {frame!r}"
    return frame["data"]


def warning_of(frame: dict[str, Any]) -> str:
    assert frame.get("event") == "warning", f"expected a warning, got {frame!r}"
    return frame["data"]["message"]


def emit(conn: ClientConnection, event: str, data: Any = None, **extra: Any) -> None:
    frame: dict[str, Any] = {"event": event, **extra}
    if data is not None:
        frame["data"] = data
    send(conn, frame)


@contextmanager
def open_sockets(
    server: Any, path: str, count: int, **kwargs: Any
) -> Iterator[list[ClientConnection]]:
    """``count`` connections to the same application, all closed on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(open_socket(server, path, **kwargs)) for _ in range(count)]


def wait_for_item(items: queue.Queue[Any], expected: Any, timeout: float = TIMEOUT) -> None:
    """Consume ``items`` until ``expected`` shows up (others may come first)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{expected!r} did not arrive within {timeout} s")
        try:
            if items.get(timeout=remaining) == expected:
                return
        except queue.Empty:
            continue


def raw_websocket(port: int, path: str, receive_buffer: int | None = None) -> socket.socket:
    """A TCP client that completes the WebSocket handshake and then does nothing at all.

    It never reads (so it never answers pings) unless the test reads from it. With
    ``receive_buffer``, the kernel's receive buffer is fixed to that size before connecting.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)  # byte by byte: leave every frame after the headers unread
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def read_server_frame(sock: socket.socket) -> tuple[int, bytes]:
    """The opcode and payload of the next (unmasked, unfragmented) frame the server sent."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"the server closed the TCP connection after {data!r}")
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(exactly(8), "big")
    return first & 0x0F, exactly(length)


def close_frame_of(sock: socket.socket) -> tuple[int, str]:
    """Skip the server's pings and messages until its close frame: its code and reason."""
    while True:
        opcode, payload = read_server_frame(sock)
        if opcode == 0x8:
            return int.from_bytes(payload[:2], "big"), payload[2:].decode()


def exchange_over_tls(url: str, context: ssl.SSLContext, frames: list[Any]) -> list[Any]:
    """Send each frame over ``wss://`` and take one frame back after each, decoded.

    With the asyncio client, on one thread: the sync client reads its socket in a thread of its
    own while the caller's thread writes, and a TLS socket may not be used by two threads at
    once (OpenSSL's ``SSL`` object is not thread-safe; under load this showed as
    ``[SSL] internal error`` in the client's first write).
    """

    async def talk() -> list[Any]:
        answers = []
        async with connect_on_a_loop(url, ssl=context, open_timeout=TIMEOUT) as conn:
            for frame in frames:
                await conn.send(json.dumps(frame))
                answers.append(json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT)))
        return answers

    return asyncio.run(talk())
