"""Every page of the example site loads without a failed request (no 404 for a favicon)."""

from __future__ import annotations

import pytest

from .helpers import expect

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/", "/echo/", "/chat/", "/progress/"])
def test_a_page_and_everything_it_loads_answer_without_an_error(live_url, new_page, path):
    failed: list[str] = []
    page = new_page("about:blank")
    page.on("response", lambda answer: failed.append(f"{answer.status} {answer.url}")
            if answer.status >= 400 else None)  # fmt: skip
    page.goto(f"{live_url}{path}")
    page.wait_for_load_state("load")
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_count(1)
    favicon = page.request.get(live_url + icon.get_attribute("href"))
    assert favicon.status == 200
    assert favicon.headers["content-type"].startswith("image/svg+xml")
    assert failed == []
