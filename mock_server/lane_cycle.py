"""The HTTP/1 side of the lane (:mod:`mock_server.lane`): a claimed request in the
place of uvicorn's RequestResponseCycle, and its answer written as uvicorn writes one.

The protocol keeps it where uvicorn keeps its cycle (``protocol.cycle``), so uvicorn's own
rules see it as theirs: a pipelined request waits while it is unanswered, a shutdown lets it
finish and then closes, a lost connection marks it disconnected. The head is uvicorn's: its
status line, its default headers (``server``, ``date``), the answer's, and ``connection:
close`` when the connection ends after it.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from mock_server.grpc_front import codec
from mock_server.lane import Answer, LaneCall


class _Signal:
    """What uvicorn sets on a cycle's message event; a lane call waits on nothing."""

    __slots__ = ()

    def set(self) -> None:
        pass


_SIGNAL = _Signal()


class LaneCycle:
    __slots__ = ("call", "keep_alive", "protocol", "response_complete", "disconnected")

    message_event = _SIGNAL

    def __init__(self, call: LaneCall, keep_alive: bool, protocol: Any) -> None:
        self.call = call
        self.keep_alive = keep_alive
        self.protocol = protocol  # the connection's OnePortProtocol
        self.response_complete = False
        self.disconnected = False

    def finish(self) -> None:
        """The whole request is read: answer it, now or after its injected latency."""
        call = self.call
        early = call.prepare()
        if early is not None:
            self._write(early)
        elif call.delay:
            # A fault injected between the head and the body: it is waited out as on the
            # ASGI path, and uvicorn holds the connection's next requests meanwhile.
            protocol = self.protocol
            task = protocol.loop.create_task(self._after_delay())
            protocol.tasks.add(task)
            task.add_done_callback(protocol.tasks.discard)
        else:
            self._write(call.answer())

    async def _after_delay(self) -> None:
        assert self.call.plan is not None
        await codec.wait_out(self.call.plan)
        # The call runs whether or not its client is still there, as on the ASGI path.
        answer = self.call.answer()
        if not self.disconnected:
            self._write(answer)

    def _write(self, answer: Answer | None) -> None:
        protocol = self.protocol
        transport = protocol.transport
        self.response_complete = True
        if transport.is_closing() or protocol.answered:
            return  # the connection ended meanwhile (Go's 400 to a later head, say)
        if answer is None:  # an injected drop: a TCP reset, nothing sent
            transport.abort()
            return
        content = [STATUS_LINE[answer.status]]
        for name, value in protocol.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        for name, value in answer.headers:
            content += (name, b": ", value, b"\r\n")
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", answer.body)
        transport.write(b"".join(content))
        if not self.keep_alive:
            transport.close()
        protocol.on_response_complete()


def claim(protocol: Any) -> LaneCycle | None:
    """The lane's cycle for the request head the protocol has just parsed, or None."""
    call = protocol.lane.claim(protocol.parser.get_method(), protocol.url, protocol.headers)
    if call is None:
        return None
    keep_alive = protocol.parser.get_http_version() != "1.0" and protocol.parser.should_keep_alive()
    return LaneCycle(call, keep_alive, protocol)
