"""Each HTTP/1 response leaves the mock in one write (head and body together), and nothing the
client waits for is held back: ``100 Continue``, HEAD answers, a closing connection's answer,
pipelined requests."""

from __future__ import annotations

import socket
import time
from collections import defaultdict

import pytest

from mock_server import one_port
from mock_server.inprocess import ZitadelMock

ACTION = "/management/v1/actions/182142426217625554"


class _CountingTransport:
    """The connection's transport, recording every write the server makes on it."""

    def __init__(self, transport, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data) -> None:
        if data:
            self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


@pytest.fixture
def mock_and_writes(monkeypatch):
    """A mock in this process, and every write its server made, by client port."""
    writes: dict[int, list[bytes]] = defaultdict(list)
    original = one_port.OnePortProtocol.connection_made

    def counted(protocol, transport) -> None:
        port = transport.get_extra_info("peername")[1]
        original(protocol, _CountingTransport(transport, writes[port]))

    monkeypatch.setattr(one_port.OnePortProtocol, "connection_made", counted)
    with ZitadelMock(grpc=False) as mock:
        yield mock, writes


def _connect(mock: ZitadelMock) -> socket.socket:
    host, port = mock.url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=10)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def _read_responses(client: socket.socket, count: int) -> bytes:
    received = b""
    deadline = time.monotonic() + 10
    while received.count(b"HTTP/1.1 ") < count or not _complete(received, count):
        assert time.monotonic() < deadline, received
        chunk = client.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def _complete(received: bytes, count: int) -> bool:
    """Whether ``count`` responses with their Content-Length bodies have all arrived."""
    rest = received
    for _ in range(count):
        head, separator, rest = rest.partition(b"\r\n\r\n")
        if not separator:
            return False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return False
        rest = rest[length:]
    return True


def _writes_to(writes, client: socket.socket) -> list[bytes]:
    time.sleep(0.05)  # the server thread's last write is counted before it is sent
    return writes[client.getsockname()[1]]


def test_an_answer_and_an_error_each_leave_in_one_write(mock_and_writes):
    mock, writes = mock_and_writes
    client = _connect(mock)
    auth = b"Authorization: Bearer admin-pat\r\n"
    client.sendall(b"GET " + ACTION.encode() + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
    first = _read_responses(client, 1)
    client.sendall(b"GET " + ACTION.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")  # no token: 401
    second = _read_responses(client, 1)
    assert first.startswith(b"HTTP/1.1 200 ") and b'"action":' in first
    assert second.startswith(b"HTTP/1.1 401 ")
    assert _writes_to(writes, client) == [first, second]


def test_pipelined_requests_get_their_answers_in_order_one_write_each(mock_and_writes):
    mock, writes = mock_and_writes
    client = _connect(mock)
    request = b"GET " + ACTION.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    client.sendall(request * 3)
    received = _read_responses(client, 3)
    assert received.count(b"HTTP/1.1 401 ") == 3
    assert b"".join(_writes_to(writes, client)) == received
    assert len(_writes_to(writes, client)) == 3


def test_a_head_request_s_answer_is_not_held_back(mock_and_writes):
    mock, writes = mock_and_writes
    client = _connect(mock)
    # A HEAD writes no body bytes: the head must still leave when the response completes.
    client.sendall(b"HEAD /_mock/v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 ")
    assert len(_writes_to(writes, client)) == 1


def test_a_closing_connection_gets_its_whole_answer_before_the_close(mock_and_writes):
    mock, _ = mock_and_writes
    client = _connect(mock)
    client.sendall(b"GET " + ACTION.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    assert received.startswith(b"HTTP/1.1 401 ") and received.endswith(b"}")


def test_100_continue_goes_out_before_the_client_sends_its_body(mock_and_writes):
    mock, writes = mock_and_writes
    client = _connect(mock)
    head = (
        b"POST " + ACTION.encode() + b"/_deactivate HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    client.sendall(head)
    # The client waits for 100 Continue before its body: a held write would hang here.
    assert client.recv(65536).startswith(b"HTTP/1.1 100 Continue")
    client.sendall(b"{}")
    received = _read_responses(client, 1)
    assert received.startswith(b"HTTP/1.1 401 ")
    assert len(_writes_to(writes, client)) == 2  # the 100, then the answer in one write
