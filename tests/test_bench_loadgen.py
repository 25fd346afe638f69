"""The benchmark's load generator (bench/loadgen.py) on its broadcast workload, against real
servers in processes of their own: receivers count copies by position and decode one broadcast
in 16, so a server that sends a copy twice must still be caught."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .skipping import require

BENCH = Path(__file__).resolve().parent.parent / "bench"
READY_TIMEOUT_S = 30.0

# raw_tornado.py, but every broadcast with a sequence number divisible by 3 is sent twice.
DUPLICATING_SERVER = textwrap.dedent(
    """
    import asyncio, json, signal, sys
    import tornado.web, tornado.websocket

    class Handler(tornado.websocket.WebSocketHandler):
        handlers = set()
        def open(self):
            Handler.handlers.add(self)
        def on_close(self):
            Handler.handlers.discard(self)
        def on_message(self, message):
            frame = json.loads(message)
            encoded = json.dumps({"event": "broadcast", "data": frame["data"]})
            seq = frame["data"]["seq"]
            copies = 2 if seq >= 0 and seq % 3 == 0 else 1
            for handler in list(Handler.handlers):
                for _ in range(copies):
                    handler.write_message(encoded)

    async def main():
        Application = tornado.web.Application
        server = Application([(r"/ws/bench", Handler)]).listen(int(sys.argv[1]), "127.0.0.1")
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.stop()

    asyncio.run(main())
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited before listening"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling a port that is not open yet; bounded by the deadline
    raise TimeoutError(f"nothing listened on {port} within {READY_TIMEOUT_S:.0f} s")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    require(
        all(importlib.util.find_spec(name) for name in ("picows", "orjson", "uvloop")),
        "the load generator's packages (bench/requirements.txt) are not installed",
    )
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str]) -> tuple[int, int]:
        port = free_port()
        process = subprocess.Popen([sys.executable, *argv, str(port)], cwd=tmp_path)
        started.append(process)
        wait_listening(port, process)
        return port, process.pid

    yield start
    for process in started:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def broadcast(port: int, pid: int, receivers: int = 20) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "loadgen.py"),
            "broadcast",
            "--url",
            f"ws://127.0.0.1:{port}/ws/bench",
            "--server-pid",
            str(pid),
            "--receivers",
            str(receivers),
            "--window",
            "4",
            "--warmup",
            "0.2",
            "--duration",
            "0.6",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_broadcast_workload_counts_every_copy_of_a_real_server(serve: Any) -> None:
    port, pid = serve([str(BENCH / "servers" / "raw_tornado.py"), "--port"])
    result = broadcast(port, pid)
    assert "error" not in result, result
    assert result["unexpected_frames"] == 0 and result["dropped_connections"] == 0, result
    assert result["deliveries_per_s"] > 0 and result["sender_receives_own_broadcast"]
    # Every delivery was timed against its broadcast's send time: latencies are positive and
    # the broadcasts completed whole (20 copies each).
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["broadcasts_per_s"] * 20 == pytest.approx(result["deliveries_per_s"])
    assert result["loadgen_capacity_per_s"] >= result["deliveries_per_s"]


def test_a_server_that_sends_a_copy_twice_is_caught(serve: Any, tmp_path: Path) -> None:
    script = tmp_path / "duplicating_server.py"
    script.write_text(DUPLICATING_SERVER)
    port, pid = serve([str(script)])
    result = broadcast(port, pid)
    assert result["unexpected_frames"] > 0, result
    assert "expected" in result["first_unexpected"], result
