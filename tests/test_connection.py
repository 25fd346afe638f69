"""Connections on a real server: handlers, acks, lifecycle, bad input, threads, broadcasts."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
import queue
import socket as net
import struct
import sys
import threading
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import ConnectionClosed

from tornado_websockets.exceptions import ClientError
from tornado_websockets.websocket import WebSocket

from .wsclient import (
    close_frame_of,
    emit,
    open_socket,
    open_sockets,
    raw_websocket,
    read_server_frame,
    receive,
    receive_event,
    send,
    wait_for_item,
    warning_of,
)

ws_echo = WebSocket("/t_echo")


@ws_echo.on
async def message(socket, data):
    socket.emit("message", data)


@ws_echo.on
def plain_message(socket, data):
    socket.emit("plain_message", data)


@ws_echo.on
async def where_async():
    return threading.current_thread().name


@ws_echo.on
def where_plain():
    return threading.current_thread().name


@ws_echo.on
def add(data):
    return data.a + data.b


@ws_echo.on
async def add_async(data):
    return data["a"] + data["b"]


@ws_echo.on
def nothing():
    return None


@ws_echo.on
def boom():
    raise ValueError("plain handler failure")


@ws_echo.on
async def boom_async():
    raise ValueError("async handler failure")


@ws_echo.on
def refuse():
    raise ClientError("You may not do that.")


@ws_echo.on
def not_json():
    return object()


@ws_echo.on
def not_a_number():
    return float("nan")


@ws_echo.on
def emit_infinity(socket):
    try:
        socket.emit("huge", {"x": float("inf")})
    except TypeError as error:
        return str(error)
    return "sent"


@ws_echo.on
def normalised(socket, data):
    socket.emit("as_string", "hello")
    socket.emit("as_none")


def test_an_async_handler_echoes_on_the_loop_thread(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "message", {"message": "hi", "n": [1, 2]})
        assert receive(conn) == {"event": "message", "data": {"message": "hi", "n": [1, 2]}}
        emit(conn, "where_async", id=1)
        assert receive(conn) == {"ack": 1, "data": "tornado-websockets-live-server"}


def test_a_plain_handler_runs_in_the_worker_pool(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "plain_message", {"message": "hi"})
        assert receive_event(conn, "plain_message") == {"message": "hi"}
        emit(conn, "where_plain", id=2)
        assert receive(conn)["data"].startswith("tornado-websockets_")


def test_an_id_asks_for_an_ack_with_the_return_value(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "add", {"a": 2, "b": 3}, id=7)
        assert receive(conn) == {"ack": 7, "data": 5}
        emit(conn, "add_async", {"a": 4, "b": 5}, id=8)
        assert receive(conn) == {"ack": 8, "data": 9}
        emit(conn, "nothing", id=9)
        assert receive(conn) == {"ack": 9, "data": None}


def test_a_handler_error_answers_an_ack_error_and_logs_the_traceback(
    tornado_server, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="tornado_websockets")
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "boom", id=1)
        assert receive(conn) == {
            "ack": 1,
            "error": {"message": "An error occurred while handling event 'boom'."},
        }
        emit(conn, "boom_async")
        assert warning_of(receive(conn)) == "An error occurred while handling event 'boom_async'."
        emit(conn, "message", {"still": "open"})
        assert receive_event(conn, "message") == {"still": "open"}
    failures = [r for r in caplog.records if "raised an exception" in r.getMessage()]
    assert {r.exc_info[1].args[0] for r in failures if r.exc_info} >= {
        "plain handler failure",
        "async handler failure",
    }


def test_a_client_error_sends_its_own_message_without_a_traceback(tornado_server, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="tornado_websockets")
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "refuse")
        assert warning_of(receive(conn)) == "You may not do that."
        emit(conn, "refuse", id=3)
        assert receive(conn) == {"ack": 3, "error": {"message": "You may not do that."}}
    assert not [r for r in caplog.records if "refuse" in r.getMessage()]


def test_a_return_value_that_is_not_json_is_an_ack_error_and_ignored_without_id(
    tornado_server,
) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "not_json", id=4)
        assert receive(conn) == {
            "ack": 4,
            "error": {"message": "The result of event 'not_json' could not be encoded."},
        }
        emit(conn, "not_json")
        emit(conn, "message", {"next": 1})
        assert receive(conn) == {"event": "message", "data": {"next": 1}}


def test_a_nan_return_value_is_an_ack_error_not_a_frame_that_is_not_json(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "not_a_number", id=6)
        # json.loads would read NaN: check the text itself.
        text = conn.recv(timeout=15)
        assert "NaN" not in text
        assert json.loads(text) == {
            "ack": 6,
            "error": {"message": "The result of event 'not_a_number' could not be encoded."},
        }


def test_emitting_infinity_raises_a_type_error_naming_the_event(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "emit_infinity", id=7)
        answer = receive(conn)
        assert answer["ack"] == 7
        assert "event 'huge'" in answer["data"]
        assert "not JSON serializable" in answer["data"]


def test_an_unknown_event_is_ignored_but_a_request_for_it_is_answered(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "no_such_event", {"a": 1})
        emit(conn, "no_such_event", id=5)
        assert receive(conn) == {"ack": 5, "error": {"message": "Unknown event 'no_such_event'."}}


def test_socket_emit_normalises_data_like_the_original(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        emit(conn, "normalised")
        assert receive(conn) == {"event": "as_string", "data": {"message": "hello"}}
        assert receive(conn) == {"event": "as_none", "data": {}}


BAD_FRAMES = [
    ("nope", "Invalid JSON was sent."),
    ("[1, 2]", "The message should be a JSON object."),
    ('"just a string"', "The message should be a JSON object."),
    ("3.5", "The message should be a JSON object."),
    ("null", "The message should be a JSON object."),
    ("{}", "There is no event in this JSON."),
    ('{"event": ""}', "There is no event in this JSON."),
    ('{"event": ["x"]}', "The event should be a string."),
    ('{"event": "message", "data": "text"}', "The data should be a dictionary."),
    ('{"event": "message", "data": [1]}', "The data should be a dictionary."),
    ('{"event": "message", "id": "1"}', "The id should be an integer."),
    (b"\xff\xfe\xfd", "Invalid JSON was sent."),
    ('{"event": "message", "data": {"x": 1e999}}', "Invalid JSON was sent."),
    ('{"event": "message", "data": {"x": -1e999}}', "Invalid JSON was sent."),
    ('{"event": "message", "data": {"x": NaN}}', "Invalid JSON was sent."),
    ('{"event": "message", "data": {"x": Infinity}}', "Invalid JSON was sent."),
    ('{"event": "message", "data": {"x": -Infinity}}', "Invalid JSON was sent."),
]


@pytest.mark.parametrize(("frame", "warning"), BAD_FRAMES, ids=[repr(f) for f, _ in BAD_FRAMES])
def test_bad_input_gets_its_warning_and_everyone_keeps_working(
    tornado_server, frame, warning
) -> None:
    with (
        open_socket(tornado_server, "/t_echo") as sender,
        open_socket(tornado_server, "/t_echo") as other,
    ):
        send(sender, frame)
        assert warning_of(receive(sender)) == warning
        emit(sender, "message", {"after": "bad"})
        assert receive_event(sender, "message") == {"after": "bad"}
        emit(other, "message", {"bystander": True})
        assert receive_event(other, "message") == {"bystander": True}


def test_binary_frames_holding_json_are_handled_like_text(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as conn:
        conn.send(json.dumps({"event": "message", "data": {"bin": 1}}).encode())
        assert receive(conn) == {"event": "message", "data": {"bin": 1}}


def test_a_one_megabyte_frame_is_handled(tornado_server) -> None:
    big = "x" * 1_000_000
    with open_socket(tornado_server, "/t_echo", max_size=2**21) as conn:
        emit(conn, "message", {"big": big})
        assert receive(conn)["data"]["big"] == big


ws_life = WebSocket("/t_lifecycle")
closed_ids: queue.Queue[int] = queue.Queue()


@ws_life.on
def open(socket):  # noqa: A001  (the documented name of the lifecycle handler)
    socket.emit("welcome", {"id": socket.id, "open": len(ws_life)})


@ws_life.on
async def close(socket):
    closed_ids.put(socket.id)


@ws_life.on
def connections():
    return [s.id for s in ws_life.handlers]


def test_open_runs_on_connect_and_close_runs_on_disconnect(tornado_server) -> None:
    with open_socket(tornado_server, "/t_lifecycle") as conn:
        welcome = receive_event(conn, "welcome")
        assert welcome["open"] >= 1
        emit(conn, "connections", id=1)
        assert welcome["id"] in receive(conn)["data"]
    wait_for_item(closed_ids, welcome["id"])
    with open_socket(tornado_server, "/t_lifecycle") as conn:
        receive_event(conn, "welcome")
        emit(conn, "connections", id=2)
        assert welcome["id"] not in receive(conn)["data"]


def test_handlers_list_the_open_connections_in_connect_order(tornado_server) -> None:
    with (
        open_socket(tornado_server, "/t_lifecycle") as first,
        open_socket(tornado_server, "/t_lifecycle") as second,
    ):
        first_id = receive_event(first, "welcome")["id"]
        second_id = receive_event(second, "welcome")["id"]
        emit(first, "connections", id=1)
        ids = receive(first)["data"]
        assert ids.index(first_id) < ids.index(second_id)
        assert ws_life[ids.index(first_id)].id == first_id
        assert [s.id for s in ws_life] == ids and len(ws_life) == len(ids)


@pytest.mark.parametrize("name", ["open", "close"])
def test_clients_cannot_trigger_lifecycle_handlers(tornado_server, name) -> None:
    with open_socket(tornado_server, "/t_lifecycle") as conn:
        receive_event(conn, "welcome")
        emit(conn, name, id=1)
        assert receive(conn) == {"ack": 1, "error": {"message": f"Unknown event '{name}'."}}
        emit(conn, name)
        emit(conn, "connections", id=2)
        assert receive(conn)["ack"] == 2  # no second welcome came first


ws_get = WebSocket("/t_get_only")
get_events: queue.Queue[tuple[str, int]] = queue.Queue()


@ws_get.on
async def open(socket):  # noqa: F811
    get_events.put(("open", socket.id))


@ws_get.on
async def close(socket):  # noqa: F811
    get_events.put(("close", socket.id))


def test_a_plain_http_get_on_a_websocket_path_leaves_nothing_behind(tornado_server) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{tornado_server.http_url}/ws/t_get_only", timeout=10)
    assert caught.value.code == 400
    assert len(ws_get) == 0
    # A real connection afterwards: its open and close are the only lifecycle events seen.
    with open_socket(tornado_server, "/t_get_only"):
        kind, opened_id = get_events.get(timeout=10)
        assert kind == "open"
    assert get_events.get(timeout=10) == ("close", opened_id)
    assert get_events.empty() and len(ws_get) == 0


ws_order = WebSocket("/t_order")
gate = threading.Event()


@ws_order.on
def plain_step(socket, data):
    socket.emit("step", data)


@ws_order.on
async def async_step(socket, data):
    socket.emit("step", data)


@ws_order.on
def blocked(socket, data):
    gate.wait(timeout=30)
    socket.emit("step", data)


def test_messages_of_one_connection_are_handled_in_order(tornado_server) -> None:
    with open_socket(tornado_server, "/t_order") as conn:
        for n in range(60):
            emit(conn, "plain_step" if n % 3 else "async_step", {"n": n})
        assert [receive_event(conn, "step")["n"] for _ in range(60)] == list(range(60))


def test_a_long_queue_behind_a_blocked_handler_is_kept_whole_and_in_order(tornado_server) -> None:
    gate.clear()
    with open_socket(tornado_server, "/t_order") as conn:
        emit(conn, "blocked", {"n": 0})
        for n in range(1, 600):
            emit(conn, "async_step" if n % 2 else "plain_step", {"n": n})
        gate.set()
        assert [receive_event(conn, "step")["n"] for _ in range(600)] == list(range(600))


ws_cast = WebSocket("/t_broadcast")


@ws_cast.on
def shout(data):
    ws_cast.emit("shout", data)


class CountingPayload:
    """Counts how often the encoder asks for its JSON form."""

    calls = 0

    def __json__(self) -> str:
        type(self).calls += 1
        return "counted"


def test_a_broadcast_reaches_every_connection_and_encodes_once(tornado_server) -> None:
    CountingPayload.calls = 0  # the test runs once per transport
    with open_sockets(tornado_server, "/t_broadcast", 5) as clients:
        ws_cast.emit("counted", {"value": CountingPayload()})  # from the test's thread
        for conn in clients:
            assert receive(conn) == {"event": "counted", "data": {"value": "counted"}}
        assert CountingPayload.calls == 1


def test_a_broadcast_skips_closed_and_broken_clients(tornado_server) -> None:
    with open_sockets(tornado_server, "/t_broadcast", 3) as healthy:
        with open_socket(tornado_server, "/t_broadcast"):
            pass  # closed cleanly before the broadcasts
        broken = raw_websocket(tornado_server.port, "/ws/t_broadcast")
        broken.setsockopt(net.SOL_SOCKET, net.SO_LINGER, struct.pack("ii", 1, 0))
        broken.close()  # RST: the server's next write to it fails
        for round_number in range(3):
            emit(healthy[0], "shout", {"round": round_number})
            for conn in healthy:
                assert receive_event(conn, "shout") == {"round": round_number}


def test_emit_to_a_closed_socket_from_another_thread_is_dropped(tornado_server) -> None:
    with open_socket(tornado_server, "/t_lifecycle") as conn:
        socket_id = receive_event(conn, "welcome")["id"]
        handler = next(s for s in ws_life if s.id == socket_id)
    wait_for_item(closed_ids, socket_id)
    handler.emit("too_late", {"x": 1})  # must not raise
    assert handler.closed


late_paths = itertools.count()


def test_a_websocket_declared_after_the_server_started_is_routable(tornado_server) -> None:
    path = f"/t_declared_late_{next(late_paths)}"  # the test runs once per transport
    late = WebSocket(path)

    @late.on
    def ping():
        return "pong"

    with open_socket(tornado_server, path) as conn:
        emit(conn, "ping", id=1)
        assert receive(conn) == {"ack": 1, "data": "pong"}


def test_an_undeclared_ws_path_falls_through_to_django(tornado_server) -> None:
    with pytest.raises((ConnectionClosed, Exception)) as caught:
        open_socket(tornado_server, "/t_never_declared")
    assert "404" in str(caught.value)


ws_eager = WebSocket("/t_eager")
request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")


@ws_eager.on
async def task_identity():
    first = asyncio.current_task()
    await asyncio.sleep(0)
    return first is not None and first is asyncio.current_task()


@contextlib.asynccontextmanager
async def timeout(seconds: float) -> AsyncIterator[None]:
    """``asyncio.timeout`` (Python 3.11+), or what it does on 3.10: cancel the current task
    when the delay passes. Both need a current task."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            yield
        return
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("Timeout should be used inside a task")  # asyncio.timeout's error
    cancel = asyncio.get_running_loop().call_later(seconds, task.cancel)
    try:
        yield
    finally:
        cancel.cancel()


