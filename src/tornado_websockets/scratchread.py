"""``ScratchReadIOStream``: Tornado's ``IOStream`` reading the socket into one buffer per thread.

Tornado's ``IOStream._read_to_buffer`` allocates a zeroed ``bytearray(read_chunk_size)`` (64 KiB
by default) for every ``recv_into``, copies what arrived into the stream's read buffer and drops
it. A request on a kept-alive connection is two such reads, the second finding nothing
(``EAGAIN``): two 64 KiB allocations filled with zeros for a request head of a hundred bytes.
Counted by callgrind on the ``runtornado`` server (``bench/instructions.py --servers runtornado
--workloads http``), the zeroing alone was 136,000 instructions of 1,010,000 a request; in time it
is less (a ``memset`` of 64 KiB is fast) but it also pushes the request's own data out of the
core's 32-48 KiB first-level cache.

Here ``recv_into`` writes into a buffer kept by the thread, made once, and what arrived is
copied into the stream's read buffer as before: the stream's contents and what it does on end
of file, a reset, an error or a read buffer grown past ``max_buffer_size`` are Tornado's. A
stream that reads into its user's buffer (``read_into``) keeps Tornado's path.

Thread affinity: a stream is used by its loop's thread only, as every ``IOStream``; the scratch
buffer belongs to that thread and is never read after the copy, so streams of one thread share
it and streams of loops in other threads have their own.
"""

from __future__ import annotations

import threading

from tornado.iostream import IOStream, StreamBufferFullError
from tornado.log import gen_log

__all__ = ["ScratchReadIOStream"]


class _Scratch(threading.local):
    buffer = bytearray()


_scratch = _Scratch()


def scratch_buffer(size: int) -> bytearray:
    """This thread's scratch buffer, ``size`` bytes long (made again when a stream asks for
    another size)."""
    buffer = _scratch.buffer
    if len(buffer) != size:
        buffer = _scratch.buffer = bytearray(size)
    return buffer


class ScratchReadIOStream(IOStream):
    """An ``IOStream`` whose reads from the socket go through ``scratch_buffer``. Loop
    thread only."""

    def _read_to_buffer(self) -> int | None:
        # IOStream._read_to_buffer's contract: the bytes read (appended to the read buffer), 0
        # when nothing was there or the peer closed (the stream is then closed), None after a
        # reset (closed, the error kept); any other error closes the stream and is raised, and
        # so does a read buffer grown past max_buffer_size (a client sending faster than the
        # application reads).
        if self._user_read_buffer:
            return super()._read_to_buffer()
        buffer = scratch_buffer(self.read_chunk_size)
        try:
            bytes_read = self.read_from_fd(buffer)
        except OSError as error:
            self.close(exc_info=error)
            if self._is_connreset(error):
                return None
            raise
        if bytes_read is None:
            return 0
        if bytes_read == 0:
            self.close()
            return 0
        with memoryview(buffer) as whole, whole[:bytes_read] as view:
            self._read_buffer += view
        self._read_buffer_size += bytes_read
        if self._read_buffer_size > self.max_buffer_size:
            gen_log.error("Reached maximum read buffer size")  # Tornado's words, and logger
            full = StreamBufferFullError("Reached maximum read buffer size")
            self.close(exc_info=full)
            raise full
        return bytes_read
