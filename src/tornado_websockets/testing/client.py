"""WebSocket test clients speaking this library's protocol, sync and async.

``WebSocketTestClient(server).connect('/echo', user=user)`` opens ``/ws/echo`` on a live server;
with ``user``, it carries a session cookie made the way ``django.test.Client.force_login`` makes
one, so ``socket.user`` is that user. A connection ``emit``s, ``request``s (returns the ack's
data; ``RequestFailed`` on an ack error), ``receive``s the next frame's data (or the next frame
of one event, keeping the others for later), checks ``receive_nothing``, and ``close``s.

Needs the ``websockets`` package (``pip install "django-tornado-websockets[testing]"``).
Thread affinity: use a sync connection from one thread; the async forms from one event loop.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, Protocol

from ..exceptions import TornadoWebSocketsError

__all__ = [
    "WebSocketTestClient",
    "TestConnection",
    "AsyncWebSocketTestClient",
    "AsyncTestConnection",
    "RequestFailed",
]

DEFAULT_TIMEOUT = 5.0


class RequestFailed(TornadoWebSocketsError):
    """The server answered a ``request`` with an ack error; ``message`` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Server(Protocol):
    @property
    def ws_url(self) -> str: ...


def _url(server: _Server | str, path: str) -> str:
    base = server if isinstance(server, str) else server.ws_url
    from ..websocket import URL_PREFIX, normalize_path

    return base.rstrip("/") + URL_PREFIX + normalize_path(path)


def _headers(user: Any, headers: dict[str, str] | None) -> dict[str, str]:
    """Request headers, with a session cookie for ``user`` (a saved Django user)."""
    result = dict(headers or {})
    if user is not None:
        from django.conf import settings
        from django.test import Client

        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookie = f"{name}={client.cookies[name].value}"
        result["Cookie"] = f"{result['Cookie']}; {cookie}" if "Cookie" in result else cookie
    return result


class _Frames:
    """Frames received and not consumed yet, and the matching rules shared by both forms."""

    def __init__(self) -> None:
        self.kept: deque[dict[str, Any]] = deque()
        self.ack_ids = itertools.count(1)

    def take(self, event: str | None) -> dict[str, Any] | None:
        for index, frame in enumerate(self.kept):
            if "event" in frame and (event is None or frame["event"] == event):
                del self.kept[index]
                return frame
        return None

    def take_ack(self, ack_id: int) -> dict[str, Any] | None:
        for index, frame in enumerate(self.kept):
            if frame.get("ack") == ack_id:
                del self.kept[index]
                return frame
        return None

    @staticmethod
    def frame(event: str, data: Any, ack_id: int | None = None) -> str:
        message: dict[str, Any] = {"event": event, "data": {} if data is None else data}
        if ack_id is not None:
            message["id"] = ack_id
        return json.dumps(message)

    @staticmethod
    def answer(frame: dict[str, Any]) -> Any:
        if "error" in frame:
            raise RequestFailed(frame["error"].get("message", ""))
        return frame.get("data")


