"""End-to-end tests of the JS client: real headless Chromium, real `runtornado`, example site.

Debian's chromium is driven by Playwright through `executable_path`; no browser is downloaded.
The example site runs as `manage.py runtornado 127.0.0.1:0 --noreload` against a temporary
database and STATIC_ROOT, prepared with `migrate` and `collectstatic` once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import EXAMPLE, Server, environment, manage
from tests.skipping import require

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by the `browser` fixture: skipped locally, a failure under CI
    expect = sync_playwright = None  # type: ignore[assignment]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# Between two ticks of the demo's progress bar: fast, yet slow enough to see it move.
PROGRESS_DELAY = "0.02"
# Playwright's assertions poll until this deadline (milliseconds).
EXPECT_TIMEOUT = 15_000


class DemoSite:
    """The example project prepared in a temporary folder; starts `runtornado` processes."""

    def __init__(self, folder: Path) -> None:
        self.env = environment(
            "example_site.settings",
            pythonpath=[EXAMPLE],
            DEMO_DB_PATH=str(folder / "db.sqlite3"),
            DEMO_STATIC_ROOT=str(folder / "static"),
            DEMO_PROGRESS_DELAY=PROGRESS_DELAY,
        )
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v0"]):
            done = manage(command, cwd=EXAMPLE, env=self.env)
            assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stderr}"

    def start(self, port: int = 0) -> Server:
        """A `runtornado` on 127.0.0.1:`port` (0: any free port), waited for until it serves."""
        server = Server([f"127.0.0.1:{port}", "--noreload"], cwd=EXAMPLE, env=self.env)
        try:
            server.wait_until_serving()
        except BaseException:
            server.stop()
            raise
        return server


@pytest.fixture(scope="package")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    return DemoSite(tmp_path_factory.mktemp("demo-site"))


@pytest.fixture(scope="package")
def live_url(demo_site: DemoSite) -> Iterator[str]:
    """Base URL of a `runtornado` serving the example site, shared by the session's tests."""
    server = demo_site.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    require(sync_playwright is not None, "Playwright for Python is not installed")
    chromium = shutil.which("chromium")
    require(chromium is not None, "Debian's chromium is not installed (apt-get install chromium)")
    expect.set_options(timeout=EXPECT_TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _browser_first(browser: Any) -> None:
    """Every test here needs the browser: check it before starting any server."""


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Opens pages, each in its own browser context (like separate visitors).

    An uncaught exception in a page fails the test: the demo's scripts must run cleanly.
    """
    contexts = []
    errors: list[str] = []

    def open_page(url: str) -> Any:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{url}: {error}"))
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, "uncaught errors in the page:\n" + "\n".join(errors)
