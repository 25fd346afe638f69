"""Reads of one whole message, taken without the ``websockets`` parser (``Frames.whole_message``).

Every test compares with the parser itself: a ``Frames`` fed each read with ``receive_data``
alone, and one that first offers the read to ``whole_message``. They must give the same
messages, control frames, answers and closing codes, whatever the reads hold and wherever they
are cut.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

from tornado_websockets.transport.frames import Frames

LIMIT = 70_000


def frame(
    payload: bytes,
    opcode: Opcode = Opcode.TEXT,
    fin: bool = True,
    masked: bool = True,
    rsv1: bool = False,
) -> bytes:
    """A client's frame on the wire (masked unless said otherwise)."""
    data = Frame(opcode, payload, fin).serialize(mask=masked)
    if rsv1:  # serialize() refuses reserved bits without an extension: set it afterwards
        data = bytes([data[0] | 0x40]) + data[1:]
    return data


def long_length_frame(payload: bytes) -> bytes:
    """A masked text frame whose length takes 8 bytes however short it is (the parser
    accepts it): 133 bytes in all for a payload of 119, as many as a whole frame whose length
    byte read 127 would measure."""
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", len(payload)) + mask + masked


class Side:
    """A ``Frames`` and what came out of it: messages and control frames in order, and the
    bytes it answered with. ``shortcut``: offer each read to ``whole_message`` first."""

    def __init__(self, shortcut: bool, limit: int | None = LIMIT) -> None:
        self.frames = Frames(limit)
        self.shortcut = shortcut
        self.taken = 0  # reads that whole_message took
        self.received: list[Any] = []
        self.sent: list[bytes] = []
        self._fragments: list[bytes] | None = None

    def read(self, data: bytes) -> None:
        message = self.frames.whole_message(data) if self.shortcut else None
        if message is not None:
            self.taken += 1
            self.received.append(("message", bytes(message[0]), message[1]))
        else:
            self.frames.receive_data(data)
            for event in self.frames.events_received():
                self._event(event)
        self.sent.extend(bytes(chunk) for chunk in self.frames.data_to_send())

    def _event(self, event: Frame) -> None:
        if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if event.opcode is not Opcode.CONT:
                self._binary = event.opcode is Opcode.BINARY
                self._fragments = []
            assert self._fragments is not None
            self._fragments.append(bytes(event.data))
            if event.fin:
                self.received.append(("message", b"".join(self._fragments), self._binary))
                self._fragments = None
        else:
            self.received.append((event.opcode.name, bytes(event.data)))

    def outcome(self) -> tuple[Any, ...]:
        close = self.frames.close_sent
        return (self.received, self.sent, self.frames.state, close and close.code)


def both(reads: list[bytes], limit: int | None = LIMIT) -> tuple[Side, Side]:
    """Feed the reads to the parser alone and to the shortcut; they must agree."""
    parser, shortcut = Side(False, limit), Side(True, limit)
    for data in reads:
        parser.read(data)
        shortcut.read(data)
        assert shortcut.outcome() == parser.outcome()
    return parser, shortcut


# -- what it takes -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1_000, 65_535])
@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
def test_a_read_of_one_whole_message_is_taken_as_the_parser_would_give_it(size, opcode) -> None:
    payload = random.Random(size).randbytes(size)
    parser, shortcut = both([frame(payload, opcode)])
    assert shortcut.taken == 1
    assert shortcut.received == [("message", payload, opcode is Opcode.BINARY)]


def test_messages_read_one_at_a_time_are_all_taken_and_the_connection_stays_open() -> None:
    reads = [frame(f'{{"event": "echo", "n": {n}}}'.encode()) for n in range(50)]
    parser, shortcut = both(reads)
    assert shortcut.taken == 50
    assert parser.frames.state is shortcut.frames.state
    assert shortcut.sent == []


def test_a_text_message_that_is_not_utf8_is_taken_as_bytes_for_the_connection_to_refuse() -> None:
    # The parser does not check UTF-8 either; AsyncioConnection closes with 1007 on decoding.
    parser, shortcut = both([frame(b"\xff\xfe")])
    assert shortcut.taken == 1


# -- what it leaves to the parser ----------------------------------------------------------


