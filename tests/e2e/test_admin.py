"""The admin's live page in Chromium, logged in as staff through the admin's login form.

A connection another client opens shows up within 2 s with its rooms; the chart moves while
messages flow; the page's Close button closes that connection with 4009; with two processes on
Redis, the page shows both and closes a connection of the other. The screenshots of the
documentation (docs/img/admin-*.png) are the ones these tests leave in test-artifacts/, taken
with DOCS_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.processes import EXAMPLE, Server, manage

from .helpers import ARTIFACTS, expect

pytestmark = pytest.mark.browser

PAGE = "/admin/tornado_websockets/live/"
CLOSED_BY_ADMIN = 4009
# DOCS_SCREENSHOTS=1: let the chart fill for a minute before the screenshots of the docs.
SCREENSHOT_SAMPLES = 60 if os.environ.get("DOCS_SCREENSHOTS") == "1" else 0

MEMBERS = """
import json
import os
from django.contrib.auth import (BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY,
                                 get_user_model)
from django.contrib.sessions.backends.db import SessionStore

User = get_user_model()
names = json.loads({names!r})
User.objects.create_superuser(names["staff"], password="staff-password")
sessions = {{}}
for key in ("carol", "dave"):
    user = User.objects.create_user(names[key], password="x-password")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions[key] = session.session_key
print(json.dumps(sessions))
"""


@pytest.fixture
def admin_server(demo_site: Any) -> Iterator[Server]:
    """A server of its own: the page then shows only this test's connections."""
    server = demo_site.start()
    yield server
    server.stop()


def make_users(env: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    done = manage(["shell", "-c", MEMBERS.format(names=json.dumps(names))], EXAMPLE, env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def chat_member(stack: ExitStack, port: int, username: str, session: str) -> Any:
    """A chat client of a logged-in user, joined (so in the room ``chat``)."""
    conn = stack.enter_context(
        connect(
            f"ws://127.0.0.1:{port}/ws/chat",
            open_timeout=15,
            proxy=None,
            additional_headers={"Cookie": f"sessionid={session}"},
        )
    )
    conn.send(json.dumps({"event": "join", "data": {"username": username}}))
    while json.loads(conn.recv(timeout=15)).get("event") != "history":
        pass
    return conn


def close_code(conn: Any, timeout: float = 15.0) -> int | None:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            conn.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError("the connection was still open")


class Chatter(threading.Thread):
    """Sends echo messages in bursts ten times a second until stopped: traffic for the chart."""

    def __init__(self, stack: ExitStack, port: int) -> None:
        super().__init__(daemon=True)
        # Never read: an unbounded receive buffer keeps the client answering the server's pings.
        url = f"ws://127.0.0.1:{port}/ws/echo"
        self.conn = stack.enter_context(connect(url, proxy=None, max_queue=None))
        self.stopped = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.stopped.wait(0.1):
            tick += 1
            for _ in range(2 + tick % 5 + (tick // 50) % 2 * 2):  # under message_rate
                self.conn.send(json.dumps({"event": "message", "data": {"message": "hi"}}))

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)


def test_staff_sees_a_new_connection_its_rooms_and_traffic_live_and_closes_it(
    browser: Any, demo_site: Any, admin_server: Server
) -> None:
    tag = uuid.uuid4().hex[:6]
    names = {"staff": f"staff-{tag}", "carol": f"carol-{tag}", "dave": f"dave-{tag}"}
    sessions = make_users(demo_site.env, names)
    base = f"http://127.0.0.1:{admin_server.port}"
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    stack = ExitStack()
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/admin/login/?next={PAGE}")
        page.fill("#id_username", names["staff"])
        page.fill("#id_password", "staff-password")
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{base}{PAGE}")
        expect(page.locator("#tws-state")).to_have_attribute("data-state", "open")
        expect(page.locator("#tws-nodes tbody tr")).to_have_count(1)

        carol = chat_member(stack, admin_server.port, names["carol"], sessions["carol"])
        opened = time.monotonic()
        row = page.locator("#tws-connections tbody tr", has_text=names["carol"])
        expect(row).to_be_visible(timeout=2000)
        assert time.monotonic() - opened < 2.0
        expect(row.locator(".tws-conn-rooms")).to_have_text("chat")
        expect(page.locator("#tws-rooms tbody tr[data-room=chat] td").nth(2)).to_have_text("1")
        chat_member(stack, admin_server.port, names["dave"], sessions["dave"])
        expect(page.locator("#tws-rooms tbody tr[data-room=chat] td").nth(2)).to_have_text("2")

        chart = page.locator("#tws-chart")
        chatter = Chatter(stack, admin_server.port)
        chatter.start()
        try:
            expect(chart).not_to_have_attribute("data-last-in", "0")
            first = int(chart.get_attribute("data-samples") or 0)
            expect(chart).not_to_have_attribute("data-samples", str(first))
            expect(page.locator("#tws-rate-out")).not_to_have_text("0")
            echo_in = page.locator('#tws-paths tbody tr[data-path="/ws/echo"] td').nth(2)
            expect(echo_in).not_to_have_text("0")
            if SCREENSHOT_SAMPLES:
                expect(chart).to_have_attribute(
                    "data-samples", str(SCREENSHOT_SAMPLES), timeout=SCREENSHOT_SAMPLES * 2000
                )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "admin-live.png"), full_page=True)
        finally:
            chatter.stop()

        page.fill("#tws-search", "carol")
        expect(page.locator("#tws-connections tbody tr")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "admin-search.png"), full_page=True)
        row.locator(".tws-close").click()
        assert close_code(carol) == CLOSED_BY_ADMIN
        expect(row).to_have_count(0)
        expect(page.locator("#tws-message")).to_contain_text("done")
    finally:
        stack.close()
        context.close()
    assert not errors, errors


