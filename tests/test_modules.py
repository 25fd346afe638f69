"""Modules: prefixes, the ProgressBar's state and events on a real server."""

from __future__ import annotations

import pytest

from tornado_websockets.exceptions import NotCallableError
from tornado_websockets.modules import Module, ProgressBar
from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, receive, receive_event


def test_module_is_abstract() -> None:
    with pytest.raises(TypeError):
        Module("x")  # type: ignore[abstract]


def test_progressbar_names_follow_the_original_prefixes() -> None:
    assert ProgressBar().name == "module_progressbar"
    assert ProgressBar("foo").name == "module_progressbar_foo"


def test_module_on_prefixes_the_event_without_touching_the_function() -> None:
    ws = WebSocket("/t_module_prefix")
    bar = ProgressBar("pre")

    def start():
        pass

    assert bar.on(start) is start  # registered before binding: kept until bind
    ws.bind(bar)
    assert start.__name__ == "start"
    assert ws.events["module_progressbar_pre_start"].function is start
    with pytest.raises(NotCallableError):
        bar.on("start")  # type: ignore[arg-type]


def test_an_unbound_module_says_how_to_bind_it() -> None:
    with pytest.raises(RuntimeError, match=r"ws.bind\(module\)"):
        ProgressBar("lonely").emit("x")


def test_max_below_min_is_a_value_error_and_equal_bounds_are_indeterminate() -> None:
    with pytest.raises(ValueError, match="max"):
        ProgressBar(min=5, max=4)
    assert ProgressBar(min=3, max=3).indeterminate
    assert not ProgressBar(min=0, max=1).indeterminate


def test_is_done_compares_values_so_large_maxima_finish() -> None:
    ws = WebSocket("/t_module_done")
    bar = ProgressBar("big", min=0, max=1000)
    ws.bind(bar)
    bar.current = 999
    assert not bar.is_done()
    bar.current = 1000
    assert bar.is_done()
    assert not ProgressBar(min=2, max=2).is_done()


ws_bar = WebSocket("/t_progress")
bar = ProgressBar("job", min=0, max=3)
ws_bar.bind(bar)


@bar.on
def go():
    for step in range(3):
        bar.tick(label=f"step {step + 1}")


@bar.on
def restart():
    bar.reset()
    bar.emit_init()


P = "module_progressbar_job_"


def test_a_new_client_alone_receives_the_init_triple(tornado_server) -> None:
    with open_socket(tornado_server, "/t_progress") as first:
        assert [receive(first)["event"] for _ in range(3)] == [
            P + "before_init",
            P + "init",
            P + "after_init",
        ]
        with open_socket(tornado_server, "/t_progress") as second:
            receive_event(second, P + "before_init")
            assert receive_event(second, P + "init") == {
                "indeterminate": False,
                "min": 0,
                "max": 3,
                "current": 0,
            }
            receive_event(second, P + "after_init")
            emit(first, P + "restart")  # broadcast: the first client's next frames are these
            assert receive(first)["event"] == P + "before_init"


def test_ticks_send_updates_with_labels_then_done(tornado_server) -> None:
    with open_socket(tornado_server, "/t_progress") as conn:
        for _ in range(3):
            receive(conn)
        emit(conn, P + "restart")
        for _ in range(3):
            receive(conn)
        emit(conn, P + "go")
        for step in range(1, 4):
            receive_event(conn, P + "before_update")
            assert receive_event(conn, P + "update") == {"current": step, "label": f"step {step}"}
            receive_event(conn, P + "after_update")
        assert receive_event(conn, P + "done") == {}


def test_a_client_cannot_trigger_the_modules_own_events(tornado_server) -> None:
    with open_socket(tornado_server, "/t_progress") as conn:
        for _ in range(3):
            receive(conn)
        for internal in ("open", P + "init", P + "update", P + "done"):
            emit(conn, internal, id=1)
            assert receive(conn) == {"ack": 1, "error": {"message": f"Unknown event {internal!r}."}}
