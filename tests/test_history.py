"""Message history on one process: offsets and epochs on stream frames, ``ws.history()``, and
recovery of missed messages on reconnect, with the bad requests a client may send."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from tornado_websockets.history.feed import StoredMessage
from tornado_websockets.modules import ProgressBar
from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, receive, receive_event, send

ws_chat = WebSocket("/history_chat", history=5, history_ttl=60)
ws_plain = WebSocket("/history_none")
ws_bar = WebSocket("/history_bar", history=10)
bar = ProgressBar("job", min=0, max=10)
ws_bar.bind(bar)
gate = threading.Event()


@ws_chat.on
def open(socket):  # noqa: A001 - the lifecycle event's name
    # The application rejoins its rooms here; a gated connection holds its recovery back.
    for room in socket.get_query_arguments("room"):
        socket.join(room)
    if socket.get_query_argument("gate", None):
        assert gate.wait(10)


@ws_chat.on
async def join(socket, data):
    socket.join(data["room"])
    return True


@pytest.fixture
def server(tornado_server: Any) -> Any:
    return tornado_server


@contextmanager
def connected(server: Any, path: str, query: str = "") -> Iterator[ClientConnection]:
    with open_socket(server, path + (("?" + query) if query else "")) as conn:
        yield conn


def emits(ws: WebSocket, count: int, start: int = 0, room: str | None = None) -> list[int]:
    numbers = list(range(start, start + count))
    for number in numbers:
        ws.emit("said", {"n": number}, to=room)
    return numbers


def stream_frames(conn: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [receive(conn) for _ in range(count)]


def recover(conn: ClientConnection, broadcast: Any = None, rooms: Any = None) -> None:
    data: dict[str, Any] = {}
    if broadcast is not None:
        data["broadcast"] = broadcast
    if rooms is not None:
        data["rooms"] = rooms
    emit(conn, "$recover", data)


def last_position(frames: list[dict[str, Any]]) -> dict[str, Any]:
    return {"offset": frames[-1]["offset"], "epoch": frames[-1]["epoch"]}


def test_stream_frames_carry_an_offset_increasing_by_one_and_an_epoch(server) -> None:
    with connected(server, "/history_chat") as conn:
        emits(ws_chat, 3)
        frames = stream_frames(conn, 3)
    assert [f["data"]["n"] for f in frames] == [0, 1, 2]
    offsets = [f["offset"] for f in frames]
    assert offsets == list(range(offsets[0], offsets[0] + 3))
    assert len({f["epoch"] for f in frames}) == 1
    assert all("room" not in f for f in frames)


def test_each_room_has_its_own_stream_and_single_socket_emits_are_not_stored(server) -> None:
    with connected(server, "/history_chat") as conn:
        request = {"event": "join", "data": {"room": "r-own"}, "id": 1}
        send(conn, request)
        assert receive(conn) == {"ack": 1, "data": True}
        ws_chat.emit("said", {"n": 1}, to="r-own")
        ws_chat.emit("said", {"n": 2}, to="r-own")
        ws_chat.emit("direct", {"n": 3}, to=ws_chat[-1])
        first, second, direct = stream_frames(conn, 3)
    assert (first["room"], first["offset"], second["offset"]) == ("r-own", 1, 2)
    assert direct == {"event": "direct", "data": {"n": 3}}
    assert [m.offset for m in ws_chat.history(room="r-own")] == [1, 2]


def test_a_reconnecting_client_gets_exactly_what_it_missed_then_recovered_then_new_ones(
    server,
) -> None:
    with connected(server, "/history_chat") as conn:
        emits(ws_chat, 1, start=100)
        position = last_position(stream_frames(conn, 1))
    missed = emits(ws_chat, 3, start=200)
    with connected(server, "/history_chat", "$recover=1") as conn:
        recover(conn, broadcast=position)
        replayed = stream_frames(conn, 3)
        answer = receive_event(conn, "$recovered")
        emits(ws_chat, 1, start=300)
        new = receive(conn)
    assert [f["data"]["n"] for f in replayed] == missed
    assert [f["offset"] for f in replayed] == [position["offset"] + i for i in (1, 2, 3)]
    assert answer["recovered"] is True and answer["missed"] == 3
    assert answer["broadcast"]["offset"] == position["offset"] + 3
    assert answer["rooms"] == {}
    assert new["data"]["n"] == 300 and new["offset"] == position["offset"] + 4


def test_messages_emitted_while_a_recovery_waits_come_once_in_order(server) -> None:
    with connected(server, "/history_chat") as conn:
        emits(ws_chat, 1, start=400)
        position = last_position(stream_frames(conn, 1))
    missed = emits(ws_chat, 2, start=500)
    gate.clear()
    try:
        with connected(server, "/history_chat", "$recover=1&gate=1") as conn:
            recover(conn, broadcast=position)
            # Fanned out to the connection while its open handler holds the recovery back.
            during = emits(ws_chat, 3, start=600)
            gate.set()
            frames = stream_frames(conn, 6)
            emits(ws_chat, 1, start=700)
            frames.append(receive(conn))
    finally:
        gate.set()
    said = [f for f in frames if f["event"] == "said"]
    assert [f["data"]["n"] for f in said] == [*missed, *during, 700]
    first = position["offset"] + 1
    assert [f["offset"] for f in said] == list(range(first, first + 6))
    answer = next(f["data"] for f in frames if f["event"] == "$recovered")
    assert answer["recovered"] is True
    # Whatever the replay covered, it sent once; what it did not, came after the answer.
    assert frames.index({"event": "$recovered", "data": answer}) == answer["missed"]


def test_more_missed_than_the_window_is_recovered_false_with_nothing_replayed(server) -> None:
    with connected(server, "/history_chat") as conn:
        emits(ws_chat, 1)
        position = last_position(stream_frames(conn, 1))
    emits(ws_chat, 6)  # the window keeps 5
    with connected(server, "/history_chat", "$recover=1") as conn:
        recover(conn, broadcast=position)
        answer = receive_event(conn, "$recovered")
    assert answer["recovered"] is False and answer["missed"] == 0
    assert answer["broadcast"]["reason"] == "Missed messages are no longer in history."
    assert answer["broadcast"]["offset"] == position["offset"] + 6


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        ({"offset": -1, "epoch": "x"}, "The offset should be an integer"),
        ({"offset": 1.5, "epoch": "x"}, "The offset should be an integer"),
        ({"offset": "3", "epoch": "x"}, "The offset should be an integer"),
        ({"offset": True, "epoch": "x"}, "The offset should be an integer"),
        ({"offset": 2**80, "epoch": "x"}, "The offset should be an integer"),
        ({"offset": 1, "epoch": 7}, "The epoch should be the string the server sent."),
        ({"offset": 1, "epoch": "e" * 65}, "The epoch should be the string the server sent."),
        ("nonsense", "A position is an object with an offset and an epoch."),
        ({"offset": 1, "epoch": "not-this-stream"}, "The history of this stream was lost"),
        ({"offset": 2**50, "epoch": None}, "The offset is ahead of this stream."),
    ],
)
def test_bad_positions_are_answered_recovered_false_with_a_reason(
    server, position: Any, reason: str
) -> None:
    with connected(server, "/history_chat") as conn:
        emits(ws_chat, 1)
        epoch = stream_frames(conn, 1)[0]["epoch"]
    if isinstance(position, dict) and position.get("epoch") is None:
        position = {**position, "epoch": epoch}
    with connected(server, "/history_chat", "$recover=1") as conn:
        recover(conn, broadcast=position)
        answer = receive_event(conn, "$recovered")
        emits(ws_chat, 1, start=700)
        after = receive(conn)
    assert answer["recovered"] is False
    assert answer["broadcast"]["reason"].startswith(reason)
    assert after["data"]["n"] == 700  # the connection goes on


def test_a_room_the_connection_is_not_in_is_refused_and_none_of_its_messages_sent(
    server,
) -> None:
    ws_chat.emit("secret", {"n": 1}, to="r-private")
    with connected(server, "/history_chat", "$recover=1") as conn:
        recover(conn, rooms={"r-private": {"offset": 0, "epoch": "whatever"}})
        answer = receive_event(conn, "$recovered")
    assert answer["recovered"] is False
    assert answer["rooms"]["r-private"] == {
        "recovered": False,
        "missed": 0,
        "reason": "This connection is not in this room.",
    }


def test_rooms_rejoined_by_the_open_handler_are_recovered(server) -> None:
    with connected(server, "/history_chat", "room=r-back") as conn:
        send(conn, {"event": "join", "data": {"room": "r-back"}, "id": 1})
        assert receive(conn) == {"ack": 1, "data": True}
        ws_chat.emit("said", {"n": 1}, to="r-back")
        position = last_position(stream_frames(conn, 1))
    emits(ws_chat, 2, start=800, room="r-back")
    with connected(server, "/history_chat", "$recover=1&room=r-back") as conn:
        recover(conn, rooms={"r-back": position})
        replayed = stream_frames(conn, 2)
        answer = receive_event(conn, "$recovered")
    assert [(f["room"], f["data"]["n"]) for f in replayed] == [("r-back", 800), ("r-back", 801)]
    assert answer["rooms"]["r-back"]["recovered"] is True and answer["recovered"] is True


def test_too_many_rooms_or_a_malformed_request_is_refused_as_a_whole(server) -> None:
    rooms = {f"r{i}": {"offset": 0, "epoch": "e"} for i in range(101)}
    with connected(server, "/history_chat", "$recover=1") as conn:
        recover(conn, rooms=rooms)
        too_many = receive_event(conn, "$recovered")
        recover(conn, rooms=["not", "an", "object"])
        malformed = receive_event(conn, "$recovered")
    assert too_many["reason"] == "More rooms than TORNADO['max_rooms_per_socket'] (100)."
    assert malformed["reason"] == "rooms should be an object."
    assert too_many["recovered"] is malformed["recovered"] is False


def test_a_websocket_without_history_answers_recovered_false(server) -> None:
    with connected(server, "/history_none", "$recover=1") as conn:
        recover(conn, broadcast={"offset": 3, "epoch": "e"})
        answer = receive_event(conn, "$recovered")
    assert answer == {
        "recovered": False,
        "missed": 0,
        "reason": "/ws/history_none keeps no history.",
        "rooms": {},
    }


def test_a_handshake_that_never_sends_its_request_gets_live_messages_after_the_timeout(
    server,
) -> None:
    with connected(server, "/history_chat", "$recover=1") as conn:
        emits(ws_chat, 1, start=900)
        frame = receive(conn, timeout=15)  # TORNADO['recovery_timeout'] is 10 s
    assert frame["data"]["n"] == 900


def test_a_reconnecting_client_of_a_progress_bar_sees_its_current_state(server) -> None:
    bar.reset()
    for _ in range(4):
        bar.tick()
    with connected(server, "/history_bar", "$recover=1") as conn:
        recover(conn)
        frames = stream_frames(conn, 4)
    init = next(f for f in frames if f["event"] == "module_progressbar_job_init")
    assert init["data"] == {"indeterminate": False, "min": 0, "max": 10, "current": 4}
    assert frames[-1]["event"] == "$recovered"


def test_history_returns_stored_messages_oldest_first_from_any_thread(server) -> None:
    ws = WebSocket("/history_query", history=3)
    with connected(server, "/history_query") as conn:
        for n in range(5):
            ws.emit("said", {"n": n})
        stream_frames(conn, 5)  # delivered, so stored: emit itself does not wait
    found: list[list[StoredMessage]] = []
    worker = threading.Thread(target=lambda: found.append(ws.history()))
    worker.start()
    worker.join(10)
    messages = found[0]
    assert [(m.offset, m.event, m.data) for m in messages] == [
        (3, "said", {"n": 2}),
        (4, "said", {"n": 3}),
        (5, "said", {"n": 4}),
    ]
    assert [m.offset for m in ws.history(since=3)] == [4, 5]
    assert [m.offset for m in ws.history(limit=1)] == [5]
    assert [m.offset for m in ws.history(since=3, limit=1)] == [4]
    assert ws.history(room="nobody-here") == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit should be an integer from 1 to 1000"),
        ({"limit": 1001}, "TORNADO['history_query_limit']"),
        ({"since": -1}, "since should be an offset"),
        ({"room": ""}, "room should be a room name"),
    ],
)
def test_history_queries_are_bounded_and_checked(server, arguments: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[")):
        ws_chat.history(**arguments)


def test_history_of_a_websocket_without_history_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="/ws/history_none keeps no history"):
        ws_plain.history()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"history": -1}, "history should be the number of messages"),
        ({"history": "10"}, "history should be the number of messages"),
        ({"history": 5, "history_ttl": 0}, "history_ttl should be a positive number"),
        ({"history": 5, "history_ttl": "1"}, "history_ttl should be a number"),
    ],
)
def test_bad_history_options_are_refused_naming_them(arguments: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebSocket("/history_bad_" + json.dumps(arguments), **arguments)


def test_event_names_starting_with_a_dollar_are_reserved() -> None:
    ws = WebSocket("/history_reserved")
    with pytest.raises(ValueError, match=r"Event names starting with '\$' are reserved"):
        ws.register("$recover", lambda: None)
