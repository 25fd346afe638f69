"""The echo page: emit and receive, request() resolved and rejected."""

from __future__ import annotations

import pytest

from .helpers import expect, expect_connected

pytestmark = pytest.mark.browser


def test_a_message_sent_from_the_echo_page_comes_back_from_the_server(live_url, new_page):
    page = new_page(f"{live_url}/echo/")
    expect_connected(page)

    page.fill("#echo-input", "Hello, Tornado")
    page.click("#echo-send")

    expect(page.locator("#echo-log [data-event=message]")).to_have_text(["Hello, Tornado"])


def test_every_echo_page_hears_of_each_new_connection(live_url, new_page):
    first = new_page(f"{live_url}/echo/")
    notices = first.locator("#echo-log [data-event=new_connection]")
    expect(notices).to_have_count(1)  # its own connection

    expect_connected(new_page(f"{live_url}/echo/"))

    expect(notices).to_have_count(2)


def test_request_resolves_with_what_the_server_handler_returned(live_url, new_page):
    page = new_page(f"{live_url}/echo/")
    expect_connected(page)

    page.fill("#echo-input", "abc")
    page.click("#echo-reverse")

    result = page.locator("#echo-result")
    expect(result).to_have_attribute("data-outcome", "resolved")
    expect(result).to_have_text("cba")


def test_request_rejects_when_the_server_handler_raises(live_url, new_page):
    page = new_page(f"{live_url}/echo/")
    expect_connected(page)

    page.click("#echo-fail")

    result = page.locator("#echo-result")
    expect(result).to_have_attribute("data-outcome", "rejected")
    expect(result).to_contain_text("'fail'")


def test_request_resolves_through_the_client_api_in_the_page(live_url, new_page):
    page = new_page(f"{live_url}/echo/")
    expect_connected(page)

    outcome = page.evaluate(
        """async () => {
            const data = await ws.request('reverse', {message: 'stressed'});
            const error = await ws.request('fail').then(() => null, (e) => e);
            return {
                data,
                error: {name: error.name, reason: error.reason, event: error.event},
                isRequestError: error instanceof TornadoWebSocket.RequestError,
            };
        }"""
    )

    assert outcome == {
        "data": {"message": "desserts"},
        "error": {"name": "RequestError", "reason": "server", "event": "fail"},
        "isRequestError": True,
    }
