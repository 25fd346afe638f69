"""The README's quick start, as written: a fresh ``django-admin startproject``, the README's files
and commands, ``runtornado``, and a real Chromium that opens the page and sees the echo.

Nothing is added: no ``collectstatic`` (``runtornado`` serves the static files in DEBUG, as
``runserver`` does), no settings of the test suite's own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import Server, django_admin, environment, http_get, manage, running_server
from .skipping import require
from .test_docs import code_blocks

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS = README.parent / "docs"
APPEND = " (add at the end)"
COMMANDS = (
    "django-admin startproject mysite",
    "python manage.py startapp myapp",
    "python manage.py migrate",
    "python manage.py runtornado",
)


def quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Quick start") : text.index("## Documentation")]


@pytest.mark.parametrize("page", [README, DOCS / "tutorial.md"], ids=["README", "tutorial"])
def test_the_first_install_is_from_the_checkout_not_from_the_package_index(page: Path) -> None:
    shell = "".join(b.source for b in code_blocks(page) if b.language == "sh")
    installs = re.findall(r"^pip install (\S+)", shell, flags=re.MULTILINE)
    assert installs, f"{page.name} no longer shows how to install"
    # The package index has 0.2.2 only: the first install must be a path (the checkout).
    assert installs[0].startswith(("/", ".")), installs
    assert "0.2.2" in page.read_text(encoding="utf-8"), "say what the package index gives"


def test_make_demo_installs_the_package_alone(tmp_path: Path) -> None:
    # A dry run (-n) of every step (-B), into a virtualenv that does not exist.
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", "-n", "-B", "demo", f"VENV={venv}"],
        cwd=README.parent, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    installs = [line for line in done.stdout.splitlines() if " pip install" in line]
    packages = [line.split(" pip install", 1)[1].replace("-q", "").split() for line in installs]
    assert ["--upgrade", "pip"] in packages and ["-e", "."] in packages, done.stdout
    assert len(packages) == 2, done.stdout
    assert "runtornado 127.0.0.1:8000" in done.stdout


@pytest.fixture(scope="module")
def quick_start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    blocks = [b for b in code_blocks(README) if b.where.startswith("README.md")]
    start, end = (quick_start_line(n) for n in ("## Quick start", "## Documentation"))
    blocks = [b for b in blocks if start < int(b.where.rsplit(":", 1)[1]) < end]
    shell = "".join(b.source for b in blocks if b.language == "sh")
    for command in COMMANDS:
        assert command in shell, f"the quick start no longer says {command!r}"

    parent = tmp_path_factory.mktemp("readme")
    django_admin(["startproject", "mysite"], cwd=parent)
    root = parent / "mysite"
    env = environment("mysite.settings")
    done = manage(["startapp", "myapp"], root, env)
    assert done.returncode == 0, done.stderr
    titled = [b for b in blocks if b.title]
    assert {b.title for b in titled} == {
        "mysite/settings.py" + APPEND,
        "myapp/views.py",
        "myapp/templates/myapp/index.html",
        "mysite/urls.py",
    }
    for block in titled:
        if block.title.endswith(APPEND):
            target = root / block.title[: -len(APPEND)]
            target.write_text(target.read_text() + "\n\n" + block.source)
        else:
            target = root / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.source)
    done = manage(["migrate"], root, env)
    assert done.returncode == 0, done.stderr
    with running_server(["127.0.0.1:0", "--noreload"], root, env) as server:
        yield server


def quick_start_line(heading: str) -> int:
    lines = README.read_text(encoding="utf-8").splitlines()
    return lines.index(heading) + 1


def test_the_quick_start_project_serves_its_page_and_the_client_without_collectstatic(
    quick_start_server: Server,
) -> None:
    assert "WebSockets: /ws/echo" in quick_start_server.output
    page = http_get(quick_start_server.port, "/")
    assert page.status == 200
    assert '<script src="/static/tornado_websockets/client.js">' in page.text
    client = http_get(quick_start_server.port, "/static/tornado_websockets/client.js")
    assert client.status == 200
    assert b"TornadoWebSocket" in client.body


@pytest.mark.browser
def test_a_browser_opening_the_quick_start_page_sees_the_servers_echo(
    quick_start_server: Server,
) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        expect = sync_playwright = None
    require(sync_playwright is not None, "Playwright for Python is not installed")
    chromium = shutil.which("chromium")
    require(chromium is not None, "Debian's chromium is not installed (apt-get install chromium)")
    errors: list[str] = []
    failed: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context().new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "response",
                lambda answer: failed.append(answer.url) if answer.status >= 400 else None,
            )
            page.goto(f"http://127.0.0.1:{quick_start_server.port}/")
            expect(page.locator("#echo")).to_have_text("hello", timeout=15_000)
        finally:
            browser.close()
    assert not errors, errors
    assert not [url for url in failed if not url.endswith("/favicon.ico")], failed
