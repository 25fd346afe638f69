"""The benchmark's load generator (bench/loadgen.py) on its broadcast workload, against real
servers in processes of their own: receivers count copies by position and decode one broadcast
in 16, so a server that sends a copy twice must still be caught. And the receivers' counting of
frames from the bytes they read (bench/frame_counter.py), fed reads cut anywhere.

Each test runs twice: with frame_counter.py as Python, and compiled by Cython as run.py builds
it (bench/compiled.py), the way the benchmark's figures are made."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
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


@pytest.fixture(scope="module")
def compiled_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build root holding the frame counter compiled by bench/compiled.py."""
    require(
        all(importlib.util.find_spec(name) for name in ("Cython", "setuptools", "aiofastnet")),
        "the load generator's packages (bench/requirements.txt) are not installed",
    )
    root = tmp_path_factory.mktemp("bench-build")
    env = {**os.environ, "DTW_BENCH_BUILD": str(root)}
    done = subprocess.run(
        [sys.executable, str(BENCH / "compiled.py")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_without_a_c_compiler_the_frame_counter_runs_as_python_and_says_so(
    tmp_path: Path,
) -> None:
    require(
        all(importlib.util.find_spec(name) for name in ("Cython", "setuptools")),
        "the load generator's packages (bench/requirements.txt) are not installed",
    )
    require(Path("/bin/false").exists(), "no /bin/false to stand for a broken compiler")
    env = {**os.environ, "DTW_BENCH_BUILD": str(tmp_path), "CC": "/bin/false"}
    code = (
        "import sys, compiled; print(compiled.ensure_built()); "
        "before = list(sys.path); compiled.use_built(); print(sys.path == before)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BENCH, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    described, path_unchanged = done.stdout.splitlines()
    assert described.startswith("interpreted (its build failed: "), described
    assert len(described) < 160, described
    assert "The frame counter could not be compiled" in done.stderr
    # The load generator then imports frame_counter.py: nothing of the failed build first.
    assert path_unchanged == "True"
    assert not list(tmp_path.rglob("frame_counter*.so"))


@pytest.fixture(params=["interpreted", "compiled"])
def build_root(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the load generator looks for the compiled frame counter: an empty directory
    (it runs frame_counter.py as Python) or the module's build."""
    if request.param == "compiled":
        root: Path = request.getfixturevalue("compiled_build")
        return root
    return tmp_path / "no-build"


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


def broadcast(port: int, pid: int, build_root: Path, receivers: int = 20) -> dict[str, Any]:
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
        env={**os.environ, "DTW_BENCH_BUILD": str(build_root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_broadcast_workload_counts_every_copy_of_a_real_server(
    serve: Any, build_root: Path
) -> None:
    port, pid = serve([str(BENCH / "servers" / "raw_tornado.py"), "--port"])
    result = broadcast(port, pid, build_root)
    assert "error" not in result, result
    assert result["unexpected_frames"] == 0 and result["dropped_connections"] == 0, result
    assert result["deliveries_per_s"] > 0 and result["sender_receives_own_broadcast"]
    # Every delivery was timed against its broadcast's send time: latencies are positive and
    # the broadcasts completed whole (20 copies each).
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["broadcasts_per_s"] * 20 == pytest.approx(result["deliveries_per_s"])
    assert result["loadgen_capacity_per_s"] >= result["deliveries_per_s"]


def test_a_server_that_sends_a_copy_twice_is_caught(
    serve: Any, tmp_path: Path, build_root: Path
) -> None:
    script = tmp_path / "duplicating_server.py"
    script.write_text(DUPLICATING_SERVER)
    port, pid = serve([str(script)])
    result = broadcast(port, pid, build_root)
    assert result["unexpected_frames"] > 0, result
    assert "expected" in result["first_unexpected"], result


# --- the receivers' frame counting (bench/frame_counter.py), in process ------------------------


class FakeWsTransport:
    """What a receiver sends through picows's transport: pongs and wire packets."""

    def __init__(self) -> None:
        self.pongs: list[bytes] = []
        self.sent: list[bytes] = []

    def send_pong(self, payload: bytes) -> None:
        self.pongs.append(payload)

    def send(self, msg_type: Any, payload: bytes) -> None:
        self.sent.append(payload)


class FakeSender:
    def send_event(self, event: str, data: Any) -> None:
        pass


def frame(payload: bytes, first_byte: int = 0x81) -> bytes:
    """A server's (unmasked) frame."""
    if len(payload) < 126:
        return bytes([first_byte, len(payload)]) + payload
    return bytes([first_byte, 126]) + len(payload).to_bytes(2, "big") + payload


def broadcast_frame(seq: int, padding: int = 0) -> bytes:
    data = {"message": "The quick brown fox", "seq": seq, "t": 1.5, "pad": "x" * padding}
    return frame(json.dumps({"event": "broadcast", "data": data}).encode())


def bench_modules(build_root: Path) -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """frame_counter (and ws_workloads, built on it) imported afresh: the extension built under
    ``build_root`` when there is one, else frame_counter.py; the others from bench/."""
    require(
        all(importlib.util.find_spec(name) for name in ("picows", "orjson", "aiofastnet")),
        "the load generator's packages (bench/requirements.txt) are not installed",
    )
    build = build_root / sys.implementation.cache_tag
    paths = [str(build), str(BENCH)]
    sys.path[:0] = paths
    for name in ("frame_counter", "ws_workloads"):
        sys.modules.pop(name, None)
    try:
        import frame_counter
        import loadclient
        import wire as wires
        import ws_workloads
    finally:
        del sys.path[: len(paths)]
    compiled = Path(frame_counter.__file__ or "").suffix != ".py"
    assert compiled == build.is_dir(), f"{frame_counter.__file__} imported from {build_root}"
    return frame_counter, loadclient, wires, ws_workloads


def count_frames(
    build_root: Path, stream: bytes, cuts: list[int], wire: str = "json"
) -> dict[str, Any]:
    """Feed ``stream`` to one primed receiver's FrameCounter, read by read, cut at ``cuts``."""
    frame_counter, loadclient, wires, ws_workloads = bench_modules(build_root)

    async def feed() -> dict[str, Any]:
        stats = loadclient.ClientStats()
        run = ws_workloads.BroadcastRun(stats, receivers=1, window=ws_workloads.RING - 1)
        run.sender = FakeSender()  # type: ignore[assignment]
        receiver = ws_workloads.BroadcastReceiver(run)
        receiver.wire = wires.WIRES[wire]
        transport = FakeWsTransport()
        receiver.transport = transport  # type: ignore[assignment]
        receiver.level, run.measuring = 0, True
        run.fill_window()
        counter = frame_counter.FrameCounter(receiver, asyncio.BaseProtocol())
        for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            chunk = stream[start:stop]
            counter.get_buffer(-1)[: len(chunk)] = chunk
            counter.buffer_updated(len(chunk))
        return {
            "level": receiver.level,
            "completed": run.completed,
            "latencies": len(run.latencies),
            "unexpected": stats.unexpected_frames,
            "first_unexpected": stats.first_unexpected,
            "pongs": transport.pongs,
            "sent": transport.sent,
        }

    return asyncio.run(feed())


def random_cuts(size: int, seed: int) -> list[int]:
    chooser = random.Random(seed)
    return sorted(chooser.sample(range(1, size), k=min(size - 1, size // 40)))


def test_frames_cut_anywhere_between_reads_are_all_counted(build_root: Path) -> None:
    # Payloads from 100 to 300 bytes: 2- and 4-byte headers, cut at random places, the
    # header itself included.
    stream = b"".join(broadcast_frame(seq, padding=seq % 200) for seq in range(600))
    for seed in range(5):
        result = count_frames(build_root, stream, random_cuts(len(stream), seed))
        assert result["unexpected"] == 0, result["first_unexpected"]
        assert result["level"] == result["completed"] == result["latencies"] == 600


def test_control_frames_and_short_text_frames_are_handled_between_broadcasts(
    build_root: Path,
) -> None:
    ping, pong = frame(b"are you there", 0x89), frame(b"", 0x8A)
    stream = broadcast_frame(0) + ping + broadcast_frame(1) + pong + broadcast_frame(2)
    result = count_frames(build_root, stream, [3, len(stream) - 5])
    assert result["unexpected"] == 0 and result["level"] == 3
    assert result["pongs"] == [b"are you there"]
    # Socket.IO's ping, a text frame too short to be a broadcast, is answered by the wire.
    engineio_broadcast = frame(b'42["broadcast",{"message":"The quick brown fox","seq":0}]')
    result = count_frames(build_root, engineio_broadcast + frame(b"2"), [], wire="socketio")
    assert result["unexpected"] == 0 and result["level"] == 1 and result["sent"] == [b"3"]


def test_a_close_or_a_frame_no_server_sends_is_reported(build_root: Path) -> None:
    close = frame((1011).to_bytes(2, "big") + b"overloaded", 0x88)
    result = count_frames(build_root, broadcast_frame(0) + close + broadcast_frame(1), [])
    assert result["first_unexpected"] == {"close": 1011, "reason": "overloaded"}
    assert result["level"] == 1  # nothing after the close is read
    binary = frame(b"\x00" * 40, 0x82)
    assert count_frames(build_root, binary + broadcast_frame(0), [])["unexpected"] == 1


@pytest.mark.parametrize("fault", ["duplicate", "drop", "swap"])
def test_a_copy_duplicated_dropped_or_reordered_is_caught(fault: str, build_root: Path) -> None:
    frames = [broadcast_frame(seq) for seq in range(100)]
    if fault == "duplicate":
        frames.insert(40, frames[40])
    elif fault == "drop":
        del frames[40]
    else:  # the checked broadcast (a multiple of CHECK_EVERY) swapped with its neighbour
        frames[47], frames[48] = frames[48], frames[47]
    stream = b"".join(frames)
    result = count_frames(build_root, stream, random_cuts(len(stream), 1))
    assert result["unexpected"] > 0, result
    assert "expected" in result["first_unexpected"], result
