"""The asyncio transport (TORNADO['transport'] = 'asyncio'): what only that path does.

The connection, security and limits tests run on both paths; these cover the edges of the
asyncio one: writes the kernel takes in pieces, a peer that vanishes mid-write, closing
handshakes from both sides, protocol errors, and the connections that stay on Tornado's path
(permessage-deflate, TLS).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import os
import platform
import queue
import select
import socket
import ssl
import struct
import subprocess
import sys
import threading
from contextlib import ExitStack
from typing import Any

import pytest
from tornado.iostream import IOStream
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tornado_websockets.conf import TornadoConfig
from tornado_websockets.testing.server import LiveServerThread
from tornado_websockets.transport import connection as asyncio_connection
from tornado_websockets.transport import event_loop_name, takeover
from tornado_websockets.transport import held as held_replies_module
from tornado_websockets.transport.held import HeldReplies, held_replies
from tornado_websockets.websocket import WebSocket
from tornado_websockets.websockethandler import WebSocketHandler

from .wsclient import TIMEOUT, emit, exchange_over_tls, receive, wait_for_item

MAX_QUEUED_BYTES = 4 * 1024 * 1024

app = WebSocket("/t_transport")
closed: queue.Queue[int] = queue.Queue()


@app.on
async def kind(socket):
    return type(socket.ws_connection).__name__


@app.on
async def burst(socket, data):
    for n in range(data["count"]):
        socket.emit("piece", {"n": n, "fill": "z" * data["size"]})
    return socket.ws_connection.stream.buffered_bytes()


@app.on
async def whoami(socket):
    return socket.id


@app.on
async def close_me(socket, data):
    socket.close(data["code"], data["reason"])


@app.on
async def echo(socket, data):
    socket.emit("echo", data)


@app.on
def close(socket):  # the lifecycle handler
    closed.put(socket.id)


class DeflatingHandler(WebSocketHandler):
    """Offers permessage-deflate, which the library's own handler does not."""

    def get_compression_options(self) -> dict[str, Any]:
        return {}


# The module's servers are the session's live server, with a configuration per parameter:
# pytest stops one before it starts the next (one server runs per process at a time).
ON_EACH_LOOP = pytest.mark.parametrize(
    "tornado_live_server_config",
    [
        pytest.param(
            {
                "event_loop": event_loop,  # the default transport: 'asyncio', needs no setting
                "max_queued_bytes": MAX_QUEUED_BYTES,
                "handlers": [(r"/deflate", DeflatingHandler, {"websocket": app})],
            },
            id=f"{event_loop}-loop",
        )
        for event_loop in ("asyncio", "uvloop")
    ],
    indirect=True,
    scope="session",
)
OVER_TLS = pytest.mark.parametrize(
    "tornado_live_server_config", [pytest.param({"tls": True}, id="tls")], indirect=True,
    scope="session",
)  # fmt: skip


@pytest.fixture
def server(
    tornado_server: LiveServerThread, tornado_live_server_config: TornadoConfig
) -> LiveServerThread:
    assert tornado_server.server is not None
    running = event_loop_name(tornado_server.server.loop.asyncio_loop)  # type: ignore[attr-defined]
    assert running == tornado_live_server_config.event_loop
    return tornado_server


def url(server: LiveServerThread) -> str:
    return f"{server.ws_url}/ws/t_transport"


def ask(conn: Any, event: str, data: Any = None) -> Any:
    emit(conn, event, data, id=1)
    answer = receive(conn)
    assert answer.get("ack") == 1, answer
    return answer["data"]


def raw_id(sock: socket.socket) -> int:
    """The server's id of a raw client's connection."""
    sock.sendall(event_frame("whoami", id=99))
    answer = json.loads(read_frame(sock)[1])
    assert answer.get("ack") == 99, answer
    return int(answer["data"])


# -- a raw client, to do what well-behaved clients do not ---------------------------------


