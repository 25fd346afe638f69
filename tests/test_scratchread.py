"""A ``ScratchReadIOStream`` reads what Tornado's ``IOStream`` reads, in the same order, ends
as it ends (end of file, reset), and allocates no read chunk per read.

Real TCP connections on 127.0.0.1, the server side's socket wrapped in the stream on a real
loop; the client is a blocking socket in a thread of its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import tornado.iostream
from tornado.iostream import IOStream, StreamBufferFullError, StreamClosedError

from tornado_websockets.scratchread import ScratchReadIOStream, scratch_buffer

TIMEOUT = 10.0


def connected_pair() -> tuple[socket.socket, socket.socket]:
    """(server side, client side) of one TCP connection on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        server, _ = listener.accept()
    server.setblocking(False)
    return server, client


def run(test: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(test(), TIMEOUT)

    return asyncio.run(bounded())


def send_in_pieces(client: socket.socket, data: bytes, piece: int) -> threading.Thread:
    def send() -> None:
        try:
            for start in range(0, len(data), piece):
                client.sendall(data[start : start + piece])
        except OSError:  # the server closed the connection: what some tests wait for
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_a_body_many_read_chunks_long_arrives_whole_and_in_order() -> None:
    data = os.urandom(1_000_000)

    async def read() -> bytes:
        server, client = connected_pair()
        stream = ScratchReadIOStream(server, read_chunk_size=4096)
        sender = send_in_pieces(client, data, 10_000)
        try:
            return await stream.read_bytes(len(data))
        finally:
            sender.join(TIMEOUT)
            stream.close()
            client.close()

    assert run(read) == data


def sent_by(index: int, round_: int) -> bytes:
    return f"stream {index} round {round_}\n".encode() * 200


def test_streams_of_one_thread_keep_their_own_bytes() -> None:
    """The scratch buffer is shared: each stream's reads alternate with the others', and what
    each read is copied out of it at once."""

    async def read() -> list[list[bytes]]:
        pairs = [connected_pair() for _ in range(3)]
        streams = [ScratchReadIOStream(server, read_chunk_size=1024) for server, _ in pairs]
        got: list[list[bytes]] = [[] for _ in pairs]
        try:
            for round_ in range(20):
                for index, (_, client) in enumerate(pairs):
                    client.sendall(sent_by(index, round_))
                for index, stream in enumerate(streams):
                    got[index].append(await stream.read_bytes(len(sent_by(index, round_))))
            return got
        finally:
            for stream in streams:
                stream.close()
            for _, client in pairs:
                client.close()

    assert run(read) == [[sent_by(index, round_) for round_ in range(20)] for index in range(3)]


def test_the_end_of_file_closes_the_stream_after_what_was_sent() -> None:
    async def read() -> tuple[bytes, bool, Any]:
        server, client = connected_pair()
        stream = ScratchReadIOStream(server, read_chunk_size=4096)
        client.sendall(b"last words" * 1000)
        client.close()
        data = await stream.read_until_close()
        return data, stream.closed(), stream.error

    data, closed, error = run(read)
    assert data == b"last words" * 1000
    assert closed
    assert error is None


def test_a_reset_closes_the_stream_and_keeps_the_error() -> None:
    async def read() -> tuple[type[BaseException], Any]:
        server, client = connected_pair()
        stream = ScratchReadIOStream(server)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # with a zero linger: a reset, not an end of file
        with pytest.raises(StreamClosedError) as raised:
            await stream.read_bytes(10)
        assert stream.closed()
        return type(raised.value.real_error), stream.error

    real_error, error = run(read)
    assert real_error is ConnectionResetError
    assert isinstance(error, ConnectionResetError)


def test_a_read_into_the_callers_buffer_keeps_tornados_path() -> None:
    async def read() -> bytearray:
        server, client = connected_pair()
        stream = ScratchReadIOStream(server)
        target = bytearray(5000)
        client.sendall(b"x" * 3000 + b"y" * 2000)
        try:
            assert await stream.read_into(target) == 5000
            return target
        finally:
            stream.close()
            client.close()

    assert run(read) == b"x" * 3000 + b"y" * 2000


@pytest.mark.parametrize(
    ("stream_class", "chunks_expected"),
    [(IOStream, "one per read"), (ScratchReadIOStream, "none")],
    ids=["tornado", "scratch"],
)
def test_reads_allocate_no_read_chunk(
    monkeypatch: pytest.MonkeyPatch, stream_class: type[IOStream], chunks_expected: str
) -> None:
    """Tornado's own stream is the control: it makes a zeroed chunk for every read."""
    chunk_size = 8192
    made: list[int] = []

    class CountedBytearray(bytearray):
        def __init__(self, *args: Any) -> None:
            if args and args[0] == chunk_size:
                made.append(chunk_size)
            super().__init__(*args)

    monkeypatch.setattr(tornado.iostream, "bytearray", CountedBytearray, raising=False)
    rounds = 50

    async def read() -> None:
        server, client = connected_pair()
        stream = stream_class(server, read_chunk_size=chunk_size)
        try:
            for round_ in range(rounds):
                client.sendall(b"request %03d\r\n" % round_)
                assert await stream.read_until(b"\r\n") == b"request %03d\r\n" % round_
        finally:
            stream.close()
            client.close()

    run(read)
    if chunks_expected == "none":
        assert made == []
    else:
        assert len(made) >= rounds


def test_each_thread_has_a_scratch_buffer_of_its_own() -> None:
    mine = scratch_buffer(2048)
    assert scratch_buffer(2048) is mine
    theirs: list[bytearray] = []
    thread = threading.Thread(target=lambda: theirs.append(scratch_buffer(2048)))
    thread.start()
    thread.join(TIMEOUT)
    assert len(theirs) == 1 and theirs[0] is not mine and len(theirs[0]) == 2048
    other_size = scratch_buffer(4096)
    assert len(other_size) == 4096 and other_size is not mine


@pytest.mark.parametrize(
    "stream_class", [IOStream, ScratchReadIOStream], ids=["tornado", "scratch"]
)
def test_a_client_sending_past_max_buffer_size_is_cut_off(stream_class: type[IOStream]) -> None:
    """A read that waits for a delimiter that never comes fills the read buffer; past
    ``max_buffer_size`` the stream closes with ``StreamBufferFullError``, as Tornado's does.
    (Raised by ``read_until`` itself when the bytes were there before it was called, else
    its future fails with ``StreamClosedError``.)"""
    limit = 64 * 1024

    async def read() -> tuple[Any, int]:
        server, client = connected_pair()
        stream = stream_class(server, max_buffer_size=limit, read_chunk_size=8192)
        sender = send_in_pieces(client, b"x" * (4 * limit), 16 * 1024)
        try:
            with pytest.raises((StreamClosedError, StreamBufferFullError)):
                await stream.read_until(b"\r\n")
            return stream.error, len(stream._read_buffer)
        finally:
            stream.close()
            client.close()
            sender.join(TIMEOUT)

    error, buffered = run(read)
    assert buffered <= limit + 8192
    if stream_class is ScratchReadIOStream:
        assert isinstance(error, StreamBufferFullError)
    else:  # Tornado 6.4 closed without keeping the error; later releases keep it
        assert error is None or isinstance(error, StreamBufferFullError)
