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
import json.encoder
from collections.abc import Callable
from typing import Any

_encode: Callable[[Any], str] | None = None


def _build_encode() -> Callable[[Any], str]:
    from django.core.serializers.json import DjangoJSONEncoder

    class PayloadEncoder(DjangoJSONEncoder):
        def default(self, o: Any) -> Any:
            hook = getattr(type(o), "__json__", None)
            if hook is not None:
                return hook(o)
            return super().default(o)

    # allow_nan=False: NaN and infinities raise ValueError instead of becoming non-JSON text.
    encoder = PayloadEncoder(separators=(",", ":"), allow_nan=False)
    try:
        # What JSONEncoder.encode builds on every call (a C encoder), built once: it halves
        # the cost of encoding a small payload. Without its table of objects being encoded
        # (markers=None), which is what makes a shared encoder safe in every thread; a
        # circular payload then ends in RecursionError, reported as ValueError below.
        encode_chunks = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
            None,
            encoder.default,
            json.encoder.encode_basestring_ascii,
            None,
            encoder.key_separator,
            encoder.item_separator,
            False,
            False,
            False,
        )
    except (AttributeError, TypeError):  # no C accelerator, or another signature
        return encoder.encode

    def encode(payload: Any) -> str:
        return "".join(encode_chunks(payload, 0))

    return encode


def dumps(payload: Any) -> str:
    """Encode ``payload`` as compact, strict ASCII JSON (RFC 8259); ``TypeError`` for what
    cannot be encoded, ``ValueError`` for NaN and infinities, and for payloads that contain
    themselves or nest deeper than the interpreter's recursion limit."""
    global _encode
    encode = _encode
    if encode is None:
        # Two threads may build it at once on first use: both results are equivalent.
        encode = _encode = _build_encode()
    try:
        return encode(payload)
    except RecursionError:
        raise ValueError("Circular reference detected, or nested too deeply") from None
