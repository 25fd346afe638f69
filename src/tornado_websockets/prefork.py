"""Pre-forked processes sharing the listening sockets (``runtornado --processes N``).

The parent binds the sockets, forks the children and supervises them: SIGTERM or SIGINT to the
parent is passed on to every child as SIGTERM (each drains gracefully), and a child that dies
unexpectedly is replaced. Children ignore SIGINT so that Ctrl-C, which the terminal sends to the
whole process group, stops them once, through their parent.

Main thread of the parent only; call it before any event loop or database connection exists.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

__all__ = ["run_children", "MAX_RESTARTS"]

logger = logging.getLogger("tornado_websockets")

MAX_RESTARTS = 100


def run_children(count: int, child_main: Callable[[int], None]) -> int:
    """Run ``child_main(index)`` in ``count`` forked children until they all exit; returns the
    parent's exit status (0 after a requested stop)."""
    children: dict[int, int] = {}
    stopping = False
    restarts = 0

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                child_main(index)
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else 1
            except BaseException:
                traceback.print_exc()
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children[pid] = index

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(count):
            spawn(index)
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid, -1)
            if index < 0 or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if restarts >= MAX_RESTARTS:
                logger.error("Process %d exited with %d; too many restarts, stopping.", pid, code)
                stop(signal.SIGTERM, None)
                continue
            restarts += 1
            logger.error("Process %d exited with %d; starting a new one.", pid, code)
            time.sleep(0.1 * min(restarts, 10))  # a child that dies at start must not spin
            spawn(index)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
