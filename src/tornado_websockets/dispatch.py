"""Running a connection's handlers in order: the dispatch half of ``WebSocketHandler``.

Handlers of one connection start in the order its messages arrived; its plain handlers run one
at a time in the worker pool, and a message that arrives meanwhile waits in ``_waiting``, as do
the answers to refused messages (warnings, closes), so that the client sees everything in the
order it sent it. Past ``MAX_QUEUED_MESSAGES`` waiting, Tornado stops reading the connection.

Loop thread only.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from concurrent.futures import Future as ConcurrentFuture
from functools import partial
from typing import Any

from . import eager, runtime
from .encoding import dumps
from .exceptions import ClientError
from .protocol import encode_ack, encode_ack_error, encode_warning
from .websocket import EventHandler, WebSocket

__all__ = ["Dispatcher", "MAX_QUEUED_MESSAGES"]

logger = logging.getLogger("tornado_websockets")

# Messages that may wait behind a running plain handler before Tornado stops reading from the
# connection: past it the client is slowed down by TCP instead of growing our memory.
MAX_QUEUED_MESSAGES = 256

# Running handler tasks: the loop keeps only weak references to tasks.
_running_tasks: set[asyncio.Task[Any]] = set()


class Dispatcher:
    """Mixed into ``WebSocketHandler``: the per-connection queue of handlers and answers.

    A work item is ``(handler, data, ack_id)`` or a zero-argument callable (an answer).
    """

    websocket: WebSocket

    @property
    def _runtime(self) -> runtime.ServerRuntime:
        return runtime.current() or runtime.attach_default()

    _plain_handler_running: bool
    _waiting: deque[Any] | None
    _reading_paused: asyncio.Future[None] | None

    def _send_payload(self, payload: bytes) -> None:
        """Write a payload to the client (the connection implements it)."""
        raise NotImplementedError

    def _answer_in_turn(self, ack_id: int | None, message: str) -> None:
        """Answer a refused message after everything the connection sent before it."""
        self._submit(partial(self._answer_error, ack_id, message))

    def _submit(self, work: Any) -> None:
        if self._plain_handler_running:
            if self._waiting is None:
                self._waiting = deque()
            self._waiting.append(work)
        else:
            self._start(work)

    def _start(self, work: Any) -> None:
        if callable(work):
            # After the first steps of the handler tasks started before it: same FIFO queue.
            self._runtime.loop.add_callback(work)
            return
        handler, data, ack_id = work
        started = time.perf_counter()
        if handler.is_async:
            try:
                coroutine = handler.invoke(self.websocket.context, self, data)
            except Exception as error:
                self._finish(handler, ack_id, started, None, error)
                return
            if not inspect.iscoroutine(coroutine):
                self._track(handler, ack_id, started, coroutine)
                return
            # Eagerly where Python allows: a handler that does not wait answers in this iteration.
            first = eager.start(self._runtime.loop.asyncio_loop, coroutine)  # type: ignore[attr-defined]
            if first.task is None:
                if isinstance(first.error, (KeyboardInterrupt, SystemExit)):
                    raise first.error
                if not isinstance(first.error, asyncio.CancelledError):
                    self._finish(handler, ack_id, started, first.result, first.error)
                return
            _running_tasks.add(first.task)
            first.task.add_done_callback(partial(self._task_done, handler, ack_id, started))
            return
        self._plain_handler_running = True
        future = runtime.run_in_worker(
            self._runtime, handler.invoke, self.websocket.context, self, data
        )
        loop = self._runtime.loop
        # The callback runs in the worker thread: add_callback is the thread-safe way back.
        future.add_done_callback(
            lambda done: loop.add_callback(self._plain_handler_done, handler, ack_id, started, done)
        )

    def _track(
        self, handler: EventHandler, ack_id: int | None, started: float, awaitable: Any
    ) -> None:
        task = asyncio.ensure_future(awaitable)
        _running_tasks.add(task)
        task.add_done_callback(partial(self._task_done, handler, ack_id, started))

    def _task_done(
        self, handler: EventHandler, ack_id: int | None, started: float, task: asyncio.Task[Any]
    ) -> None:
        _running_tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        self._finish(handler, ack_id, started, None if error else task.result(), error)

    def _plain_handler_done(
        self,
        handler: EventHandler,
        ack_id: int | None,
        started: float,
        done: ConcurrentFuture[Any],
    ) -> None:
        self._plain_handler_running = False
        error = done.exception()
        result = None if error else done.result()
        if error is None and inspect.isawaitable(result):
            # A plain function that returned a coroutine: await it on the loop.
            self._track(handler, ack_id, started, result)
        else:
            self._finish(handler, ack_id, started, result, error)
        waiting = self._waiting
        while waiting and not self._plain_handler_running:
            self._start(waiting.popleft())
        if (
            self._reading_paused is not None
            and not self._reading_paused.done()
            and (not waiting or len(waiting) < MAX_QUEUED_MESSAGES // 2)
        ):
            self._reading_paused.set_result(None)

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
