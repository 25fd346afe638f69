"""django-tornado-websockets: Django and its WebSockets served by one Tornado server.

Importing this package imports neither Django's settings nor Tornado's server machinery:
``django_app()`` may be called at the end of ``settings.py``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.3.0.dev0"
__all__ = ["__version__", "django_app", "emit"]


def django_app() -> tuple[str, Any, dict[str, Any]]:
    """The catch-all route serving Django through WSGI in the worker pool; put it last.

    See ``tornado_websockets.wsgi.django_app``.
    """
    from .wsgi import django_app as build

    return build()


def emit(path: str, event: str, data: Any = None, **targets: Any) -> None:
    """Emit ``event`` to the WebSocket application declared on ``path`` (``'/echo'``), from any
    code and any process: ``to=``, ``user=`` and ``exclude=`` as in ``WebSocket.emit``.

    See ``tornado_websockets.websocket.emit``.
    """
    from .websocket import emit as emit_on_path

    emit_on_path(path, event, data, **targets)