@ws_eager.on
async def with_timeout(data):
    async with timeout(5):  # needs a current task from the very first line
        await asyncio.sleep(0)
        return data.n


@ws_eager.on
async def context_survives_awaits(data):
    request_var.set(data.value)
    await asyncio.sleep(0.01)
    return request_var.get()


@ws_eager.on
async def answer_then_wait(socket):
    socket.emit("before_wait")
    await asyncio.sleep(0.05)
    socket.emit("after_wait")


def test_async_handlers_run_as_their_own_task_from_the_first_line(tornado_server) -> None:
    with open_socket(tornado_server, "/t_eager") as conn:
        emit(conn, "task_identity", id=1)
        assert receive(conn) == {"ack": 1, "data": True}
        emit(conn, "with_timeout", {"n": 7}, id=2)
        assert receive(conn) == {"ack": 2, "data": 7}


def test_context_variables_set_by_a_handler_stay_its_own(tornado_server) -> None:
    with open_socket(tornado_server, "/t_eager") as a, open_socket(tornado_server, "/t_eager") as b:
        emit(a, "context_survives_awaits", {"value": "a"}, id=1)
        emit(b, "context_survives_awaits", {"value": "b"}, id=2)
        assert receive(a) == {"ack": 1, "data": "a"}
        assert receive(b) == {"ack": 2, "data": "b"}


