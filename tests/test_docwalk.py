"""The documentation, word for word: a new Django project set up as it says, then driven.

``django-admin startproject mysite``, ``manage.py startapp myapp``, INSTALLED_APPS (section
2.1), the configuration of section 2.2 appended to settings.py, the examples of sections 3.2.2,
3.2.3 and 4.2.1.4 in myapp/views.py, ``migrate``, ``collectstatic``, ``runtornado``.
"""

from __future__ import annotations

import pytest

from .processes import (
    STATIC_SOURCE,
    Project,
    Server,
    http_get,
    recv_json,
    send_event,
    ws_connect,
)

# Sections 3.2.1 to 3.2.3 and 4.2.1.4, copied from the documentation. Departures, each marked
# where it happens: the `@wy_ws.on` typo, one emit that lets the test see `self`, and
# the progress bar's `@gen.engine` generator written as the `async def` it is today.
DOCUMENTED_VIEWS = """import asyncio

from tornado_websockets.modules import ProgressBar
from tornado_websockets.websocket import WebSocket

# 3.2.3. Send an event to a client: usage example (echo server)

ws_echo = WebSocket('/echo')

@ws_echo.on
def open(socket):
    # Notify all clients about a new connection
    ws_echo.emit('new_connection')

@ws_echo.on
def message(socket, data):
    # Reply to the client
    socket.emit('message', data)

    # Wow we got a spammer, let's inform the first client :^)
    if 'spam' in data.message:
        # wow
        ws_echo[0].emit('got_spam', {
            'message': data.get('message'),
            'socket': socket
        })


# 3.2.1. Create a WebSocket application

# Make a new instance of WebSocket and automatically add handler '/ws/my_ws' to Tornado handlers
my_ws = WebSocket('/my_ws')


# 3.2.2. Receive an event from a client

# On a function
@my_ws.on
def my_event(socket, data):
    print('Catch "my_event" event from a client')
    print('But I know this client, it is the one using this websocket connection: %s' % socket)


# On a class method
class MyClass(object):

    def __init__(self):
        # Do not forget the context, otherwise the `self` value for all class methods decorated by `@my_ws.on`
        # decorator will be `None`
        my_ws.context = self

    @my_ws.on  # the documentation writes `@wy_ws.on`: a typo for `@my_ws.on`
    def my_other_event(self, socket, data):
        # `self` value is a MyClass instance due to `my_ws.context = self` in `__init__()` method
        print('Catch "my_other_event" from a client')
        print('And same as before, I know that this client is using this websocket connection: %s' % socket)
        # Not in the documentation: tells the client what `self` was.
        socket.emit('my_other_event', {'self_is_my_instance': self is my_instance})


my_instance = MyClass()


# 4.2.1.4. Example (progress bar)

ws = WebSocket('module_progressbar')
progressbar = ProgressBar('foo', min=0, max=100)

ws.bind(progressbar)


@progressbar.on
def reset():
    progressbar.reset()


@progressbar.on
async def start():  # the documentation's `@gen.engine` generator, as a coroutine
    for value in range(0, progressbar.max):
        await asyncio.sleep(.01)  # like time.sleep(), but asynchronous
        progressbar.tick(label="[%d/%d] Tâche %d terminée" % (progressbar.current + 1, progressbar.max, value))
"""  # noqa: E501 (the documentation's lines, as they are)

WELCOME = "The install worked successfully!"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("docwalk"))
    project.write_views(DOCUMENTED_VIEWS)
    project.manage(["migrate", "--noinput"])
    project.manage(["collectstatic", "--noinput"])
    return project


@pytest.fixture(scope="module")
def server(project: Project):
    with project.server(["127.0.0.1:0", "--noreload"]) as server:
        yield server


def test_the_documented_project_serves_djangos_welcome_page(server: Server):
    page = http_get(server.port, "/")
    assert page.status == 200
    assert WELCOME in page.text


def test_the_documented_static_route_serves_the_javascript_client(server: Server):
    source = STATIC_SOURCE / "client.js"
    assert source.is_file(), f"the JavaScript client is missing: {source}"
    answer = http_get(server.port, "/static/tornado_websockets/client.js")
    assert answer.status == 200
    assert answer.body == source.read_bytes()


