"""Limits, slow consumers, heartbeats and graceful shutdown, each on a server of its own.

The test project runs as `manage.py runtornado` in a child process; TEST_TORNADO (JSON) sets
the TORNADO keys under test.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from .processes import Server, environment
from .wsclient import close_frame_of, raw_websocket

TESTS = Path(__file__).resolve().parent
REPOSITORY = TESTS.parent
TIMEOUT = 20.0


@pytest.fixture(params=["tornado", "asyncio"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every limit holds on both paths a connection can take (TORNADO['transport'])."""
    return str(request.param)


@contextmanager
def server_with(tmp_path: Path, transport: str = "tornado", **tornado: Any) -> Iterator[Server]:
    env = environment(
        "tests.django_settings",
        [REPOSITORY],
        TEST_TORNADO=json.dumps({"transport": transport, **tornado}),
        TEST_DB_PATH=str(tmp_path / "db.sqlite3"),
    )
    server = Server(["127.0.0.1:0", "--noreload", "--skip-checks"], TESTS, env)
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()


def ws(server: Server, **kwargs: Any):
    return connect(f"ws://127.0.0.1:{server.port}/ws/limits", open_timeout=TIMEOUT, **kwargs)


def send(conn, event: str, data: Any = None, **extra: Any) -> None:
    conn.send(json.dumps({"event": event, "data": data or {}, **extra}))


def receive(conn) -> dict[str, Any]:
    return json.loads(conn.recv(timeout=TIMEOUT))


def close_code(conn) -> int:
    with pytest.raises(ConnectionClosed) as caught:
        while True:
            conn.recv(timeout=TIMEOUT)
    assert caught.value.rcvd is not None, "closed without a close frame"
    return caught.value.rcvd.code


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_message_over_max_message_size_closes_with_1009(tmp_path, transport) -> None:
    with server_with(tmp_path, transport, max_message_size=1024) as server:
        with ws(server) as big, ws(server) as bystander:
            send(big, "message", {"text": "x" * 2000})
            assert close_code(big) == 1009
            send(bystander, "message", {"text": "x" * 900})
            assert receive(bystander)["data"]["text"] == "x" * 900


def metric(server: Server, name: str, path: str = "/ws/limits") -> float:
    """The value of ``name`` for ``path`` on the server's Prometheus endpoint (/metrics)."""
    url = f"http://127.0.0.1:{server.port}/metrics"
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url) as answer:
        text = answer.read().decode()
    for line in text.splitlines():
        if line.startswith(f'{name}{{path="{path}"}} '):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} for {path} in:\n{text}")


def test_a_client_past_its_message_rate_is_warned_then_closed_with_1008(
    tmp_path, transport
) -> None:
    limits = {"message_rate": 0.001, "message_burst": 3, "metrics_path": "/metrics"}
    with server_with(tmp_path, transport, **limits) as server:
        with ws(server) as flooder, ws(server) as bystander:
            for n in range(10):
                send(flooder, "message", {"n": n})
            got = [receive(flooder) for _ in range(3)]
            assert [frame["data"].get("n") for frame in got] == [0, 1, 2], got
            assert receive(flooder) == {
                "event": "warning",
                "data": {"message": "Too many messages: slow down."},
            }
            assert close_code(flooder) == 1008
            send(bystander, "message", {"still": "served"})
            assert receive(bystander)["data"] == {"still": "served"}
        assert metric(server, "tws_rate_limit_closes_total") == 1


def test_max_connections_refuses_the_next_handshake_with_503(tmp_path, transport) -> None:
    with server_with(tmp_path, transport, max_connections=2, metrics_path="/metrics") as server:
        with ws(server), ws(server) as second:
            with pytest.raises(InvalidStatus) as caught:
                ws(server)
            assert caught.value.response.status_code == 503
            assert metric(server, "tws_refused_handshakes_total") == 1
            second.close()
            deadline = time.monotonic() + TIMEOUT
            while True:  # the server sees the close a moment after the client sends it
                try:
                    with ws(server):
                        break
                except InvalidStatus:
                    assert time.monotonic() < deadline, "a freed slot was never reused"


