"""Presence on one real server (in-memory store): who is here, hooks, requests, events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from tornado_websockets.conf import parse
from tornado_websockets.exceptions import ClientError, PresenceUnavailableError
from tornado_websockets.websocket import WebSocket

from .wsclient import TIMEOUT, emit, open_socket, open_sockets, receive

ws_here = WebSocket("/t_presence", presence=True, presence_events=True)
ws_off = WebSocket("/t_presence_off")
ws_kept = WebSocket("/t_presence_history", history=50, presence=True, presence_events=True)
ws_users = WebSocket("/t_presence_users", presence=True)  # the default presence_info
ws_guarded = WebSocket("/t_presence_guarded", presence=True)
ws_rooms_only = WebSocket("/t_presence_rooms_only", presence=True, presence_events="rooms")


@ws_rooms_only.on
async def enter_room(socket, data):
    socket.join(data["room"])
    return socket.id


@ws_guarded.presence_visible
def may_see(socket, room):
    # The rule of a site with public rooms and staff-only ones: the application's presence and
    # a staff room need the staff flag (membership alone is not enough); public rooms are open
    # to every connection, members or not.
    if room is not None and room.startswith("public-"):
        return True
    return bool(socket.state.get("staff"))


@ws_guarded.on
async def guarded_enter(socket, data):
    socket.state["staff"] = data["staff"]
    socket.join(data["room"])


@ws_kept.on
async def enter_kept(socket, data):
    socket.join(data["room"])
    ws_kept.emit("said", {"text": "hello"}, to=data["room"])


@ws_here.presence_info
def shared(socket):
    return socket.state.get("name")


@ws_here.on
async def enter(socket, data):
    socket.state["name"] = data.get("name")
    socket.join(data["room"])
    return socket.id


@ws_here.on
def blink(socket, data):
    socket.join(data["room"])
    socket.leave(data["room"])


@ws_here.on
async def on_the_loop(data):
    try:
        ws_here.presence(data["room"])
    except RuntimeError as error:
        blocked = str(error)
    return {"blocked": blocked, "entries": await ws_here.presence_async(data["room"])}


def request(conn, event: str, data: Any, ack: int = 1) -> dict[str, Any]:
    emit(conn, event, data, id=ack)
    while True:
        frame = receive(conn)
        if frame.get("ack") == ack:
            return frame


def eventually(check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Poll ``check`` until it returns something truthy (presence is read, not pushed)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def diffs(conn, room: str, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The ``$presence_diff`` frames of ``room`` received until ``until(frames)``."""
    frames: list[dict[str, Any]] = []
    while not until(frames):
        frame = receive(conn)
        if frame.get("event") == "$presence_diff" and frame["data"]["room"] == room:
            frames.append(frame["data"])
    return frames


