"""The event loop a server runs on: uvloop's when it is installed (the ``[speed]`` extra).

uvloop's transports write and read in C; Tornado runs on it unchanged. Any thread.
"""

from __future__ import annotations

import asyncio
import importlib.util

__all__ = ["new_event_loop", "event_loop_name", "uvloop_installed", "wants_uvloop"]


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def wants_uvloop(event_loop: str, transport: str) -> bool:
    """``TORNADO['event_loop']``: ``'auto'`` is uvloop with the asyncio transport when it is
    installed (Tornado's own path gains nothing from it), ``'uvloop'`` always."""
    if event_loop == "auto":
        return transport == "asyncio" and uvloop_installed()
    return event_loop == "uvloop"


def new_event_loop(prefer_uvloop: bool) -> asyncio.AbstractEventLoop:
    """A new loop: uvloop's when ``prefer_uvloop`` and it is installed, asyncio's otherwise."""
    if prefer_uvloop and uvloop_installed():
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def event_loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``'uvloop'`` or ``'asyncio'``, for the banner."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
