"""The TORNADO setting: defaults, validation naming the bad key, and the system check."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tornado_websockets.conf import parse


def test_no_setting_gives_the_documented_defaults() -> None:
    config = parse(None)
    assert (config.port, config.handlers, config.settings) == (8000, [], {})
    assert config.address == "127.0.0.1"
    assert config.threads >= 1
    assert config.from_defaults


def test_given_keys_override_the_defaults() -> None:
    config = parse({"port": 1337, "address": "0.0.0.0", "settings": {"debug": True}, "threads": 3})
    assert (config.port, config.address, config.settings, config.threads) == (
        1337,
        "0.0.0.0",
        {"debug": True},
        3,
    )
    assert not config.from_defaults


def test_the_http_and_fanout_limits_have_safe_defaults() -> None:
    config = parse(None)
    assert (config.header_timeout, config.body_timeout) == (20.0, 60.0)
    assert (config.max_body_size, config.max_header_size) == (10 * 2**20, 64 * 2**10)
    assert config.max_fanout_backlog == 64 * 2**20


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"port": "8000"}, "TORNADO['port']"),
        ({"port": 70000}, "TORNADO['port']"),
        ({"port": True}, "TORNADO['port']"),
        ({"address": ""}, "TORNADO['address']"),
        ({"max_inbound_queued_bytes": 0}, "TORNADO['max_inbound_queued_bytes']"),
        ({"session_check_interval": -1}, "TORNADO['session_check_interval']"),
        ({"session_check_interval": "60"}, "TORNADO['session_check_interval']"),
        ({"handlers": "nope"}, "TORNADO['handlers']"),
        ({"handlers": [("/only-a-pattern",)]}, "TORNADO['handlers'][0]"),
        ({"settings": []}, "TORNADO['settings']"),
        ({"threads": 0}, "TORNADO['threads']"),
        ({"header_timeout": 0}, "TORNADO['header_timeout']"),
        ({"body_timeout": "60"}, "TORNADO['body_timeout']"),
        ({"max_body_size": 1.5}, "TORNADO['max_body_size']"),
        ({"max_header_size": -1}, "TORNADO['max_header_size']"),
        ({"max_fanout_backlog": 0}, "TORNADO['max_fanout_backlog']"),
        ({"admin": "yes"}, "TORNADO['admin']"),
        ({"admin_max_rows": 0}, "TORNADO['admin_max_rows']"),
        ({"prot": 8000}, "'prot'"),
        ([("port", 1)], "TORNADO setting should be a dict"),
    ],
)
def test_a_wrong_value_or_unknown_key_names_the_key(raw: object, named: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(raw)


def test_an_invalid_setting_is_reported_by_the_system_check_with_a_stable_id() -> None:
    with override_settings(TORNADO={"port": "x"}):
        errors = checks.run_checks()
    assert [e.id for e in errors if e.id.startswith("tornado_websockets")] == [
        "tornado_websockets.E001"
    ]
    with override_settings(TORNADO={"port": 8001}):
        assert not [e for e in checks.run_checks() if e.id.startswith("tornado_websockets")]
