"""Modules: reusable pieces bound to a ``WebSocket`` (``ws.bind(module)``)."""

from .module import Module
from .progressbar import ProgressBar

__all__ = ["Module", "ProgressBar"]