def test_a_long_event_name_and_too_many_rooms_are_refused(tmp_path, transport) -> None:
    with server_with(
        tmp_path, transport, max_event_name_length=10, max_rooms_per_socket=2
    ) as server:
        with ws(server) as conn:
            send(conn, "x" * 11)
            assert receive(conn)["data"] == {"message": "The event name is too long."}
            for n, room in enumerate(["a", "b"]):
                send(conn, "join", {"room": room}, id=n)
                assert receive(conn)["ack"] == n
            send(conn, "join", {"room": "c"}, id=9)
            assert "max_rooms_per_socket" in receive(conn)["error"]["message"]


@pytest.mark.memory
def test_a_client_that_never_reads_is_closed_and_memory_stays_flat(tmp_path, transport) -> None:
    payload = "y" * 100_000
    with server_with(tmp_path, transport, max_message_size=2**20, message_rate=1e6) as server:
        stuck = raw_websocket(server.port, "/ws/limits", receive_buffer=4096)
        with ws(server, max_size=2**20) as healthy:
            send(healthy, "shout", {"warmup": payload})
            receive(healthy)
            before = rss_kib(server.pid)
            for n in range(2000):  # 2,000 broadcasts of 100 kB: 200 MB for each client
                send(healthy, "shout", {"n": n, "p": payload})
                frame = receive(healthy)
                assert frame["data"].get("n") == n, str(frame)[:300]
            after = rss_kib(server.pid)
        server.wait_for_line("more than TORNADO\\['max_queued_bytes'\\]")
        assert "Closing <WebSocketHandler" in server.output and "with 4008" in server.output
        assert after - before < 64 * 1024, f"RSS grew from {before} KiB to {after} KiB"
        stuck.close()


@pytest.mark.memory
def test_a_plain_handler_flooding_its_own_client_that_never_reads_is_bounded(
    tmp_path, transport
) -> None:
    # The handler's emits are written from its worker thread while the socket takes them, then
    # wait on the loop's side: max_queued_bytes still closes the connection, memory stays flat.
    payload_size = 100_000
    with server_with(tmp_path, transport, max_message_size=2**20) as server:
        with ws(server) as warm:  # code paths and allocator pools, before measuring
            send(warm, "flood_self", {"n": 5, "size": payload_size})
            for _ in range(5):
                receive(warm)
        server.wait_for_line("flooded 5$")
        before = rss_kib(server.pid)
        # max_queue=1: the client's reader stops after one frame, so TCP stops the server.
        with ws(server, max_size=2**20, max_queue=1) as stuck:
            send(stuck, "flood_self", {"n": 2000, "size": payload_size})  # 200 MB
            server.wait_for_line("flooded 2000$")
            after = rss_kib(server.pid)
            server.wait_for_line("more than TORNADO\\['max_queued_bytes'\\]")
        assert "with 4008" in server.output
        assert after - before < 64 * 1024, f"RSS grew from {before} KiB to {after} KiB"


def test_heartbeats_reap_a_dead_peer_with_1011_and_run_its_close_handler(
    tmp_path, transport
) -> None:
    with server_with(tmp_path, transport, ping_interval=0.2, ping_timeout=1) as server:
        silent = raw_websocket(server.port, "/ws/limits")  # never answers pings
        with silent:
            server.wait_for_line(r"close handler ran for socket \d+", timeout=TIMEOUT)
            assert close_frame_of(silent) == (1011, "ping timed out")