def every_diff(conn, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Every ``$presence_diff`` frame, of any scope, received until ``until(frames)``."""
    frames: list[dict[str, Any]] = []
    while not until(frames):
        frame = receive(conn)
        if frame.get("event") == "$presence_diff":
            frames.append(frame["data"])
    return frames


def clients(frames: list[dict[str, Any]], kind: str, room: str | None) -> list[str]:
    return [e["client"] for f in frames if f["room"] == room for e in f[kind]]


def names(frames: list[dict[str, Any]], kind: str) -> list[Any]:
    return [entry["user"] for frame in frames for entry in frame[kind]]


def test_presence_lists_every_open_connection_and_forgets_closed_ones(tornado_server) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence") as first:
        with open_socket(tornado_server, "/t_presence") as second:
            ids = {
                request(c, "enter", {"room": room, "name": n})["data"]
                for c, n in ((first, "ann"), (second, "bob"))
            }
            entries = ws_here.presence(room)
            assert sorted(e["user"] for e in entries) == ["ann", "bob"]
            assert {int(e["client"].split(":")[1]) for e in entries} == ids
            assert len({e["client"].split(":")[0] for e in entries}) == 1  # one node
            everyone = {e["client"] for e in ws_here.presence()}
            assert {e["client"] for e in entries} <= everyone
        assert eventually(lambda: [e["user"] for e in ws_here.presence(room)] == ["ann"])
    assert eventually(lambda: ws_here.presence(room) == [])


def test_stats_count_connections_and_each_user_once(tornado_server) -> None:
    room = uuid.uuid4().hex
    with (
        open_socket(tornado_server, "/t_presence") as a1,
        open_socket(tornado_server, "/t_presence") as a2,
        open_socket(tornado_server, "/t_presence") as b,
        open_socket(tornado_server, "/t_presence") as nameless,
    ):
        for conn, name in ((a1, "ann"), (a2, "ann"), (b, "bob"), (nameless, None)):
            request(conn, "enter", {"room": room, "name": name})
        assert ws_here.presence_stats(room) == {"clients": 4, "users": 2}


def test_members_get_joins_and_leaves(tornado_server) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence") as watcher:
        request(watcher, "enter", {"room": room, "name": "watcher"})
        with open_socket(tornado_server, "/t_presence") as visitor:
            request(visitor, "enter", {"room": room, "name": "visitor"})
            joined = diffs(watcher, room, lambda f: "visitor" in names(f, "joins"))
            assert names(joined, "leaves") == []
            assert names(joined, "joins").count("visitor") == 1
        left = diffs(watcher, room, lambda f: "visitor" in names(f, "leaves"))
        assert names(left, "joins") == []


def test_a_blink_within_an_interval_ends_with_its_leave_so_no_reader_keeps_a_ghost(
    tornado_server,
) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence") as watcher:
        request(watcher, "enter", {"room": room, "name": "watcher"})
        diffs(watcher, room, lambda f: "watcher" in names(f, "joins"))
        with open_socket(tornado_server, "/t_presence") as visitor:
            request(visitor, "enter", {"room": room + "-other", "name": "visitor"})
            request(visitor, "blink", {"room": room})  # joins and leaves in one handler
            # The store had the entry for a moment: a member reading then saw it.
            frames = diffs(watcher, room, lambda f: "visitor" in names(f, "leaves"))
    said = [kind for f in frames for kind in ("joins", "leaves") if "visitor" in names([f], kind)]
    assert said[-1] == "leaves", frames


def test_every_connection_hears_of_the_applications_joins_and_leaves(tornado_server) -> None:
    with open_socket(tornado_server, "/t_presence") as watcher:
        with open_socket(tornado_server, "/t_presence") as visitor:
            client = ":" + str(request(visitor, "enter", {"room": uuid.uuid4().hex}, ack=1)["data"])
            joined = every_diff(
                watcher, lambda f: any(c.endswith(client) for c in clients(f, "joins", None))
            )
        left = every_diff(
            watcher, lambda f: any(c.endswith(client) for c in clients(f, "leaves", None))
        )
    assert not any(c.endswith(client) for c in clients(joined, "leaves", None))
    assert not any(c.endswith(client) for c in clients(left, "joins", None))


def test_with_rooms_only_the_applications_joins_and_leaves_are_not_sent(tornado_server) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence_rooms_only") as watcher:
        request(watcher, "enter_room", {"room": room}, ack=1)
        with open_socket(tornado_server, "/t_presence_rooms_only") as visitor:
            visitor_id = request(visitor, "enter_room", {"room": room}, ack=1)["data"]
            frames = every_diff(
                watcher,
                lambda f: any(c.endswith(f":{visitor_id}") for c in clients(f, "joins", room)),
            )
        with open_socket(tornado_server, "/t_presence_rooms_only") as last:
            # The application's changes of a connection come before its room's: had they been
            # sent, they would have arrived before the room's join of the last visitor.
            last_id = request(last, "enter_room", {"room": room}, ack=1)["data"]
            frames += every_diff(
                watcher,
                lambda f: any(c.endswith(f":{last_id}") for c in clients(f, "joins", room)),
            )
    assert any(c.endswith(f":{visitor_id}") for c in clients(frames, "leaves", room))
    assert [f for f in frames if f["room"] is None] == []


def test_a_burst_of_joins_reaches_members_in_a_few_frames(tornado_server) -> None:
    room = uuid.uuid4().hex
    crowd = 30
    with open_socket(tornado_server, "/t_presence") as watcher:
        request(watcher, "enter", {"room": room, "name": "watcher"})
        diffs(watcher, room, lambda f: "watcher" in names(f, "joins"))
        with open_sockets(tornado_server, "/t_presence", crowd) as sockets:
            started = time.monotonic()
            for index, conn in enumerate(sockets):
                emit(conn, "enter", {"room": room, "name": f"guest-{index}"})
            frames = diffs(watcher, room, lambda f: len(names(f, "joins")) >= crowd)
            elapsed = time.monotonic() - started
    assert sorted(names(frames, "joins")) == sorted(f"guest-{i}" for i in range(crowd))
    # At most one frame per interval (0.2 s here), the first one at once.
    assert len(frames) <= 2 + elapsed / 0.2, (len(frames), elapsed)


def test_clients_read_presence_of_the_application_and_of_their_rooms_only(tornado_server) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence") as conn:
        everyone = request(conn, "$presence", {})
        assert any(
            e["client"].endswith(
                ":" + str(request(conn, "enter", {"room": room + "x", "name": "me"}, ack=2)["data"])
            )
            for e in everyone["data"]
        )
        refused = request(conn, "$presence", {"room": room}, ack=3)
        assert refused["error"]["message"] == f"You may not see who is in room {room!r}."
        request(conn, "enter", {"room": room, "name": "me"}, ack=4)
        assert request(conn, "$presence", {"room": room}, ack=5)["data"][0]["user"] == "me"
        stats = request(conn, "$presence_stats", {"room": room}, ack=6)["data"]
        assert stats == {"clients": 1, "users": 1}


def test_a_presence_visible_hook_decides_per_room_instead_of_membership(tornado_server) -> None:
    public, staff_room = f"public-{uuid.uuid4().hex}", f"staff-{uuid.uuid4().hex}"
    with (
        open_socket(tornado_server, "/t_presence_guarded") as guest,
        open_socket(tornado_server, "/t_presence_guarded") as staff,
    ):
        request(guest, "guarded_enter", {"room": staff_room, "staff": False})
        request(staff, "guarded_enter", {"room": public, "staff": True})

        # A guest who is not in the public room sees it; a member of the staff room does not.
        assert len(request(guest, "$presence", {"room": public}, ack=2)["data"]) == 1
        refused = request(guest, "$presence", {"room": staff_room}, ack=3)
        assert refused["error"]["message"] == f"You may not see who is in room {staff_room!r}."
        refused = request(guest, "$presence_stats", {}, ack=4)
        assert refused["error"]["message"] == "You may not see who is in this application."
        # Staff see a room they are not in, and the application.
        assert request(staff, "$presence_stats", {"room": staff_room}, ack=5)["data"] == {
            "clients": 1,
            "users": 0,
        }
        assert len(request(staff, "$presence", {}, ack=6)["data"]) == 2


@pytest.fixture
def ada(transactional_db) -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("ada", password="analytical-engine", email="ada@example.com")


def test_by_default_only_the_username_of_an_authenticated_user_is_shared(
    tornado_server, ada
) -> None:
    from .test_security import Browser

    browser = Browser(tornado_server)
    browser.log_in("ada", "analytical-engine")
    with (
        browser.open_socket("/t_presence_users"),  # two tabs of ada
        browser.open_socket("/t_presence_users"),
        open_socket(tornado_server, "/t_presence_users"),  # anonymous
    ):
        entries = eventually(lambda: (lambda e: len(e) == 3 and e)(ws_users.presence()))
        users = sorted((entry["user"] for entry in entries), key=str)
        # Two tabs of ada, and the anonymous connection, which shares nothing: no email, no
        # session detail.
        assert users == [None, {"username": "ada"}, {"username": "ada"}], entries
        assert ws_users.presence_stats() == {"clients": 3, "users": 1}


def test_presence_on_the_loop_thread_is_an_error_and_presence_async_answers(
    tornado_server,
) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence") as conn:
        request(conn, "enter", {"room": room, "name": "async"})
        answer = request(conn, "on_the_loop", {"room": room}, ack=2)["data"]
    assert "await ws.presence_async(...)" in answer["blocked"]
    assert [e["user"] for e in answer["entries"]] == ["async"]


def test_presence_of_an_application_without_it_is_an_error_naming_the_option(
    tornado_server,
) -> None:
    with pytest.raises(PresenceUnavailableError, match=r"presence=True"):
        ws_off.presence()
    with open_socket(tornado_server, "/t_presence_off") as conn:
        answer = request(conn, "$presence", {})
    assert answer["error"]["message"] == "Unknown event '$presence'."


def test_event_names_starting_with_a_dollar_are_reserved() -> None:
    with pytest.raises(ValueError, match=r"reserved"):
        ws_off.register("$presence", lambda: None)
    with pytest.raises(ValueError, match=r"reserved"):
        ws_off.register("$mine", lambda: None)
    assert "$mine" not in ws_off.events


def test_presence_events_need_presence_and_take_true_false_or_rooms() -> None:
    with pytest.raises(ValueError, match=r"presence=True"):
        WebSocket("/t_presence_events_only", presence_events=True)
    with pytest.raises(ValueError, match=r"presence=True"):
        WebSocket("/t_presence_events_only", presence_events="rooms")
    refused = r"presence_events=\.\.\.\) takes True, False or 'rooms', not 'app'"
    with pytest.raises(TypeError, match=refused):
        WebSocket("/t_presence_events_only", presence=True, presence_events="app")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("presence_ttl", 0),
        ("presence_interval", -1),
        ("presence_max_batch", 0),
        ("presence_max_info_bytes", "1k"),
    ],
)
def test_presence_settings_are_validated_with_errors_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=rf"TORNADO\['{key}'\]"):
        parse({key: value})


def test_client_error_is_what_a_refused_presence_request_raises() -> None:
    assert issubclass(PresenceUnavailableError, RuntimeError)
    assert not issubclass(ClientError, RuntimeError)


def test_join_and_leave_frames_reach_members_but_are_never_stored_in_history(
    tornado_server,
) -> None:
    room = uuid.uuid4().hex
    with open_socket(tornado_server, "/t_presence_history") as conn:
        emit(conn, "enter_kept", {"room": room})
        diffs(conn, room, lambda frames: len(frames) >= 1)
        assert eventually(lambda: ws_kept.history(room))
    assert [message.event for message in ws_kept.history(room)] == ["said"]
