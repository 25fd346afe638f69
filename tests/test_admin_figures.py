"""What the admin's snapshot reads from a real server: bytes waiting, rooms, users, counters.

In-process: the suite's live server (on each transport), real WebSocket clients; the figures
are read on the loop thread, as the admin does.
"""

from __future__ import annotations

import asyncio
import json
import queue
import socket as net
from typing import Any

from tornado_websockets.admin.snapshot import node_snapshot
from tornado_websockets.stats import bytes_waiting
from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, raw_websocket, receive

ws_figures = WebSocket("/t_admin_figures")
seen: queue.Queue[Any] = queue.Queue()
internal = WebSocket("/t_admin_figures_internal")


@ws_figures.on
async def flood(socket: Any, data: Any) -> None:
    """Write ``count`` frames of 60 kB to the sender, then report what still waits to leave.

    The server side's kernel send buffer is made small first, as the client's receive buffer
    is: on loopback the kernel would otherwise take megabytes itself.
    """
    connection = socket.ws_connection
    transport = getattr(connection, "transport", None)  # the asyncio transport's, if taken over
    if transport is not None:
        sock = transport.get_extra_info("socket")
    else:
        sock = connection.stream.socket
    sock.setsockopt(net.SOL_SOCKET, net.SO_SNDBUF, 4096)
    for _ in range(int(data["count"])):
        socket.emit("payload", {"p": "z" * 60_000})
    await asyncio.sleep(0.05)
    seen.put(bytes_waiting(socket))


@ws_figures.on
async def join(socket: Any, data: Any) -> dict[str, Any]:
    socket.join(data["room"])
    return node_snapshot(internal, ["", "nobody"], max_rows=1)


def masked_text_frame(payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload  # a zero mask


def test_bytes_waiting_counts_what_a_client_that_does_not_read_has_not_taken(
    tornado_server: Any,
) -> None:
    stuck = raw_websocket(tornado_server.port, "/ws/t_admin_figures", receive_buffer=4096)
    try:
        request = json.dumps({"event": "flood", "data": {"count": 12}}).encode()
        stuck.sendall(masked_text_frame(request))
        waiting = seen.get(timeout=10)
        # 720 kB written, a few kB of kernel buffers on the way: most of it is still queued.
        assert 300_000 < waiting <= 12 * 60_020
    finally:
        stuck.close()


def test_a_snapshot_lists_rooms_connections_and_cuts_rows_at_max_rows(tornado_server: Any) -> None:
    with open_socket(tornado_server, "/t_admin_figures") as first:
        with open_socket(tornado_server, "/t_admin_figures") as second:
            emit(first, "join", {"room": "blue"}, id=1)
            receive(first)
            emit(second, "join", {"room": "blue"}, id=2)
            snapshot = receive(second)["data"]
    (figures,) = [f for f in snapshot["paths"] if f["path"] == "/ws/t_admin_figures"]
    assert figures["rooms"] == [["blue", 2]]
    assert figures["room_count"] == 1
    assert figures["connections_open"] == 2
    everyone = snapshot["connections"][""]
    assert everyone["matched"] >= 2 and len(everyone["rows"]) == 1  # max_rows=1
    assert snapshot["connections"]["nobody"] == {"rows": [], "matched": 0}
    assert all(f["path"] != "/ws/t_admin_figures_internal" for f in snapshot["paths"])
    assert snapshot["broker"] is None
