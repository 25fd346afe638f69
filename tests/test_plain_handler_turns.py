"""Plain handlers run by the worker pool, their ends handed back to the loop: each connection's
handlers start in arrival order and run one at a time, whether its messages are pipelined, sent
on several connections at once or queued behind a running handler; emits reach the client
before acks; what each handler adds to the statistics is counted once; the work in flight comes
back to zero."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from tornado_websockets import dispatch
from tornado_websockets.websocket import WebSocket

from .wsclient import TIMEOUT, emit, open_socket, open_sockets, receive, receive_event

ws_turns = WebSocket("/t_turns")

_lock = threading.Lock()
_running: dict[str, int] = defaultdict(int)
_overlaps: list[str] = []
_started: dict[str, list[int]] = defaultdict(list)
_release = threading.Event()
_holding = threading.Event()


@ws_turns.on
def step(socket, data):
    client, n = data["client"], data["n"]
    with _lock:
        _running[client] += 1
        if _running[client] > 1:
            _overlaps.append(client)
        _started[client].append(n)
    try:
        socket.emit("step", data)
        return n
    finally:
        with _lock:
            _running[client] -= 1


@ws_turns.on
def hold(socket, data):
    _holding.set()
    assert _release.wait(TIMEOUT)
    socket.emit("held", data)


MEETING_SIZE = 6
_meeting = threading.Barrier(MEETING_SIZE, timeout=TIMEOUT)
_gate = threading.Event()
_at_gate = threading.Event()


@ws_turns.on
def meet(socket, data):
    _meeting.wait()
    socket.emit("met", data)


@ws_turns.on
def wait_at_gate(socket, data):
    _at_gate.set()
    socket.emit("gate", {"opened": _gate.wait(TIMEOUT)})


@ws_turns.on
def open_gate(socket, data):
    _gate.set()


@ws_turns.on
def fail(socket, data):
    raise RuntimeError("failing on purpose")


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def _reset(*clients: str) -> None:
    with _lock:
        for client in clients:
            _started.pop(client, None)
            _running.pop(client, None)
        _overlaps.clear()


def test_pipelined_messages_of_one_connection_start_in_order_one_at_a_time(
    tornado_server,
) -> None:
    _reset("solo")
    with open_socket(tornado_server, "/t_turns") as conn:
        for n in range(500):
            emit(conn, "step", {"client": "solo", "n": n})
        for n in range(500):
            assert receive_event(conn, "step") == {"client": "solo", "n": n}
    assert _started["solo"] == list(range(500))
    assert _overlaps == []


def test_connections_sending_at_once_each_keep_their_order_and_one_handler_at_a_time(
    tornado_server,
) -> None:
    names = [f"many-{index}" for index in range(6)]
    _reset(*names)
    with open_sockets(tornado_server, "/t_turns", len(names)) as clients:
        for n in range(200):
            for name, conn in zip(names, clients, strict=True):
                emit(conn, "step", {"client": name, "n": n})
        for name, conn in zip(names, clients, strict=True):
            for n in range(200):
                assert receive_event(conn, "step") == {"client": name, "n": n}
    for name in names:
        assert _started[name] == list(range(200))
    assert _overlaps == []


def test_a_plain_handler_held_on_one_connection_does_not_hold_the_others(tornado_server) -> None:
    _gate.clear()
    _at_gate.clear()
    with open_sockets(tornado_server, "/t_turns", 2) as (held, other):
        emit(held, "wait_at_gate")
        assert _at_gate.wait(TIMEOUT)
        emit(other, "open_gate", id=1)
        assert receive(other)["ack"] == 1
        assert receive_event(held, "gate") == {"opened": True}


def test_plain_handlers_of_many_connections_that_wait_for_one_another_all_run(
    tornado_server,
) -> None:
    with open_sockets(tornado_server, "/t_turns", MEETING_SIZE) as clients:
        for n, conn in enumerate(clients):
            emit(conn, "meet", {"n": n})
        for n, conn in enumerate(clients):
            assert receive_event(conn, "met") == {"n": n}


def test_each_handlers_emit_reaches_the_client_before_its_ack_when_pipelined(
    tornado_server,
) -> None:
    _reset("acked")
    with open_socket(tornado_server, "/t_turns") as conn:
        for n in range(200):
            emit(conn, "step", {"client": "acked", "n": n}, id=n)
        for n in range(200):
            assert receive_event(conn, "step") == {"client": "acked", "n": n}
            assert receive(conn) == {"ack": n, "data": n}
    assert _overlaps == []


def test_messages_sent_while_a_handler_runs_wait_for_it_then_run_in_order(
    tornado_server,
) -> None:
    _reset("behind")
    _release.clear()
    _holding.clear()
    with open_socket(tornado_server, "/t_turns") as conn:
        emit(conn, "hold", {"n": "first"})
        assert _holding.wait(TIMEOUT)
        for n in range(50):
            emit(conn, "step", {"client": "behind", "n": n})
        emit(conn, "fail")  # an error answered in turn, then the turns go on
        emit(conn, "step", {"client": "behind", "n": 50})
        assert dispatch.work_in_flight() >= 1
        _release.set()
        assert receive_event(conn, "held") == {"n": "first"}
        for n in range(50):
            assert receive_event(conn, "step") == {"client": "behind", "n": n}
        assert receive_event(conn, "warning")["message"].startswith("An error occurred")
        assert receive_event(conn, "step") == {"client": "behind", "n": 50}
    assert _started["behind"] == list(range(51))
    assert _overlaps == []


def test_the_work_in_flight_comes_back_to_zero_once_the_handlers_are_done(
    tornado_server,
) -> None:
    with open_socket(tornado_server, "/t_turns") as conn:
        for n in range(20):
            emit(conn, "step", {"client": "flight", "n": n})
            receive_event(conn, "step")
        _wait_until(lambda: dispatch.work_in_flight() == 0, "no work in flight")


def test_frames_and_durations_of_handlers_on_several_connections_are_each_counted_once(
    tornado_server,
) -> None:
    stats = ws_turns.stats
    _wait_until(lambda: dispatch.work_in_flight() == 0, "no work in flight")
    sent, observed = stats.messages_sent, stats.handler_durations.count
    with open_sockets(tornado_server, "/t_turns", 3) as clients:
        for n in range(30):
            for index, conn in enumerate(clients):
                emit(conn, "step", {"client": f"counted-{index}", "n": n})
            for index, conn in enumerate(clients):
                assert receive_event(conn, "step") == {"client": f"counted-{index}", "n": n}
        _wait_until(lambda: dispatch.work_in_flight() == 0, "no work in flight")
    assert (stats.messages_sent - sent, stats.handler_durations.count - observed) == (90, 90)


def test_frames_and_durations_of_a_lone_connection_are_counted_when_its_turns_end(
    tornado_server,
) -> None:
    stats = ws_turns.stats
    with open_socket(tornado_server, "/t_turns") as conn:
        _wait_until(lambda: dispatch.work_in_flight() == 0, "no work in flight")
        sent, observed = stats.messages_sent, stats.handler_durations.count
        for n in range(3):
            emit(conn, "step", {"client": "lone", "n": n})
            receive_event(conn, "step")
        # A turn ends (the connection leaves the work in flight) once it is counted.
        _wait_until(lambda: dispatch.work_in_flight() == 0, "no work in flight")
        assert (stats.messages_sent - sent, stats.handler_durations.count - observed) == (3, 3)


def test_a_raw_text_frame_queued_behind_a_handler_is_still_answered_in_turn(
    tornado_server,
) -> None:
    _release.clear()
    _holding.clear()
    with open_socket(tornado_server, "/t_turns") as conn:
        emit(conn, "hold", {"n": "again"})
        assert _holding.wait(TIMEOUT)
        conn.send("not json")
        conn.send(json.dumps({"event": "step", "data": {"client": "raw", "n": 0}}))
        _release.set()
        assert receive_event(conn, "held") == {"n": "again"}
        assert receive(conn)["event"] == "warning"
        assert receive_event(conn, "step") == {"client": "raw", "n": 0}
