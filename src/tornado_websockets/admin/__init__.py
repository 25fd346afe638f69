"""The live page in the Django admin: connections, rooms, presence and traffic, on every node.

Enabled when ``django.contrib.admin`` is in ``INSTALLED_APPS`` (unless ``TORNADO['admin']`` is
``False``): the app's ``ready()`` calls ``register()``, which adds the page to the default
``admin.site`` and declares the library's own WebSocket (``ADMIN_PATH``) that feeds it. A
project with an admin site of its own calls ``register(site)``.

Layers, imports pointing down: ``modeladmin`` (the Django view) and ``live`` (the WebSocket:
staff check, actions, the cluster exchange) ► ``snapshot`` (what one node reports).

Thread affinity: ``register`` runs at start-up, in the thread that sets Django up.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ADMIN_PATH", "register", "enabled"]

ADMIN_PATH = "/_tornado_websockets/admin"
"""The path of the admin's WebSocket (served on ``/ws`` + it); staff only."""


def enabled() -> bool:
    """Whether the project wants the page: the admin app is installed and ``TORNADO['admin']``
    is not ``False`` (``ImproperlyConfigured`` when it is not a boolean)."""
    from django.apps import apps
    from django.conf import settings

    from ..conf import _check_bool

    raw = getattr(settings, "TORNADO", None)
    wanted = raw.get("admin", True) if isinstance(raw, dict) else True
    return _check_bool("admin")(wanted) and apps.is_installed("django.contrib.admin")


def register(site: Any = None) -> None:
    """Add the live page to ``site`` (default: ``django.contrib.admin.site``) and declare the
    admin's WebSocket. Idempotent per site."""
    from django.contrib import admin

    from ..models import Live
    from .live import declare
    from .modeladmin import LiveAdmin

    declare()  # the WebSocket the page talks to
    site = admin.site if site is None else site
    if not site.is_registered(Live):
        site.register(Live, LiveAdmin)
