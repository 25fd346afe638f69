"""A plain handler's emits to its own connection, written from its worker thread: what may
not overtake them, what they may not overtake, and that they stay whole next to the loop's
writes. Runs on both transports; only the asyncio one writes from the worker."""

from __future__ import annotations

import threading

from tornado_websockets.websocket import WebSocket

from .wsclient import TIMEOUT, emit, open_socket, open_sockets, receive, receive_event

ws_direct = WebSocket("/t_direct")


@ws_direct.on
def broadcast_then_reply(socket, data):
    # The broadcast hops to the loop; the reply, made after it by the same thread, must follow.
    ws_direct.emit("everyone", data)
    socket.emit("reply", data)


@ws_direct.on
def reply(socket, data):
    socket.emit("reply", data)


@ws_direct.on
async def broadcast_many(data):
    for n in range(data["count"]):
        ws_direct.emit("everyone", {"n": n, "pad": "x" * data["size"]})


@ws_direct.on
def stream(socket, data):
    for n in range(data["count"]):
        socket.emit("streamed", {"n": n, "pad": "s" * data["size"]})


def test_a_reply_follows_the_broadcast_its_handler_made_before_it(tornado_server) -> None:
    sent_before = ws_direct.stats.messages_sent
    with open_socket(tornado_server, "/t_direct") as conn:
        for n in range(200):
            emit(conn, "broadcast_then_reply", {"n": n})
            assert receive_event(conn, "everyone") == {"n": n}
            assert receive_event(conn, "reply") == {"n": n}
        # Frames written from a worker thread are counted like the others.
        emit(conn, "reply", {"n": "last"})
        assert receive_event(conn, "reply") == {"n": "last"}
    assert ws_direct.stats.messages_sent - sent_before == 401


def test_a_reply_follows_the_broadcasts_of_an_earlier_message_still_queued(
    tornado_server,
) -> None:
    # 3 clients x 400 frames: well past what a loop iteration writes (fanout.BUDGET), so the
    # broadcasts still wait in the application's queue when the plain handler replies.
    with open_sockets(tornado_server, "/t_direct", 3) as clients:
        sender = clients[0]
        for round_ in range(3):
            emit(sender, "broadcast_many", {"count": 400, "size": 10})
            emit(sender, "reply", {"round": round_})
            for n in range(400):
                assert receive_event(sender, "everyone")["n"] == n
            assert receive_event(sender, "reply") == {"round": round_}
            for other in clients[1:]:
                for n in range(400):
                    assert receive_event(other, "everyone")["n"] == n


def test_frames_from_a_worker_and_from_the_loop_stay_whole_and_each_in_order(
    tornado_server,
) -> None:
    # A plain handler streams frames to its client (written from the worker while nothing
    # waits, by the loop otherwise) while another client's async handler broadcasts to it from
    # the loop: every frame must arrive intact, each source in order. (Under 1 MiB in all:
    # max_queued_bytes.)
    with open_sockets(tornado_server, "/t_direct", 2) as (reader, other):
        emit(reader, "stream", {"count": 300, "size": 2_000})
        emit(other, "broadcast_many", {"count": 300, "size": 1_000})
        streamed = broadcast = 0
        while streamed < 300 or broadcast < 300:
            frame = receive(reader)
            if frame["event"] == "streamed":
                assert frame["data"] == {"n": streamed, "pad": "s" * 2_000}
                streamed += 1
            else:
                assert frame["event"] == "everyone"
                assert frame["data"] == {"n": broadcast, "pad": "x" * 1_000}
                broadcast += 1
        for n in range(300):
            assert receive_event(other, "everyone")["n"] == n


release_loop = threading.Event()
loop_held = threading.Event()
reply_allowed = threading.Event()
waiting_to_reply = threading.Event()


@ws_direct.on
def reply_when_allowed(socket, data):
    waiting_to_reply.set()
    reply_allowed.wait(timeout=2 * TIMEOUT)
    socket.emit("reply", data)


@ws_direct.on
async def hold_the_loop():
    loop_held.set()
    release_loop.wait(timeout=2 * TIMEOUT)  # blocks the loop on purpose


def test_a_plain_handler_reply_needs_no_loop_iteration(tornado_server, request) -> None:
    transport = request.node.callspec.params["tornado_live_server_config"]
    for event in (release_loop, loop_held, reply_allowed, waiting_to_reply):
        event.clear()
    with open_sockets(tornado_server, "/t_direct", 2) as (conn, holder):
        emit(conn, "reply_when_allowed", {"n": 1})
        assert waiting_to_reply.wait(TIMEOUT)
        emit(holder, "hold_the_loop")
        try:
            assert loop_held.wait(TIMEOUT)
            reply_allowed.set()
            if transport == "asyncio":
                # Written by the worker thread while the loop is held.
                assert receive_event(conn, "reply", timeout=TIMEOUT) == {"n": 1}
        finally:
            release_loop.set()
        if transport != "asyncio":
            assert receive_event(conn, "reply") == {"n": 1}
