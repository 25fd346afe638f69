"""Running a connection's handlers in order: the dispatch half of ``WebSocketHandler``.

Handlers of one connection start in the order its messages arrived; its plain handlers run one
at a time in the worker pool. A frame that arrives meanwhile waits in ``_waiting`` as it came,
unparsed (a small JSON text can parse to many times its size), and is parsed when its turn
comes; the answers to refused frames (warnings, closes) wait there too, so that the client sees
everything in the order it sent it. Past ``TORNADO['max_inbound_queued_bytes']`` of waiting
frames, Tornado stops reading the connection until half of it has been handled: the client is
then slowed down by TCP instead of growing the server's memory.

Once the connection is closed, the frames still waiting are dropped, not handled; its lifecycle
handlers (``open``, then ``close``) still run.

``_handler_thread`` and ``_loop_pending`` tell the write side (``framewriter.py``) whether a
plain handler's reply may be written from its worker thread.

A plain handler's work item goes without a Future to the worker lane
(``runtime.start_in_worker``, ``workerlane.py``), where as few threads of the pool as keep up
take it; its worker thread hands the end of the handler (its result or exception) back to the
loop with one ``add_callback``.

Loop thread only, except ``work_in_flight`` (any thread, a snapshot) and ``_run_plain`` (the
worker thread).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import threading
import time
from collections import deque
from functools import partial
from typing import Any

from . import eager, runtime
from .encoding import dumps
from .exceptions import ClientError, ProtocolError
from .protocol import encode_ack, encode_ack_error, encode_warning, parse_frame
from .websocket import EventHandler, WebSocket

__all__ = ["Dispatcher", "work_in_flight"]

logger = logging.getLogger("tornado_websockets")

# Running handler tasks: the loop keeps only weak references to tasks.
_running_tasks: set[asyncio.Task[Any]] = set()
# Connections with a plain handler running (and maybe work waiting behind it).
_busy: set[Dispatcher] = set()


def work_in_flight() -> int:
    """Handlers running or waiting their turn, on every connection of this process.

    The server's shutdown waits for it to reach zero (within ``shutdown_timeout``).
    """
    return len(_running_tasks) + len(_busy)


def cancel_running_tasks() -> int:
    """Cancel the ``async def`` handlers still running; returns how many. Loop thread."""
    tasks = list(_running_tasks)
    for task in tasks:
        task.cancel()
    return len(tasks)


class Dispatcher:
    """Mixed into ``WebSocketHandler``: the per-connection queue of frames, handlers, answers.

    A waiting item is a frame as received (``str`` or ``bytes``), a lifecycle work item
    ``(handler, data, None)`` or a zero-argument callable (an answer).
    """

    websocket: WebSocket

    @property
    def _runtime(self) -> runtime.ServerRuntime:
        return runtime.current() or runtime.attach_default()

    _plain_handler_running: bool
    _handler_thread: int | None = None
    """The worker thread running this connection's plain handler, while it runs."""
    _sent_directly = 0
    """Frames that handler wrote to the socket itself, for the stats (folded in on the loop)."""
    _loop_pending = 0
    """Work of this connection the loop has yet to run or finish: answers handed to it and
    handler tasks (which may not even have started). Written on the loop only."""
    _waiting: deque[Any] | None
    _waiting_bytes: int
    _reading_paused: asyncio.Future[None] | None
    recovery: Any

    def _send_payload(self, payload: bytes) -> None:
        """Write a payload to the client (the connection implements it)."""
        raise NotImplementedError

    def _send_in_order(self, frame: bytes) -> None:
        """Write a frame to the client behind the application's fan-out queue (the connection
        implements it). Loop thread."""
        raise NotImplementedError

    # -- inbound frames ----------------------------------------------------------------------

    def _receive_in_turn(self, message: str | bytes) -> asyncio.Future[None] | None:
        """Handle a client frame now, or keep it unparsed until the frames before it are done.

        Returns a future when the waiting frames reach ``max_inbound_queued_bytes``: Tornado
        reads nothing more from the connection until it is resolved.
        """
        if not self._plain_handler_running:
            self._handle_frame(message)
            return None
        self._enqueue(message)
        self._waiting_bytes += sys.getsizeof(message)
        if self._waiting_bytes < self._runtime.config.max_inbound_queued_bytes:
            return None
        if self._reading_paused is None or self._reading_paused.done():
            self._reading_paused = asyncio.get_running_loop().create_future()
        return self._reading_paused

    def _handle_frame(self, message: str | bytes) -> None:
        """Parse a frame whose turn has come and start its handler (or answer the refusal)."""
        try:
            frame = parse_frame(message, self._runtime.config.max_event_name_length)
        except ProtocolError as error:
            self._answer_in_turn(error.ack_id, error.message)
            return
        handler = self.websocket.events.get(frame.event)
        if handler is None:
            # Unknown events are ignored, as in the original library; a request still gets an
            # answer so that the client's promise does not wait for its timeout.
            if frame.ack_id is not None:
                self._answer_in_turn(frame.ack_id, f"Unknown event {frame.event!r}.")
            return
        try:
            data = frame.data()
        except ProtocolError as error:
            self._answer_in_turn(error.ack_id, error.message)
            return
        self._start((handler, data, frame.ack_id))

    def _drop_waiting_frames(self) -> None:
        """The connection closed: forget its waiting frames and answers, keep its lifecycle
        handlers, and let Tornado's read loop end."""
        waiting = self._waiting
        if waiting:
            kept = [work for work in waiting if isinstance(work, tuple)]
            waiting.clear()
            waiting.extend(kept)
        self._waiting_bytes = 0
        self._resume_reading()

    def _resume_reading(self) -> None:
        paused = self._reading_paused
        if paused is not None and not paused.done():
            paused.set_result(None)

    # -- the queue ---------------------------------------------------------------------------

    def _answer_in_turn(self, ack_id: int | None, message: str) -> None:
        """Answer a refused message after everything the connection sent before it."""
        self._submit(partial(self._answer_error, ack_id, message))

    def _submit(self, work: Any) -> None:
        if self._plain_handler_running:
            self._enqueue(work)
        else:
            self._start(work)

    def _enqueue(self, work: Any) -> None:
        if self._waiting is None:
            self._waiting = deque()
        self._waiting.append(work)

    def _start(self, work: Any) -> None:
        if callable(work):
            # After the first steps of the handler tasks started before it: same FIFO queue.
            self._loop_pending += 1
            self._runtime.loop.add_callback(self._run_answer, work)
            return
        handler, data, ack_id = work
        started = time.perf_counter()
        if handler.is_async:
            self._start_async(handler, data, ack_id, started)
            return
        self._plain_handler_running = True
        _busy.add(self)
        runtime.start_in_worker(self._runtime, self._run_plain, handler, data, ack_id, started)

    def _run_answer(self, work: Any) -> None:
        try:
            work()
        finally:
            self._loop_pending -= 1

    def _run_plain(
        self, handler: EventHandler, data: Any, ack_id: int | None, started: float
    ) -> None:
        """Run a plain handler, then hand its end to the loop. Worker thread."""
        self._handler_thread = threading.get_ident()
        result: Any = None
        error: BaseException | None = None
        try:
            result = handler.invoke(self.websocket.context, self, data)  # type: ignore[arg-type]
        except BaseException as raised:  # the loop logs it and answers the client
            error = raised
        finally:
            self._handler_thread = None
        # add_callback is the thread-safe way back to the loop. Measured: ending the turn here
        # instead, under a lock, without waking the loop (2 context switches per message
        # instead of 6), cost a lone connection a quarter of its messages per second on a
        # virtual machine: its loop then sleeps until the next message, and waking an idle
        # CPU costs more than running this callback while the client reads the reply.
        self._runtime.loop.add_callback(
            self._plain_handler_done, handler, ack_id, started, result, error
        )

    def _start_async(self, handler: Any, data: Any, ack_id: int | None, started: float) -> None:
        try:
            coroutine = handler.invoke(self.websocket.context, self, data)
        except Exception as error:
            self._finish(handler, ack_id, started, None, error)
            return
        if not inspect.iscoroutine(coroutine):
            self._track(handler, ack_id, started, coroutine)
            return
        # Eagerly where Python allows: a handler that does not wait answers in this iteration.
        loop = self._runtime.loop.asyncio_loop  # type: ignore[attr-defined]
        first = eager.start(loop, coroutine, handler.never_waits)
        if first.task is None:
            if isinstance(first.error, (KeyboardInterrupt, SystemExit)):
                raise first.error
            if not isinstance(first.error, asyncio.CancelledError):
                self._finish(handler, ack_id, started, first.result, first.error)
            return
        _running_tasks.add(first.task)
        self._loop_pending += 1
        first.task.add_done_callback(partial(self._task_done, handler, ack_id, started))

    def _track(
        self, handler: EventHandler, ack_id: int | None, started: float, awaitable: Any
    ) -> None:
        task = asyncio.ensure_future(awaitable)
        _running_tasks.add(task)
        self._loop_pending += 1
        task.add_done_callback(partial(self._task_done, handler, ack_id, started))

    def _task_done(
        self, handler: EventHandler, ack_id: int | None, started: float, task: asyncio.Task[Any]
    ) -> None:
        _running_tasks.discard(task)
        self._loop_pending -= 1
        if task.cancelled():
            return
        error = task.exception()
        self._finish(handler, ack_id, started, None if error else task.result(), error)

    def _plain_handler_done(
        self,
        handler: EventHandler,
        ack_id: int | None,
        started: float,
        result: Any,
        error: BaseException | None,
    ) -> None:
        self._plain_handler_running = False
        if self._sent_directly:
            self.websocket.stats.messages_sent += self._sent_directly
            self._sent_directly = 0
        if result is not None and error is None and inspect.isawaitable(result):
            # A plain function that returned a coroutine: await it on the loop.
            self._track(handler, ack_id, started, result)
        else:
            self._finish(handler, ack_id, started, result, error)
        self._run_waiting()

    def _run_waiting(self) -> None:
        waiting = self._waiting
        if not waiting:  # the usual case: nothing came while the handler ran
            _busy.discard(self)
            if self._reading_paused is not None:
                self._resume_reading()
            return
        while waiting and not self._plain_handler_running:
            work = waiting.popleft()
            if isinstance(work, (str, bytes)):
                self._waiting_bytes -= sys.getsizeof(work)
                self._handle_frame(work)
            else:
                self._start(work)
        if not self._plain_handler_running:
            _busy.discard(self)
        if self._waiting_bytes < self._runtime.config.max_inbound_queued_bytes // 2:
            self._resume_reading()

    # -- answers -----------------------------------------------------------------------------

    def _finish(
        self,
        handler: EventHandler,
        ack_id: int | None,
        started: float,
        result: Any,
        error: BaseException | None,
    ) -> None:
        stats = self.websocket.stats
        stats.handler_durations.observe(time.perf_counter() - started)
        if handler.event == "open" and self.recovery is not None:
            self.recovery.open_handler_done()  # a recovery request waits for open handlers
        if error is None:
            if ack_id is not None:
                try:
                    self._send_payload(encode_ack(ack_id, result, dumps))
                except (TypeError, ValueError):
                    logger.exception(
                        "The result of handler %s for event %r on %s is not JSON serializable.",
                        handler.function,
                        handler.event,
                        self.websocket.url_path,
                    )
                    self._answer_error(
                        ack_id, f"The result of event {handler.event!r} could not be encoded."
                    )
            return
        if isinstance(error, ClientError):
            self._answer_error(ack_id, error.message)
            return
        stats.handler_errors += 1
        logger.error(
            "Handler %s for event %r on %s raised an exception.",
            handler.function,
            handler.event,
            self.websocket.url_path,
            exc_info=error,
        )
        if handler.event in ("open", "close"):
            return
        message = f"An error occurred while handling event {handler.event!r}."
        if self._runtime.debug:
            message += f" {type(error).__name__}: {error}"
        self._answer_error(ack_id, message)

    def _answer_error(self, ack_id: int | None, message: str) -> None:
        self.websocket.stats.warnings += 1
        if ack_id is None:
            self._send_payload(encode_warning(message))
        else:
            self._send_payload(encode_ack_error(ack_id, message))