def raw_client(server: LiveServerThread, receive_buffer: int | None = None, first: bytes = b""):
    """Handshake (and ``first`` in the same packet) on a bare socket; returns it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", server.port))
    request = (
        f"GET /ws/t_transport HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode() + first)
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def client_frame(payload: bytes, opcode: int = 0x1, masked: bool = True) -> bytes:
    mask = os.urandom(4) if masked else b""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, (0x80 if masked else 0) | length)
    else:
        header = struct.pack("!BBH", 0x80 | opcode, (0x80 if masked else 0) | 126, length)
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + payload


def event_frame(event: str, data: Any = None, **extra: Any) -> bytes:
    return client_frame(json.dumps({"event": event, "data": data or {}, **extra}).encode())


def read_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One server frame: (opcode, payload); server frames are never masked."""
    first, second = read_exact(sock, 2)
    assert not second & 0x80, "a server frame was masked"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exact(sock, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exact(sock, 8))
    return first & 0x0F, read_exact(sock, length)


def read_close(sock: socket.socket) -> tuple[int, str]:
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return int(struct.unpack("!H", payload[:2])[0]), payload[2:].decode()


def read_close_code(sock: socket.socket) -> int:
    return read_close(sock)[0]


# -- the path ------------------------------------------------------------------------------


@ON_EACH_LOOP
def test_an_accepted_connection_leaves_tornado_for_the_asyncio_transport(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT) as conn:
        assert ask(conn, "kind") == "AsyncioConnection"
        emit(conn, "echo", {"a": 1})
        assert receive(conn) == {"event": "echo", "data": {"a": 1}}
        conn.ping().wait(TIMEOUT)


def live_streams() -> int:
    gc.collect()
    # type(), not isinstance(): a dead weakref.proxy among the objects raises on isinstance.
    return sum(1 for each in gc.get_objects() if issubclass(type(each), IOStream))


@ON_EACH_LOOP
def test_a_taken_over_connection_keeps_no_tornado_stream(server) -> None:
    # The closed stream, its buffers and attributes would stay for the life of the WebSocket.
    before = live_streams()
    with ExitStack() as stack:
        conns = [stack.enter_context(connect(url(server), open_timeout=TIMEOUT)) for _ in range(20)]
        for conn in conns:
            assert ask(conn, "kind") == "AsyncioConnection"
        assert live_streams() - before < 5


@ON_EACH_LOOP
def test_frames_sent_in_the_same_packet_as_the_handshake_are_handled(server) -> None:
    sock = raw_client(server, first=event_frame("echo", {"early": True}))
    try:
        opcode, payload = read_frame(sock)
        assert opcode == 0x1
        assert json.loads(payload) == {"event": "echo", "data": {"early": True}}
    finally:
        sock.close()


@ON_EACH_LOOP
def test_writes_the_kernel_takes_in_pieces_arrive_whole_and_in_order(server) -> None:
    sock = raw_client(server, receive_buffer=4096)
    try:
        sock.sendall(event_frame("burst", {"count": 100, "size": 20_000}, id=7))
        pieces = []
        while len(pieces) < 100:
            opcode, payload = read_frame(sock)
            frame = json.loads(payload)
            if frame.get("ack") == 7:
                # The server could not hand everything to the kernel at once: the rest waited
                # in the transport, and was written as the client read.
                assert frame["data"] > 100_000
                continue
            pieces.append(frame["data"])
        assert [piece["n"] for piece in pieces] == list(range(100))
        assert all(piece["fill"] == "z" * 20_000 for piece in pieces)
    finally:
        sock.close()


@ON_EACH_LOOP
def test_answers_to_frames_read_together_come_back_in_order_with_the_pong(server) -> None:
    # Replies to what one read brought are written together once the read is handled.
    sock = raw_client(server)
    try:
        together = b"".join(
            [event_frame("echo", {"n": 1}), client_frame(b"beat", opcode=0x9)]
            + [event_frame("echo", {"n": n}) for n in range(2, 40)]
        )
        sock.sendall(together)
        echoes, pongs = [], []
        while len(echoes) < 39 or not pongs:
            opcode, payload = read_frame(sock)
            if opcode == 0xA:
                pongs.append(payload)
            else:
                echoes.append(json.loads(payload)["data"]["n"])
        assert echoes == list(range(1, 40))
        assert pongs == [b"beat"]
    finally:
        sock.close()


@ON_EACH_LOOP
def test_bursts_asked_for_together_by_a_slow_reader_arrive_whole_and_in_order(server) -> None:
    sock = raw_client(server, receive_buffer=4096)
    try:
        sock.sendall(
            event_frame("burst", {"count": 30, "size": 20_000})
            + event_frame("burst", {"count": 30, "size": 20_000})
            + event_frame("echo", {"last": True})
        )
        pieces = []
        while True:
            frame = json.loads(read_frame(sock)[1])
            if frame["event"] == "echo":
                break
            pieces.append(frame["data"]["n"])
        assert frame["data"] == {"last": True}
        assert pieces == list(range(30)) * 2
    finally:
        sock.close()


