"""Django sessions and users for WebSocket connections.

``resolve`` reads the session cookie of a handshake through Django's own session engine and
authentication backends; ``still_current`` tells whether sessions still log in the users their
connections were opened with. Both query the database: call them in the worker pool, never on
the loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import import_module
from typing import Any

__all__ = [
    "available",
    "anonymous_user",
    "empty_session",
    "resolve",
    "still_current",
    "session_cookie_name",
    "session_digest",
]


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


def still_current(sessions: Iterable[tuple[str | None, Any]]) -> list[bool]:
    """For each ``(session_key, user_pk)``: whether that session still exists and still logs in
    that user, with ``django.contrib.auth.get_user``'s semantics (its auth hash still matches:
    a password change ends it). Worker thread: queries the database.
    """
    verdicts = []
    for session_key, user_pk in sessions:
        if not session_key:
            verdicts.append(False)
            continue
        user, _session = resolve(session_key)
        verdicts.append(bool(user.is_authenticated) and str(user.pk) == str(user_pk))
    return verdicts


def end_session(request: Any) -> None:
    """Delete the session of ``request`` from the session store now (Django's ``logout()``
    flushes it only after sending ``user_logged_out``). Thread of the logout view."""
    session = getattr(request, "session", None)
    if session is None or not session.session_key:
        return
    if type(session).__module__ == "django.contrib.sessions.backends.signed_cookies":
        return  # kept in the browser's cookie, not in a store: nothing to delete here
    session.delete()


def session_digest(session_key: str) -> str:
    """A digest of a session key, to name a session where the key itself must not go (the
    broker). Any thread."""
    return hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()
