"""JSON encoding of payloads with Django's encoder.

Payloads go through ``django.core.serializers.json.DjangoJSONEncoder`` (dates and times,
decimals, UUIDs, lazy translation strings), plus one hook of ours: an object whose class
defines ``__json__(self)`` is encoded as what that method returns (a connection encodes as
``{"id": ...}``, so the original documentation's ``emit(..., {'socket': socket})`` works).

Django is imported on the first encode, not at import time, so that importing the package never
needs configured settings. ``dumps`` is safe to call from any thread.
"""

from __future__ import annotations

import json
from typing import Any

_encoder: json.JSONEncoder | None = None


def _build_encoder() -> json.JSONEncoder:
    from django.core.serializers.json import DjangoJSONEncoder

    class PayloadEncoder(DjangoJSONEncoder):
        def default(self, o: Any) -> Any:
            hook = getattr(type(o), "__json__", None)
            if hook is not None:
                return hook(o)
            return super().default(o)

    # allow_nan=False: NaN and infinities raise ValueError instead of becoming non-JSON text.
    return PayloadEncoder(separators=(",", ":"), allow_nan=False)


def dumps(payload: Any) -> str:
    """Encode ``payload`` as compact, strict ASCII JSON (RFC 8259); ``TypeError`` for what
    cannot be encoded, ``ValueError`` for NaN and infinities."""
    global _encoder
    encoder = _encoder
    if encoder is None:
        # Two threads may build it at once on first use: both results are equivalent.
        encoder = _encoder = _build_encoder()
    return encoder.encode(payload)
