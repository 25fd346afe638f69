"""The admin's live page: staff only over HTTP and over its WebSocket, live figures, actions.

Every server here is the example site (which has the Django admin) run as `manage.py
runtornado` in a process of its own; users and their sessions are made in its database by a
`manage.py shell` run, and the clients are real WebSocket clients and real HTTP requests.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tornado_websockets.admin import ADMIN_PATH
from tornado_websockets.admin.access import NOT_ALLOWED
from tornado_websockets.admin.live import NO_LONGER_STAFF, PERIOD, RECHECK_ROUNDS
from tornado_websockets.protocol import CLOSED_BY_ADMIN

from .processes import EXAMPLE, Server, environment, manage

TIMEOUT = 20.0
ADMIN_WS = "/ws" + ADMIN_PATH
PAGE = "/admin/tornado_websockets/live/"

USERS = """
import json
from django.contrib.auth import (BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY,
                                 get_user_model)
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore

User = get_user_model()
boss = User.objects.create_user("boss", password="boss-password", is_staff=True)
boss.user_permissions.add(Permission.objects.get(codename="close_connections"))
User.objects.create_user("viewer", password="viewer-password", is_staff=True)
User.objects.create_user("alice", password="alice-password")
User.objects.create_user("bob", password="bob-password")
sessions = {}
for user in User.objects.all():
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions[user.username] = {"session": session.session_key, "pk": user.pk}
print(json.dumps(sessions))
"""


class Site:
    """The example site prepared in a folder, with users; starts `runtornado` processes."""

    def __init__(self, folder: Path, broker: Any = None, stack: ExitStack | None = None) -> None:
        extra = (
            {"DEMO_BROKER": broker["url"], "DEMO_BROKER_PREFIX": broker["prefix"]}
            if broker is not None
            else {}
        )
        self.env = environment(
            "example_site.settings",
            pythonpath=[EXAMPLE],
            DEMO_DB_PATH=str(folder / "db.sqlite3"),
            DEMO_STATIC_ROOT=str(folder / "static"),
            **extra,
        )
        done = manage(["migrate", "--noinput"], cwd=EXAMPLE, env=self.env)
        assert done.returncode == 0, done.stderr
        done = manage(["shell", "-c", USERS], cwd=EXAMPLE, env=self.env)
        assert done.returncode == 0, done.stderr
        self.users: dict[str, dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
        self.stack = stack or ExitStack()

    def start(self) -> Server:
        server = Server(["127.0.0.1:0", "--noreload"], cwd=EXAMPLE, env=self.env)
        self.stack.callback(server.stop)
        server.wait_until_serving()
        return server

    def shell(self, code: str) -> str:
        """Run ``code`` with ``manage.py shell`` against the site's database; its last line."""
        done = manage(["shell", "-c", code], cwd=EXAMPLE, env=self.env)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1] if done.stdout.strip() else ""

    def cookie(self, username: str) -> str:
        return f"sessionid={self.users[username]['session']}"

    def pk(self, username: str) -> str:
        return str(self.users[username]["pk"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with ExitStack() as stack:
        yield Site(tmp_path_factory.mktemp("admin-site"), stack=stack)


@pytest.fixture(scope="module")
def server(site: Site) -> Server:
    return site.start()


# -- clients ------------------------------------------------------------------------------------


def open_ws(server: Server, path: str, cookie: str | None = None, **headers: str) -> Any:
    if cookie:
        headers["Cookie"] = cookie
    return connect(
        f"ws://127.0.0.1:{server.port}{path}",
        open_timeout=TIMEOUT,
        proxy=None,
        additional_headers=headers,
    )


def send(conn: ClientConnection, event: str, data: Any = None, **extra: Any) -> None:
    conn.send(json.dumps({"event": event, "data": data or {}, **extra}))


def receive(conn: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return json.loads(conn.recv(timeout=timeout))


_acks = iter(range(1, 10**9))


def request(conn: ClientConnection, event: str, data: Any = None) -> dict[str, Any]:
    """Send ``event`` asking for an ack; the ack frame (``data`` or ``error``)."""
    ack = next(_acks)
    send(conn, event, data, id=ack)
    while True:
        frame = receive(conn)
        if frame.get("ack") == ack:
            return frame


def snapshot_where(
    admin: ClientConnection, test: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
) -> dict[str, Any]:
    """The first ``$admin.snapshot`` for which ``test`` holds; fails with the last one at the
    deadline."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            frame = receive(admin, max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            break
        if frame.get("event") == "$admin.snapshot":
            last = frame["data"]
            if test(last):
                return last
    raise AssertionError(f"no snapshot matched within {timeout} s; the last one: {last}")


def rows(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for node in snapshot["nodes"] for row in node["connections"]["rows"]]


def path_figures(snapshot: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [f for node in snapshot["nodes"] for f in node["paths"] if f["path"] == path]


def closed_with(conn: ClientConnection, timeout: float = TIMEOUT) -> int | None:
    """Read until the server closes ``conn``; its close code."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            conn.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError(f"the connection was still open after {timeout} s")


@contextmanager
def chat_member(
    server: Server, username: str, cookie: str | None = None
) -> Iterator[ClientConnection]:
    """A chat client that joined (and so is in the room ``chat``)."""
    with open_ws(server, "/ws/chat", cookie) as conn:
        send(conn, "join", {"username": username})
        until_event(conn, "history")
        yield conn


def until_event(conn: ClientConnection, event: str) -> dict[str, Any]:
    while True:
        frame = receive(conn)
        if frame.get("event") == event:
            return frame


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


def get(server: Server, path: str, cookie: str | None = None) -> tuple[int, Any, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with _opener.open(request, timeout=TIMEOUT) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


# -- who may look --------------------------------------------------------------------------------


def test_anonymous_visitors_of_the_page_are_sent_to_the_admin_login(server: Server) -> None:
    status, headers, _ = get(server, PAGE)
    assert status == 302
    assert headers["Location"] == "/admin/login/?next=" + PAGE


def test_logged_in_users_who_are_not_staff_are_sent_to_the_admin_login(
    site: Site, server: Server
) -> None:
    status, headers, _ = get(server, PAGE, site.cookie("alice"))
    assert status == 302
    assert headers["Location"].startswith("/admin/login/")


def test_staff_members_get_the_page_and_the_index_lists_it(site: Site, server: Server) -> None:
    status, _, body = get(server, PAGE, site.cookie("viewer"))
    assert status == 200
    assert f'data-ws-path="{ADMIN_PATH}"' in body
    assert 'data-can-close="0"' in body  # looking needs staff; closing needs the permission
    status, _, body = get(server, PAGE, site.cookie("boss"))
    assert 'data-can-close="1"' in body
    status, _, index = get(server, "/admin/", site.cookie("viewer"))
    assert status == 200 and PAGE in index


@pytest.mark.parametrize("who", [None, "alice"], ids=["anonymous", "not staff"])
def test_the_admin_websocket_refuses_anonymous_and_non_staff_handshakes(
    site: Site, server: Server, who: str | None
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(server, ADMIN_WS, site.cookie(who) if who else None)
    assert refused.value.response.status_code == 403


# -- what the page shows ---------------------------------------------------------------------------


def test_the_page_gets_a_new_connection_with_its_user_rooms_and_origin_within_two_seconds(
    site: Site, server: Server
) -> None:
    with open_ws(server, ADMIN_WS, site.cookie("viewer")) as admin:
        snapshot_where(admin, lambda s: bool(s["nodes"]))
        member = chat_member(server, "alice", site.cookie("alice"))
        opened = time.monotonic()
        with member:
            snapshot = snapshot_where(
                admin, lambda s: any(r["user"] == "alice" for r in rows(s)), timeout=5
            )
            assert time.monotonic() - opened < 2.0
            row = next(r for r in rows(snapshot) if r["user"] == "alice")
            assert row["path"] == "/ws/chat"
            assert row["rooms"] == ["chat"]
            assert row["user_id"] == site.pk("alice")
            assert row["remote"] == "127.0.0.1"
            assert abs(row["since"] - time.time()) < 30
            assert row["waiting"] == 0
            (chat,) = path_figures(snapshot, "/ws/chat")
            assert ["chat", 1] in chat["rooms"]
            assert chat["connections_open"] >= 1
            assert all(f["path"] != ADMIN_WS for node in snapshot["nodes"] for f in node["paths"])
            (node,) = snapshot["nodes"]
            assert node["broker"] is None  # one process, the in-memory broker
            present = snapshot_where(
                admin, lambda s: s["presence"].get("/ws/chat", {}).get("clients", 0) >= 1
            )["presence"]["/ws/chat"]
            assert present["clients"] >= 1, present
            assert any(entry["client"] == row["id"] for entry in present["entries"]), present


def test_the_page_counts_messages_and_refused_handshakes(site: Site, server: Server) -> None:
    with open_ws(server, ADMIN_WS, site.cookie("viewer")) as admin:
        before = path_figures(snapshot_where(admin, lambda s: bool(s["nodes"])), "/ws/echo")[0]
        with pytest.raises(InvalidStatus):
            open_ws(server, "/ws/echo", Origin="https://elsewhere.example")
        with open_ws(server, "/ws/echo") as echo:
            for number in range(5):
                send(echo, "message", {"message": f"hello {number}"})
            snapshot_where(
                admin,
                lambda s: (
                    path_figures(s, "/ws/echo")[0]["messages_received"]
                    >= before["messages_received"] + 5
                ),
            )
        after = snapshot_where(
            admin,
            lambda s: (
                path_figures(s, "/ws/echo")[0]["refused_handshakes"]
                == before["refused_handshakes"] + 1
            ),
        )
        assert path_figures(after, "/ws/echo")[0]["messages_sent"] >= before["messages_sent"] + 5


def test_the_connections_are_searchable_by_user(site: Site, server: Server) -> None:
    with ExitStack() as stack:
        admin = stack.enter_context(open_ws(server, ADMIN_WS, site.cookie("viewer")))
        for name in ("alice", "bob"):
            stack.enter_context(chat_member(server, name, site.cookie(name)))
        stack.enter_context(open_ws(server, "/ws/echo"))  # anonymous
        assert request(admin, "$watch", {"search": "ALI"})["data"] == {"search": "ALI"}
        found = snapshot_where(admin, lambda s: s["search"] == "ALI" and bool(rows(s)), timeout=5)
        assert {row["user"] for row in rows(found)} == {"alice"}
        request(admin, "$watch", {"search": site.pk("bob")})
        found = snapshot_where(admin, lambda s: s["search"] == site.pk("bob") and bool(rows(s)))
        assert {row["user"] for row in rows(found)} == {"bob"}
        request(admin, "$watch", {"search": ""})
        everyone = snapshot_where(admin, lambda s: s["search"] == "" and len(rows(s)) >= 3)
        assert {"alice", "bob", ""} <= {row["user"] for row in rows(everyone)}


def test_a_page_whose_user_is_no_longer_staff_is_closed_within_the_recheck(
    site: Site, server: Server
) -> None:
    session = site.shell(
        USERS.split("User = get_user_model()")[0]
        + "User = get_user_model()\n"
        + "user = User.objects.create_user('temp-staff', password='x', is_staff=True)\n"
        + "session = SessionStore()\n"
        + "session[SESSION_KEY] = str(user.pk)\n"
        + "session[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        + "session[HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
        + "session.create()\n"
        + "print(session.session_key)\n"
    )
    with open_ws(server, ADMIN_WS, f"sessionid={session}") as admin:
        snapshot_where(admin, lambda s: bool(s["nodes"]))
        site.shell(
            "from django.contrib.auth import get_user_model\n"
            "get_user_model().objects.filter(username='temp-staff').update(is_staff=False)\n"
        )
        assert closed_with(admin, timeout=RECHECK_ROUNDS * PERIOD + TIMEOUT) == NO_LONGER_STAFF


# -- what the page does ----------------------------------------------------------------------------


def test_staff_without_the_permission_cannot_close_connections(site: Site, server: Server) -> None:
    with open_ws(server, ADMIN_WS, site.cookie("viewer")) as admin:
        with chat_member(server, "alice", site.cookie("alice")) as member:
            snapshot = snapshot_where(admin, lambda s: any(r["user"] == "alice" for r in rows(s)))
            target = next(r["id"] for r in rows(snapshot) if r["user"] == "alice")
            answer = request(admin, "$close", {"connection": target})
            assert answer["error"] == {"message": NOT_ALLOWED}
            answer = request(admin, "$close_user", {"user": site.pk("alice")})
            assert answer["error"] == {"message": NOT_ALLOWED}
            send(member, "message", {"message": "still here"})
            until_event(member, "message")


def test_closing_one_connection_closes_it_with_its_own_code(site: Site, server: Server) -> None:
    with open_ws(server, ADMIN_WS, site.cookie("boss")) as admin:
        with chat_member(server, "alice", site.cookie("alice")) as first:
            with chat_member(server, "alice", site.cookie("alice")) as second:
                snapshot = snapshot_where(
                    admin, lambda s: sum(r["user"] == "alice" for r in rows(s)) == 2
                )
                target = sorted(r["id"] for r in rows(snapshot) if r["user"] == "alice")[0]
                assert request(admin, "$close", {"connection": target})["data"] == {
                    "closed": target
                }
                assert closed_with(first) == CLOSED_BY_ADMIN
                send(second, "message", {"message": "the other one stays"})
                until_event(second, "message")
                snapshot_where(admin, lambda s: sum(r["user"] == "alice" for r in rows(s)) == 1)


def test_closing_a_user_closes_all_of_their_sockets_and_no_one_else(
    site: Site, server: Server
) -> None:
    with ExitStack() as stack:
        admin = stack.enter_context(open_ws(server, ADMIN_WS, site.cookie("boss")))
        chat = stack.enter_context(chat_member(server, "alice", site.cookie("alice")))
        echo = stack.enter_context(open_ws(server, "/ws/echo", site.cookie("alice")))
        bob = stack.enter_context(chat_member(server, "bob", site.cookie("bob")))
        answer = request(admin, "$close_user", {"user": site.pk("alice")})
        assert answer["data"] == {"closed_user": site.pk("alice")}
        assert closed_with(chat) == CLOSED_BY_ADMIN
        assert closed_with(echo) == CLOSED_BY_ADMIN
        send(bob, "message", {"message": "bob stays"})
        until_event(bob, "message")


def test_the_admin_websocket_answers_a_malformed_close_with_an_error(
    site: Site, server: Server
) -> None:
    with open_ws(server, ADMIN_WS, site.cookie("boss")) as admin:
        answer = request(admin, "$close", {"connection": "nonsense"})
        assert "<node>:<id>" in answer["error"]["message"]


# -- two processes on Redis ------------------------------------------------------------------------


@pytest.mark.redis
def test_with_two_processes_on_redis_the_page_sees_and_closes_connections_of_both(
    tmp_path: Path, machine_redis: str
) -> None:
    broker = {"url": machine_redis, "prefix": f"tws-admin-{uuid.uuid4().hex[:12]}"}
    with ExitStack() as stack:
        site = Site(tmp_path, broker, stack)
        first, second = site.start(), site.start()
        admin = stack.enter_context(open_ws(first, ADMIN_WS, site.cookie("boss")))
        snapshot = snapshot_where(admin, lambda s: len(s["nodes"]) == 2)
        assert all(node["broker"]["connected"] for node in snapshot["nodes"])
        assert len({node["pid"] for node in snapshot["nodes"]}) == 2
        far = stack.enter_context(chat_member(second, "alice", site.cookie("alice")))
        opened = time.monotonic()
        near = stack.enter_context(chat_member(first, "alice", site.cookie("alice")))
        bob = stack.enter_context(chat_member(second, "bob", site.cookie("bob")))
        snapshot = snapshot_where(
            admin, lambda s: sum(r["user"] == "alice" for r in rows(s)) == 2, timeout=5
        )
        assert time.monotonic() - opened < 2.5
        by_node = {node["node"]: node for node in snapshot["nodes"]}
        far_row = next(
            r
            for node in snapshot["nodes"]
            if node["pid"] == second.pid
            for r in node["connections"]["rows"]
            if r["user"] == "alice"
        )
        assert far_row["id"].split(":")[0] in by_node
        chat_rooms = [dict(map(tuple, f["rooms"])) for f in path_figures(snapshot, "/ws/chat")]
        assert sum(rooms.get("chat", 0) for rooms in chat_rooms) == 3

        request(admin, "$close", {"connection": far_row["id"]})
        assert closed_with(far) == CLOSED_BY_ADMIN
        send(near, "message", {"message": "near stays"})
        until_event(near, "message")

        again = stack.enter_context(chat_member(second, "alice", site.cookie("alice")))
        request(admin, "$close_user", {"user": site.pk("alice")})
        assert closed_with(near) == CLOSED_BY_ADMIN
        assert closed_with(again) == CLOSED_BY_ADMIN
        send(bob, "message", {"message": "bob stays"})
        until_event(bob, "message")


# -- turned off ------------------------------------------------------------------------------------


def test_without_the_admin_app_the_admin_websocket_is_not_declared() -> None:
    from tornado_websockets.admin import enabled
    from tornado_websockets.websocket import get_websocket

    assert not enabled()  # the test project has no django.contrib.admin
    assert get_websocket(ADMIN_WS) is None


def site_with(tmp_path: Path, stack: ExitStack, tornado: str) -> Site:
    """The example site with ``TORNADO`` updated by ``tornado`` (Python source of a dict)."""
    (tmp_path / "changed.py").write_text(
        "from example_site.settings import *  # noqa: F403\n"
        f"TORNADO = {{**TORNADO, **{tornado}}}  # noqa: F405\n"
    )
    site = Site(tmp_path, stack=stack)
    site.env["DJANGO_SETTINGS_MODULE"] = "changed"
    site.env["PYTHONPATH"] += f":{tmp_path}"
    return site


def test_allowed_origins_open_the_project_sockets_but_not_the_admin_one(tmp_path: Path) -> None:
    partner = "https://partner.example"
    with ExitStack() as stack:
        site = site_with(tmp_path, stack, f"{{'allowed_origins': [{partner!r}]}}")
        server = site.start()
        with open_ws(server, "/ws/echo", Origin=partner):
            pass
        with pytest.raises(InvalidStatus) as refused:
            open_ws(server, ADMIN_WS, site.cookie("boss"), Origin=partner)
        assert refused.value.response.status_code == 403
        own = f"http://127.0.0.1:{server.port}"
        with open_ws(server, ADMIN_WS, site.cookie("boss"), Origin=own) as admin:
            snapshot_where(admin, lambda s: bool(s["nodes"]))


def test_tornado_admin_false_removes_the_page_and_its_websocket(tmp_path: Path) -> None:
    with ExitStack() as stack:
        server = (site := site_with(tmp_path, stack, "{'admin': False}")).start()
        status, _, _ = get(server, PAGE, site.cookie("boss"))
        assert status == 404
        status, _, index = get(server, "/admin/", site.cookie("boss"))
        assert status == 200 and PAGE not in index
        with pytest.raises(InvalidStatus) as refused:
            open_ws(server, ADMIN_WS, site.cookie("boss"))
        assert refused.value.response.status_code == 404
