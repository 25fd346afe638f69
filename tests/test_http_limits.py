"""HTTP requests that never finish, or are too large: answered 408 or 413, never held.

Raw sockets against `manage.py runtornado` in a child process (see test_limits.py); the
server's memory is read from /proc.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import ExitStack

import pytest

from .test_limits import TIMEOUT, receive, rss_kib, send, server_with, ws

MIB = 1024 * 1024


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def post_headers(port: int, length: int | None, path: str = "/body_length/") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    ).encode()


def test_partial_upgrade_requests_get_408_and_are_closed(tmp_path) -> None:
    with server_with(tmp_path, header_timeout=1) as server, ExitStack() as stack:
        port = server.port
        assert port is not None
        partial = (
            f"GET /ws/limits HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        ).encode()
        clients = [stack.enter_context(connect(port)) for _ in range(50)]
        for sock in clients:
            sock.sendall(partial)  # and never the blank line that ends the headers
        for sock in clients:
            answer = answer_of(sock)  # returns once the server closed
            assert status_of(answer) == 408
            assert b"Connection: close" in answer


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(tmp_path) -> None:
    with server_with(tmp_path, header_timeout=1) as server, connect(server.port) as sock:
        assert status_of(answer_of(sock)) == 408


def test_the_header_timeout_answers_neither_early_nor_long_after(tmp_path) -> None:
    # One timer checks the waiting requests a quarter of the timeout apart.
    with server_with(tmp_path, header_timeout=2) as server, connect(server.port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        assert status_of(answer_of(sock)) == 408
        waited = time.monotonic() - started
        assert 2.0 <= waited < 2.0 + 0.5 + 3.0, waited  # the check's delay, and a loaded machine


def test_a_websocket_whose_headers_came_in_time_is_not_timed_out_later(tmp_path) -> None:
    for transport in ("tornado", "asyncio"):
        with server_with(tmp_path, transport, header_timeout=1) as server:
            with ws(server) as conn, connect(server.port) as silent:
                # The silent connection came after the WebSocket's: once it has its 408, the
                # WebSocket's deadline has passed too.
                assert status_of(answer_of(silent)) == 408
                send(conn, "message", {"still": "open"})
                assert receive(conn) == {"event": "message", "data": {"still": "open"}}


def test_a_body_that_does_not_arrive_in_time_gets_408(tmp_path) -> None:
    with server_with(tmp_path, body_timeout=1) as server, ExitStack() as stack:
        clients = [stack.enter_context(connect(server.port)) for _ in range(20)]
        for sock in clients:
            sock.sendall(post_headers(server.port, 1000) + b"only the first bytes")
        for sock in clients:
            assert status_of(answer_of(sock)) == 408
        # A body that does arrive in time is served.
        with connect(server.port) as sock:
            sock.sendall(post_headers(server.port, 5) + b"12345")
            answer = sock.recv(65536)
            assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n5")


def test_an_announced_body_over_max_body_size_gets_413_before_it_is_sent(tmp_path) -> None:
    with server_with(tmp_path, max_body_size=MIB) as server:
        with connect(server.port) as sock:
            sock.sendall(post_headers(server.port, 95 * MIB))
            assert status_of(answer_of(sock)) == 413
        with connect(server.port) as sock:
            sock.sendall(post_headers(server.port, MIB) + b"x" * MIB)
            answer = sock.recv(65536)
            assert status_of(answer) == 200 and answer.endswith(f"\r\n\r\n{MIB}".encode())


def send_chunked(sock: socket.socket, port: int, total: int) -> None:
    """POST ``total`` bytes in chunks of 64 KiB; stops quietly when the server closes."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    try:
        sock.sendall(post_headers(port, None))
        for _ in range(total // 65536):
            sock.sendall(chunk)
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered 413 and closed
        pass


@pytest.mark.memory
def test_concurrent_large_chunked_posts_get_413_and_are_not_buffered_whole(tmp_path) -> None:
    with server_with(tmp_path, max_body_size=MIB) as server, ExitStack() as stack:
        port = server.port
        assert port is not None
        baseline = rss_kib(server.pid)
        clients = [stack.enter_context(connect(port)) for _ in range(8)]
        senders = [
            threading.Thread(target=send_chunked, args=(sock, port, 48 * MIB)) for sock in clients
        ]
        for sender in senders:
            sender.start()
        statuses = [status_of(answer_of(sock)) for sock in clients]
        for sender in senders:
            sender.join(TIMEOUT)
        assert statuses == [413] * 8
        grown_mib = (rss_kib(server.pid) - baseline) / 1024
        # Buffered whole, the eight bodies would be 384 MiB; a megabyte each at most is read.
        assert grown_mib < 60, f"RSS grew by {grown_mib:.0f} MiB"
        deadline = time.monotonic() + TIMEOUT
        while True:  # and the server still serves
            with connect(port) as sock:
                sock.sendall(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if status_of(sock.recv(65536)) == 200:
                    break
            assert time.monotonic() < deadline


def oversized_request(port: int, path: str, size: int, upgrade: bool = False) -> bytes:
    handshake = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        if upgrade
        else ""
    )
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{handshake}"
        f"Cookie: big={'c' * size}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("upgrade", [False, True], ids=["page", "websocket-handshake"])
def test_headers_over_max_header_size_get_431_and_the_connection_is_closed(
    tmp_path, upgrade
) -> None:
    limit = 8 * 1024
    with server_with(tmp_path, max_header_size=limit) as server:
        path = "/ws/limits" if upgrade else "/body_length/"
        for size in (limit + 1, 4 * limit, 64 * limit):  # within one read, or many
            with connect(server.port) as sock:
                try:
                    sock.sendall(oversized_request(server.port, path, size, upgrade))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # closed before it all went: the answer was sent first
                answer = answer_of(sock)
            assert status_of(answer) == 431, size
            assert b"Connection: close" in answer
            assert answer.endswith(b"\r\n\r\nRequest Header Fields Too Large")
        # Under the limit, the same request is served.
        with connect(server.port) as sock:
            sock.sendall(oversized_request(server.port, path, limit // 2, upgrade))
            assert status_of(sock.recv(65536)) in (101, 200)
