"""The models of the ``tornado_websockets`` app: none with a table.

``Live`` is the admin's entry for the live page (see ``tornado_websockets.admin``): an
unmanaged model without a table, so that the page sits in the admin index like any other and
its action has a permission of its own, ``tornado_websockets.close_connections``, granted to
users and groups in the admin as usual. Nothing ever queries it.
"""

from __future__ import annotations

from django.db import models

__all__ = ["Live"]


class Live(models.Model):
    """The live page of WebSocket connections, rooms and traffic in the Django admin."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("close_connections", "Can close WebSocket connections")]
        verbose_name = "live connections"
        verbose_name_plural = "live connections"
