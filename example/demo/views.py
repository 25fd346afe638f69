"""Pages of the example site and the WebSocket applications behind them.

Declared in views.py as the documentation recommends; `runtornado` imports this module at
start-up, so the sockets answer before any page is requested.
"""

import asyncio

from django.conf import settings
from django.shortcuts import render

from tornado_websockets.exceptions import ClientError
from tornado_websockets.modules import ProgressBar
from tornado_websockets.websocket import WebSocket

from .models import ChatMessage

HISTORY_LENGTH = 50


def home(request):
    return render(request, "demo/home.html")


def echo(request):
    return render(request, "demo/echo.html")


def chat(request):
    return render(request, "demo/chat.html")


def progress(request):
    engine = "html5" if request.GET.get("engine") == "html5" else "bootstrap"
    return render(request, "demo/progress.html", {"engine": engine})


# -- Echo: the documentation's example --------------------------------------------------------

ws_echo = WebSocket("/echo")


@ws_echo.on
def open(socket):
    # Notify all clients about a new connection
    ws_echo.emit("new_connection")


@ws_echo.on
def message(socket, data):
    # Reply to the client
    socket.emit("message", data)

    # A spammer: tell the first client
    if "spam" in str(data.get("message", "")):
        ws_echo[0].emit("got_spam", {"message": data.get("message"), "socket": socket})


@ws_echo.on
def reverse(data):
    """Answer a request(): the return value is the ack's data."""
    return {"message": str(data.get("message", ""))[::-1]}


@ws_echo.on
def fail():
    """Always fails, so the page can show how request() rejects."""
    raise ValueError("This handler fails on purpose.")


# -- Chat: messages stored with the ORM -------------------------------------------------------

ws_chat = WebSocket("/chat", presence=True, presence_events="rooms")
CHAT_ROOM = "chat"  # everyone who joined: who is online, and who "typing…" goes to


@ws_chat.presence_info
def chat_presence(socket):
    # Only the chosen name is shared with the others: nothing of the session or the account.
    username = socket.state.get("username")
    return {"username": username} if username else None


@ws_chat.on
def join(socket, data):
    username = str(data.get("username", "")).strip()[:40]
    if not username and socket.user is not None and socket.user.is_authenticated:
        username = socket.user.get_username()  # logged in to the site: that name by default
    if not username:
        raise ClientError("Choose a username to join the chat.")
    socket.state["username"] = username
    socket.join(CHAT_ROOM)
    latest = ChatMessage.objects.order_by("-created", "-id")[:HISTORY_LENGTH]
    history = [entry.as_payload() for entry in reversed(latest)]
    socket.emit("history", {"messages": history, "username": username})
    # The others are told; the joiner's page shows the history and its own name instead.
    ws_chat.emit("joined", {"username": username}, exclude=socket)


@ws_chat.on
def message(socket, data):  # noqa: F811  (each application has its own `message` handler)
    username = socket.state.get("username")
    if username is None:
        raise ClientError("Join the chat before sending messages.")
    text = str(data.get("message", "")).strip()[:2000]
    if text:
        entry = ChatMessage.objects.create(username=username, message=text)
        ws_chat.emit("message", entry.as_payload())


@ws_chat.on
async def typing(socket, data):
    # Ephemeral: relayed to the room at once, never stored.
    username = socket.state.get("username")
    if username is not None:
        state = {"username": username, "typing": bool(data.get("typing"))}
        ws_chat.emit("typing", state, to=CHAT_ROOM, exclude=socket)


@ws_chat.on
def close(socket):
    username = socket.state.get("username")
    if username is not None:
        ws_chat.emit("left", {"username": username})


# -- Progress bar: the documentation's module example, with async def ------------------------

ws_progress = WebSocket("module_progressbar")
progressbar = ProgressBar("foo", min=0, max=100)

ws_progress.bind(progressbar)
running = {"start": False}


@progressbar.on
def reset():
    progressbar.reset()
    progressbar.emit_init()


@progressbar.on
async def start():
    if running["start"]:
        return  # one progression at a time
    running["start"] = True
    try:
        if progressbar.is_done():
            progressbar.reset()
            progressbar.emit_init()
        for value in range(progressbar.current, progressbar.max):
            await asyncio.sleep(settings.DEMO_PROGRESS_DELAY)  # like time.sleep(), without blocking
            progressbar.tick(
                label=f"[{progressbar.current + 1}/{progressbar.max}] Task {value + 1} done"
            )
    finally:
        running["start"] = False


# -- News: message history, so that a page that lost its connection misses nothing -----------

ws_news = WebSocket("/news", history=100, history_ttl=300)


@ws_news.on
async def publish(data):
    ws_news.emit("news", {"n": data.get("n"), "text": str(data.get("text", ""))[:200]})
