"""The ``Host`` check of a WebSocket handshake: Django's own, against ``ALLOWED_HOSTS``.

A page on a DNS-rebinding domain (``evil.example`` resolving to this server) sends ``Host`` and
``Origin`` both ``evil.example``: the origin then matches the host, so only the host check
stops it. Django answers 400 to such a request; the handshake must too.

The check is Django's ``HttpRequest.get_host()`` itself, on the environ Tornado's WSGI container
would build, so that it follows every rule Django applies: ``ALLOWED_HOSTS`` patterns, DEBUG's
localhost defaults when the list is empty, ``USE_X_FORWARDED_HOST``. Any thread; needs
configured Django settings.

Building a Django request for it costs about 20 µs, a few percent of a handshake, and a server
sees the same few hosts again and again: the hosts Django accepted are remembered
(``MAX_REMEMBERED`` of them at most), until any setting changes (Django's ``setting_changed``,
sent by ``override_settings``). A refused host is checked anew each time, and logged.
"""

from __future__ import annotations

from typing import Any

from tornado.httputil import HTTPServerRequest

__all__ = ["disallowed_host", "MAX_REMEMBERED"]

MAX_REMEMBERED = 256
"""Accepted hosts remembered; past it the memory starts again empty (a wildcard pattern of
``ALLOWED_HOSTS`` admits endless names: the set must stay bounded)."""

_accepted: set[tuple[tuple[str, str], ...]] = set()
_forgetting_on_setting_changes = False


def disallowed_host(request: HTTPServerRequest) -> str | None:
    """``None`` when Django would accept the request's host, else Django's reason."""
    environ = _host_environ(request)
    key = tuple(environ.items())
    if key in _accepted:
        return None
    from django.core.exceptions import DisallowedHost
    from django.http import HttpRequest

    django_request = HttpRequest()
    django_request.META = environ
    try:
        django_request.get_host()
    except DisallowedHost as refusal:
        return str(refusal)
    _remember(key)
    return None


def _remember(key: tuple[tuple[str, str], ...]) -> None:
    global _forgetting_on_setting_changes
    if not _forgetting_on_setting_changes:
        from django.core.signals import setting_changed

        setting_changed.connect(_forget, dispatch_uid="tornado_websockets.hosts")
        _forgetting_on_setting_changes = True
    if len(_accepted) >= MAX_REMEMBERED:
        _accepted.clear()
    _accepted.add(key)


def _forget(**kwargs: Any) -> None:
    """``setting_changed`` receiver: ``ALLOWED_HOSTS``, ``DEBUG`` or another may have changed."""
    _accepted.clear()


def _host_environ(request: HTTPServerRequest) -> dict[str, str]:
    # As tornado.wsgi.WSGIContainer.environ builds it, reduced to what get_host() reads.
    host, colon, port = request.host.rpartition(":")
    if not colon or not port.isdigit() or host.endswith(":"):  # no port, or a bare IPv6
        host, port = request.host, "443" if request.protocol == "https" else "80"
    environ = {"SERVER_NAME": host, "SERVER_PORT": port}
    for name in ("Host", "X-Forwarded-Host"):
        value = request.headers.get(name)
        if value is not None:
            environ["HTTP_" + name.replace("-", "_").upper()] = value
    return environ