@pytest.mark.redis
def test_with_two_processes_on_redis_the_page_shows_both_and_closes_on_the_other(
    browser: Any, demo_site: Any, machine_redis: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    names = {"staff": f"staff-{tag}", "carol": f"carol-{tag}", "dave": f"dave-{tag}"}
    sessions = make_users(demo_site.env, names)
    prefix = f"tws-admin-e2e-{tag}"
    env = {**demo_site.env, "DEMO_BROKER": machine_redis, "DEMO_BROKER_PREFIX": prefix}
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    stack = ExitStack()
    try:
        first, second = (Server(["127.0.0.1:0", "--noreload"], EXAMPLE, env) for _ in "12")
        for server in (first, second):
            stack.callback(server.stop)
            server.wait_until_serving()
        page = context.new_page()
        base = f"http://127.0.0.1:{first.port}"
        page.goto(f"{base}/admin/login/?next={PAGE}")
        page.fill("#id_username", names["staff"])
        page.fill("#id_password", "staff-password")
        page.click("input[type=submit]")
        expect(page.locator("#tws-nodes tbody tr")).to_have_count(2)
        expect(page.locator("#tws-nodes tbody")).to_contain_text("Redis broker, connected")

        far = chat_member(stack, second.port, names["carol"], sessions["carol"])
        opened = time.monotonic()
        row = page.locator("#tws-connections tbody tr", has_text=names["carol"])
        expect(row).to_be_visible(timeout=2500)
        assert time.monotonic() - opened < 2.5
        chat_member(stack, first.port, names["dave"], sessions["dave"])
        expect(page.locator("#tws-rooms tbody tr[data-room=chat] td").nth(2)).to_have_text("2")
        page.screenshot(path=str(ARTIFACTS / "admin-two-processes.png"), full_page=True)

        row.locator(".tws-close").click()
        assert close_code(far) == CLOSED_BY_ADMIN
        expect(row).to_have_count(0)
    finally:
        stack.close()
        context.close()
