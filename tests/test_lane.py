"""The lane answers exactly as the ASGI path: the golden corpus (every RPC on every kind of
target and caller, error paths, bad bodies, CORS, unknown routes, the instance headers, faults,
gRPC-web, the control plane) and a gRPC-web corpus of the same breadth, sent over real sockets
to two sets of the same mocks, one served with the lane and one without; every answer must be
the same bytes, head and body, but for the clock's dates."""

from __future__ import annotations

import base64
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from grpc_harness import grpc_web_body
from raw_http import exchange
from rest_golden import (
    ADMIN,
    DATE,
    DURATION,
    ORG_OWNER,
    Request,
    _targets,
    _world_refs,
    corpus,
)

from mock_server import contract
from mock_server.lane import Lane, ManagementCall, WebCall
from mock_server.messages import response_class
from mock_server.one_port import OnePortProtocol

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


def _without_times(message) -> None:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        values = value if field.is_repeated else [value]
        for item in values:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                item.seconds, item.nanos = 0, 0
            elif hasattr(item, "ListFields"):
                _without_times(item)


def _web_body_without_times(head: bytes, body: bytes, path: str) -> bytes:
    """A gRPC-web answer with the Timestamps of its message zeroed: dates in protobuf's
    binary form, which the text patterns cannot see."""
    text = b"content-type: application/grpc-web-text" in head
    raw = base64.b64decode(body) if text else body
    rpc = path.rsplit("/", 1)[-1]
    if rpc not in contract.rpcs() or not raw or raw[0] != 0:
        return body
    length = struct.unpack(">I", raw[1:5])[0]
    message = response_class(rpc).FromString(raw[5 : 5 + length])
    _without_times(message)
    payload = message.SerializeToString()
    raw = struct.pack(">BI", 0, len(payload)) + payload + raw[5 + length :]
    return base64.b64encode(raw) if text else raw


def _normalised(answer: bytes, port: int, path: str) -> bytes:
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"content-type: application/grpc-web" in head and b"HTTP/1.1 200" in head:
        answer = head + b"\r\n\r\n" + _web_body_without_times(head, body, path)
    answer = _DATE_HEADER.sub(b"", answer).replace(b":%d" % port, b":<port>")
    answer = DURATION.sub(rb'"\1":0', DATE.sub(b"<date>", answer))
    # A date's digits change the length the head announces.
    return re.sub(rb"content-length: \d+", b"content-length: <n>", answer)


WEB_PATH = "/zitadel.management.v1.ManagementService/"


def web_requests(refs: dict) -> list[Request]:
    """gRPC-web calls: every RPC on every kind of target, as each caller, in each encoding,
    and the bodies and paths grpc-go refuses."""
    requests = []
    callers = [
        (("authorization", f"Bearer {ADMIN}"), ("x-zitadel-orgid", refs["main"])),
        (("authorization", f"Bearer {ORG_OWNER}"),),
        (),
        (("authorization", "Bearer nope"),),
    ]
    for rpc in contract.rpcs().values():
        for _, values in _targets(rpc, refs):
            body = grpc_web_body(rpc.name, values)
            for caller in callers:
                for content_type, payload in (
                    ("application/grpc-web+proto", body),
                    ("application/grpc-web", body),
                    ("application/grpc-web-text", base64.b64encode(body)),
                ):
                    headers = (("content-type", content_type), ("x-grpc-web", "1"), *caller)
                    requests.append(Request("POST", WEB_PATH + rpc.name, headers, payload))
            origin = (("origin", "http://localhost:3000"), *callers[0])
            headers = (("content-type", "application/grpc-web+proto"), *origin)
            requests.append(Request("POST", WEB_PATH + rpc.name, headers, body))
    plain = (("content-type", "application/grpc-web+proto"), *callers[0])
    for path, body, extra in (
        (WEB_PATH + "GetMyOrg", b"", ()),
        (WEB_PATH + "GetMyOrg", b"\0\0\0\0\x09abc", ()),
        (WEB_PATH + "GetMyOrg", b"\x01\0\0\0\0", (("grpc-encoding", "gzip"),)),
        (WEB_PATH + "GetMyOrg", b"\0\0\0\0\x03\xff\xff\xff", ()),
        (WEB_PATH + "GetMyOrg", b"\0\0\0\0\0\0\0\0\0\0", ()),
        (WEB_PATH + "NoSuchMethod", b"\0\0\0\0\0", ()),
        ("/zitadel.admin.v1.AdminService/Healthz", b"\0\0\0\0\0", ()),
        (WEB_PATH + "GetMyOrg/extra", b"\0\0\0\0\0", ()),
    ):
        requests.append(Request("POST", path, (*plain, *extra), body))
    json_subtype = (("content-type", "application/grpc-web+json"), *callers[0])
    requests.append(Request("POST", WEB_PATH + "GetMyOrg", json_subtype, b"\0\0\0\0\0"))
    text = (("content-type", "application/grpc-web-text"), *callers[0])
    requests.append(Request("POST", WEB_PATH + "GetMyOrg", text, b"not base64!"))
    return requests


def _answers(with_lane: bool, claimed: list) -> list[bytes]:
    mocks, steps = corpus()
    steps = steps + [
        ("default", request) for request in web_requests(_world_refs(mocks["default"].world))
    ]
    if with_lane:
        for mock in mocks.values():
            claim = mock.lane.claim

            def counted(*args, claim=claim):
                call = claim(*args)
                claimed.append(type(call))
                return call

            mock.lane.claim = counted
    answers = []
    with _served(mocks, with_lane) as ports:
        connections = {name: _Connection(port) for name, port in ports.items()}
        try:
            for mock, request in steps:
                # A connection each: one odd request hands its connection to h11 for good.
                connection = connections[mock]
                answer = connection.exchange(request)
                answers.append(_normalised(answer, connection.port, request.path))
                connection.close()
        finally:
            for connection in connections.values():
                connection.close()
    return answers