def test_sigterm_lets_a_slow_view_finish_and_closes_every_socket_with_1001(
    tmp_path, transport
) -> None:
    with server_with(tmp_path, transport) as server, ExitStack() as stack:
        clients = [stack.enter_context(ws(server)) for _ in range(100)]
        answer: list[str] = []

        def slow_request() -> None:
            url = f"http://127.0.0.1:{server.port}/sleep/?seconds=2"
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                answer.append(response.read().decode())

        request = threading.Thread(target=slow_request)
        request.start()
        server.wait_for_line("sleep view entered")
        server.signal(signal.SIGTERM)
        codes = [close_code(conn) for conn in clients]
        request.join(TIMEOUT)
        assert answer == ["slept"]
        assert server.wait_for_exit(TIMEOUT) == 0
        assert codes == [1001] * 100


@pytest.mark.memory
def test_five_thousand_idle_connections_are_held_with_bounded_memory(tmp_path, transport) -> None:
    import asyncio

    from websockets.asyncio.client import connect as async_connect

    count = 5000
    with server_with(tmp_path, transport, max_connections=count + 10) as server:
        url = f"ws://127.0.0.1:{server.port}/ws/limits"
        before = rss_kib(server.pid)

        async def hold() -> int:
            async with ExitStackAsync() as stack:
                for _ in range(0, count, 250):
                    await asyncio.gather(
                        *(stack.enter(async_connect(url, open_timeout=60)) for _i in range(250))
                    )
                return rss_kib(server.pid)

        held = asyncio.run(hold())
        per_connection = (held - before) / count
        print(f"idle RSS per connection: {per_connection:.1f} KiB ({count} connections)")
        assert per_connection < 64, f"{per_connection:.1f} KiB per idle connection"


class ExitStackAsync:
    """Enter many async context managers and exit them all, in reverse order."""

    def __init__(self) -> None:
        self.managers: list[Any] = []

    async def enter(self, manager: Any) -> Any:
        value = await manager.__aenter__()
        self.managers.append(manager)
        return value

    async def __aenter__(self) -> ExitStackAsync:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        import asyncio

        await asyncio.gather(
            *(m.__aexit__(None, None, None) for m in reversed(self.managers)),
            return_exceptions=True,
        )


# -- what a client can make one connection hold ------------------------------------------------


def hwm_kib(pid: int) -> int:
    """The peak RSS of the process so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@contextmanager
def held_plain_handler(server: Server, conn) -> Iterator[socket.socket]:
    """Start the connection's plain handler ``hold``, which blocks until a byte is written to
    the socket yielded; everything the connection sends meanwhile waits its turn."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        send(conn, "hold", {"port": listener.getsockname()[1]})
        release, _ = listener.accept()
    with release:
        yield release


@pytest.mark.memory
def test_frames_waiting_behind_a_slow_plain_handler_are_bounded_by_bytes(
    tmp_path, transport
) -> None:
    # 60 KiB of `[{},{},...]` parses to ~1.4 MB: 256 parsed frames would hold ~370 MB.
    count = 400
    frames = [
        json.dumps({"event": "work", "data": {"n": n, "x": [{}] * 21_000}}, separators=(",", ":"))
        for n in range(count)
    ]
    assert len(frames[0]) < 64 * 1024
    with server_with(tmp_path, transport, message_rate=1e6, message_burst=10**6) as server:
        with ws(server) as conn, held_plain_handler(server, conn) as release:
            before = rss_kib(server.pid)
            sent = [0]

            def send_all() -> None:
                for frame in frames:
                    conn.send(frame)
                    sent[0] += 1

            sender = threading.Thread(target=send_all, daemon=True)
            sender.start()
            peak, progress, still_since = before, -1, time.monotonic()
            while sender.is_alive() and time.monotonic() - still_since < 2:
                # Until the server stops reading (the sender then blocks) or takes everything.
                peak = max(peak, rss_kib(server.pid))
                if sent[0] != progress:
                    progress, still_since = sent[0], time.monotonic()
                sender.join(0.05)
            peak = max(peak, rss_kib(server.pid))
            assert sent[0] < count, "the server read every frame while its handler was held"
            release.sendall(b"go")
            sender.join(TIMEOUT * 3)
            assert not sender.is_alive(), "reading never resumed"
            send(conn, "tally", id=1)
            assert receive(conn) == {"ack": 1, "data": count}
        assert "out of order" not in server.output
        print(f"RSS {before} KiB, peak {peak} KiB with {sent[0]} of {count} frames sent")
        assert peak - before < 32 * 1024, f"RSS grew from {before} KiB to {peak} KiB"


