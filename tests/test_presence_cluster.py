"""Presence across processes on Redis: the same answer everywhere, SIGKILL and clean exits.

Each server is the test project run as `manage.py runtornado` in its own process; they share
the machine's Redis under a prefix of their own. A short `presence_ttl` keeps the test quick.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from .processes import Server, environment

pytestmark = pytest.mark.redis

TESTS = Path(__file__).resolve().parent
REPOSITORY = TESTS.parent
TIMEOUT = 20.0
TTL = 1.5
INTERVAL = 0.1


class Cluster:
    def __init__(self, tmp_path: Path, redis_url: str, stack: ExitStack) -> None:
        self.prefix = f"tws-test-{uuid.uuid4().hex[:12]}"
        tornado = {
            "broker": {"url": redis_url, "prefix": self.prefix},
            "presence_ttl": TTL,
            "presence_interval": INTERVAL,
        }
        self.env = environment(
            "tests.django_settings",
            [REPOSITORY],
            TEST_TORNADO=json.dumps(tornado),
            TEST_DB_PATH=str(tmp_path / "db.sqlite3"),
        )
        self.stack = stack
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--run-syncdb", "-v", "0"],
            cwd=TESTS,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr

    def start(self) -> Server:
        server = Server(["127.0.0.1:0", "--noreload", "--skip-checks"], TESTS, self.env)
        self.stack.callback(server.stop)
        server.wait_until_serving()
        return server

    def connect(self, server: Server, name: str, room: str) -> ClientConnection:
        url = f"ws://127.0.0.1:{server.port}/ws/presence"
        conn = self.stack.enter_context(connect(url, open_timeout=TIMEOUT, proxy=None))
        request(conn, "enter", {"name": name, "room": room})
        return conn

    def presence_without_a_server(self, room: str) -> Any:
        script = (
            "import django, json; django.setup()\n"
            "from tests.testapp.sockets import ws_presence\n"
            f"print(json.dumps([ws_presence.presence({room!r}), "
            f"ws_presence.presence_stats({room!r})]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPOSITORY,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cluster(tmp_path, machine_redis) -> Iterator[Cluster]:
    with ExitStack() as stack:
        yield Cluster(tmp_path, machine_redis, stack)


_acks = iter(range(1, 10**9))


def request(conn: ClientConnection, event: str, data: Any) -> Any:
    ack = next(_acks)
    conn.send(json.dumps({"event": event, "data": data, "id": ack}))
    while True:
        frame = json.loads(conn.recv(timeout=TIMEOUT))
        if frame.get("ack") == ack:
            assert "error" not in frame, frame
            return frame["data"]


def who(entries: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return sorted((entry["client"], entry["user"]) for entry in entries)


def wait_for_leaves(conn: ClientConnection, room: str, users: set[str]) -> None:
    missing = set(users)
    while missing:
        frame = json.loads(conn.recv(timeout=TIMEOUT))
        if frame.get("event") == "$presence_diff" and frame["data"]["room"] == room:
            missing -= {entry["user"] for entry in frame["data"]["leaves"]}


def eventually(check, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_two_processes_and_a_third_without_a_server_agree_on_who_is_here(cluster) -> None:
    room = uuid.uuid4().hex
    one, two = cluster.start(), cluster.start()
    on_one = [cluster.connect(one, "ann", room), cluster.connect(one, "bob", room)]
    on_two = [cluster.connect(two, "ann", room), cluster.connect(two, "cid", room)]

    # Each node writes its own entries in the background: wait until both nodes' are there.
    assert eventually(lambda: len(request(on_one[0], "$presence", {"room": room})) == 4)
    from_one = who(request(on_one[0], "$presence", {"room": room}))
    from_two = who(request(on_two[1], "$presence", {"room": room}))
    elsewhere, stats = cluster.presence_without_a_server(room)

    assert from_one == from_two == who(elsewhere)
    assert sorted(user for _, user in from_one) == ["ann", "ann", "bob", "cid"]
    assert len({client.split(":")[0] for client, _ in from_one}) == 2  # two nodes
    expected_stats = {"clients": 4, "users": 3}
    assert request(on_one[1], "$presence_stats", {"room": room}) == expected_stats
    assert request(on_two[0], "$presence_stats", {"room": room}) == expected_stats
    assert stats == expected_stats
    everyone = request(on_two[0], "$presence", {})
    assert len(everyone) == 4


def test_the_clients_of_a_killed_process_leave_within_the_ttl(cluster) -> None:
    room = uuid.uuid4().hex
    survivor, doomed = cluster.start(), cluster.start()
    watcher = cluster.connect(survivor, "watcher", room)
    cluster.connect(doomed, "gone-1", room)
    cluster.connect(doomed, "gone-2", room)
    assert eventually(lambda: len(request(watcher, "$presence", {"room": room})) == 3)

    doomed.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for_leaves(watcher, room, {"gone-1", "gone-2"})
    elapsed = time.monotonic() - killed_at

    assert elapsed < TTL + 1.0, elapsed  # the bound, plus the loaded machine's slack
    assert [user for _, user in who(request(watcher, "$presence", {"room": room}))] == ["watcher"]
    entries, stats = cluster.presence_without_a_server(room)
    assert [entry["user"] for entry in entries] == ["watcher"]
    assert stats == {"clients": 1, "users": 1}


def test_a_clean_shutdown_removes_its_entries_at_once_with_leave_events(cluster) -> None:
    room = uuid.uuid4().hex
    staying, leaving = cluster.start(), cluster.start()
    watcher = cluster.connect(staying, "watcher", room)
    cluster.connect(leaving, "leaver", room)
    assert eventually(lambda: len(request(watcher, "$presence", {"room": room})) == 2)

    leaving.signal(signal.SIGTERM)
    assert leaving.wait_for_exit() == 0

    entries, _ = cluster.presence_without_a_server(room)
    assert [entry["user"] for entry in entries] == ["watcher"]
    wait_for_leaves(watcher, room, {"leaver"})
