"""Routing: every ``WebSocket`` of the process first, by exact path, then the configured routes.

``build_application`` makes the server's ``tornado.web.Application`` (a ``ServerApplication``)
with ``WebSocketRouter`` as its first rule, the configured routes after it in order
(``django_app()``'s catch-all last). A ``WebSocket`` declared after the server started is
routable at once: the router looks the path up on each request.

``ServerApplication`` asks that router directly, then walks the other rules itself, as long as
the routes have that shape (no host-specific routes from ``add_handlers``, the router still
first): what Tornado's two nested rule routers would reach first anyway, without their
``get_target_delegate`` calls and matchers. Otherwise, and for a request no rule takes (its 404
or ``default_handler_class``), Tornado's own ``find_handler`` decides.

Loop thread only (``find_handler``); ``build_application`` from any thread before serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import tornado.web
from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.routing import AnyMatches, Router, Rule

from .websocket import get_websocket
from .websockethandler import WebSocketHandler
from .wsgi import DjangoWSGIFallback

__all__ = ["ServerApplication", "WebSocketRouter", "build_application"]


class WebSocketRouter(Router):
    """Routes a request to the ``WebSocket`` declared on its exact path, if any.

    First of all the routes, it also answers 404 to a path holding a NUL byte (``%00``): no
    file or view has such a name, and Tornado's ``StaticFileHandler`` fails on it with a 500
    and a traceback.
    """

    def __init__(self, application: tornado.web.Application) -> None:
        self.application = application

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> Any:
        path = request.path
        # A NUL is either there or percent-encoded: most paths need no decoding to tell.
        if "\x00" in path or ("%00" in path and "\x00" in unquote(path)):
            return self.application.get_handler_delegate(
                request, tornado.web.ErrorHandler, {"status_code": 404}
            )
        websocket = get_websocket(path)
        if websocket is None:
            return None
        return self.application.get_handler_delegate(
            request, WebSocketHandler, {"websocket": websocket}
        )


class ServerApplication(tornado.web.Application):
    """The server's ``Application``: routes as Tornado's, found with fewer steps (see the
    module's docstring). ``websocket_router`` is its ``WebSocketRouter``."""

    websocket_router: WebSocketRouter

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> Any:
        rules = self.wildcard_router.rules
        if len(self.default_router.rules) == 1 and rules[0].target is self.websocket_router:
            delegate = self.websocket_router.find_handler(request)
            if delegate is not None:
                return delegate
            delegate = _first_match(self.wildcard_router, rules, 1, request)
            if delegate is not None:
                return delegate
        return super().find_handler(request, **kwargs)


def _first_match(
    router: tornado.web._ApplicationRouter, rules: list[Rule], start: int, request: Any
) -> HTTPMessageDelegate | None:
    """``RuleRouter.find_handler`` over ``rules[start:]``: the first rule that matches and
    gives a delegate."""
    for rule in rules[start:]:
        target_params = rule.matcher.match(request)
        if target_params is not None:
            if rule.target_kwargs:
                target_params["target_kwargs"] = rule.target_kwargs
            delegate = router.get_target_delegate(rule.target, request, **target_params)
            if delegate is not None:
                return delegate
    return None


def build_application(
    handlers: Sequence[Any] = (), settings: dict[str, Any] | None = None
) -> tornado.web.Application:
    """An Application with the WebSocket router first, then ``handlers`` in order.

    ``django_app()``'s route goes straight to its ``DjangoWSGIFallback`` (a ``Router``) instead
    of through ``FallbackHandler``, which would build a ``RequestHandler`` per request and
    parse form bodies that Django parses again.
    """
    application = ServerApplication(None, **(settings or {}))
    application.websocket_router = WebSocketRouter(application)
    router = application.wildcard_router
    router.add_rules([Rule(AnyMatches(), application.websocket_router), *handlers])
    for rule in router.rules:
        fallback = rule.target_kwargs.get("fallback")
        if rule.target is tornado.web.FallbackHandler and isinstance(fallback, DjangoWSGIFallback):
            rule.target = fallback
    return application
