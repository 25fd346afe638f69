"""Out of file descriptors: `runtornado` pauses accepting, logs once, and recovers.

The server is `manage.py runtornado` in a child process whose hard `RLIMIT_NOFILE` is low, so
that a hundred stalled handshakes exhaust it. Its CPU time is read from /proc.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import connect

from .processes import Server, environment, http_get
from .test_limits import REPOSITORY, TESTS, TIMEOUT

FD_LIMIT = 64
STALLED = 100
WINDOW = 3.0
"""Seconds over which the CPU time of the server is measured while it is out of descriptors."""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def test_out_of_descriptors_the_server_pauses_logs_once_and_recovers(tmp_path) -> None:
    env = environment(
        "tests.django_settings",
        [REPOSITORY],
        TEST_TORNADO=json.dumps({"header_timeout": 120}),
        TEST_DB_PATH=str(tmp_path / "db.sqlite3"),
    )
    args = ["127.0.0.1:0", "--noreload", "--skip-checks"]
    server = Server(args, TESTS, env, preexec_fn=low_fd_limit)
    try:
        port = server.wait_until_serving()
        server.wait_for_line(rf"File descriptors: limit {FD_LIMIT} \(the hard limit")
        assert http_get(port, "/hello/").status == 200
        start = len(server.lines)
        with ExitStack() as stack:
            for _ in range(STALLED):  # handshakes that never end their headers
                sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                sock.sendall(f"GET /ws/limits HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            server.wait_for_line("Too many open files", TIMEOUT, start)
            before = cpu_seconds(server.pid)
            time.sleep(WINDOW)  # the measured window itself, not a wait for an event
            used = cpu_seconds(server.pid) - before
            print(f"server CPU while out of descriptors: {used:.2f} s in {WINDOW} s")
            assert used < WINDOW / 10, f"{used:.2f} s of CPU in {WINDOW} s out of descriptors"
            episode = server.lines[start:]
            assert sum("Too many open files" in line for line in episode) == 1, episode[:20]
            assert len(episode) < 5, episode[:20]
        # The stalled clients went away: the server accepts again, and says so once.
        with connect(f"ws://127.0.0.1:{port}/ws/limits", open_timeout=TIMEOUT) as ws:
            ws.send(json.dumps({"event": "message", "data": {"n": 1}}))
            assert json.loads(ws.recv(timeout=TIMEOUT)) == {"event": "message", "data": {"n": 1}}
        assert http_get(port, "/hello/").status == 200
        server.wait_for_line(r"Accepting connections again, after [\d.]+ s", TIMEOUT, start)
        recovered = [line for line in server.lines[start:] if "Accepting connections" in line]
        assert len(recovered) == 1
    finally:
        server.stop()
