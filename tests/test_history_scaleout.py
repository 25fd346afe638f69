"""History across processes on Redis: a client recovers on another node what it missed while
its own node died; a flushed Redis makes recovery say so."""

from __future__ import annotations

import json
import signal
import time
import uuid
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from .processes import Nodes, Server

pytestmark = pytest.mark.redis

TIMEOUT = 20.0


def client(server: Server, stack: ExitStack, recover: bool = False) -> ClientConnection:
    query = "?$recover=1" if recover else ""
    url = f"ws://127.0.0.1:{server.port}/ws/history_cluster{query}"
    return stack.enter_context(connect(url, open_timeout=TIMEOUT, proxy=None))


def shout(conn: ClientConnection, **data: Any) -> None:
    conn.send(json.dumps({"event": "shout", "data": data}))


def receive(conn: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return json.loads(conn.recv(timeout=timeout))


def synced(sender: ClientConnection, receiver: ClientConnection) -> dict[str, Any]:
    """Probe until ``receiver`` hears ``sender``'s node; returns the last frame it got."""
    deadline = time.monotonic() + TIMEOUT
    for probe in range(10**6):
        assert time.monotonic() < deadline, "the nodes never relayed each other's messages"
        shout(sender, probe=probe)
        try:
            while (frame := receive(receiver, timeout=0.5))["data"].get("probe") != probe:
                pass
            return frame
        except TimeoutError:
            continue
    raise AssertionError("unreachable")


def drain_probes(conn: ClientConnection, last: dict[str, Any]) -> dict[str, Any]:
    """Skip the probes ``conn`` may still get; returns the last one."""
    while True:
        try:
            last = receive(conn, timeout=0.5)
        except TimeoutError:
            return last


def test_a_client_whose_node_is_killed_recovers_everything_from_another_node(
    tmp_path, machine_redis
) -> None:
    broker = {"url": machine_redis, "prefix": f"tws-test-{uuid.uuid4().hex[:12]}"}
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, broker, stack)
        a, b = nodes.start(), nodes.start()
        on_a, emitter = client(a, stack), client(b, stack)
        synced(emitter, on_a)
        last = drain_probes(on_a, {})
        for n in range(20):
            shout(emitter, n=n)
        seen = []
        while len(seen) < 5:
            frame = receive(on_a)
            seen.append(frame["data"]["n"])
            last = frame
        a.signal(signal.SIGKILL)  # while messages are still being emitted
        for n in range(20, 40):
            shout(emitter, n=n)
        assert a.wait_for_exit() == -signal.SIGKILL
        on_b = client(b, stack, recover=True)
        position = {"offset": last["offset"], "epoch": last["epoch"]}
        on_b.send(json.dumps({"event": "$recover", "data": {"broadcast": position}}))
        for n in range(40, 80):  # published while the replay is read and written
            shout(emitter, n=n)
        frames: list[dict[str, Any]] = []
        events: set[Any] = set()
        while not {"$recovered", 79} <= events:
            frames.append(receive(on_b))
            events.update((frames[-1]["event"], frames[-1]["data"].get("n")))
    answer = next(f["data"] for f in frames if f["event"] == "$recovered")
    assert answer["recovered"] is True
    numbers = seen + [f["data"]["n"] for f in frames if f["event"] == "said"]
    assert numbers == list(range(80))  # all of them, in order, none twice
    # The answer comes right after the replay, before anything the replay did not cover.
    assert [f["event"] for f in frames].index("$recovered") == answer["missed"]
    offsets = [last["offset"]] + [f["offset"] for f in frames if f["event"] == "said"]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))


def test_a_flushed_redis_makes_recovery_say_recovered_false(tmp_path, redis_server) -> None:
    import redis

    redis_server.start()
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, redis_server.url, stack)
        a, b = nodes.start(), nodes.start()
        on_a, emitter = client(a, stack), client(b, stack)
        last = drain_probes(on_a, synced(emitter, on_a))
        flusher = redis.Redis.from_url(redis_server.url)
        flusher.flushall()  # a private server: nobody else's keys
        flusher.close()
        shout(emitter, n=1)
        after_flush = receive(on_a)
        on_b = client(b, stack, recover=True)
        position = {"offset": last["offset"], "epoch": last["epoch"]}
        on_b.send(json.dumps({"event": "$recover", "data": {"broadcast": position}}))
        answer = receive(on_b)
    assert after_flush["epoch"] != last["epoch"] and after_flush["offset"] == 1
    assert answer["event"] == "$recovered"
    assert answer["data"]["recovered"] is False
    assert answer["data"]["broadcast"] == {
        "recovered": False,
        "missed": 0,
        "offset": 1,
        "epoch": after_flush["epoch"],
        "reason": "The history of this stream was lost (new epoch).",
    }


