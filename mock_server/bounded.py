"""Bounded memories of what repeats, so the hot paths stop recomputing it.

A client can send ever new paths or provoke ever new error texts, so every memory here has a
size limit and is forgotten whole when it is full: its cost stays bounded whatever clients
send, and a forgotten entry is only computed again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from mock_server.domain.errors import ZitadelError

Value = TypeVar("Value")

# Texts longer than this are answered without being remembered (a client's input in them).
REMEMBERED_TEXT_LENGTH = 512


class BoundedMemory(Generic[Value]):
    """A dict of at most ``limit`` entries, cleared when a new one would pass the limit."""

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: dict[Hashable, Value] = {}
        self._limit = limit

    def get(self, key: Hashable) -> Value | None:
        return self._entries.get(key)

    def put(self, key: Hashable, value: Value) -> None:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)


def per_error(
    build: Callable[[ZitadelError], Value], limit: int = 1024
) -> Callable[[ZitadelError], Value]:
    """``build`` remembered per error (its code, text and id decide every wire form of it):
    the same few errors come again and again, an action already inactive, a missing token."""
    memory: BoundedMemory[Value] = BoundedMemory(limit)

    def remembered(error: ZitadelError) -> Value:
        key = (error.code, error.text, error.error_id)
        value = memory.get(key)
        if value is None:
            value = build(error)
            if len(error.text) <= REMEMBERED_TEXT_LENGTH:
                memory.put(key, value)
        return value

    return remembered
