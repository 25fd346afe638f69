"""Many processes, one application: emits cross processes through Redis.

Every server here is the test project run as `manage.py runtornado` in its own process, with
TORNADO['broker'] pointing at a Redis (the machine's with a unique prefix, or a private one the
test starts, stops and restarts).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from .processes import REPOSITORY, TESTS, Nodes, Server, environment, manage

pytestmark = pytest.mark.redis

TIMEOUT = 20.0


@pytest.fixture
def nodes(tmp_path, machine_redis) -> Iterator[Nodes]:
    broker = {"url": machine_redis, "prefix": f"tws-test-{uuid.uuid4().hex[:12]}"}
    with ExitStack() as stack:
        yield Nodes(tmp_path, broker, stack)


def open_ws(
    server: Server, stack: ExitStack, skip_init: bool = True, **kwargs: Any
) -> ClientConnection:
    """A client of /ws/cluster; the shared bar's init triple it gets first is skipped."""
    url = f"ws://127.0.0.1:{server.port}/ws/cluster"
    conn = stack.enter_context(connect(url, open_timeout=TIMEOUT, proxy=None, **kwargs))
    if skip_init:
        for _ in range(3):
            assert receive(conn)["event"].startswith("module_progressbar_shared_")
    return conn


def send(conn: ClientConnection, event: str, data: Any = None, **extra: Any) -> None:
    conn.send(json.dumps({"event": event, "data": data or {}, **extra}))


