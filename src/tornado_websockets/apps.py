"""The Django app: ``'tornado_websockets'`` in ``INSTALLED_APPS``.

It brings the ``runtornado`` command, the static client (``tornado_websockets/client.js``), the
system checks and, with ``django.contrib.admin`` installed, the admin's live page
(``tornado_websockets.admin``). ``discover_websockets`` imports the modules that declare
``WebSocket`` applications so that they are routable before the first HTTP request.
"""

from __future__ import annotations

from functools import partial
from importlib import import_module
from typing import Any

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule

DISCOVERED_MODULES = ("views", "websockets")
"""Submodules of each project app imported at start-up, where they exist."""


class TornadoWebSocketsConfig(AppConfig):
    name = "tornado_websockets"
    verbose_name = "Tornado WebSockets"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import checks  # noqa: F401  (registers the system checks)

        user_logged_out.connect(close_sockets_of_logged_out_user, dispatch_uid=__name__)
        user_logged_in.connect(close_sockets_of_replaced_session, dispatch_uid=__name__)
        from . import admin

        if admin.enabled():
            admin.register()


def close_sockets_of_logged_out_user(
    sender: Any, request: Any = None, user: Any = None, **kwargs: Any
) -> None:
    """``user_logged_out`` receiver: end the session, then close that user's sockets with 4001,
    on every node.

    The session is deleted from the store first: a handshake that read it just before, and
    joins the user's group only after the close went out, finds it gone when its connection
    re-checks it at open, and is closed too. With the database in a transaction, the close
    goes out once it commits, so that the re-check cannot read the session still there.

    Any thread (Django calls it in the thread of the logout view). Without a server in this
    process and without a broker, there is no socket to close: nothing happens.
    """
    from django.db import transaction

    from . import auth

    if user is None or getattr(user, "pk", None) is None:
        return
    if request is not None:
        auth.end_session(request)
    transaction.on_commit(partial(close_sockets_of_user, user))


def close_sockets_of_user(user: Any) -> None:
    """Close ``user``'s sockets with 4001 in every application, on every node. Any thread."""
    from .exceptions import EmitHandlerError
    from .websocket import websockets

    for websocket in websockets():
        try:
            websocket.close_user(user)
        except EmitHandlerError:
            return


def close_sockets_of_replaced_session(
    sender: Any, request: Any = None, user: Any = None, **kwargs: Any
) -> None:
    """``user_logged_in`` receiver: when the login ended the browser's session, close the
    sockets logged-in users opened with it, with 4001, on every node.

    Django's ``login()`` flushes a session that logged in someone else (or the same user with
    another password), without a logout: the session is deleted and the request's session has
    no key until the response saves it. The old key is still the request's session cookie. A
    login from an anonymous session keeps its data under a new key instead: its sockets were
    anonymous, and are left open. With the database in a transaction, the close goes out once
    it commits, as a logout's does.

    Any thread (Django calls it in the thread of the login view).
    """
    from django.db import transaction

    from . import auth

    session = getattr(request, "session", None)
    if session is None or session.session_key is not None:
        return
    old_key = request.COOKIES.get(auth.session_cookie_name())
    if old_key:
        transaction.on_commit(partial(close_sockets_of_session, old_key))


def close_sockets_of_session(session_key: str) -> None:
    """Close the sockets logged-in users opened with ``session_key``, in every application, on
    every node. Any thread."""
    from .exceptions import EmitHandlerError
    from .websocket import websockets

    for websocket in websockets():
        try:
            websocket.close_session(session_key)
        except EmitHandlerError:
            return


def discover_websockets() -> None:
    """Import the URLconf and every app's ``views`` and ``websockets`` modules.

    The original documentation has users declare ``WebSocket`` applications in ``views.py``;
    importing those modules at start-up makes them reachable from the first connection, even
    with ``--skip-checks`` and before any HTTP request. Django's own apps are left alone.
    Import errors propagate, as they would from the URLconf.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports ROOT_URLCONF and the views it names)
    for app_config in apps.get_app_configs():
        if app_config.name.startswith("django."):
            continue
        for name in DISCOVERED_MODULES:
            if module_has_submodule(app_config.module, name):
                import_module(f"{app_config.name}.{name}")
