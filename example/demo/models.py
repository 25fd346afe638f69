from django.db import models


class ChatMessage(models.Model):
    """One message of the chat page."""

    username = models.CharField(max_length=40)
    message = models.TextField(max_length=2000)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def as_payload(self) -> dict:
        return {"username": self.username, "message": self.message, "created": self.created}
