"""Django sessions and users for WebSocket connections.

``resolve`` reads the session cookie of a handshake through Django's own session engine and
authentication backends. It queries the database: call it in the worker pool, never on the loop.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "available",
    "anonymous_user",
    "empty_session",
    "resolve",
    "session_cookie_name",
    "LOGGED_OUT",
]

from .protocol import LOGGED_OUT


def available() -> bool:
    """Whether Django is configured with the sessions and auth apps installed."""
    from django.apps import apps
    from django.conf import settings

    return (
        settings.configured
        and apps.ready
        and apps.is_installed("django.contrib.sessions")
        and apps.is_installed("django.contrib.auth")
    )


def _session_store(session_key: str | None) -> Any:
    from django.conf import settings

    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key)


_anonymous_user: Any = None


def anonymous_user() -> Any:
    """The ``AnonymousUser`` of every connection without a session (one shared, stateless
    instance: thousands of idle connections need not hold one each)."""
    global _anonymous_user
    if _anonymous_user is None:
        from django.contrib.auth.models import AnonymousUser

        _anonymous_user = AnonymousUser()
    return _anonymous_user


def empty_session() -> Any:
    """A new, empty, unsaved session, without touching the database."""
    return _session_store(None)


def session_cookie_name() -> str:
    from django.conf import settings

    return str(settings.SESSION_COOKIE_NAME)


def resolve(session_key: str) -> tuple[Any, Any]:
    """The user and session of ``session_key``. Worker thread: queries the database."""
    from django.contrib.auth import get_user
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = _session_store(session_key)
    return get_user(request), request.session
