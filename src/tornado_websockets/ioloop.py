"""``ServerIOLoop``: Tornado's IOLoop on the thread's asyncio loop, keeping a socket registered
for reading while its stream stops reading for a moment.

On a keep-alive HTTP connection the client sends its next request as soon as it has the
answer, often before Tornado's request loop asks for it: the stream reads the request into its
buffer with no read waiting, stops watching the socket (``update_handler`` without ``READ``),
then starts again as soon as it handles that request (``set_close_callback``). On uvloop each
of the two changes is several system calls (``epoll_ctl``, ``ioctl``): about seven a request,
two Python calls into the loop, nothing gained. Here a reader the stream no longer wants stays
registered and is marked paused; wanted again before it fires, nothing was done. If it fires
while paused (more bytes, or the peer closing, while the stream holds a request it has not
handled), it is removed then, without calling the stream, which is what Tornado would have had:
the stream is not read past what it asked for.

Loop thread only, as Tornado's IOLoop. Made by the server for the loop it creates
(``server._loop_for_this_thread``); a loop the application made keeps its own IOLoop.
"""

from __future__ import annotations

from typing import Any

from tornado.ioloop import IOLoop
from tornado.platform.asyncio import AsyncIOMainLoop

__all__ = ["ServerIOLoop"]


class ServerIOLoop(AsyncIOMainLoop):
    """``AsyncIOMainLoop`` (the IOLoop of the current asyncio loop) with paused readers."""

    # The signature of AsyncIOMainLoop.initialize, which differs from its bases' too.
    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(**kwargs)
        self._paused_readers: set[int] = set()

    def update_handler(self, fd: Any, events: int) -> None:
        number, _ = self.split_fd(fd)
        if events & IOLoop.READ:
            self._paused_readers.discard(number)
        elif number in self.readers:
            self._paused_readers.add(number)
            events |= IOLoop.READ  # kept registered: see the module docstring
        super().update_handler(fd, events)

    def remove_handler(self, fd: Any) -> None:
        number, _ = self.split_fd(fd)
        self._paused_readers.discard(number)
        super().remove_handler(fd)

    def _handle_events(self, fd: int, events: int) -> None:
        if events & IOLoop.READ and fd in self._paused_readers:
            # The stream did not want to read: stop watching now, as it had asked.
            self._paused_readers.discard(fd)
            self.selector_loop.remove_reader(fd)
            self.readers.discard(fd)
            return
        super()._handle_events(fd, events)
