"""The example site's own tests, written with the library's test helpers (Django style).

Run them with `python manage.py test demo` from example/.
"""

from django.contrib.auth.models import User

from demo.models import ChatMessage
from tornado_websockets.testing import RequestFailed, TornadoLiveServerTestCase


class EchoTests(TornadoLiveServerTestCase):
    def test_a_message_is_echoed_to_its_sender(self):
        with self.ws_client.connect("/echo") as socket:
            self.assertEqual(socket.receive("new_connection"), {})
            socket.emit("message", {"message": "hello"})
            self.assertEqual(socket.receive("message"), {"message": "hello"})

    def test_requests_get_the_handlers_answer_or_its_failure(self):
        socket = self.ws_client.connect("/echo")
        self.assertEqual(socket.request("reverse", {"message": "abc"}), {"message": "cba"})
        with self.assertRaises(RequestFailed):
            socket.request("fail")


class ChatTests(TornadoLiveServerTestCase):
    def test_joining_sends_the_history_stored_with_the_orm_and_tells_the_others(self):
        ChatMessage.objects.create(username="grace", message="first!")
        other = self.ws_client.connect("/chat")
        socket = self.ws_client.connect("/chat")
        socket.emit("join", {"username": "alan"})
        history = socket.receive("history")
        self.assertEqual(history["username"], "alan")
        messages = [(m["username"], m["message"]) for m in history["messages"]]
        self.assertEqual(messages, [("grace", "first!")])
        self.assertEqual(other.receive("joined"), {"username": "alan"})
        # The joiner is not told it joined. (Room presence diffs may come: a member gets them.)
        with self.assertRaises(TimeoutError):
            socket.receive("joined", timeout=0.2)

    def test_a_logged_in_user_joins_under_their_own_name(self):
        ada = User.objects.create_user("ada", password="analytical-engine")
        socket = self.ws_client.connect("/chat", user=ada)
        socket.emit("join", {})
        self.assertEqual(socket.receive("history")["username"], "ada")

    def test_messages_are_stored_and_reach_everyone(self):
        alan = self.ws_client.connect("/chat")
        grace = self.ws_client.connect("/chat")
        alan.emit("join", {"username": "alan"})
        grace.emit("join", {"username": "grace"})
        alan.receive("joined")
        grace.emit("message", {"message": "hi alan"})
        self.assertEqual(alan.receive("message")["message"], "hi alan")
        self.assertEqual(ChatMessage.objects.get().username, "grace")

    def test_a_message_before_joining_gets_a_warning_and_is_not_stored(self):
        socket = self.ws_client.connect("/chat")
        socket.emit("message", {"message": "too early"})
        self.assertIn("Join the chat", socket.receive("warning")["message"])
        self.assertFalse(ChatMessage.objects.exists())
