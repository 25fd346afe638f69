"""The application model: paths, handler registration and injection, emit's argument rules."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tornado_websockets.exceptions import (
    EmitHandlerError,
    InvalidHandlerError,
    NotCallableError,
    PathRedeclaredWarning,
    TornadoWebSocketsError,
)
from tornado_websockets.websocket import EventHandler, WebSocket, get_websocket


@pytest.mark.parametrize("path", ["api_echo", "/api_echo", "  api_echo  "])
def test_paths_are_normalised_under_ws(path: str) -> None:
    ws = WebSocket(path.replace("api_echo", f"api_echo_{abs(hash(path))}"))
    assert ws.url_path == "/ws" + ws.path
    assert ws.path.startswith("/api_echo_")
    assert get_websocket(ws.url_path) is ws


@pytest.mark.parametrize("path", [None, 3, b"/bytes", ["/x"]])
def test_a_path_that_is_not_a_string_is_a_type_error(path: object) -> None:
    with pytest.raises(TypeError):
        WebSocket(path)  # type: ignore[arg-type]


def test_a_second_websocket_on_the_same_path_replaces_the_first_with_a_warning() -> None:
    first = WebSocket("/api_twice")
    with pytest.warns(PathRedeclaredWarning, match="'/ws/api_twice' declared at .* replaces"):
        second = WebSocket("api_twice")
    assert get_websocket("/ws/api_twice") is second is not first


def test_on_registers_under_the_function_name_and_returns_the_function() -> None:
    ws = WebSocket("/api_on")

    def greet(socket, data):
        return data

    assert ws.on(greet) is greet
    assert ws.events["greet"].function is greet


@pytest.mark.parametrize("value", [None, "name", 3, {}])
def test_on_refuses_what_is_not_callable(value: object) -> None:
    ws = WebSocket("/api_not_callable_" + type(value).__name__)
    with pytest.raises(NotCallableError) as caught:
        ws.on(value)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, TornadoWebSocketsError)


def test_open_and_close_are_lifecycle_handlers_not_client_events() -> None:
    ws = WebSocket("/api_lifecycle")

    @ws.on
    def open(socket):
        pass

    @ws.on
    def close(socket):
        pass

    assert "open" not in ws.events and "close" not in ws.events
    assert [h.function for h in ws.lifecycle["open"]] == [open]
    assert [h.function for h in ws.lifecycle["close"]] == [close]


def test_parameters_are_resolved_once_by_name() -> None:
    def nothing():
        pass

    def only_data(data):
        pass

    def all_three(self, socket, data):
        pass

    def with_kwargs(**kwargs):
        pass

    plans = {
        f.__name__: (h.wants_self, h.wants_socket, h.wants_data)
        for f in (nothing, only_data, all_three, with_kwargs)
        for h in [EventHandler(f.__name__, f)]
    }
    assert plans == {
        "nothing": (False, False, False),
        "only_data": (False, False, True),
        "all_three": (True, True, True),
        "with_kwargs": (False, True, True),
    }


def test_a_required_parameter_that_cannot_be_injected_is_refused_at_registration() -> None:
    ws = WebSocket("/api_bad_params")

    def handler(socket, payload):
        pass

    with pytest.raises(InvalidHandlerError, match="'payload'"):
        ws.on(handler)


def test_bound_methods_and_class_functions_with_self_take_the_context() -> None:
    ws = WebSocket("/api_methods")

    class Room:
        def __init__(self) -> None:
            ws.context = self

        @ws.on
        def by_context(self, socket, data):
            return self

        def bound(self, data):
            return self

    room = Room()
    ws.on(room.bound)
    assert ws.events["by_context"].invoke(ws.context, None, {}) is room  # type: ignore[arg-type]
    assert ws.events["bound"].invoke(None, None, {}) is room  # type: ignore[arg-type]


def test_async_handlers_are_recognised() -> None:
    ws = WebSocket("/api_async")

    @ws.on
    async def later(data):
        return data

    assert ws.events["later"].is_async
    assert not EventHandler("x", lambda: None).is_async


def test_emit_checks_its_arguments_before_anything_else() -> None:
    ws = WebSocket("/api_emit_args")
    with pytest.raises(TypeError):
        ws.emit(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'e'"):
        ws.emit("e", [1, 2])
    with pytest.raises(TypeError, match="event 'e'"):
        ws.emit("e", {"x": object()})


def test_an_application_is_a_sequence_of_its_connections_and_always_truthy() -> None:
    ws = WebSocket("/api_sequence")
    assert len(ws) == 0 and list(ws) == [] and bool(ws)
    with pytest.raises(IndexError):
        ws[0]


def test_emit_without_a_server_or_broker_raises_a_clear_error() -> None:
    code = textwrap.dedent(
        """
        from tornado_websockets.websocket import WebSocket
        from tornado_websockets.exceptions import EmitHandlerError
        ws = WebSocket('/alone')
        try:
            ws.emit('hello', {'a': 1})
        except EmitHandlerError as error:
            print('raised:', error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("raised: No Tornado server is running in this process")
    assert "TORNADO['broker']" in result.stdout
    assert issubclass(EmitHandlerError, TornadoWebSocketsError)
