"""A page that goes offline while messages are emitted gets every one of them back."""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import connect

from .helpers import expect

pytestmark = pytest.mark.browser

OFFLINE_SECONDS = 5.0
MESSAGES = 50

LISTEN = """
() => {
  window.got = [];
  window.recovered = [];
  window.closes = 0;
  const ws = new TornadoWebSocket('/news');
  ws.on('news', (data) => window.got.push(data.n));
  ws.on('recovered', (data) => window.recovered.push(data));
  ws.on('close', () => { window.closes += 1; });
  ws.on('open', () => { document.body.dataset.newsState = 'open'; });
  ws.on('close', () => { document.body.dataset.newsState = 'closed'; });
}
"""


def test_a_page_offline_for_five_seconds_gets_all_fifty_messages_in_order_once(
    live_url, new_page
) -> None:
    page = new_page(live_url + "/")
    page.evaluate(LISTEN)
    body = page.locator("body")
    expect(body).to_have_attribute("data-news-state", "open")
    port = live_url.rsplit(":", 1)[1]
    with connect(f"ws://127.0.0.1:{port}/ws/news", proxy=None) as publisher:
        publisher.send(json.dumps({"event": "publish", "data": {"n": -1}}))
        page.wait_for_function("window.got.length === 1")

        page.context.set_offline(True)
        expect(body).to_have_attribute("data-news-state", "closed")
        # The messages are spread over the time the page stays offline.
        for n in range(MESSAGES):
            publisher.send(json.dumps({"event": "publish", "data": {"n": n}}))
            time.sleep(OFFLINE_SECONDS / MESSAGES)
        assert page.evaluate("window.got") == [-1]
        page.context.set_offline(False)

        page.wait_for_function("window.recovered.length === 1", timeout=30_000)
        publisher.send(json.dumps({"event": "publish", "data": {"n": MESSAGES}}))
        page.wait_for_function(f"window.got.includes({MESSAGES})")
    assert page.evaluate("window.got") == [-1, *range(MESSAGES), MESSAGES]
    recovered = page.evaluate("window.recovered[0]")
    assert recovered["recovered"] is True
    assert recovered["missed"] == MESSAGES
    assert recovered["broadcast"]["recovered"] is True
    assert page.evaluate("window.closes") >= 1
