"""System checks (``manage.py check``), with stable ids.

- ``tornado_websockets.E001``: the ``TORNADO`` setting is invalid (the message names the key).
- ``tornado_websockets.W001``: ``TORNADO['allowed_origins']`` is ``'*'`` while ``DEBUG`` is off:
  any web site can open sockets with its visitors' cookies (cross-site WebSocket hijacking).
- ``tornado_websockets.W002``: Tornado's ``debug`` (or ``serve_traceback``) is on while the
  server listens on a non-loopback address: tracebacks and autoreload exposed to the network.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf

LOOPBACK = ("127.", "::1", "localhost")


@checks.register()
def check_tornado_setting(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        config = conf.load()
    except ImproperlyConfigured as error:
        return [
            checks.Error(
                str(error),
                hint="See the TORNADO setting reference in the documentation.",
                id="tornado_websockets.E001",
            )
        ]
    found: list[checks.CheckMessage] = []
    if config.allowed_origins == ("*",) and not settings.DEBUG:
        found.append(
            checks.Warning(
                "TORNADO['allowed_origins'] is '*' with DEBUG off: any web site can open "
                "WebSockets to this server with its visitors' cookies.",
                hint="List the origins that may connect, e.g. ['https://example.com'].",
                id="tornado_websockets.W001",
            )
        )
    tornado_debug = config.settings.get("debug") or config.settings.get("serve_traceback")
    if tornado_debug and not config.address.startswith(LOOPBACK):
        found.append(
            checks.Warning(
                f"TORNADO['settings'] turns Tornado's debug mode on while the server listens on "
                f"{config.address!r}: tracebacks and autoreload are exposed to the network.",
                hint="Turn 'debug' off, or listen on 127.0.0.1 behind a proxy.",
                id="tornado_websockets.W002",
            )
        )
    return found