class TestConnection:
    """One open connection of ``WebSocketTestClient``."""

    __test__ = False  # not a test class for pytest

    def __init__(self, connection: Any, closer: Callable[[], Any] | None = None) -> None:
        self.connection = connection
        self._close = closer or connection.close
        self._frames = _Frames()

    def emit(self, event: str, data: Any = None) -> None:
        self.connection.send(_Frames.frame(event, data))

    def request(self, event: str, data: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        ack_id = next(self._frames.ack_ids)
        self.connection.send(_Frames.frame(event, data, ack_id))
        deadline = time.monotonic() + timeout
        while (frame := self._frames.take_ack(ack_id)) is None:
            self._read(deadline, f"the answer to {event!r}")
        return _Frames.answer(frame)

    def receive(self, event: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The data of the next frame (of ``event``); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (frame := self._frames.take(event)) is None:
            self._read(deadline, f"event {event!r}" if event else "a frame")
        return frame.get("data")

    def receive_nothing(self, timeout: float = 0.2) -> None:
        """Fail with ``AssertionError`` if any event arrives within ``timeout``."""
        try:
            frame = self.receive(timeout=timeout)
        except TimeoutError:
            return
        raise AssertionError(f"Expected nothing, received {frame!r}.")

    def close(self) -> None:
        self._close()

    def _read(self, deadline: float, waiting_for: str) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Timed out waiting for {waiting_for}.")
        try:
            raw = self.connection.recv(timeout=remaining)
        except TimeoutError:
            raise TimeoutError(f"Timed out waiting for {waiting_for}.") from None
        self._frames.kept.append(json.loads(raw))

    def __enter__(self) -> TestConnection:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class WebSocketTestClient:
    """Opens connections to a live server (``LiveServerThread`` or a ``ws://`` base URL)."""

    def __init__(self, server: _Server | str) -> None:
        self.server = server
        self.connections: list[TestConnection] = []

    def connect(
        self,
        path: str,
        user: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> TestConnection:
        from websockets.sync.client import connect

        opened = ExitStack()
        raw = opened.enter_context(
            connect(
                _url(self.server, path),
                additional_headers=_headers(user, headers),
                open_timeout=timeout,
                proxy=None,
            )
        )
        connection = TestConnection(raw, opened.close)
        self.connections.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection this client opened."""
        for connection in self.connections:
            connection.close()
        self.connections.clear()


class AsyncTestConnection:
    """One open connection of ``AsyncWebSocketTestClient``: the same methods, awaited."""

    __test__ = False

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._frames = _Frames()

    async def emit(self, event: str, data: Any = None) -> None:
        await self.connection.send(_Frames.frame(event, data))

    async def request(self, event: str, data: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        ack_id = next(self._frames.ack_ids)
        await self.connection.send(_Frames.frame(event, data, ack_id))
        deadline = time.monotonic() + timeout
        while (frame := self._frames.take_ack(ack_id)) is None:
            await self._read(deadline, f"the answer to {event!r}")
        return _Frames.answer(frame)

    async def receive(self, event: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while (frame := self._frames.take(event)) is None:
            await self._read(deadline, f"event {event!r}" if event else "a frame")
        return frame.get("data")

    async def receive_nothing(self, timeout: float = 0.2) -> None:
        try:
            frame = await self.receive(timeout=timeout)
        except TimeoutError:
            return
        raise AssertionError(f"Expected nothing, received {frame!r}.")

    async def close(self) -> None:
        await self.connection.close()

    async def _read(self, deadline: float, waiting_for: str) -> None:
        import asyncio

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Timed out waiting for {waiting_for}.")
        try:
            raw = await asyncio.wait_for(self.connection.recv(), remaining)
        except (TimeoutError, asyncio.TimeoutError):
            raise TimeoutError(f"Timed out waiting for {waiting_for}.") from None
        self._frames.kept.append(json.loads(raw))

    async def __aenter__(self) -> AsyncTestConnection:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class AsyncWebSocketTestClient:
    """The async form of ``WebSocketTestClient``.

    ``user`` needs the database: from async code, make the cookie in a thread, e.g. with
    ``asgiref.sync.sync_to_async`` around ``connect``'s cookie creation (done for you here).
    """

    def __init__(self, server: _Server | str) -> None:
        self.server = server
        self.connections: list[AsyncTestConnection] = []

    async def connect(
        self,
        path: str,
        user: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AsyncTestConnection:
        import asyncio

        from websockets.asyncio.client import connect

        loop = asyncio.get_running_loop()
        request_headers = await loop.run_in_executor(None, _headers, user, headers)
        raw = await connect(
            _url(self.server, path),
            additional_headers=request_headers,
            open_timeout=timeout,
            proxy=None,
        )
        connection = AsyncTestConnection(raw)
        self.connections.append(connection)
        return connection

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()
        self.connections.clear()
