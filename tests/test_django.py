"""Django on the same server: the ORM in handlers, emits from views, views in the pool."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

import pytest

from tornado_websockets.websocket import WebSocket

from .testapp import views
from .testapp.models import Note
from .wsclient import emit, open_socket, open_sockets, receive, receive_event

ws_orm = WebSocket("/t_orm")
ws_during_views = WebSocket("/t_django_echo")


@ws_during_views.on
async def message(socket, data):
    socket.emit("message", data)


@ws_orm.on
def save_note(socket, data):
    note = Note.objects.create(text=data.text)
    socket.emit("saved", {"id": note.pk})


@ws_orm.on
def count_notes():
    return Note.objects.count()


@ws_orm.on
async def async_orm_call():
    return Note.objects.count()  # the ORM refuses to run on the loop


def http_get(server, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"{server.http_url}{path}", timeout=30) as response:
        return response.status, response.read().decode()


@pytest.mark.django_db(transaction=True)
def test_a_plain_handler_saves_a_model_and_emits_its_id(tornado_server) -> None:
    with open_socket(tornado_server, "/t_orm") as conn:
        emit(conn, "save_note", {"text": "from a socket"})
        note_id = receive_event(conn, "saved")["id"]
        emit(conn, "count_notes", id=1)
        assert receive(conn) == {"ack": 1, "data": 1}
    assert Note.objects.get(pk=note_id).text == "from a socket"


@pytest.mark.django_db(transaction=True)
def test_an_async_handler_gets_djangos_error_for_orm_calls_on_the_loop(tornado_server) -> None:
    with open_socket(tornado_server, "/t_orm") as conn:
        emit(conn, "async_orm_call", id=1)
        assert receive(conn)["error"]["message"] == (
            "An error occurred while handling event 'async_orm_call'."
        )


def test_a_django_view_emits_to_connected_sockets(tornado_server) -> None:
    with open_sockets(tornado_server, "/views", 2) as clients:
        body = urllib.parse.urlencode({"text": "posted"}).encode()
        request = urllib.request.Request(f"{tornado_server.http_url}/broadcast/", data=body)
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        for conn in clients:
            assert receive_event(conn, "from_view") == {"text": "posted"}


def test_a_slow_view_delays_neither_websockets_nor_other_requests(tornado_server) -> None:
    views.slow_view_entered.clear()
    views.slow_view_release.clear()
    results: list[tuple[int, str]] = []
    slow = threading.Thread(target=lambda: results.append(http_get(tornado_server, "/slow/")))
    slow.start()
    try:
        assert views.slow_view_entered.wait(timeout=30)
        # The slow view is blocked until released: all of this happens while it is in flight.
        with open_socket(tornado_server, "/t_django_echo") as conn:
            for n in range(20):
                emit(conn, "message", {"n": n})
                assert receive_event(conn, "message") == {"n": n}
        assert http_get(tornado_server, "/hello/") == (200, "hello from django")
        assert not results
    finally:
        views.slow_view_release.set()
        slow.join(timeout=30)
    assert results == [(200, "released")]


def test_websocket_routes_win_over_the_catch_all(tornado_server) -> None:
    with open_socket(tornado_server, "/views"):
        pass  # the handshake succeeded: Django's catch-all did not take /ws/views
    status, body = http_get(tornado_server, "/hello/")
    assert (status, body) == (200, "hello from django")
