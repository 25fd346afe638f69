"""Who may look at the live page and who may act on it.

Looking takes an active staff account (the admin's own rule); closing connections also takes
the ``tornado_websockets.close_connections`` permission. ``require_close_permission`` reads the
user again from the database, so that a permission withdrawn while the page is open stops the
next action: worker thread only.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ClientError

__all__ = [
    "CLOSE_PERMISSION",
    "NOT_ALLOWED",
    "is_staff",
    "require_close_permission",
    "still_staff",
]

CLOSE_PERMISSION = "tornado_websockets.close_connections"
NOT_ALLOWED = "Closing connections takes the permission tornado_websockets.close_connections."


def is_staff(user: Any) -> bool:
    """Whether ``user`` is an active staff member (anything else, anonymous included: no)."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


def require_close_permission(user: Any) -> Any:
    """The current database row of ``user`` if it may close connections; ``ClientError``
    (answered to the page) otherwise. Worker thread: queries the database."""
    from django.contrib.auth import get_user_model

    key = getattr(user, "pk", None)
    fresh = None if key is None else get_user_model()._default_manager.filter(pk=key).first()
    if fresh is None or not is_staff(fresh) or not fresh.has_perm(CLOSE_PERMISSION):
        raise ClientError(NOT_ALLOWED)
    return fresh


def still_staff(keys: set[str]) -> set[str]:
    """Which of the user primary keys ``keys`` are still of active staff members. Worker
    thread: queries the database."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.filter(pk__in=list(keys))
    return {str(user.pk) for user in users if is_staff(user)}
