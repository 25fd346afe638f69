"""Undo the ``WebSocket`` declarations a test makes.

Suites written for 0.2.x declare ``WebSocket('/test')`` in each ``setUp``. That works as it is
(each declaration replaces the previous one, with a ``PathRedeclaredWarning``); these helpers
also restore what was declared before the test, so that no warning is raised and no test sees
another test's application:

- ``isolate_websockets(self)`` in a ``unittest.TestCase.setUp``;
- ``with isolated_websockets():`` anywhere;
- the ``isolated_websockets`` pytest fixture.

Thread affinity: call them from the test's thread, while no handshake is being routed to the
paths the test declares (a live server keeps serving the restored applications).
"""

from __future__ import annotations

import unittest
from collections.abc import Iterator
from contextlib import contextmanager

from ..websocket import WebSocket, websockets

__all__ = ["isolate_websockets", "isolated_websockets", "restore_websockets"]


def restore_websockets(saved: list[WebSocket]) -> None:
    """Make ``saved`` (a former ``websockets()``) the declared applications again.

    Applications declared since are undeclared (their open connections stay until they close);
    the ones they replaced or that were undeclared are declared again, without a warning.
    """
    for websocket in websockets():
        if websocket not in saved:
            websocket.undeclare()
    for websocket in saved:
        websocket.declare()


@contextmanager
def isolated_websockets() -> Iterator[None]:
    """The ``WebSocket`` declarations made inside the block are undone when it ends."""
    saved = websockets()
    try:
        yield
    finally:
        restore_websockets(saved)


def isolate_websockets(test: unittest.TestCase) -> None:
    """Call in ``setUp``: the declarations the test makes are undone after it (``addCleanup``)."""
    test.addCleanup(restore_websockets, websockets())