# -- replies held to the end of the iteration, and when they are not ----------------------

HOLDS_REPLIES = pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="an async handler answers within the read (and its reply is held) from Python 3.11",
)


def on_the_loop(server: LiveServerThread, function: Any) -> Any:
    """``function()`` run on the server's loop; its result."""
    assert server.server is not None
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def call() -> None:
        try:
            done.set_result(function())
        except BaseException as error:  # handed to the test thread
            done.set_exception(error)

    server.server.loop.add_callback(call)
    return done.result(TIMEOUT)


def loop_replies(server: LiveServerThread, lone_iterations: int = 0) -> HeldReplies:
    """The server loop's ``HeldReplies``, set back to holding with ``lone_iterations``."""

    def reset() -> HeldReplies:
        replies = held_replies(asyncio.get_running_loop())
        replies.unheld_reads = 0
        replies.lone_iterations = lone_iterations
        return replies

    return on_the_loop(server, reset)  # type: ignore[no-any-return]


def state_of(server: LiveServerThread, replies: HeldReplies) -> tuple[int, int]:
    """``(unheld_reads, lone_iterations)``, read on the loop."""
    return on_the_loop(server, lambda: (replies.unheld_reads, replies.lone_iterations))  # type: ignore[no-any-return]


def echo_once(sock: socket.socket, n: int) -> None:
    sock.sendall(event_frame("echo", {"n": n}))
    assert json.loads(read_frame(sock)[1])["data"] == {"n": n}


@HOLDS_REPLIES
@ON_EACH_LOOP
def test_a_connection_read_alone_has_its_replies_written_at_once_after_a_few_iterations(
    server,
) -> None:
    sock = raw_client(server)
    try:
        replies = loop_replies(server)
        for n in range(held_replies_module.LONE_ITERATIONS - 1):
            echo_once(sock, n)
        assert state_of(server, replies)[0] == 0  # still held
        echo_once(sock, -1)
        unheld = held_replies_module.UNHELD_READS
        assert state_of(server, replies)[0] == unheld
        echo_once(sock, -2)
        assert state_of(server, replies)[0] == unheld - 1
        for n in range(unheld - 1):  # then holding is tried again
            echo_once(sock, n)
        assert state_of(server, replies) == (0, 0)
        echo_once(sock, -3)
        assert state_of(server, replies)[1] == 1
    finally:
        sock.close()


def server_sockets_of(socks: list[socket.socket]) -> list[socket.socket]:
    """The server's sockets of these raw clients' connections."""
    ids = {raw_id(sock) for sock in socks}
    server_sockets = [handler.ws_connection.socket for handler in list(app) if handler.id in ids]
    assert len(server_sockets) == len(socks)
    return server_sockets


def send_to_be_read_in_one_iteration(
    server: LiveServerThread, socks: list[socket.socket], server_sockets: list[socket.socket]
) -> None:
    """Echo ``{"n": index}`` from each of ``socks``, in order, while the server's loop waits
    until all of their ``server_sockets`` are readable: its next poll reads them in one
    iteration."""
    assert server.server is not None
    release, held = threading.Event(), threading.Event()

    def hold_until_every_socket_is_readable() -> None:
        held.set()
        release.wait(TIMEOUT)
        pending = list(server_sockets)
        while pending:
            readable, _, _ = select.select(pending, [], [], TIMEOUT)
            assert readable, "the clients' frames never reached the server's sockets"
            pending = [each for each in pending if each not in readable]

    server.server.loop.add_callback(hold_until_every_socket_is_readable)
    assert held.wait(TIMEOUT)
    for n, sock in enumerate(socks):
        sock.sendall(event_frame("echo", {"n": n}))
    release.set()


@HOLDS_REPLIES
@ON_EACH_LOOP
def test_connections_read_in_one_iteration_keep_their_replies_held(server) -> None:
    with ExitStack() as stack:
        socks = [raw_client(server) for _ in range(3)]
        for sock in socks:
            stack.callback(sock.close)
        server_sockets = server_sockets_of(socks)
        replies = loop_replies(server, lone_iterations=held_replies_module.LONE_ITERATIONS - 1)
        send_to_be_read_in_one_iteration(server, socks, server_sockets)
        for n, sock in enumerate(socks):
            assert json.loads(read_frame(sock)[1])["data"] == {"n": n}
        assert state_of(server, replies) == (0, 0)


