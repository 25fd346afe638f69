"""The progress bar page reaches 100 % with both engines, as the DOM shows it."""

from __future__ import annotations

import pytest

from .helpers import ARTIFACTS, expect, expect_connected

pytestmark = pytest.mark.browser

FINAL_LABEL = "[100/100] Task 100 done"


def open_progress_page(new_page, live_url: str, engine: str):
    page = new_page(f"{live_url}/progress/?engine={engine}")
    expect_connected(page)
    expect(page.locator("#progress-engine")).to_have_attribute("data-engine", engine)
    return page


def reset(page) -> None:
    """Back to min: the server sends init to every client."""
    expect(page.locator("#progress-reset")).to_be_enabled()
    page.click("#progress-reset")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")


def test_the_bootstrap_engine_shows_the_progression_up_to_100_percent(live_url, new_page):
    page = open_progress_page(new_page, live_url, "bootstrap")
    bar = page.get_by_role("progressbar")
    reset(page)
    expect(page.locator("#progress-container .progress-bar")).to_have_attribute(
        "style", "width: 0%;"
    )

    page.click("#progress-start")

    root = page.locator("#progress-container .tws-progressbar")
    expect(root).to_have_attribute("data-state", "done")
    expect(bar).to_have_class("progress")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "100")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    inner = bar.locator(".progress-bar")
    expect(inner).to_have_attribute("style", "width: 100%;")
    expect(inner).to_have_class("progress-bar bg-success progress-bar-striped")
    expect(inner.locator(".progressbar-progression")).to_have_text("100 %")
    expect(root.locator(".progressbar-label")).to_have_text(FINAL_LABEL)
    expect(page.locator("#progress-start")).to_be_enabled()
    width = page.evaluate(
        """() => {
            const outer = document.querySelector('#progress-container .progress');
            const inner = outer.querySelector('.progress-bar');
            return inner.getBoundingClientRect().width / outer.getBoundingClientRect().width;
        }"""
    )
    assert width == pytest.approx(1.0, abs=0.01)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "progress.png"), full_page=True)


def test_the_html5_engine_shows_the_progression_up_to_100_percent(live_url, new_page):
    page = open_progress_page(new_page, live_url, "html5")
    progress = page.locator("#progress-container progress")
    reset(page)
    expect(progress).to_have_js_property("value", 0)

    page.click("#progress-start")

    root = page.locator("#progress-container .tws-progressbar")
    expect(root).to_have_attribute("data-state", "done")
    expect(page.get_by_role("progressbar")).to_have_count(1)
    expect(progress).to_have_js_property("value", 100)
    expect(progress).to_have_js_property("max", 100)
    expect(progress).to_have_js_property("position", 1)
    expect(progress).to_have_attribute("aria-valuemin", "0")
    expect(progress).to_have_attribute("aria-valuemax", "100")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(root.locator(".progressbar-progression")).to_have_text("100%")
    expect(root.locator(".progressbar-label")).to_have_text(FINAL_LABEL)
    expect(page.locator("#progress-start")).to_be_enabled()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "progress-html5.png"), full_page=True)


def test_every_progress_page_follows_a_progression_started_by_another(live_url, new_page):
    watcher = open_progress_page(new_page, live_url, "bootstrap")
    starter = open_progress_page(new_page, live_url, "html5")
    reset(starter)
    expect(watcher.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")

    starter.click("#progress-start")

    expect(watcher.locator(".tws-progressbar")).to_have_attribute("data-state", "done")
    expect(watcher.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(watcher.locator(".progressbar-label")).to_have_text(FINAL_LABEL)


def test_reset_after_a_progression_clears_the_label_and_waits_again(live_url, new_page):
    page = open_progress_page(new_page, live_url, "bootstrap")
    reset(page)
    page.click("#progress-start")
    root = page.locator("#progress-container .tws-progressbar")
    expect(root).to_have_attribute("data-state", "done")
    expect(root.locator(".progressbar-label")).to_have_text(FINAL_LABEL)

    reset(page)

    expect(root).to_have_attribute("data-state", "waiting")
    expect(root.locator(".progressbar-label")).to_have_text("")
    expect(root.locator(".progressbar-progression")).to_have_text("0 %")