def test_a_waiting_handler_does_not_hold_back_later_messages(tornado_server) -> None:
    with open_socket(tornado_server, "/t_eager") as conn:
        emit(conn, "answer_then_wait")
        emit(conn, "task_identity", id=3)
        assert receive_event(conn, "before_wait") == {}
        assert receive(conn) == {"ack": 3, "data": True}
        assert receive_event(conn, "after_wait") == {}


def test_an_unmasked_client_frame_is_closed_with_1002_and_not_handled(tornado_server) -> None:
    with open_socket(tornado_server, "/t_echo") as bystander:
        raw = raw_websocket(tornado_server.port, "/ws/t_echo")
        with raw:
            masked_zero = b"\x00\x00\x00\x00"  # a zero mask leaves the payload as it is
            for padding in ("", "p" * 300):  # a 7-bit length, then a 16-bit extended one
                echo = json.dumps({"event": "message", "data": {"pad": padding}}).encode()
                length = (
                    bytes([0x80 | len(echo)])
                    if len(echo) < 126
                    else b"\xfe" + len(echo).to_bytes(2, "big")
                )
                raw.sendall(b"\x81" + length + masked_zero + echo)
                expected = echo.replace(b": ", b":").replace(b", ", b",")
                assert read_server_frame(raw) == (0x1, expected)
            unmasked = json.dumps({"event": "message", "data": {"masked": False}}).encode()
            raw.sendall(bytes([0x81, len(unmasked)]) + unmasked)
            assert close_frame_of(raw) == (1002, "Unmasked frame")  # and no echo before it
        emit(bystander, "message", {"still": "served"})
        assert receive_event(bystander, "message") == {"still": "served"}
