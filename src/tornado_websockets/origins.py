"""Which browser origins may open a WebSocket (cross-site WebSocket hijacking defence).

By default a handshake is accepted from:

- the server's own origin (the ``Origin`` host and port equal the request's ``Host``);
- hosts in Django's ``ALLOWED_HOSTS`` (its ``'*'`` wildcard excepted: opening every origin must be
  said explicitly, with ``TORNADO['allowed_origins'] = '*'``);
- origins in ``CSRF_TRUSTED_ORIGINS`` (``https://*.example.com`` patterns included);
- with ``DEBUG``, any port of ``localhost``, ``127.0.0.1`` and ``[::1]``;
- what ``TORNADO['allowed_origins']`` adds: exact origins (``'https://example.com'``), host
  patterns (``'*.example.com'``, any scheme), or ``'*'`` for every origin.

A handshake without an ``Origin`` header (scripts and servers, not browsers) is accepted: a
browser always sends one, and the attack this prevents needs a browser.

``OriginPolicy`` is built once at server start and is then read-only: safe from any thread.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["OriginPolicy", "policy_from_django"]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _host_matches(host: str, pattern: str) -> bool:
    """Django's ALLOWED_HOSTS rule: exact, or ``.example.com`` for the domain and subdomains."""
    pattern = pattern.lower()
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern


class OriginPolicy:
    """Decides whether an ``Origin`` may open a WebSocket on a server reached as ``Host``."""

    def __init__(
        self,
        allowed_origins: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        trusted_origins: Iterable[str] = (),
        debug: bool = False,
    ) -> None:
        self.allow_all = False
        self.exact: set[str] = set()
        self.patterns: list[str] = []
        for origin in [*allowed_origins, *trusted_origins]:
            origin = origin.strip().lower().rstrip("/")
            if origin == "*":
                self.allow_all = True
            elif "*" in origin:
                self.patterns.append(origin)
            else:
                self.exact.add(origin)
        self.hosts = [host.strip() for host in allowed_hosts if host.strip() not in ("*", "")]
        self.debug = debug

    def allows(self, origin: str, request_host: str) -> bool:
        if self.allow_all:
            return True
        try:
            parts = urlsplit(origin.strip().lower())
            hostname = parts.hostname
        except ValueError:
            return False
        if not parts.scheme or not hostname:
            return False  # "null" (sandboxed frames, file://) and garbage
        netloc = parts.netloc
        if netloc == request_host.strip().lower():
            return True
        normalized = f"{parts.scheme}://{netloc}"
        if normalized in self.exact:
            return True
        for pattern in self.patterns:
            target = normalized if "://" in pattern else netloc
            if fnmatch.fnmatchcase(target, pattern) or (
                "://" not in pattern and fnmatch.fnmatchcase(hostname, pattern)
            ):
                return True
        if any(_host_matches(hostname, host) for host in self.hosts):
            return True
        return self.debug and hostname in LOCAL_HOSTS

    @property
    def opens_every_origin(self) -> bool:
        return self.allow_all


def policy_from_django(allowed_origins: Iterable[str] | None) -> OriginPolicy:
    """The policy for the configured Django settings plus ``TORNADO['allowed_origins']``."""
    from django.conf import settings

    if not settings.configured:
        return OriginPolicy(allowed_origins or ())
    return OriginPolicy(
        allowed_origins or (),
        getattr(settings, "ALLOWED_HOSTS", ()),
        getattr(settings, "CSRF_TRUSTED_ORIGINS", ()),
        bool(getattr(settings, "DEBUG", False)),
    )
