"""Reading a whole ASGI request body with a size limit, for the fronts that decode it themselves."""

from __future__ import annotations

from starlette.types import Receive


class ClientDisconnected(Exception):
    """The client went away before its body was complete: there is no one left to answer.

    Go's Body.Read fails the same way (unexpected EOF), so the request never reaches the RPC;
    treating the partial bytes as the whole body would run a command nobody finished sending.
    """


class BodyTooLarge(Exception):
    """The body passed ``limit`` bytes; ``size`` is how much had arrived by then."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.size = size
        self.limit = limit


async def read_body(receive: Receive, limit: int, *, disconnect_raises: bool = False) -> bytes:
    """The body, stopping as soon as it passes ``limit`` so a huge upload never sits in memory.

    A disconnect ends the body early; with ``disconnect_raises`` it raises ClientDisconnected
    instead, for callers whose framing cannot tell a cut body from a whole one (JSON can: ``{}``).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if disconnect_raises:
                raise ClientDisconnected
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