LEFT_TO_THE_PARSER = {
    "a fragment": [frame(b"abc", fin=False), frame(b"def", Opcode.CONT)],
    "a ping": [frame(b"are you there", Opcode.PING)],
    "a pong": [frame(b"", Opcode.PONG)],
    "a close": [frame(struct.pack("!H", 1000) + b"bye", Opcode.CLOSE)],
    "two messages in one read": [frame(b"one") + frame(b"two")],
    "half a message": [frame(b"split in two")[:9], frame(b"split in two")[9:]],
    "an unmasked frame": [frame(b"plain", masked=False)],
    "an unmasked frame and 4 bytes more": [frame(b"plain", masked=False) + frame(b"next")[:4]],
    "a reserved bit set": [frame(b"deflated?", rsv1=True)],
    "a 64-bit length": [frame(b"x" * 65_536)],
    "a short message with a 64-bit length": [long_length_frame(b"s" * 119)],
    "a whole message inside a fragmented one": [frame(b"begun", fin=False), frame(b"whole")],
    "a continuation with nothing begun": [frame(b"lost", Opcode.CONT)],
}


@pytest.mark.parametrize("reads", LEFT_TO_THE_PARSER.values(), ids=LEFT_TO_THE_PARSER.keys())
def test_what_is_not_one_whole_message_between_frames_is_left_to_the_parser(reads) -> None:
    parser, shortcut = both(reads)
    assert shortcut.taken == 0


def test_after_a_protocol_error_nothing_more_is_taken() -> None:
    parser, shortcut = both([frame(b"plain", masked=False), frame(b"after")])
    assert shortcut.taken == 0
    assert shortcut.frames.close_sent is not None and shortcut.frames.close_sent.code == 1002


def test_a_read_that_looks_whole_after_a_header_read_alone_belongs_to_that_frame() -> None:
    # The first read holds a header only: the parser has taken those two bytes and waits for
    # the mask with nothing in its buffer. The client chose its mask so that the rest of the
    # frame looks like a whole message of its own; it is the payload of the first frame.
    inner = 10
    mask = bytes([0x81, 0x80 | inner, 0x12, 0x34])
    payload = bytes(range(inner + 2))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    first = bytes([0x81, 0x80 | len(payload)])
    rest = mask + masked
    assert len(rest) == 6 + inner  # what a whole frame of `inner` bytes would measure
    parser, shortcut = both([first, rest])
    assert shortcut.taken == 0
    assert shortcut.received == [("message", payload, False)]


def test_a_message_past_the_size_limit_is_left_to_the_parser_which_closes_with_1009() -> None:
    parser, shortcut = both([frame(b"y" * 1_001)], limit=1_000)
    assert shortcut.taken == 0
    assert shortcut.frames.close_sent is not None and shortcut.frames.close_sent.code == 1009


def test_without_a_size_limit_any_message_under_64_kib_is_taken() -> None:
    parser, shortcut = both([frame(b"z" * 65_535)], limit=None)
    assert shortcut.taken == 1


# -- anything, cut anywhere ----------------------------------------------------------------


def random_stream(rng: random.Random) -> tuple[bytes, list[int]]:
    """A client's frames (messages whole and in fragments, pings, pongs), and where each
    frame's header ends and each frame ends, to cut the stream there too."""
    stream = b""
    cuts: list[int] = []
    for _ in range(rng.randrange(20, 60)):
        kind = rng.random()
        size = rng.choice([0, 3, 125, 126, 300, 65_535, rng.randrange(1, 2_000)])
        payload = rng.randbytes(size)
        if kind < 0.6:
            pieces = [frame(payload, rng.choice([Opcode.TEXT, Opcode.BINARY]))]
        elif kind < 0.8:
            half = size // 2
            pieces = [frame(payload[:half], Opcode.TEXT, fin=False)]
            pieces += [frame(payload[half:], Opcode.CONT)]
        else:
            pieces = [frame(payload[:125], rng.choice([Opcode.PING, Opcode.PONG]))]
        for piece in pieces:
            cuts.append(len(stream) + 2)
            stream += piece
            cuts.append(len(stream))
    return stream, cuts


@pytest.mark.parametrize("seed", range(12))
def test_a_stream_cut_anywhere_gives_what_the_parser_gives(seed) -> None:
    rng = random.Random(seed)
    stream, cuts = random_stream(rng)
    ends = sorted(set(rng.sample(cuts, len(cuts) // 2) + rng.sample(range(len(stream)), 30)))
    reads = [stream[start:end] for start, end in zip([0, *ends], [*ends, len(stream)], strict=True)]
    parser, shortcut = both([read for read in reads if read])
    assert shortcut.taken > 0
    assert len(shortcut.received) == len(parser.received) > 20
