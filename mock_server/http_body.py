"""Reading a whole ASGI request body with a size limit, for the fronts that decode it themselves."""

from __future__ import annotations

from starlette.types import Receive


class BodyTooLarge(Exception):
    """The body passed ``limit`` bytes; ``size`` is how much had arrived by then."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.size = size
        self.limit = limit


async def read_body(receive: Receive, limit: int) -> bytes:
    """The body, stopping as soon as it passes ``limit`` so a huge upload never sits in memory."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