def test_the_banner_lists_the_documented_websockets(server: Server):
    _, line = server.wait_for_line(r"^WebSockets: ")
    assert line.string == "WebSockets: /ws/echo, /ws/my_ws, /ws/module_progressbar"


def test_the_documented_echo_example_echoes_and_tells_the_first_client_about_spammers(
    server: Server,
):
    with ws_connect(server.port, "/ws/echo") as first:
        assert recv_json(first) == {"event": "new_connection", "data": {}}
        with ws_connect(server.port, "/ws/echo") as second:
            assert recv_json(second) == {"event": "new_connection", "data": {}}
            assert recv_json(first) == {"event": "new_connection", "data": {}}

            send_event(second, "message", {"message": "hello"})
            assert recv_json(second) == {"event": "message", "data": {"message": "hello"}}
            send_event(second, "message", {"message": "spam spam spam"})
            assert recv_json(second) == {"event": "message", "data": {"message": "spam spam spam"}}

            # The first client hears of the spam, and of nothing before it ("hello" is no spam).
            got_spam = recv_json(first)
            assert got_spam["event"] == "got_spam"
            assert got_spam["data"]["message"] == "spam spam spam"
            assert set(got_spam["data"]["socket"]) == {"id"}
            assert isinstance(got_spam["data"]["socket"]["id"], int)


def test_the_documented_function_and_class_method_handlers_receive_their_events(
    server: Server,
):
    with ws_connect(server.port, "/ws/my_ws") as ws:
        send_event(ws, "my_event", {"foo": "bar"})
        index, _ = server.wait_for_line(r'^Catch "my_event" event from a client$')
        server.wait_for_line(
            r"^But I know this client, it is the one using this websocket connection: "
            r"<WebSocketHandler #\d+ on /ws/my_ws>$",
            start=index,
        )

        send_event(ws, "my_other_event", {"foo": "bar"})
        assert recv_json(ws) == {"event": "my_other_event", "data": {"self_is_my_instance": True}}
        index, _ = server.wait_for_line(r'^Catch "my_other_event" from a client$')
        server.wait_for_line(
            r"^And same as before, I know that this client is using this websocket connection: "
            r"<WebSocketHandler #\d+ on /ws/my_ws>$",
            start=index,
        )


def test_the_documented_progress_bar_initialises_each_client_and_runs_to_done(server: Server):
    prefix = "module_progressbar_foo"
    with ws_connect(server.port, "/ws/module_progressbar") as ws:
        assert [recv_json(ws) for _ in range(3)] == [
            {"event": f"{prefix}_before_init", "data": {}},
            {
                "event": f"{prefix}_init",
                "data": {"indeterminate": False, "min": 0, "max": 100, "current": 0},
            },
            {"event": f"{prefix}_after_init", "data": {}},
        ]

        send_event(ws, f"{prefix}_start")
        events, currents = [], []
        while not events or events[-1] != f"{prefix}_done":
            frame = recv_json(ws)
            events.append(frame["event"])
            if frame["event"] == f"{prefix}_update":
                currents.append(frame["data"]["current"])
        assert currents == list(range(1, 101))
        assert events[:3] == [
            f"{prefix}_before_update",
            f"{prefix}_update",
            f"{prefix}_after_update",
        ]
        assert events[-2:] == [f"{prefix}_after_update", f"{prefix}_done"]


def test_without_a_tornado_setting_runtornado_serves_django_and_websockets_with_defaults(
    project: Project,
):
    module = project.write_settings("settings_without_tornado", "")
    with project.server(["127.0.0.1:0"], settings_module=module) as server:
        assert "No TORNADO setting" in server.output
        page = http_get(server.port, "/")
        assert page.status == 200
        assert WELCOME in page.text
        with ws_connect(server.port, "/ws/echo") as ws:
            assert recv_json(ws) == {"event": "new_connection", "data": {}}
            send_event(ws, "message", {"message": "hi"})
            assert recv_json(ws) == {"event": "message", "data": {"message": "hi"}}
