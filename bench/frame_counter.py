"""A broadcast receiver's reading half: frames counted from the bytes read, not parsed by picows.

Once a receiver's connection is open (handshake done, wire ready), its asyncio transport is
handed to a ``FrameCounter`` (``transport.set_protocol``); picows keeps the sending half.
Why: picows parses a frame in C but then makes a Python call per frame (a ``WSFrame`` object,
the listener callback, the frame's type as an enum, a clock read), about a quarter of the load
generator's CPU in the broadcast cells. A ``FrameCounter`` gets one Python call per read
(``buffer_updated``): it walks the frames' headers in the bytes read (a server's frames are
unmasked: a 2-byte header, 4 with a 16-bit length) and ``tally`` records the broadcasts the
read held, all timed at one clock read taken when the read returned. What a read costs in
the kernel (the receive, and the ACK it sends: over half of the load generator's CPU) is
left as it was: it is per read, and a receiver reads as soon as a copy arrives.

This module is plain Python, and the load generator runs it so when it must; ``compiled.py``
has Cython build it into a C extension with the types of ``frame_counter.pxd``: the transport
(aiofastnet's) then calls ``FrameCounter`` without a method lookup, the header walk runs on C
integers, and ``tally`` reaches the run's counters (a ``Tally``) as a C struct. Both are
tested alike (tests/test_bench_loadgen.py).

Decoded, as picows would have delivered them: every frame while priming (the receiver's level
is negative), one broadcast in ``CHECK_EVERY`` (its sequence number checked against its
position, see ws_workloads.py), text frames too short to be a broadcast (Socket.IO's pings,
answered by the wire), and control frames (a ping is answered with a pong, a close from the
server is reported). A frame no server should send (binary, fragmented, masked, over 64 KiB)
is reported and ends the reading of that connection.
"""

from __future__ import annotations

import asyncio
from array import array
from time import perf_counter
from typing import Any, Protocol

from aiofastnet.transport import Protocol as FastProtocol

# Every receiver reads into this one buffer: a read and its ``buffer_updated`` run back to back
# on the loop's thread, and a frame cut by the end of a read is copied out before the next read
# (``FrameCounter.partial``). One buffer instead of one per connection: 5,000 receivers.
READ_BUFFER = bytearray(256 * 1024 + 3)
READ_VIEW = memoryview(READ_BUFFER)[:-3]
# The same bytes as C's unsigned chars once compiled (frame_counter.pxd).
READ_BYTES = READ_BUFFER

# A broadcast's frame: FIN and opcode 1 (text), no extension bits.
TEXT_FRAME = 0x81
CLOSE_FRAME, PING_FRAME, PONG_FRAME = 0x88, 0x89, 0x8A
# A text frame shorter than this is not a broadcast (those carry a sentence and a sequence
# number, 70 bytes at least): it is decoded, so that Socket.IO's pings ("2") are answered.
MIN_BROADCAST_BYTES = 32
# One broadcast in this many (per receiver, so whole broadcasts) is decoded and its sequence
# number checked against the receiver's count: a server that dropped, duplicated or reordered a
# frame is caught, at a sixteenth of the decoding cost.
CHECK_EVERY = 16
# Receivers count broadcasts by position rather than by decoding each frame: every server sends
# a connection its frames in order, so a receiver's k-th broadcast frame after priming is
# broadcast k. A run's rings (``Tally``) of RING slots, indexed by broadcast, bound the window.
RING = 1024


class CountingReceiver(Protocol):
    """What a ``FrameCounter`` needs of its receiver (ws_workloads.BroadcastReceiver)."""

    # Broadcasts counted since priming; negative while priming (every frame is then decoded).
    level: int
    closing: bool

    # Its run (ws_workloads.BroadcastRun, a Tally) and where anomalies are counted.
    run: Any
    stats: Any

    def check(self, payload: bytes, level: int) -> None:
        """Decode broadcast ``level``'s frame and check that it is that broadcast."""
        ...

    def on_text(self, payload: bytes, received_at: float) -> None:
        """A text frame to decode and handle as picows would have delivered it."""
        ...

    def send_pong(self, payload: bytes) -> None: ...

    def unexpected(self, what: Any) -> None: ...


