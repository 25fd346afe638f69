"""The server's routing takes the same route as Tornado's for every request: the WebSocket
router first, then the configured routes in order, host-specific routes first when there are
any, ``default_handler_class`` or 404 for the rest; and a path holding a NUL is answered 404.

``ServerApplication.find_handler`` walks the rules itself: each case compares its choice with
Tornado's own ``Application.find_handler`` on the same application and request.
"""

from __future__ import annotations

import http.client
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tornado.web
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from tornado_websockets.routes import ServerApplication, build_application
from tornado_websockets.websocket import WebSocket
from tornado_websockets.websockethandler import WebSocketHandler

from .wsclient import TIMEOUT

routed = WebSocket("/t_routes")


class Page(tornado.web.RequestHandler):
    def get(self, *args: str) -> None:
        self.write("page")


class Other(Page):
    pass


class Missing(Page):
    pass


def request(path: str, host: str = "127.0.0.1") -> HTTPServerRequest:
    start_line = RequestStartLine("GET", path, "HTTP/1.1")
    return HTTPServerRequest(start_line=start_line, headers=HTTPHeaders({"Host": host}))


def chosen(delegate: Any) -> tuple[Any, ...]:
    """What a delegate serves: the handler class, its arguments and the path's captures."""
    return (
        delegate.handler_class,
        delegate.handler_kwargs,
        delegate.path_args,
        delegate.path_kwargs,
    )


def assert_routes_as_tornado(application: ServerApplication, path: str, host: str) -> Any:
    ours = application.find_handler(request(path, host))
    tornados = tornado.web.Application.find_handler(application, request(path, host))
    assert chosen(ours) == chosen(tornados), (path, host)
    return ours.handler_class


def static_route(directory: Path) -> list[Any]:
    (directory / "a.txt").write_text("a")
    return [(r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(directory)})]


PATHS = [
    "/ws/t_routes",
    "/ws/t_routes/",
    "/ws/unknown",
    "/page",
    "/item/42",
    "/nowhere",
    "/static/%00.txt",
]


def test_every_path_goes_where_tornados_routing_sends_it(tmp_path: Path) -> None:
    application = build_application(
        [*static_route(tmp_path), (r"/page", Page), (r"/item/(\d+)", Other)]
    )
    assert isinstance(application, ServerApplication)
    paths = [*PATHS, "/static/a.txt", "/static/%2500.txt"]
    served = {path: assert_routes_as_tornado(application, path, "127.0.0.1") for path in paths}
    assert served["/ws/t_routes"] is WebSocketHandler
    assert served["/page"] is Page and served["/item/42"] is Other
    assert served["/nowhere"] is tornado.web.ErrorHandler
    assert served["/static/a.txt"] is tornado.web.StaticFileHandler
    assert served["/static/%00.txt"] is tornado.web.ErrorHandler
    assert served["/static/%2500.txt"] is tornado.web.StaticFileHandler  # "%00", not a NUL


def test_host_specific_routes_come_first_as_in_tornado() -> None:
    application = build_application([(r"/page", Page)])
    application.add_handlers(r"special\.example", [(r"/ws/t_routes", Other), (r"/page", Other)])
    for host in ("special.example", "127.0.0.1"):
        served = {path: assert_routes_as_tornado(application, path, host) for path in PATHS}
        expected = Other if host == "special.example" else WebSocketHandler
        assert served["/ws/t_routes"] is expected
        assert served["/page"] is (Other if host == "special.example" else Page)


def test_routes_added_later_are_found_as_in_tornado() -> None:
    application = build_application([(r"/page", Page)])
    application.wildcard_router.add_rules([(r"/late", Other)])
    application.wildcard_router.rules.insert(0, application.wildcard_router.rules.pop())
    for path in [*PATHS, "/late"]:  # the WebSocket router is no longer the first rule
        assert_routes_as_tornado(application, path, "127.0.0.1")
    assert application.find_handler(request("/late")).handler_class is Other


def test_a_path_no_route_takes_goes_to_the_default_handler_when_one_is_set() -> None:
    application = build_application(
        [(r"/page", Page)], {"default_handler_class": Missing, "default_handler_args": {}}
    )
    for path in PATHS:
        assert_routes_as_tornado(application, path, "127.0.0.1")
    assert application.find_handler(request("/nowhere")).handler_class is Missing


STATIC = Path(tempfile.mkdtemp(prefix="dtw-routes-"))


@pytest.mark.parametrize(
    "tornado_live_server_config",
    [pytest.param({"handlers": static_route(STATIC)}, id="static-files")],
    indirect=True,
    scope="session",
)
@pytest.mark.parametrize("path", ["/static/a.txt", "/static/%00.txt", "/static/a.txt%00"])
def test_a_path_holding_a_nul_is_answered_404_where_static_files_would_fail(
    tornado_server: Any, path: str
) -> None:
    # Tornado's StaticFileHandler answers such a path with a 500 and a logged traceback.
    connection = http.client.HTTPConnection("127.0.0.1", tornado_server.port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if path == "/static/a.txt":
            assert (response.status, body) == (200, b"a")
        else:
            assert response.status == 404
    finally:
        connection.close()
