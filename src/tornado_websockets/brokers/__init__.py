"""Brokers carry emits between the processes that serve WebSockets (DESIGN §5).

``create_broker(TORNADO['broker'])`` builds the configured one:

- ``None`` or ``'memory'``: ``MemoryBroker``, one process, nothing to install (the default);
- ``'redis://...'``, ``'rediss://...'`` or ``'unix://...'``: ``RedisBroker`` on that URL;
- ``{'url': ..., 'prefix': ..., 'options': {...}}``: ``RedisBroker`` with a channel prefix
  (default ``'tws'``) and redis-py options (``from_url`` keyword arguments); ``queue_size``
  and ``ping_interval`` may be given too.

Importing this package imports neither redis-py nor the layers above the brokers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Broker, BrokerStats, BrokerUnavailableError, MessageCallback
from .memory import MemoryBroker, MemoryHub
from .redis import RedisBroker, redact

__all__ = [
    "Broker",
    "BrokerStats",
    "BrokerUnavailableError",
    "MessageCallback",
    "MemoryBroker",
    "MemoryHub",
    "RedisBroker",
    "create_broker",
]

SETTING = "TORNADO['broker']"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
DICT_KEYS = ("url", "prefix", "options", "queue_size", "ping_interval")
EXPECTED = (
    f"{SETTING} should be None, 'memory', a Redis URL ('redis://host:6379/0', 'rediss://...' "
    "or 'unix:///path/to/redis.sock') or a dict such as "
    "{'url': 'redis://host:6379/0', 'prefix': 'tws', 'options': {...}}"
)


def create_broker(setting: Any) -> Broker:
    """The broker described by the value of ``TORNADO['broker']``; nothing connects yet.

    Raises ``ValueError`` naming ``TORNADO['broker']`` for anything else, including a Redis
    setting when redis-py is not installed (the message says what to install). Any thread.
    """
    if setting is None or setting == "memory":
        return MemoryBroker()
    if isinstance(setting, str):
        if not setting.startswith(REDIS_SCHEMES):
            raise ValueError(f"{EXPECTED}, got {setting!r}.")
        return _redis_broker(setting, {})
    if isinstance(setting, Mapping):
        unknown = sorted(str(key) for key in setting if key not in DICT_KEYS)
        if unknown:
            raise ValueError(
                f"{SETTING} has unknown keys {', '.join(map(repr, unknown))}; "
                f"the keys are {', '.join(map(repr, DICT_KEYS))}."
            )
        url = setting.get("url")
        if not isinstance(url, str) or not url.startswith(REDIS_SCHEMES):
            raise ValueError(
                f"{SETTING}['url'] should be a Redis URL starting with "
                f"{', '.join(REDIS_SCHEMES)}, got {url!r}."
            )
        options = setting.get("options", {})
        if options is None:
            options = {}
        if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
            raise ValueError(
                f"{SETTING}['options'] should be a dict of redis-py from_url() keyword "
                f"arguments, got {options!r}."
            )
        arguments: dict[str, Any] = dict(options)
        for key in ("prefix", "queue_size", "ping_interval"):
            if key in setting:
                if key in arguments:
                    raise ValueError(f"{SETTING}: give {key!r} once, not in 'options' too.")
                arguments[key] = setting[key]
        return _redis_broker(url, arguments)
    raise ValueError(f"{EXPECTED}, got {setting!r}.")


def _redis_broker(url: str, arguments: dict[str, Any]) -> RedisBroker:
    try:
        return RedisBroker(url, **arguments)
    except ImportError as error:
        raise ValueError(f"{SETTING} is {redact(url)!r}: {error}") from error
    except (TypeError, ValueError) as error:
        raise ValueError(f"{SETTING} is invalid: {error}") from error