def test_the_waiting_messages_of_a_closed_connection_are_dropped_and_its_close_handler_runs(
    tmp_path, transport
) -> None:
    with server_with(tmp_path, transport) as server, ws(server) as watcher, ExitStack() as stack:
        conn = stack.enter_context(ws(server))
        send(conn, "my_id", id=1)
        socket_id = receive(conn)["data"]
        with held_plain_handler(server, conn) as release:
            for n in range(100):
                send(conn, "counted", {"n": n})
            conn.close()
            deadline = time.monotonic() + TIMEOUT
            while True:  # the server has seen the close: the connection is no longer listed
                send(watcher, "open_ids", id=2)
                if socket_id not in receive(watcher)["data"]:
                    break
                assert time.monotonic() < deadline, "the close was never seen"
            release.sendall(b"go")
        server.wait_for_line(rf"close handler ran for socket {socket_id}$")
        assert "counted" not in server.output


@pytest.mark.memory
def test_a_client_that_never_reads_tiny_frames_is_closed_holding_about_max_queued_bytes(
    tmp_path, transport
) -> None:
    with server_with(tmp_path, transport, message_rate=1e6, message_burst=10**6) as server:
        with ws(server) as sender:
            batches = iter(range(1, 10**6))

            def flood_a_client_that_never_reads() -> int:
                """Send 5,000 frames of 31 bytes at a time until it is closed; how many sent."""
                stuck = raw_websocket(server.port, "/ws/limits", receive_buffer=4096)
                closed = server.output.count("with 4008")
                for rounds in range(1, 200):
                    batch = next(batches)
                    send(sender, "flood_others", {"n": 5000}, id=batch)
                    assert receive(sender)["ack"] == batch
                    if server.output.count("with 4008") > closed:
                        stuck.close()
                        return rounds * 5000
                raise AssertionError("the client that never reads was never closed")

            flood_a_client_that_never_reads()  # warm-up: code paths, allocator pools
            before = hwm_kib(server.pid)
            frames = flood_a_client_that_never_reads()
            after = hwm_kib(server.pid)
        print(f"peak RSS {before} KiB before, {after} KiB after {frames} tiny frames")
        assert after - before < 8 * 1024, f"peak RSS grew from {before} KiB to {after} KiB"


def test_sigterm_lets_every_running_handler_finish_and_runs_every_close_handler(
    tmp_path, transport
) -> None:
    count, plain_every = 200, 10
    plain = count // plain_every
    settings = {"shutdown_timeout": 60, "message_rate": 1e6}
    with server_with(tmp_path, transport, **settings) as server, ExitStack() as stack:
        clients = [stack.enter_context(ws(server)) for _ in range(count)]
        for n, conn in enumerate(clients):
            if n % plain_every:
                send(conn, "slow_async", {"n": n, "seconds": 3})
            else:
                send(conn, "slow_plain", {"n": n, "seconds": 0.5})
        server.wait_for_lines("async handler started", count - plain)
        server.wait_for_lines("plain handler started", plain)  # 8 threads: the last ones run
        server.signal(signal.SIGTERM)
        codes = [close_code(conn) for conn in clients]
        assert server.wait_for_exit(TIMEOUT * 3) == 0
    output = server.output  # prints of several threads may share a line: count every match
    assert codes == [1001] * count
    assert output.count("async handler finished") == count - plain
    assert output.count("plain handler finished") == plain
    assert output.count("close handler ran for socket") == count
