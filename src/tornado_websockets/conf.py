"""The ``TORNADO`` Django setting: defaults and validation.

``load()`` reads ``settings.TORNADO`` and returns a validated ``TornadoConfig``; any mistake
raises ``ImproperlyConfigured`` naming the key. Call it once Django settings are configured
(from the ``runtornado`` command or a test); it does not cache, so tests may override settings.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tornado.routing import Rule

DEFAULT_PORT = 8000
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_THREADS = 16

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class TornadoConfig:
    """The validated ``TORNADO`` setting.

    ``from_defaults`` is true when the project has no ``TORNADO`` setting at all, in which case
    ``runtornado`` serves Django itself (as if ``django_app()`` were the only handler).
    """

    port: int = DEFAULT_PORT
    address: str = DEFAULT_ADDRESS
    handlers: list[Any] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    threads: int = DEFAULT_THREADS
    allowed_origins: tuple[str, ...] | None = None
    max_message_size: int = 64 * KIB
    message_rate: float = 100.0
    message_burst: int = 200
    max_connections: int = 10_000
    max_event_name_length: int = 128
    max_rooms_per_socket: int = 100
    max_queued_bytes: int = 1 * MIB
    max_inbound_queued_bytes: int = 1 * MIB
    max_fanout_backlog: int = 64 * MIB
    header_timeout: float = 20.0
    body_timeout: float = 60.0
    max_body_size: int = 10 * MIB
    max_header_size: int = 64 * KIB
    ping_interval: float = 25.0
    ping_timeout: float = 60.0
    shutdown_timeout: float = 10.0
    session_check_interval: float = 60.0
    broker: Any = None
    certfile: str | None = None
    keyfile: str | None = None
    xheaders: bool = False
    metrics_path: str | None = None
    history_query_limit: int = 1000
    recovery_timeout: float = 10.0
    transport: str = "asyncio"
    event_loop: str = "auto"
    presence_ttl: float = 30.0
    presence_interval: float = 1.0
    presence_max_batch: int = 100
    presence_max_info_bytes: int = 1 * KIB
    admin: bool = True
    admin_max_rows: int = 200
    from_defaults: bool = False


def _improperly_configured(message: str) -> Exception:
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


def _check_port(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 65535:
        raise _improperly_configured(
            f"TORNADO['port'] should be an integer from 0 to 65535, got {value!r}."
        )
    return value


def _check_address(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _improperly_configured(
            f"TORNADO['address'] should be a host name or an IP address, got {value!r}."
        )
    return value.strip()


def _check_handlers(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _improperly_configured(
            f"TORNADO['handlers'] should be a list of routes, got {type(value).__name__}."
        )
    for index, route in enumerate(value):
        if isinstance(route, Rule):
            continue
        if not isinstance(route, (list, tuple)) or not 2 <= len(route) <= 4:
            raise _improperly_configured(
                f"TORNADO['handlers'][{index}] should be a (pattern, handler[, kwargs[, name]]) "
                f"tuple or a tornado.routing.Rule, got {route!r}."
            )
    return list(value)


def _check_settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _improperly_configured(
            f"TORNADO['settings'] should be a dict of tornado.web.Application settings, "
            f"got {type(value).__name__}."
        )
    return dict(value)


def _positive_int(key: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is not int or value < 1:
            raise _improperly_configured(
                f"TORNADO[{key!r}] should be a positive integer, got {value!r}."
            )
        return value

    return check


def _positive_number(key: str, allow_zero: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value < 0
            or (value == 0 and not allow_zero)
        ):
            kind = "a number ≥ 0" if allow_zero else "a positive number"
            raise _improperly_configured(f"TORNADO[{key!r}] should be {kind}, got {value!r}.")
        return float(value)

    return check


def _check_allowed_origins(value: Any) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(origin, str) and origin for origin in value
    ):
        raise _improperly_configured(
            "TORNADO['allowed_origins'] should be '*' or a list of origins such as "
            f"'https://example.com' or '*.example.com', got {value!r}."
        )
    return tuple(value)


def _check_broker(value: Any) -> Any:
    from .brokers import create_broker

    try:
        create_broker(value)  # builds, connects nothing: validates URL, keys and options
    except (ValueError, TypeError, ImportError) as error:
        raise _improperly_configured(str(error)) from error
    return value


def _optional_file(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise _improperly_configured(f"TORNADO[{key!r}] should be a file path, got {value!r}.")
        return value

    return check


def _check_bool(key: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _improperly_configured(
                f"TORNADO[{key!r}] should be True or False, got {value!r}."
            )
        return value

    return check


def _check_metrics_path(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise _improperly_configured(
            f"TORNADO['metrics_path'] should be a URL path such as '/metrics', got {value!r}."
        )
    if importlib.util.find_spec("prometheus_client") is None:
        raise _improperly_configured(
            "TORNADO['metrics_path'] needs prometheus-client: "
            'pip install "django-tornado-websockets[metrics]"'
        )
    return value


def _check_transport(value: Any) -> str:
    if value not in ("tornado", "asyncio"):
        raise _improperly_configured(
            f"TORNADO['transport'] should be 'tornado' or 'asyncio', got {value!r}."
        )
    if value == "asyncio" and importlib.util.find_spec("websockets") is None:
        raise _improperly_configured(
            "TORNADO['transport'] = 'asyncio' needs the websockets package "
            "(a dependency of django-tornado-websockets): pip install websockets"
        )
    return str(value)


def _check_event_loop(value: Any) -> str:
    if value not in ("auto", "asyncio", "uvloop"):
        raise _improperly_configured(
            f"TORNADO['event_loop'] should be 'auto', 'asyncio' or 'uvloop', got {value!r}."
        )
    if value == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise _improperly_configured(
            "TORNADO['event_loop'] = 'uvloop' needs uvloop: "
            'pip install "django-tornado-websockets[speed]"'
        )
    return str(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "port": _check_port,
    "address": _check_address,
    "handlers": _check_handlers,
    "settings": _check_settings,
    "threads": _positive_int("threads"),
    "allowed_origins": _check_allowed_origins,
    "max_message_size": _positive_int("max_message_size"),
    "message_rate": _positive_number("message_rate"),
    "message_burst": _positive_int("message_burst"),
    "max_connections": _positive_int("max_connections"),
    "max_event_name_length": _positive_int("max_event_name_length"),
    "max_rooms_per_socket": _positive_int("max_rooms_per_socket"),
    "max_queued_bytes": _positive_int("max_queued_bytes"),
    "max_inbound_queued_bytes": _positive_int("max_inbound_queued_bytes"),
    "max_fanout_backlog": _positive_int("max_fanout_backlog"),
    "header_timeout": _positive_number("header_timeout"),
    "body_timeout": _positive_number("body_timeout"),
    "max_body_size": _positive_int("max_body_size"),
    "max_header_size": _positive_int("max_header_size"),
    "ping_interval": _positive_number("ping_interval", allow_zero=True),
    "ping_timeout": _positive_number("ping_timeout"),
    "shutdown_timeout": _positive_number("shutdown_timeout", allow_zero=True),
    "session_check_interval": _positive_number("session_check_interval", allow_zero=True),
    "broker": _check_broker,
    "certfile": _optional_file("certfile"),
    "keyfile": _optional_file("keyfile"),
    "xheaders": _check_bool("xheaders"),
    "metrics_path": _check_metrics_path,
    "history_query_limit": _positive_int("history_query_limit"),
    "recovery_timeout": _positive_number("recovery_timeout"),
    "transport": _check_transport,
    "event_loop": _check_event_loop,
    "presence_ttl": _positive_number("presence_ttl"),
    "presence_interval": _positive_number("presence_interval", allow_zero=True),
    "presence_max_batch": _positive_int("presence_max_batch"),
    "presence_max_info_bytes": _positive_int("presence_max_info_bytes"),
    "admin": _check_bool("admin"),
    "admin_max_rows": _positive_int("admin_max_rows"),
}

KNOWN_KEYS = tuple(sorted(_CHECKS))


def parse(raw: Any) -> TornadoConfig:
    """Validate a ``TORNADO`` dict (``None`` meaning the setting is absent)."""
    if raw is None:
        return TornadoConfig(from_defaults=True)
    if not isinstance(raw, Mapping):
        raise _improperly_configured(
            f"The TORNADO setting should be a dict, got {type(raw).__name__}."
        )
    for key in raw:
        if key not in _CHECKS:
            raise _improperly_configured(
                f"TORNADO has an unknown key {key!r}; the known keys are {', '.join(KNOWN_KEYS)}."
            )
    values = {key: _CHECKS[key](value) for key, value in raw.items()}
    return TornadoConfig(**values)


def load() -> TornadoConfig:
    """Read and validate ``settings.TORNADO`` from the configured Django settings."""
    from django.conf import settings

    return parse(getattr(settings, "TORNADO", None))
