"""The checks a WebSocket handshake passes before it is accepted, in order:

1. the ``Host`` is one Django accepts (``ALLOWED_HOSTS``, checked as Django does), else 400;
2. the process has room for one more connection (``TORNADO['max_connections']``), else 503;
3. the ``Origin`` is allowed (``origins.OriginPolicy``), else 403;
4. the Django user and session are read from the session cookie (in the worker pool);
5. ``login_required`` and ``authorize`` of the application accept that user, else 403.

A session read here may end before the connection opens: the connection re-checks it at
``open`` (see ``WebSocketHandler.open``).

Loop thread: ``admit`` is a coroutine run by the connection's ``prepare``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import auth, runtime
from .hosts import disallowed_host

if TYPE_CHECKING:
    from .websockethandler import WebSocketHandler

__all__ = ["Refusal", "admit"]

logger = logging.getLogger("tornado_websockets")


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


async def admit(socket: WebSocketHandler, run: runtime.ServerRuntime) -> Refusal | None:
    """Run the checks; set ``socket.user`` and ``socket.session``; return why it is refused."""
    request = socket.request
    if run.django_configured:
        reason = disallowed_host(request)
        if reason is not None:
            logger.warning("Refused a WebSocket on %s: %s", request.path, reason)
            return Refusal(400, "Invalid Host header.")
    if run.open_connections >= run.config.max_connections:
        logger.warning(
            "Refused a WebSocket on %s from %s: %d connections open (TORNADO['max_connections']).",
            request.path,
            request.remote_ip,
            run.open_connections,
        )
        return Refusal(503, "Too many connections.")

    origin = request.headers.get("Origin") or request.headers.get("Sec-Websocket-Origin")
    if origin is not None and not run.origin_policy.allows(origin, request.host):
        logger.warning(
            "Refused a WebSocket on %s from origin %r (host %r): not an allowed origin.",
            request.path,
            origin,
            request.host,
        )
        return Refusal(403, "Origin not allowed.")

    if run.django_auth:
        session_key = socket.get_cookie(auth.session_cookie_name())
        if session_key:
            future = runtime.run_in_worker(run, auth.resolve, session_key)
            socket.user, socket.session = await asyncio.wrap_future(future)
        # Without a cookie: the shared AnonymousUser; the session is made when first read.

    websocket = socket.websocket
    if websocket.login_required and not getattr(socket.user, "is_authenticated", False):
        return Refusal(403, "Login required.")
    if websocket.authorize is not None:
        try:
            if websocket.authorize_is_async:
                allowed: Any = await websocket.authorize(request, socket.user)
            else:
                future = runtime.run_in_worker(run, websocket.authorize, request, socket.user)
                allowed = await asyncio.wrap_future(future)
        except Exception:
            logger.exception("authorize() of %s raised: handshake refused.", websocket.url_path)
            return Refusal(403, "Forbidden.")
        if not allowed:
            return Refusal(403, "Forbidden.")
    return None
