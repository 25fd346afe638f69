"""The example site's tests in pytest style, with the library's fixtures.

Run them with `pytest` from example/ (pytest-django reads example/pytest.ini).
"""

import asyncio

import pytest
from django.contrib.auth.models import User

from demo.models import ChatMessage
from tornado_websockets.testing import AsyncWebSocketTestClient, RequestFailed


def test_echo_replies_to_the_sender_only(ws_client):
    first = ws_client.connect("/echo")
    second = ws_client.connect("/echo")
    first.receive("new_connection")
    first.emit("message", {"message": "just for me"})
    assert first.receive("message") == {"message": "just for me"}
    second.receive("new_connection")
    second.receive_nothing(timeout=0.3)


def test_a_request_raises_when_the_handler_fails(ws_client):
    socket = ws_client.connect("/echo")
    with pytest.raises(RequestFailed, match="fail"):
        socket.request("fail")


def test_an_authenticated_user_chats_under_their_name_and_the_orm_sees_it(ws_client):
    ada = User.objects.create_user("ada", password="analytical-engine")
    socket = ws_client.connect("/chat", user=ada)
    socket.emit("join")
    assert socket.receive("history")["username"] == "ada"
    socket.emit("message", {"message": "stored"})
    assert socket.receive("message")["username"] == "ada"
    assert ChatMessage.objects.get().message == "stored"


def test_the_async_client_works_too(tornado_live_server):
    async def scenario():
        client = AsyncWebSocketTestClient(tornado_live_server)
        socket = await client.connect("/echo")
        assert await socket.request("reverse", {"message": "async"}) == {"message": "cnysa"}
        await client.close()

    asyncio.run(scenario())
