"""The REST lane answers exactly as the ASGI path: the golden corpus (every RPC on every kind of
target and caller, error paths, bad bodies, CORS, unknown routes, the instance headers, faults,
gRPC-web, the control plane) sent over real sockets to two sets of the same mocks, one served
with the lane and one without; every answer must be the same bytes, head and body, but for the
clock's dates."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from rest_golden import DATE, DURATION, corpus

from mock_server.rest.lane import RestLane
from mock_server.serving import OnePortProtocol

_DATE_HEADER = re.compile(rb"^date: [^\r]*\r\n", re.MULTILINE)


@contextmanager
def _served(mocks: dict, with_lane: bool) -> Iterator[dict[str, int]]:
    servers, threads, ports = [], [], {}
    for name, mock in mocks.items():
        sock = socket.create_server(("127.0.0.1", 0))
        protocol = OnePortProtocol.configured(None, None, mock.lane if with_lane else None)
        config = uvicorn.Config(mock.app, log_level="critical", lifespan="off", http=protocol)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append(server)
        threads.append(thread)
        ports[name] = sock.getsockname()[1]
    try:
        deadline = time.monotonic() + 10
        while not all(server.started for server in servers):
            assert time.monotonic() < deadline, "a server did not start"
            time.sleep(0.01)
        yield ports
    finally:
        for server in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(10)


class _Connection:
    """Raw HTTP/1.1 to one port, reconnecting after an answer that closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, request) -> bytes:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.buffer = b""
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {request.host}"]
        head += [f"{name}: {value}" for name, value in request.headers]
        if request.body and not any(n.lower() == "content-length" for n, _ in request.headers):
            head.append(f"Content-Length: {len(request.body)}")
        self.sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + request.body)
        answer = self._read_answer(request.method)
        if b"\r\nconnection: close\r\n" in answer.split(b"\r\n\r\n", 1)[0].lower() + b"\r\n":
            self.close()
        return answer

    def _read_answer(self, method: str) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
        fields = {name.lower(): value for name, value in fields.items()}
        status = int(head.split(b" ", 2)[1])
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif b"content-length" in fields:
            length = int(fields[b"content-length"])
            while len(self.buffer) < length:
                self._more()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        elif fields.get(b"transfer-encoding") == b"chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buffer:
                    self._more()
                size_line, _, self.buffer = self.buffer.partition(b"\r\n")
                size = int(size_line, 16)
                while len(self.buffer) < size + 2:
                    self._more()
                body += self.buffer[:size]
                self.buffer = self.buffer[size + 2 :]
                if size == 0:
                    break
        else:  # to the end of the connection
            while True:
                try:
                    self._more()
                except EOFError:
                    break
            body, self.buffer = self.buffer, b""
        return head + b"\r\n\r\n" + body

    def _more(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _normalised(answer: bytes, port: int) -> bytes:
    answer = _DATE_HEADER.sub(b"", answer).replace(b":%d" % port, b":<port>")
    answer = DURATION.sub(rb'"\1":0', DATE.sub(b"<date>", answer))
    # A date's digits change the length the head announces.
    return re.sub(rb"content-length: \d+", b"content-length: <n>", answer)


def _answers(with_lane: bool, claimed: list[int]) -> list[bytes]:
    mocks, steps = corpus()
    if with_lane:
        for mock in mocks.values():
            claim = mock.lane.claim

            def counted(*args, claim=claim):
                call = claim(*args)
                claimed.append(call is not None)
                return call

            mock.lane.claim = counted
    answers = []
    with _served(mocks, with_lane) as ports:
        connections = {name: _Connection(port) for name, port in ports.items()}
        try:
            for mock, request in steps:
                # A connection each: one odd request hands its connection to h11 for good.
                connection = connections[mock]
                answers.append(_normalised(connection.exchange(request), connection.port))
                connection.close()
        finally:
            for connection in connections.values():
                connection.close()
    return answers


@pytest.mark.slow  # the whole corpus, twice, over sockets
def test_the_lane_answers_the_corpus_as_the_asgi_path():
    claimed: list[int] = []
    through_asgi = _answers(False, [])
    through_lane = _answers(True, claimed)
    assert sum(claimed) > 1500  # most of the corpus is management calls the lane takes
    _, steps = corpus()
    differences = [
        (steps[index][1].label(), want, got)
        for index, (want, got) in enumerate(zip(through_asgi, through_lane, strict=True))
        if want != got
    ]
    shown = "\n".join(
        f"{label}:\n  asgi {want!r}\n  lane {got!r}" for label, want, got in differences[:3]
    )
    assert not differences, f"{len(differences)} answers differ, the first ones:\n{shown}"


def test_a_plain_management_call_takes_the_lane(monkeypatch):
    from mock_server.app import create_mock

    mock = create_mock(seed=0)
    taken = []
    claim = mock.lane.claim
    monkeypatch.setattr(mock.lane, "claim", lambda *args: taken.append(claim(*args)) or taken[-1])
    assert isinstance(mock.lane, RestLane)
    with _served({"default": mock}, with_lane=True) as ports:
        connection = _Connection(ports["default"])
        try:
            from rest_golden import ADMIN, Request

            me = Request("GET", "/management/v1/orgs/me", (("Authorization", f"Bearer {ADMIN}"),))
            answer = connection.exchange(me)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            expect = Request("GET", "/management/v1/orgs/me", (("Expect", "100-continue"),))
            assert connection.exchange(expect).startswith(b"HTTP/1.1 401")
        finally:
            connection.close()
    assert [call is not None for call in taken] == [True, False]
