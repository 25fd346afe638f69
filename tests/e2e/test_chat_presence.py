"""The chat page's presence: who is online, live, and the ephemeral "typing…" line."""

from __future__ import annotations

import uuid

import pytest

from tests.processes import EXAMPLE, Server

from .helpers import expect, join, online

pytestmark = pytest.mark.browser


def test_two_chat_pages_see_each_other_online_and_one_leaving(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    alice_name, bob_name = f"alice-{tag}", f"bob-{tag}"
    alice = new_page(f"{live_url}/chat/")
    join(alice, alice_name)
    bob = new_page(f"{live_url}/chat/")
    join(bob, bob_name)

    for page in (alice, bob):
        expect(online(page, alice_name)).to_have_count(1)
        expect(online(page, bob_name)).to_have_count(1)

    bob.close()

    expect(online(alice, bob_name)).to_have_count(0)
    expect(online(alice, alice_name)).to_have_count(1)


def test_typing_shows_on_the_other_page_and_goes_when_the_message_is_sent(live_url, new_page):
    tag = uuid.uuid4().hex[:8]
    writer, reader = new_page(f"{live_url}/chat/"), new_page(f"{live_url}/chat/")
    join(writer, f"writer-{tag}")
    join(reader, f"reader-{tag}")
    expect(online(writer, f"reader-{tag}")).to_have_count(1)
    typing = reader.locator("#chat-typing")
    expect(typing).to_be_hidden()

    writer.locator("#chat-input").press_sequentially("hello", delay=20)

    expect(typing).to_be_visible()
    expect(typing).to_have_text(f"writer-{tag} is typing…")
    expect(writer.locator("#chat-typing")).to_be_hidden()  # not sent back to the writer

    writer.click("#chat-send")

    expect(typing).to_be_hidden()


@pytest.mark.redis
def test_pages_on_two_processes_over_redis_see_the_same_presence(
    demo_site, machine_redis, new_page
):
    env = dict(
        demo_site.env,
        DEMO_BROKER=machine_redis,
        DEMO_BROKER_PREFIX=f"tws-test-{uuid.uuid4().hex[:12]}",
    )
    servers = [Server(["127.0.0.1:0", "--noreload"], cwd=EXAMPLE, env=env) for _ in range(2)]
    try:
        for server in servers:
            server.wait_until_serving()
        tag = uuid.uuid4().hex[:8]
        ann = new_page(f"http://127.0.0.1:{servers[0].port}/chat/")
        join(ann, f"ann-{tag}")
        bob = new_page(f"http://127.0.0.1:{servers[1].port}/chat/")
        join(bob, f"bob-{tag}")
        for page in (ann, bob):
            expect(online(page, f"ann-{tag}")).to_have_count(1)
            expect(online(page, f"bob-{tag}")).to_have_count(1)

        read = "ws.presence('chat').then(e => e.map(x => [x.client, x.user.username]).sort())"
        seen_by_ann, seen_by_bob = ann.evaluate(read), bob.evaluate(read)
        assert seen_by_ann == seen_by_bob
        assert sorted(name for _, name in seen_by_ann) == [f"ann-{tag}", f"bob-{tag}"]
        assert len({client.split(":")[0] for client, _ in seen_by_ann}) == 2  # two processes
        stats = "ws.presenceStats('chat')"
        assert ann.evaluate(stats) == bob.evaluate(stats) == {"clients": 2, "users": 2}

        bob.close()

        expect(online(ann, f"bob-{tag}")).to_have_count(0)
    finally:
        for server in servers:
            server.stop()
