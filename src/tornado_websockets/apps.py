"""The Django app: ``'tornado_websockets'`` in ``INSTALLED_APPS``.

It brings the ``runtornado`` command, the static client (``tornado_websockets/client.js``) and
the system checks. ``discover_websockets`` imports the modules that declare ``WebSocket``
applications so that they are routable before the first HTTP request.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule

DISCOVERED_MODULES = ("views", "websockets")
"""Submodules of each project app imported at start-up, where they exist."""


class TornadoWebSocketsConfig(AppConfig):
    name = "tornado_websockets"
    verbose_name = "Tornado WebSockets"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)


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
