"""A page whose server goes away and comes back reconnects by itself, without a reload."""

from __future__ import annotations

import signal

import pytest

from .helpers import expect, expect_connected, join, message_entry, send

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "stop_signal",
    [signal.SIGTERM, signal.SIGKILL],
    ids=["after-a-graceful-shutdown", "after-the-server-is-killed"],
)
def test_the_echo_page_reconnects_and_delivers_what_was_emitted_while_down(
    demo_site, new_page, stop_signal
):
    server = demo_site.start()
    port = server.port
    try:
        page = new_page(f"http://127.0.0.1:{port}/echo/")
        expect_connected(page)
        page.evaluate("window.notReloaded = true")
        log = page.locator("#echo-log [data-event=message]")

        server.signal(stop_signal)
        server.wait_for_exit()
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "connecting")
        page.fill("#echo-input", "sent while the server was down")
        page.click("#echo-send")
        expect(log).to_have_count(0)

        server.stop()
        server = demo_site.start(port)
        expect_connected(page)

        expect(log).to_have_text(["sent while the server was down"])
        page.fill("#echo-input", "sent after the reconnection")
        page.click("#echo-send")
        expect(log).to_have_text(["sent while the server was down", "sent after the reconnection"])
        assert page.evaluate("window.notReloaded") is True
    finally:
        server.stop()


def test_the_chat_page_joins_again_before_its_queued_message_is_delivered(demo_site, new_page):
    server = demo_site.start()
    port = server.port
    try:
        page = new_page(f"http://127.0.0.1:{port}/chat/")
        join(page, "phoenix")

        server.signal(signal.SIGKILL)
        server.wait_for_exit()
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "connecting")
        send(page, "written while offline")

        server.stop()
        server = demo_site.start(port)
        expect_connected(page)

        # The page's open listener joins again, before the queue is flushed: the server
        # accepts the message instead of warning that it came before a join.
        message = message_entry(page, "written while offline")
        expect(message.locator(".chat-username")).to_have_text("phoenix")
        expect(page.locator("#chat-warning")).to_be_hidden()
    finally:
        server.stop()