@pytest.mark.slow  # the whole corpus, twice, over sockets
def test_the_lane_answers_the_corpus_as_the_asgi_path():
    claimed: list[type] = []
    through_asgi = _answers(False, [])
    through_lane = _answers(True, claimed)
    # Most of the corpus is management and gRPC-web calls the lane takes.
    assert claimed.count(ManagementCall) > 1500 and claimed.count(WebCall) > 500
    mocks, steps = corpus()
    steps += [("default", r) for r in web_requests(_world_refs(mocks["default"].world))]
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
    assert isinstance(mock.lane, Lane)
    with _served({"default": mock}, with_lane=True) as ports:
        connection = _Connection(ports["default"])
        try:
            me = Request("GET", "/management/v1/orgs/me", (("Authorization", f"Bearer {ADMIN}"),))
            answer = connection.exchange(me)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            expect = Request("GET", "/management/v1/orgs/me", (("Expect", "100-continue"),))
            assert connection.exchange(expect).startswith(b"HTTP/1.1 401")
        finally:
            connection.close()
    assert [call is not None for call in taken] == [True, False]


# ---- where the lane must keep the ASGI path's rules (review findings) ---------------------


def _active_user(mock, owner_org: str):
    return next(
        u
        for u in mock.world.users.values()
        if u.resource_owner == owner_org and u.state.value == "active"
    )


def _org_of_admin(mock) -> str:
    return mock.world.users[mock.world.tokens[ADMIN].user_id].resource_owner


@pytest.mark.parametrize("with_lane", [False, True], ids=["asgi", "lane"])
def test_nothing_runs_after_an_answer_that_closes(with_lane):
    from mock_server.app import create_mock

    mock = create_mock(seed=0)
    org = _org_of_admin(mock)
    user = _active_user(mock, org)
    auth = f"Authorization: Bearer {ADMIN}\r\nx-zitadel-orgid: {org}\r\n"
    first = f"GET /management/v1/orgs/me HTTP/1.0\r\nConnection: keep-alive\r\n{auth}\r\n"
    second = (
        f"POST /management/v1/users/{user.id}/_deactivate HTTP/1.1\r\nHost: x\r\n{auth}"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    with _served({"default": mock}, with_lane) as ports:
        answer = exchange(ports["default"], (first + second).encode(), quiet=0.5)
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 200")
    assert mock.world.users[user.id].state.value == "active"


def test_a_call_whose_client_left_during_its_latency_still_runs():
    from mock_server.app import create_mock

    mock = create_mock(seed=0)
    org = _org_of_admin(mock)
    user = _active_user(mock, org)
    request = (
        f"POST /management/v1/users/{user.id}/_deactivate HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ADMIN}\r\nx-zitadel-orgid: {org}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
    ).encode()
    with _served({"default": mock}, True) as ports:
        with socket.create_connection(("127.0.0.1", ports["default"]), timeout=5) as sock:
            sock.sendall(request)  # the head: the lane claims it, no fault yet
            time.sleep(0.1)
            mock.instances.default.faults.add({"rpc": "DeactivateUser", "latency_ms": 200})
            sock.sendall(b"{}")
            time.sleep(0.05)
        time.sleep(0.5)
    calls = mock.instances.default.journal.calls()
    assert [(c.rpc, c.code) for c in calls] == [("DeactivateUser", 0)]
    assert mock.world.users[user.id].state.value == "inactive"


@pytest.mark.parametrize(
    "head",
    [
        "GET /management/v1/orgs/me HTTP/1.1\r\nContent-Length: 10\r\n",
        "POST /management/v1/orgs/me/_reactivate HTTP/1.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " + "0" * 5000 + "2\r\n",
    ],
    ids=["a GET announcing a body it never sends", "a Content-Length of 5001 digits"],
)
def test_the_lane_answers_as_the_asgi_path_where_a_head_is_odd(head):
    from mock_server.app import create_mock

    answers = []
    for with_lane in (False, True):
        mock = create_mock(seed=0)
        data = f"{head}Host: x\r\nAuthorization: Bearer {ADMIN}\r\n\r\n".encode()
        if "_reactivate" in head:
            data += b"{}"
        with _served({"default": mock}, with_lane) as ports:
            answers.append(
                _DATE_HEADER.sub(b"", exchange(ports["default"], data, quiet=0.5)).split(b"\r\n")[0]
            )
    assert answers[0] == answers[1] and answers[0] != b""


def test_a_bug_in_a_lane_call_is_an_answer_and_a_log_line(monkeypatch, caplog):
    from mock_server.app import create_mock
    from mock_server.domain.service import LifecycleService

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(LifecycleService, "call", broken)
    mock = create_mock(seed=0)
    auth = (("Authorization", f"Bearer {ADMIN}"),)
    rest = Request("GET", "/management/v1/orgs/me", auth)
    body = grpc_web_body("GetMyOrg", {})
    grpc_web = Request(
        "POST", WEB_PATH + "GetMyOrg", (("content-type", "application/grpc-web+proto"), *auth), body
    )
    with _served({"default": mock}, True) as ports:
        answers = []
        for request in (rest, grpc_web):
            connection = _Connection(ports["default"])
            answers.append(connection.exchange(request))
            connection.close()
    assert answers[0].startswith(b"HTTP/1.1 500") and b'"code":13' in answers[0]
    assert answers[1].startswith(b"HTTP/1.1 200") and b"grpc-status:13" in answers[1]
    assert caplog.text.count("a bug") >= 2