SO_TIMESTAMPNS = 35  # Linux's generic value (x86-64, arm64); the socket module lacks it


def received_at(sock: socket.socket) -> tuple[int, int, bytes]:
    """When the kernel received the first bytes waiting on ``sock`` (``SO_TIMESTAMPNS``, set
    before they came): ``(seconds, nanoseconds, bytes)``."""
    data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(16))
    stamps = [item for level, kind, item in ancillary if kind == SO_TIMESTAMPNS]
    assert stamps, "no receive timestamp"
    seconds, nanoseconds = struct.unpack("qq", stamps[0][:16])
    return seconds, nanoseconds, data


@HOLDS_REPLIES
@ON_EACH_LOOP
@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"),
    reason="reads Linux's receive timestamps",
)
def test_replies_held_in_one_iteration_are_written_last_read_first(server) -> None:
    # In read order, the connections at the end of a batch would stay at the end of the next
    # ones, and fall behind the others (fairness in bench/).
    with ExitStack() as stack:
        socks = [raw_client(server) for _ in range(3)]
        for sock in socks:
            stack.callback(sock.close)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        server_sockets = server_sockets_of(socks)
        loop_replies(server, lone_iterations=held_replies_module.LONE_ITERATIONS - 1)
        send_to_be_read_in_one_iteration(server, socks, server_sockets)
        arrivals = [received_at(sock) for sock in socks]
        for n, (_, _, data) in enumerate(arrivals):
            assert json.loads(data[2:])["data"] == {"n": n}  # one small frame, whole
        assert sorted(range(3), key=lambda n: arrivals[n][:2]) == [2, 1, 0]


@ON_EACH_LOOP
def test_a_peer_that_vanishes_mid_write_is_dropped_and_its_close_handler_runs(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT) as bystander:
        sock = raw_client(server, receive_buffer=4096)
        vanished = raw_id(sock)
        sock.sendall(event_frame("burst", {"count": 100, "size": 20_000}))
        read_frame(sock)  # the server is writing
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, with megabytes unsent
        wait_for_item(closed, vanished)
        assert vanished not in {each.id for each in app}
        emit(bystander, "echo", {"still": "served"})
        assert receive(bystander) == {"event": "echo", "data": {"still": "served"}}


@ON_EACH_LOOP
def test_a_close_from_the_client_is_answered_and_runs_the_close_handler(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT) as conn:
        own = ask(conn, "whoami")
        conn.close(1000, "done")
        answer = conn.protocol.close_rcvd
        assert answer is not None and (answer.code, answer.reason) == (1000, "done")
    wait_for_item(closed, own)


@ON_EACH_LOOP
def test_a_close_from_the_server_completes_when_the_client_answers(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT) as conn:
        own = ask(conn, "whoami")
        emit(conn, "close_me", {"code": 4000, "reason": "bye"})
        with pytest.raises(ConnectionClosed) as caught:
            conn.recv(timeout=TIMEOUT)
        assert caught.value.rcvd is not None
        assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4000, "bye")
    wait_for_item(closed, own)


@ON_EACH_LOOP
def test_a_client_that_never_answers_the_close_is_dropped_after_the_timeout(
    server, monkeypatch
) -> None:
    monkeypatch.setattr(asyncio_connection, "CLOSE_TIMEOUT", 0.3)
    sock = raw_client(server)
    try:
        own = raw_id(sock)
        sock.sendall(event_frame("close_me", {"code": 1000, "reason": "now"}))
        assert read_close_code(sock) == 1000
        wait_for_item(closed, own)  # without the client's answer
        assert sock.recv(1) == b""
    finally:
        sock.close()


@ON_EACH_LOOP
def test_an_unmasked_client_frame_closes_with_1002(server) -> None:
    sock = raw_client(server)
    try:
        sock.sendall(client_frame(b'{"event": "echo"}', masked=False))
        assert read_close(sock) == (1002, "Unmasked frame")  # as on Tornado's path
    finally:
        sock.close()


