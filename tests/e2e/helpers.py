"""Assertions shared by the end-to-end tests, on the ids the example templates document.

Test modules import `expect` from here, so that they are collected even without Playwright.
"""

from __future__ import annotations

from typing import Any

from tests.processes import REPOSITORY

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (locally) or fails (CI) with the reason
    expect = None  # type: ignore[assignment]

# Screenshots and other files the tests leave for people to look at (ignored by git).
ARTIFACTS = REPOSITORY / "test-artifacts"


def expect_connected(page: Any) -> None:
    """Wait until the page's TornadoWebSocket is open (#connection-state, see base.html)."""
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "open")