def receive(conn: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return json.loads(conn.recv(timeout=timeout))


def request(conn: ClientConnection, event: str, data: Any = None) -> Any:
    ack = int(time.monotonic_ns() % 10**9)
    send(conn, event, data, id=ack)
    while True:
        frame = receive(conn)
        if frame.get("ack") == ack:
            return frame.get("data", frame.get("error"))


def events_until(conn: ClientConnection, *markers: str) -> list[dict[str, Any]]:
    """Frames received until broadcasts carrying each ``{"marker": m}`` of ``markers`` came.

    Emits from one node arrive in order; a marker per sending node closes what it sent.
    """
    frames = []
    waiting = set(markers)
    while waiting:
        frame = receive(conn)
        marker = frame.get("data", {}).get("marker")
        if marker in waiting:
            waiting.discard(marker)
        elif marker is None:
            frames.append(frame)
    return frames


def wait_until_subscribed(sender: ClientConnection, receivers: list[ClientConnection]) -> None:
    """Broadcast probes until every receiver got one: both nodes listen on the channel."""
    deadline = time.monotonic() + TIMEOUT
    probe = 0
    pending = list(receivers)
    while pending:
        assert time.monotonic() < deadline, "the nodes never started relaying"
        probe += 1
        send(sender, "broadcast", {"probe": probe})
        for conn in list(pending):
            try:
                while receive(conn, timeout=0.5).get("data", {}).get("probe") != probe:
                    pass
                pending.remove(conn)
            except TimeoutError:
                continue
    send(sender, "broadcast", {"marker": "synced"})
    for conn in [sender, *receivers]:
        events_until(conn, "synced")


def test_broadcasts_room_emits_and_exclusions_cross_nodes_exactly_once(nodes) -> None:
    a, b = nodes.start(), nodes.start()
    stack = nodes.stack
    on_a, on_b, other_b = open_ws(a, stack), open_ws(b, stack), open_ws(b, stack)
    wait_until_subscribed(on_a, [on_b, other_b])
    for conn in (on_a, on_b):
        assert request(conn, "join", {"room": "blue"}) == ["blue"]

    for n in range(20):
        send(on_a, "broadcast", {"n": n})
    send(on_b, "to_room", {"room": "blue", "text": "from b"})
    send(on_b, "to_room", {"room": "blue", "text": "not to b", "exclude_me": True})
    send(on_a, "broadcast", {"marker": "end a"})
    send(on_b, "broadcast", {"marker": "end b"})

    seen_b = events_until(on_b, "end a", "end b")
    assert [f["data"]["n"] for f in seen_b if f["event"] == "broadcast"] == list(range(20))
    assert [f["data"]["text"] for f in seen_b if f["event"] == "room"] == ["from b"]
    seen_a = events_until(on_a, "end a", "end b")
    assert [f["data"]["n"] for f in seen_a if f["event"] == "broadcast"] == list(range(20))
    assert sorted(f["data"]["text"] for f in seen_a if f["event"] == "room") == [
        "from b",
        "not to b",
    ]
    seen_other = events_until(other_b, "end a", "end b")  # not in the room: broadcasts only
    assert [f["event"] for f in seen_other] == ["broadcast"] * 20


def test_user_emits_reach_every_tab_of_the_user_on_every_node(nodes) -> None:
    nodes.manage("migrate", "--noinput")
    nodes.run_python(
        "from django.contrib.auth.models import User\n"
        "print(User.objects.create_user('ada', password='analytical-engine').pk)"
    )
    a, b = nodes.start(), nodes.start()
    cookie = log_in(a.port, "ada", "analytical-engine")
    stack = nodes.stack
    tab_a = open_ws(a, stack, additional_headers={"Cookie": cookie})
    tab_b = open_ws(b, stack, additional_headers={"Cookie": cookie})
    stranger = open_ws(b, stack)
    assert request(tab_b, "hello")["user"] == "ada"
    wait_until_subscribed(stranger, [tab_a, tab_b])
    ada_pk = int(
        nodes.run_python(
            "from django.contrib.auth.models import User; print(User.objects.get().pk)"
        )
    )
    send(stranger, "to_user", {"user": ada_pk, "text": "psst"})
    send(stranger, "broadcast", {"marker": "end"})
    for tab in (tab_a, tab_b):
        assert [f["data"]["text"] for f in events_until(tab, "end")] == ["psst"]
    assert events_until(stranger, "end") == []


def test_a_process_without_a_server_emits_to_a_room_on_every_node(nodes) -> None:
    a, b = nodes.start(), nodes.start()
    stack = nodes.stack
    on_a, on_b = open_ws(a, stack), open_ws(b, stack)
    wait_until_subscribed(on_a, [on_b])
    for conn in (on_a, on_b):
        request(conn, "join", {"room": "green"})
    nodes.run_python(
        "import tornado_websockets\n"
        "tornado_websockets.emit('/cluster', 'room', {'text': 'from a worker'}, to='green')\n"
        "tornado_websockets.emit('/cluster', 'broadcast', {'marker': 'end'})"
    )
    for conn in (on_a, on_b):
        assert events_until(conn, "end") == [{"event": "room", "data": {"text": "from a worker"}}]


def test_a_progress_bar_ticked_anywhere_shows_the_same_state_on_every_node(nodes) -> None:
    a, b = nodes.start(), nodes.start()
    stack = nodes.stack
    watcher_a, watcher_b = open_ws(a, stack), open_ws(b, stack)
    wait_until_subscribed(watcher_a, [watcher_b])
    for _ in range(3):
        send(watcher_a, "module_progressbar_shared_tick")  # ticked on node a
    nodes.run_python(  # and twice in a worker with no server
        "from tests.testapp.sockets import shared_bar\n"
        "shared_bar.current = 3\n"
        "shared_bar.tick(); shared_bar.tick()\n"
        "import tornado_websockets\n"
        "tornado_websockets.emit('/cluster', 'broadcast', {'marker': 'end'})"
    )
    events_until(watcher_b, "end")  # node b has seen every update by now
    late = open_ws(b, stack, skip_init=False)  # a new client of node b sees the bar's state
    init = [receive(late) for _ in range(3)][1]
    assert init == {
        "event": "module_progressbar_shared_init",
        "data": {"indeterminate": False, "min": 0, "max": 10, "current": 5},
    }


def test_prefork_processes_serve_one_port_as_one_server(nodes) -> None:
    server = nodes.start("--processes", "2")
    server.wait_for_line(r"^Processes: 2, sharing the port\.$")  # printed after the banner
    stack = nodes.stack
    by_pid: dict[int, ClientConnection] = {}
    for _ in range(60):  # the kernel hands connections to whichever process accepts first
        conn = open_ws(server, stack)
        by_pid.setdefault(request(conn, "hello")["pid"], conn)
        if len(by_pid) == 2:
            break
    assert len(by_pid) == 2, "every connection went to one process"
    first, second = by_pid.values()
    wait_until_subscribed(first, [second])
    send(first, "broadcast", {"text": "across processes"})
    send(first, "broadcast", {"marker": "end"})
    assert [f["data"] for f in events_until(second, "end")] == [{"text": "across processes"}]
    # A service manager signals every process of the group, and the parent passes its signal
    # on: each child gets two SIGTERMs and must still drain (close code 1001), not drop.
    server.signal(signal.SIGTERM)
    for pid in by_pid:
        os.kill(pid, signal.SIGTERM)
    for conn in by_pid.values():
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                conn.recv(timeout=TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert server.wait_for_exit(TIMEOUT) == 0
    for pid in by_pid:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_several_processes_with_the_memory_broker_are_refused(tmp_path) -> None:
    env = environment("tests.django_settings", [REPOSITORY], TEST_DB_PATH=str(tmp_path / "db"))
    done = manage(["runtornado", "127.0.0.1:0", "--processes", "2"], TESTS, env)
    assert done.returncode != 0
    assert "--processes 2 needs TORNADO['broker']" in done.stderr


def test_delivery_resumes_by_itself_after_redis_restarts(tmp_path, redis_server) -> None:
    with ExitStack() as stack:
        nodes = Nodes(tmp_path, redis_server.url, stack)
        a = nodes.start(wait=False)  # Redis is down: the servers start anyway and say so
        b = nodes.start(wait=False)
        for server in (a, b):
            server.wait_until_serving()
            server.wait_for_line("Redis broker")
        on_a, on_b = open_ws(a, stack), open_ws(b, stack)
        send(on_a, "broadcast", {"local": "works without redis"})
        assert receive(on_a)["data"] == {"local": "works without redis"}
        redis_server.start()
        wait_until_subscribed(on_a, [on_b])
        redis_server.stop()
        send(on_a, "broadcast", {"local": "still works"})
        assert receive(on_a)["data"] == {"local": "still works"}
        redis_server.start()
        wait_until_subscribed(on_a, [on_b])  # resumed without restarting anything
        send(on_b, "broadcast", {"n": 1})
        send(on_b, "broadcast", {"marker": "end"})
        assert [f["data"] for f in events_until(on_a, "end")] == [{"n": 1}]


def log_in(port: int, username: str, password: str) -> str:
    """Log in through the Django login view of a node; returns the Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/login/", timeout=TIMEOUT).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
    opener.open(f"{base}/login/", urllib.parse.urlencode(form).encode(), timeout=TIMEOUT).read()
    session = next(c.value for c in jar if c.name == "sessionid")
    return f"sessionid={session}"