@ON_EACH_LOOP
def test_a_text_frame_that_is_not_utf8_closes_with_1007(server) -> None:
    sock = raw_client(server)
    try:
        sock.sendall(client_frame(b"\xff\xfe"))
        assert read_close_code(sock) == 1007
    finally:
        sock.close()


@ON_EACH_LOOP
def test_a_fragmented_message_is_put_back_together(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT) as conn:
        text = json.dumps({"event": "echo", "data": {"parts": "three"}})
        conn.send([text[:10], text[10:20], text[20:]])
        assert receive(conn) == {"event": "echo", "data": {"parts": "three"}}


# -- the connections that stay on Tornado's path -------------------------------------------


@ON_EACH_LOOP
def test_compression_off_takes_the_asyncio_path_even_when_offered(server) -> None:
    with connect(url(server), open_timeout=TIMEOUT, compression="deflate") as conn:
        assert conn.response.headers.get("Sec-WebSocket-Extensions") is None
        assert ask(conn, "kind") == "AsyncioConnection"


@ON_EACH_LOOP
def test_a_connection_that_negotiated_compression_stays_on_tornados_path(server) -> None:
    with connect(f"{server.ws_url}/deflate", compression="deflate") as conn:
        assert "permessage-deflate" in conn.response.headers["Sec-WebSocket-Extensions"]
        assert ask(conn, "kind") == "TakeoverProtocol13"
        emit(conn, "echo", {"squeezed": "y" * 10_000})
        assert receive(conn) == {"event": "echo", "data": {"squeezed": "y" * 10_000}}
        app.emit("echo", {"to": "all"})
        assert receive(conn) == {"event": "echo", "data": {"to": "all"}}


@OVER_TLS
def test_tls_inside_the_server_stays_on_tornados_path(tornado_server, certificate) -> None:
    cert, _ = certificate
    context = ssl.create_default_context(cafile=str(cert))
    wss = f"wss://127.0.0.1:{tornado_server.port}/ws/t_transport"
    kind, echoed = exchange_over_tls(
        wss, context, [{"event": "kind", "id": 1}, {"event": "echo", "data": {"over": "tls"}}]
    )
    assert kind == {"ack": 1, "data": "TakeoverProtocol13"}, kind
    assert echoed == {"event": "echo", "data": {"over": "tls"}}


def test_a_server_on_the_asyncio_transport_imports_it_before_its_first_handshake() -> None:
    # Importing the websockets package takes tens of milliseconds: on the first handshake, the
    # loop would spend them with every other connection waiting.
    script = (
        "import sys\n"
        "from tornado_websockets.conf import TornadoConfig\n"
        "from tornado_websockets.tornadowrapper import TornadoServer\n"
        "TornadoServer(config=TornadoConfig())\n"
        "print(sorted(m for m in sys.modules if m.startswith('tornado_websockets.transport.')))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "'tornado_websockets.transport.takeover'" in done.stdout, done.stdout


def test_an_unknown_transport_is_refused_naming_the_setting() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from tornado_websockets.conf import parse

    with pytest.raises(ImproperlyConfigured, match=r"TORNADO\['transport'\] should be"):
        parse({"transport": "uvloop"})
    assert parse({"transport": "asyncio"}).transport == "asyncio"
    assert parse({}).transport == "asyncio"
    with pytest.raises(ImproperlyConfigured, match=r"TORNADO\['event_loop'\] should be"):
        parse({"event_loop": "trio"})


def test_the_takeover_keeps_the_connections_file_descriptor_and_leaves_tornados_loop() -> None:
    async def take_over() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
            accepted, _ = listener.accept()
        stream = IOStream(accepted)
        await stream.write(b"101")  # registered with the loop, as after a handshake
        fd = accepted.fileno()
        sock = takeover._detach(stream)
        try:
            assert sock.fileno() == fd  # no duplicate: the same descriptor, taken over
            assert stream.closed()
            assert not asyncio.get_running_loop().remove_reader(fd)  # Tornado no longer reads it
            sock.setblocking(True)
            sock.settimeout(TIMEOUT)
            assert client.recv(3) == b"101"
            client.sendall(b"ping")
            assert sock.recv(4) == b"ping"  # the TCP connection survived the stream's close
            sock.sendall(b"pong")
            assert client.recv(4) == b"pong"
        finally:
            sock.close()
            client.close()

    asyncio.run(take_over())
