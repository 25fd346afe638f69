"""Rooms: named groups of one application's connections, and the per-user groups.

A connection joins rooms with ``socket.join(room)``; a connection of an authenticated Django user
is in that user's group from the handshake on. A room vanishes when its last member leaves.

Thread affinity: every method is safe from any thread (membership changes happen in handlers,
which may run in the worker pool); ``members`` returns a snapshot the loop then writes to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from .exceptions import ClientError

__all__ = ["Rooms", "TooManyRoomsError", "user_key"]

Member = TypeVar("Member")


class TooManyRoomsError(ClientError, ValueError):
    """A connection tried to join more rooms than ``TORNADO['max_rooms_per_socket']``.

    A ``ClientError``: raised in a handler, its message goes back to the client.
    """


def user_key(user: Any) -> str:
    """The key of a user's group: its primary key, given a user object or the key itself."""
    pk = getattr(user, "pk", user)
    if pk is None:
        raise ValueError(f"{user!r} has no primary key: only saved users have a user group.")
    return str(pk)


class Rooms(Generic[Member]):
    """Room and user-group membership of the connections of one application."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[str, set[Member]] = {}
        self._users: dict[str, set[Member]] = {}
        self._joined: dict[Member, set[str]] = {}

    def join(self, member: Member, room: str, limit: int) -> None:
        """Add ``member`` to ``room``; ``TooManyRoomsError`` past ``limit`` rooms."""
        if not isinstance(room, str) or not room:
            raise TypeError(f"A room name should be a non-empty string, got {room!r}.")
        with self._lock:
            joined = self._joined.setdefault(member, set())
            if room in joined:
                return
            if len(joined) >= limit:
                raise TooManyRoomsError(
                    f"This connection is already in {limit} rooms, the most allowed "
                    "(TORNADO['max_rooms_per_socket'])."
                )
            joined.add(room)
            self._rooms.setdefault(room, set()).add(member)

    def leave(self, member: Member, room: str) -> None:
        with self._lock:
            joined = self._joined.get(member)
            if joined is None or room not in joined:
                return
            joined.discard(room)
            if not joined:
                del self._joined[member]
            self._discard(self._rooms, room, member)

    def rooms_of(self, member: Member) -> frozenset[str]:
        with self._lock:
            return frozenset(self._joined.get(member, ()))

    def add_user(self, member: Member, key: str) -> None:
        with self._lock:
            self._users.setdefault(key, set()).add(member)

    def remove(self, member: Member, user: str | None) -> None:
        """Forget ``member`` everywhere (its connection closed)."""
        with self._lock:
            for room in self._joined.pop(member, ()):
                self._discard(self._rooms, room, member)
            if user is not None:
                self._discard(self._users, user, member)

    def members(self, rooms: Iterable[str] = (), users: Iterable[str] = ()) -> set[Member]:
        """Every member of any of ``rooms`` or of the groups of ``users``."""
        found: set[Member] = set()
        with self._lock:
            for room in rooms:
                found.update(self._rooms.get(room, ()))
            for user in users:
                found.update(self._users.get(user, ()))
        return found

    def names(self) -> list[str]:
        """The rooms that have members now."""
        with self._lock:
            return sorted(self._rooms)

    @staticmethod
    def _discard(groups: dict[str, set[Member]], key: str, member: Member) -> None:
        group = groups.get(key)
        if group is not None:
            group.discard(member)
            if not group:
                del groups[key]

    def sizes(self) -> dict[str, int]:
        """The member count of each room that has members now (a snapshot)."""
        with self._lock:
            return {room: len(members) for room, members in self._rooms.items()}
