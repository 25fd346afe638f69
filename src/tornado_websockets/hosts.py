"""The ``Host`` check of a WebSocket handshake: Django's own, against ``ALLOWED_HOSTS``.

A page on a DNS-rebinding domain (``evil.example`` resolving to this server) sends ``Host`` and
``Origin`` both ``evil.example``: the origin then matches the host, so only the host check
stops it. Django answers 400 to such a request; the handshake must too.

The check is Django's ``HttpRequest.get_host()`` itself, on the environ Tornado's WSGI container
would build, so that it follows every rule Django applies: ``ALLOWED_HOSTS`` patterns, DEBUG's
localhost defaults when the list is empty, ``USE_X_FORWARDED_HOST``. Any thread; needs
configured Django settings.
"""

from __future__ import annotations

from tornado.httputil import HTTPServerRequest

__all__ = ["disallowed_host"]


def disallowed_host(request: HTTPServerRequest) -> str | None:
    """``None`` when Django would accept the request's host, else Django's reason."""
    from django.core.exceptions import DisallowedHost
    from django.http import HttpRequest

    django_request = HttpRequest()
    django_request.META = _host_environ(request)
    try:
        django_request.get_host()
    except DisallowedHost as refusal:
        return str(refusal)
    return None


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
