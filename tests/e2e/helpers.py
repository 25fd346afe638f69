"""Assertions and page steps shared by the end-to-end tests, on the ids the example templates
document (base.html; chat.html for the chat page's).

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


# -- the chat page ---------------------------------------------------------------------------


def join(page: Any, username: str) -> None:
    """Join the chat page's room as ``username``, once its WebSocket is open."""
    expect_connected(page)
    page.fill("#chat-username", username)
    page.click("#chat-join")
    expect(page.locator("#chat-input")).to_be_enabled()


def send(page: Any, text: str) -> None:
    page.fill("#chat-input", text)
    page.click("#chat-send")


def log_entry(page: Any, event: str, text: str) -> Any:
    """The chat log's lines of ``event`` (``message``, ``joined``, ``left``) holding ``text``."""
    return page.locator(f"#chat-log [data-event={event}]").filter(has_text=text)


def message_entry(page: Any, text: str) -> Any:
    return log_entry(page, "message", text)


def online(page: Any, username: str) -> Any:
    """``username``'s line in the page's list of who is online."""
    return page.locator(f'#chat-online [data-username="{username}"]')
