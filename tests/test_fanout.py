"""Large fan-outs on a real server: written a chunk per loop iteration, in order, in full.

A burst of broadcasts must not keep the loop from serving other sockets, and no frame to a
connection may overtake an earlier one (broadcasts, ``socket.emit``, acks and ``close`` alike).
The checks are on the order of events, never on durations.
"""

from __future__ import annotations

import threading

import pytest
from websockets.exceptions import ConnectionClosed

from tornado_websockets.fanout import BUDGET, FanOut
from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, open_sockets, receive

TIMEOUT = 30.0
LISTENERS = 5
TICKS = 4 * BUDGET  # every burst below is several loop iterations' worth of writes

ws_burst = WebSocket("/t_fanout_burst")
ws_side = WebSocket("/t_fanout_side")
burst_started = threading.Event()
echo_sent = threading.Event()


@ws_burst.on
async def interleaved(socket, data):
    """On the loop: broadcasts with a direct frame to the caller after each."""
    for i in range(data["count"]):
        ws_burst.emit("tick", {"i": i})
        socket.emit("mine", {"i": i})
    return "done"


@ws_burst.on
def interleaved_in_a_thread(socket, data):
    """The same from a worker thread: every emit hops onto the loop."""
    for i in range(data["count"]):
        ws_burst.emit("tick", {"i": i})
        socket.emit("mine", {"i": i})
    return "done"


@ws_burst.on
async def bursts_around_a_marker(socket, data):
    """Runs of broadcasts (written recipient by recipient) with a direct frame between."""
    count = data["count"]
    for i in range(count):
        ws_burst.emit("tick", {"i": i})
    socket.emit("marker", {"i": count})
    for i in range(count, 2 * count):
        ws_burst.emit("tick", {"i": i})
    return "done"


@ws_burst.on
async def burst_then_close(socket, data):
    for i in range(data["count"]):
        ws_burst.emit("tick", {"i": i})
    socket.close(4000, "Done")


@ws_burst.on
async def burst_holding_the_loop(data):
    """Queues a burst, then holds the loop until the test has sent its echo: that echo is
    then waiting in the socket when the loop resumes, with the burst still to write."""
    for i in range(data["count"]):
        ws_burst.emit("tick", {"i": i})
    burst_started.set()
    echo_sent.wait(TIMEOUT)  # blocks the loop on purpose: nothing is read meanwhile


SMALL_BACKLOG = 4096
ws_small = WebSocket("/t_fanout_small_backlog")
ws_small.fanout = FanOut(max_backlog=SMALL_BACKLOG)


@ws_small.on
async def burst_and_measure(data):
    peak = 0
    for i in range(data["count"]):
        ws_small.emit("tick", {"i": i})
        peak = max(peak, ws_small.fanout.backlog_bytes)
    return {"peak": peak, "drained_at_once": ws_small.fanout.drained_at_once}


@ws_side.on
async def echo():
    return {"burst_frames_written": ws_burst.stats.messages_sent}


def ticks_of(conn, count: int) -> list[int]:
    received = []
    while len(received) < count:
        frame = receive(conn, TIMEOUT)
        assert frame["event"] == "tick", frame
        received.append(frame["data"]["i"])
    return received


def frames_of_caller(conn, count: int) -> list[tuple[str, int]]:
    """What the caller receives: ticks, its own frames and the final ack, as (kind, i)."""
    seen: list[tuple[str, int]] = []
    while True:
        frame = receive(conn, TIMEOUT)
        if "ack" in frame:
            assert frame["data"] == "done"
            seen.append(("ack", -1))
            return seen
        seen.append((frame["event"], frame["data"]["i"]))
        assert len(seen) <= 2 * count, "more frames than emitted"


