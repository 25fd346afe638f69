"""Instructions per message, counted by callgrind: figures that do not move with the load of
a shared machine, where messages per second do.

Each server runs under ``valgrind --tool=callgrind`` twice, for a short and a long workload;
the difference of the two totals, divided by the difference in messages (or deliveries),
is what one more message costs the server, start-up and shutdown cancelling out. The client
is a blocking socket in this process, outside valgrind, sending one message at a time and
waiting for every answer, so that each message is handled alone (the worst case: nothing
batched).

Usage: ``python bench/instructions.py [--servers raw,dtw-async,dtw-async-tornado,websockets]
[--workloads echo,broadcast,handshake]``. ``handshake`` opens connections one after another
(upgrade, closing handshake): instructions per connection. ``http`` sends ``GET /hello`` on
``HTTP_CONNECTIONS`` keep-alive connections at once, then reads the answers, round after round:
instructions per request, for the Django servers (``--servers runtornado,gunicorn
--workloads http``), their processes' counts added up (gunicorn's worker is a process of its
own). Takes a few minutes; prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plan import SERVER_KINDS

BENCH_DIR = Path(__file__).resolve().parent
ECHO_COUNTS = (300, 1300)
BROADCAST_COUNTS = (40, 140)
BROADCAST_RECEIVERS = 100
HANDSHAKE_COUNTS = (30, 130)
HTTP_CONNECTIONS = 8
HTTP_COUNTS = (300, 1300)  # requests: a multiple of HTTP_CONNECTIONS
TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connect(port: int) -> socket.socket:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    sock.sendall(
        (
            f"GET /ws/bench HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def masked(payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body


def read_frame(sock: socket.socket) -> bytes:
    head = b""
    while len(head) < 2:
        head += sock.recv(2 - len(head))
    length = head[1] & 0x7F
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return body


def run_echo(port: int, count: int) -> None:
    sock = connect(port)
    frame = masked(json.dumps({"event": "message", "data": {"text": "hello"}}).encode())
    for _ in range(count):
        sock.sendall(frame)
        read_frame(sock)
    sock.close()


def run_broadcast(port: int, count: int) -> None:
    receivers = [connect(port) for _ in range(BROADCAST_RECEIVERS)]
    selector = selectors.DefaultSelector()
    for sock in receivers:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    frame = masked(json.dumps({"event": "broadcast", "data": {"text": "hello"}}).encode())
    sender = receivers[0]
    expected = None
    for _ in range(count):
        sender.setblocking(True)
        sender.sendall(frame)
        sender.setblocking(False)
        got = dict.fromkeys(receivers, 0)
        done = 0
        while done < len(receivers):
            for key, _events in selector.select(TIMEOUT):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                got[sock] += len(sock.recv(65536))
                if expected is None:
                    expected = got[sock]
                if got[sock] == expected:
                    done += 1
    for sock in receivers:
        sock.close()


def run_handshake(port: int, count: int) -> None:
    """Open a connection, send a close frame, wait for the server's, close; ``count`` times
    (what the benchmark's handshakes workload does, one connection at a time)."""
    close = b"\x88\x82\x00\x00\x00\x00\x03\xe8"  # masked (with zeros), code 1000
    for _ in range(count):
        sock = connect(port)
        sock.sendall(close)
        read_frame(sock)
        sock.close()


def http_connection(port: int) -> socket.socket:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def read_response(sock: socket.socket, pending: bytearray) -> None:
    """Read one response with a ``Content-Length`` from ``sock``; what follows stays in
    ``pending``."""
    while b"\r\n\r\n" not in pending:
        pending += sock.recv(65536)
    end = pending.index(b"\r\n\r\n") + 4
    head = bytes(pending[:end])
    assert head.startswith(b"HTTP/1.1 200"), head
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head)[1])  # type: ignore[index]
    while len(pending) < end + length:
        pending += sock.recv(65536)
    del pending[: end + length]


def run_http(port: int, count: int) -> None:
    """``count`` requests, ``HTTP_CONNECTIONS`` at a time: the server may batch a round's
    requests through its worker pool, as under the benchmark's load."""
    first = http_connection(port)
    request = f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    sockets = [first] + [http_connection(port) for _ in range(HTTP_CONNECTIONS - 1)]
    buffers = {sock: bytearray() for sock in sockets}
    for _ in range(count // HTTP_CONNECTIONS):
        for sock in sockets:
            sock.sendall(request)
        for sock in sockets:
            read_response(sock, buffers[sock])
    for sock in sockets:
        sock.close()


WORKLOADS = {
    "echo": run_echo,
    "broadcast": run_broadcast,
    "handshake": run_handshake,
    "http": run_http,
}
COUNTS = {"echo": ECHO_COUNTS, "broadcast": BROADCAST_COUNTS, "http": HTTP_COUNTS}


def instructions(server: str, workload: str, count: int) -> int:
    kind = SERVER_KINDS[server]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dtw-callgrind-") as directory:
        out = Path(directory) / "callgrind.out.%p"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            # The Django servers run under a parent script; gunicorn forks its worker.
            "--trace-children=yes",
            sys.executable, str(kind.script), "--port", str(port), *kind.args,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(BENCH_DIR / "servers")}
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            WORKLOADS[workload](port, count)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(TIMEOUT)
        total = 0
        for path in Path(directory).glob("callgrind.out.*"):
            totals = re.search(rb"^(?:summary|totals): (\d+)", path.read_bytes(), re.MULTILINE)
            assert totals is not None, path
            total += int(totals[1])
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="raw,dtw-async,dtw-async-tornado,websockets")
    parser.add_argument("--workloads", default="echo,broadcast")
    args = parser.parse_args()
    print(
        "| server | workload | instructions per message (echo), delivery (broadcast),"
        " connection (handshake) or request (http) |"
    )
    print("|---|---|---:|")
    for workload in args.workloads.split(","):
        small, large = COUNTS.get(workload, HANDSHAKE_COUNTS)
        per = BROADCAST_RECEIVERS if workload == "broadcast" else 1
        for server in args.servers.split(","):
            low = instructions(server, workload, small)
            high = instructions(server, workload, large)
            figure = (high - low) / ((large - small) * per)
            print(f"| {server} | {workload} | {figure:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