class FrameCounter(FastProtocol):
    """The asyncio protocol of a broadcast receiver's connection once it is open: a buffered
    protocol of aiofastnet, picows's transport (bench/requirements.txt installs it).

    ``ws_protocol`` is picows's protocol it replaces: told when the connection is lost, so that
    the receiver's listener still hears of it (a drop is counted) and picows cleans up.
    """

    def __init__(self, receiver: CountingReceiver, ws_protocol: asyncio.BaseProtocol) -> None:
        self.receiver = receiver
        self.ws_protocol = ws_protocol
        # The start of a frame cut by the end of the last read.
        self.partial = b""
        # Set once a close or an unreadable frame arrived: nothing after it is read.
        self.stopped = False

    def is_buffered_protocol(self) -> bool:
        # aiofastnet asks its own protocols this instead of isinstance(BufferedProtocol).
        return True

    def get_buffer(self, sizehint: int) -> memoryview:
        return READ_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        """Count the broadcasts in the bytes just read, decoding only what must be.

        The hot path of the broadcast cells: a few operations per frame, the rest per read.
        Broadcasts whole in the read are counted here; the first frame that is anything else
        (cut by the end of the read, a control frame, a priming broadcast...) hands the rest of
        the read to ``read_rest``.
        """
        received_at = perf_counter()
        receiver = self.receiver
        first = level = receiver.level
        if self.partial or self.stopped or level < 0:
            self.read_rest(0, nbytes, received_at)
            return
        data = READ_BYTES  # READ_BUFFER, as a typed memoryview once compiled
        check = level + (-level) % CHECK_EVERY
        pos = 0
        while pos < nbytes:
            # Past ``nbytes`` the buffer holds stale bytes (READ_VIEW leaves it 3 spare): a
            # header read there gives a ``stop`` past ``nbytes``, so the frame goes to
            # read_rest, as a cut one.
            length = data[pos + 1]
            if length < 126:
                stop = pos + 2 + length
            elif length == 126:
                stop = pos + 4 + (data[pos + 2] << 8 | data[pos + 3])
            else:
                break
            if stop > nbytes or data[pos] != TEXT_FRAME or length < MIN_BROADCAST_BYTES:
                break
            if level == check:
                start = pos + 2 if length < 126 else pos + 4
                receiver.check(bytes(READ_BUFFER[start:stop]), level)
                check += CHECK_EVERY
            level += 1
            pos = stop
        if level != first:
            tally(receiver, level, received_at)
        if pos < nbytes:
            self.read_rest(pos, nbytes, received_at)

    def read_rest(self, pos: int, nbytes: int, received_at: float) -> None:
        """``buffer_updated`` for whatever is not a broadcast whole in the read: every frame
        of the read from ``pos`` on, after the start of a frame cut by the last read."""
        if self.stopped:
            return
        data: bytes | bytearray = READ_BUFFER
        end = nbytes
        if self.partial:
            data = self.partial + READ_BUFFER[:nbytes]
            end = len(data)
            self.partial = b""
        receiver = self.receiver
        level = receiver.level
        check = level + (-level) % CHECK_EVERY
        while end - pos >= 2:
            head = data[pos]
            length = data[pos + 1]
            start = pos + 2
            if length > 125:
                if length != 126:  # a 64-bit length (not a broadcast), or a masked frame
                    self.refuse(data[pos : pos + 2])
                    return
                if end - pos < 4:
                    break
                length = data[start] << 8 | data[start + 1]
                start += 2
            stop = start + length
            if stop > end:
                break
            if head == TEXT_FRAME and length >= MIN_BROADCAST_BYTES and level >= 0:
                # A broadcast: counted by position, and decoded one in CHECK_EVERY.
                if level == check:
                    receiver.check(bytes(data[start:stop]), level)
                    check += CHECK_EVERY
                level += 1
            else:
                # Anything else is handled alone, after what was counted before it.
                if level != receiver.level:
                    tally(receiver, level, received_at)
                self.on_other_frame(head, bytes(data[start:stop]), received_at)
                if self.stopped:
                    return
                level = receiver.level
                check = level + (-level) % CHECK_EVERY
            pos = stop
        if pos < end:
            self.partial = bytes(data[pos:end])
        if level != receiver.level:
            tally(receiver, level, received_at)

    def on_other_frame(self, head: int, payload: bytes, received_at: float) -> None:
        receiver = self.receiver
        if head == TEXT_FRAME:
            receiver.on_text(payload, received_at)
        elif head == PING_FRAME:
            receiver.send_pong(payload)
        elif head == PONG_FRAME:
            pass
        elif head == CLOSE_FRAME:
            # Say why the server hung up (a limit, an error), not only that it did.
            if not receiver.closing:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                reason = payload[2:].decode(errors="replace")
                receiver.unexpected({"close": code, "reason": reason})
            self.stopped = True
        else:
            receiver.unexpected({"frame": f"first byte {head:#04x}", "size": len(payload)})
            self.stopped = True

    def refuse(self, header: bytes | bytearray) -> None:
        self.receiver.unexpected({"frame": f"header {bytes(header).hex()}"})
        self.stopped = True

    def eof_received(self) -> bool:
        return False  # the transport closes itself, then calls connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.ws_protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        self.ws_protocol.pause_writing()

    def resume_writing(self) -> None:
        self.ws_protocol.resume_writing()


class Tally:
    """What a run's receivers update on every read (ws_workloads.BroadcastRun extends it with
    the rest): compiled, a C struct the reads reach without a dictionary lookup.

    ``sent_at`` holds when broadcast k (k ≥ 0) was sent, at k % RING; ``at_level`` counts the
    receivers that have received exactly k broadcasts, at k % RING; ``latencies`` every
    delivery's latency and ``reads`` the reads that brought deliveries, while ``measuring``.
    """

    def __init__(self, receivers: int) -> None:
        self.measuring = False
        self.next_seq = 0
        self.completed = 0
        self.sent_at = array("d", bytes(8 * RING))
        self.at_level = [0] * RING
        self.at_level[0] = receivers
        self.latencies = array("d")
        self.reads = 0


def tally(receiver: Any, level: int, received_at: float) -> None:
    """Broadcasts ``receiver.level`` to ``level`` (excluded) arrived in one read, at
    ``received_at``: each is timed against its own send time, and the run
    (``receiver.run``, a ws_workloads.BroadcastRun) hears of the broadcasts this completes.
    Once per read, so the run's bookkeeping is inline here rather than in calls."""
    first, run = receiver.level, receiver.run
    counts = run  # the same object, typed as a Tally when compiled
    if level > counts.next_seq:
        # More copies than broadcasts sent: the server duplicated some. Counted up to what
        # was sent only, so that the run's bookkeeping stays within its rings.
        receiver.stats.unexpected({"copies": level, "expected": f"{counts.next_seq} at most"})
        level = counts.next_seq
        if level <= first:
            return
    receiver.level = level
    ring = RING
    if counts.measuring:
        counts.reads += 1
        sent_at, append = counts.sent_at, counts.latencies.append
        for broadcast in range(first, level):
            append(received_at - sent_at[broadcast % ring])
    at_level = counts.at_level
    at_level[level % ring] += 1
    slot = first % ring
    left = at_level[slot] - 1
    at_level[slot] = left
    if not left and first == counts.completed:
        run.complete(first)