def test_a_process_without_a_server_stores_emits_and_reads_history(tmp_path, machine_redis) -> None:
    broker = {"url": machine_redis, "prefix": f"tws-test-{uuid.uuid4().hex[:12]}"}
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, broker, stack)
        a = nodes.start()
        on_a = client(a, stack)
        last = drain_probes(on_a, synced(client(a, stack), on_a))
        nodes.run_python(
            "from testapp.sockets import ws_history\n"
            "for n in range(3):\n"
            "    ws_history.emit('said', {'n': n})\n"
        )
        live = [receive(on_a) for _ in range(3)]
        read = nodes.run_python(
            "from testapp.sockets import ws_history\n"
            f"for m in ws_history.history(since={last['offset']}):\n"
            "    print(m.offset, m.epoch, m.data['n'])\n"
        )
    assert [f["data"]["n"] for f in live] == [0, 1, 2]
    offsets = [f["offset"] for f in live]
    assert offsets == [last["offset"] + 1, last["offset"] + 2, last["offset"] + 3]
    assert read.split() == [
        str(part) for f in live for part in (f["offset"], f["epoch"], f["data"]["n"])
    ]


def test_a_stream_holding_foreign_entries_fails_recovery_cleanly_and_delivery_goes_on(
    tmp_path, redis_server
) -> None:
    import redis

    from tornado_websockets.history.redis import RedisHistory

    redis_server.start()
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, redis_server.url, stack)
        a = nodes.start()
        on_a = client(a, stack)
        last = drain_probes(on_a, synced(client(a, stack), on_a))
        meta, key = RedisHistory(redis_server.url, "tws").keys("/ws/history_cluster", "")
        intruder = redis.Redis.from_url(redis_server.url)
        intruder.hincrby(meta, "offset", 1)
        intruder.xadd(key, {"not": "ours"}, id=f"{last['offset'] + 1}-0")
        intruder.close()
        on_b = client(a, stack, recover=True)
        position = {"offset": last["offset"], "epoch": last["epoch"]}
        on_b.send(json.dumps({"event": "$recover", "data": {"broadcast": position}}))
        answer = receive(on_b)
        shout(client(a, stack), n=1)
        after = receive(on_b)
    assert answer["event"] == "$recovered"
    assert answer["data"]["recovered"] is False
    assert answer["data"]["reason"] == "Recovery failed on the server."
    assert after["data"] == {"n": 1} and after["offset"] == last["offset"] + 2


def test_a_node_that_missed_announcements_while_resubscribing_fills_the_gap_in_order(
    tmp_path, redis_server
) -> None:
    import redis

    from tornado_websockets.envelope import Envelope
    from tornado_websockets.history.redis import APPEND_SCRIPT, RedisHistory

    redis_server.start()
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, redis_server.url, stack)
        a = nodes.start()
        on_a, sender = client(a, stack), client(a, stack)
        last = drain_probes(on_a, synced(sender, on_a))
        store = RedisHistory(redis_server.url, "tws")
        head = Envelope("emit", "elsewhere", "said", broadcast=True, stream="").head()
        mark = len(a.lines)
        other = redis.Redis.from_url(redis_server.url)
        with other.pipeline(transaction=True) as pipe:
            # Atomically: the node loses its subscription, then three messages are published.
            pipe.client_kill_filter(_type="pubsub")
            for n in range(3):
                payload = json.dumps({"event": "said", "data": {"n": n}}).encode()
                keys, args = store._arguments("/ws/history_cluster", "", payload, head, 500, 120)
                pipe.eval(APPEND_SCRIPT, len(keys), *keys, *args)
            pipe.execute()
        other.close()
        a.wait_for_line("Redis broker reconnected", start=mark)
        shout(sender, n=3)
        frames = [receive(on_a) for _ in range(4)]
    assert [f["data"]["n"] for f in frames] == [0, 1, 2, 3]
    assert [f["offset"] for f in frames] == [last["offset"] + i for i in (1, 2, 3, 4)]
