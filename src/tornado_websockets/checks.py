"""System checks (``manage.py check``), with stable ids.

- ``tornado_websockets.E001``: the ``TORNADO`` setting is invalid (the message names the key).
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf


@checks.register()
def check_tornado_setting(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        conf.load()
    except ImproperlyConfigured as error:
        return [
            checks.Error(
                str(error),
                hint="See the TORNADO setting reference in the documentation.",
                id="tornado_websockets.E001",
            )
        ]
    return []
