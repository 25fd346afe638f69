"""The chat page: two visitors see each other's messages; warnings reach the page."""

from __future__ import annotations

import re
import uuid

import pytest

from .helpers import expect, expect_connected, join, log_entry, message_entry, send

pytestmark = pytest.mark.browser

ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def test_two_chat_pages_see_each_others_messages(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    alice_name, bob_name = f"alice-{tag}", f"bob-{tag}"
    alice = new_page(f"{live_url}/chat/")
    join(alice, alice_name)
    bob = new_page(f"{live_url}/chat/")
    join(bob, bob_name)
    bob_joined = log_entry(alice, "joined", bob_name)
    expect(bob_joined).to_have_count(1)

    send(alice, f"Hi Bob {tag}")
    send(bob, f"Hi Alice {tag}")

    for page in (alice, bob):
        from_alice = message_entry(page, f"Hi Bob {tag}")
        expect(from_alice.locator(".chat-username")).to_have_text(alice_name)
        expect(from_alice.locator(".chat-text")).to_have_text(f"Hi Bob {tag}")
        from_bob = message_entry(page, f"Hi Alice {tag}")
        expect(from_bob.locator(".chat-username")).to_have_text(bob_name)
        expect(from_bob.locator("time")).to_have_attribute("datetime", ISO_8601)


def test_a_chat_page_joining_later_gets_the_history(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    early = new_page(f"{live_url}/chat/")
    join(early, f"early-{tag}")
    send(early, f"Before you came {tag}")
    expect(message_entry(early, f"Before you came {tag}")).to_have_count(1)

    late = new_page(f"{live_url}/chat/")
    join(late, f"late-{tag}")

    expect(message_entry(late, f"Before you came {tag}")).to_have_count(1)


def test_a_message_sent_before_joining_gets_the_servers_warning(live_url, new_page):
    page = new_page(f"{live_url}/chat/")
    expect_connected(page)

    page.evaluate("ws.emit('message', {message: 'anyone there?'})")

    expect(page.locator("#chat-warning")).to_have_text("Join the chat before sending messages.")


def test_chat_pages_are_told_when_someone_leaves(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    staying = new_page(f"{live_url}/chat/")
    join(staying, f"staying-{tag}")
    leaving = new_page(f"{live_url}/chat/")
    join(leaving, f"leaving-{tag}")

    leaving.close()

    left = log_entry(staying, "left", f"leaving-{tag}")
    expect(left).to_have_count(1)


def test_a_joined_page_locks_its_name_and_shows_no_joined_line_of_its_own(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    alice_name, bob_name = f"alice-{tag}", f"bob-{tag}"
    alice = new_page(f"{live_url}/chat/")
    expect(alice.locator("#chat-username")).to_be_enabled()
    join(alice, alice_name)
    expect(alice.locator("#chat-username")).to_be_disabled()
    expect(alice.locator("#chat-join")).to_be_disabled()

    bob = new_page(f"{live_url}/chat/")
    join(bob, bob_name)
    # Alice's own `joined` would have reached her page before Bob's: once Bob's is shown,
    # hers would be too.
    joined = alice.locator("#chat-log [data-event=joined]")
    expect(joined.filter(has_text=bob_name)).to_have_count(1)
    expect(joined.filter(has_text=alice_name)).to_have_count(0)
    send(bob, f"Hello {tag}")
    expect(message_entry(bob, f"Hello {tag}")).to_have_count(1)
    expect(log_entry(bob, "joined", bob_name)).to_have_count(0)