@pytest.mark.parametrize("event", ["interleaved", "interleaved_in_a_thread"])
def test_a_burst_reaches_everyone_in_full_and_no_frame_overtakes_an_earlier_one(
    tornado_server, event
) -> None:
    with open_sockets(tornado_server, "/t_fanout_burst", LISTENERS) as listeners:
        caller = listeners[0]
        emit(caller, event, {"count": TICKS}, id=1)
        expected = [(kind, i) for i in range(TICKS) for kind in ("tick", "mine")]
        assert frames_of_caller(caller, TICKS) == [*expected, ("ack", -1)]
        for conn in listeners[1:]:
            assert ticks_of(conn, TICKS) == list(range(TICKS))


def burst_frames_written(tornado_server) -> int:
    with open_socket(tornado_server, "/t_fanout_side") as side:
        emit(side, "echo", id=9)
        return int(receive(side, TIMEOUT)["data"]["burst_frames_written"])


def test_a_frame_between_two_runs_of_broadcasts_stays_between_them(tornado_server) -> None:
    with open_sockets(tornado_server, "/t_fanout_burst", LISTENERS) as listeners:
        written_before = burst_frames_written(tornado_server)
        caller = listeners[0]
        emit(caller, "bursts_around_a_marker", {"count": TICKS}, id=1)
        expected = [("tick", i) for i in range(TICKS)]
        expected += [("marker", TICKS)] + [("tick", i) for i in range(TICKS, 2 * TICKS)]
        seen = frames_of_caller(caller, 2 * TICKS)
        assert seen == [*expected, ("ack", -1)]
        for conn in listeners[1:]:
            assert ticks_of(conn, 2 * TICKS) == list(range(2 * TICKS))
        # Runs written to a client in one piece still count one message a frame.
        written = burst_frames_written(tornado_server) - written_before
        assert written == 2 * TICKS * LISTENERS + 2  # the ticks, the marker, the ack


def test_a_close_after_a_burst_comes_after_every_frame_of_it(tornado_server) -> None:
    with (
        open_socket(tornado_server, "/t_fanout_burst") as caller,
        open_sockets(tornado_server, "/t_fanout_burst", LISTENERS - 1) as others,
    ):
        emit(caller, "burst_then_close", {"count": TICKS})
        assert ticks_of(caller, TICKS) == list(range(TICKS))
        with pytest.raises(ConnectionClosed) as closed:
            receive(caller, TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        for conn in others:
            assert ticks_of(conn, TICKS) == list(range(TICKS))


def test_a_bystander_is_served_while_a_burst_is_still_being_written(tornado_server) -> None:
    burst_started.clear()
    echo_sent.clear()
    with (
        open_sockets(tornado_server, "/t_fanout_burst", LISTENERS) as listeners,
        open_socket(tornado_server, "/t_fanout_side") as bystander,
    ):
        before = ws_burst.stats.messages_sent
        emit(listeners[0], "burst_holding_the_loop", {"count": TICKS})
        assert burst_started.wait(TIMEOUT)
        emit(bystander, "echo", id=1)  # read by the server once the loop resumes
        echo_sent.set()
        answer = receive(bystander, TIMEOUT)
        written = answer["data"]["burst_frames_written"] - before
        total = TICKS * LISTENERS
        assert written < total, "the echo waited for the whole burst to be written"
        for conn in listeners:
            assert ticks_of(conn, TICKS) == list(range(TICKS))
        assert ws_burst.stats.messages_sent - before == total


def test_the_backlog_stays_under_its_bound_and_nothing_is_dropped(tornado_server) -> None:
    with open_sockets(tornado_server, "/t_fanout_small_backlog", LISTENERS) as listeners:
        emit(listeners[0], "burst_and_measure", {"count": TICKS}, id=1)
        answer = None
        ticks: list[int] = []
        while answer is None or len(ticks) < TICKS:
            frame = receive(listeners[0], TIMEOUT)
            if "ack" in frame:
                answer = frame["data"]
            else:
                ticks.append(frame["data"]["i"])
        assert ticks == list(range(TICKS))
        # One job past the bound at most: a frame and a reference per recipient.
        assert answer["peak"] <= SMALL_BACKLOG + 64 + 8 * LISTENERS
        assert answer["drained_at_once"] > 0
        for conn in listeners[1:]:
            assert ticks_of(conn, TICKS) == list(range(TICKS))
