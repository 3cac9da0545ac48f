"""The mock's listener as a real process: every protocol on one port, Go's answers below the
router, read time-outs, and a shutdown that is bounded, quiet and exits 0."""

from __future__ import annotations

import math
import signal
import socket
import threading
import time
from collections.abc import Iterable

import grpc
import httpx
import pytest
from grpc_harness import ADMIN, call_grpc
from mock_process import start_mock

from mock_server.one_port import GO_400, GO_431

HALF_SENT_BODY = (
    b"POST /management/v1/orgs/me/_reactivate HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer admin-pat\r\nContent-Length: 100\r\n\r\n{"
)


def _raw(port: int, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes (or stops after one answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:") and len(body) >= int(
                    line.split(b":")[1]
                ):
                    return answer
        return answer


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture(scope="module")
def mock():
    running = start_mock("--grpc-port", "0", "--read-timeout", "1", "--keep-alive", "1")
    yield running
    running.signal(signal.SIGTERM)
    assert running.wait(30) == 0, running.stderr


def test_native_grpc_on_the_http_port(mock) -> None:
    with grpc.insecure_channel(mock.address) as channel:
        outcome = call_grpc(channel, "ReactivateOrg", {}, ADMIN)
    assert (outcome.code, outcome.message) == (9, "Organisation is already active (EVENT-bfnrh)")
    # The same port still answers REST and gRPC-web.
    rest = httpx.post(f"{mock.url}/management/v1/orgs/me/_reactivate", headers=ADMIN_HEADERS)
    assert rest.json()["code"] == 9
    web = httpx.post(
        f"{mock.url}/zitadel.management.v1.ManagementService/ReactivateOrg",
        headers={**ADMIN_HEADERS, "Content-Type": "application/grpc-web+proto"},
        content=b"\x00\x00\x00\x00\x00",
    )
    assert b"grpc-status:9" in web.content


ADMIN_HEADERS = {"Authorization": "Bearer admin-pat"}


@pytest.mark.parametrize("where", ["http", "own"])
def test_reflection_v1_and_v1alpha_and_health(mock, where) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2

    target = mock.address if where == "http" else f"127.0.0.1:{mock.grpc_own_port}"
    with grpc.insecure_channel(target) as channel:
        for version in ("v1", "v1alpha"):
            method = channel.stream_stream(
                f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            requests = [
                reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(
                    file_containing_symbol="zitadel.management.v1.ManagementService"
                ),
            ]
            listed, described = list(method(iter(requests), timeout=10))
            names = {s.name for s in listed.list_services_response.service}
            assert {
                "zitadel.management.v1.ManagementService",
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            } <= names
            assert described.file_descriptor_response.file_descriptor_proto
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "zitadel.management.v1.ManagementService"):
            answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("request_bytes", "status", "body"),
    [
        # Methods and bytes Go's net/http parses and the router then judges; httptools does not.
        (
            b"BREW /management/v1/orgs/me/_deactivate HTTP/1.1\r\nHost: x\r\n\r\n",
            405,
            b'{"code":12,"message":"Method Not Allowed"}',
        ),
        (
            b"BREW /management/v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
            b'{"code":5,"message":"Not Found"}',
        ),
        (
            b"POST /management/v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
            b'{"code":5,"message":"Not Found"}',
        ),
        (
            b"POST /management/v1/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
            b'{"code":5,"message":"Not Found"}',
        ),
        (
            b"POST /management/v1/users/" + b"1" * 70_000 + b"/_deactivate HTTP/1.1\r\n"
            b"Host: x\r\n\r\n",
            401,
            b'{"code":16,"message":"auth header missing"}',
        ),
    ],
    ids=["BREW-known-path", "BREW-unknown-path", "raw-non-ascii", "path-70KB", "id-70KB"],
)
def test_requests_go_routes(mock, request_bytes, status, body) -> None:
    answer = _raw(mock.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert answer.endswith(body), answer[-200:]


@pytest.mark.parametrize(
    ("request_bytes", "answer"),
    [
        (b"POST /" + b"a" * (2 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n", GO_431),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", GO_400),  # a TLS hello
        (b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", GO_400),
        (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", GO_400),
    ],
    ids=["head-over-1MB", "tls", "control-byte", "bad-length"],
)
def test_what_go_cannot_parse_gets_gos_plain_answer(mock, request_bytes, answer) -> None:
    assert _raw(mock.port, request_bytes) == answer


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /management/v1/orgs/me/_reactivate HTTP/1.1\r\nHo", HALF_SENT_BODY],
    ids=["nothing", "half-a-head", "half-a-body"],
)
def test_slow_requests_are_cut_after_the_read_timeout(mock, sent) -> None:
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        sock.sendall(sent)
        sock.settimeout(20)  # an upper bound far above --read-timeout 1
        assert sock.recv(65536) == b""


MY_ORG = (
    b"GET /management/v1/orgs/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-pat\r\n\r\n"
)


class _Answers:
    """The answers of a keep-alive connection one by one, each with its Content-Length body;
    pipelined answers may come in one segment, so what follows an answer is kept."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> bytes:
        while True:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if found:
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return head + found + rest[:length]
            chunk = self.sock.recv(65536)
            assert chunk, f"closed after {self.buffer!r}"
            self.buffer += chunk


def _seconds_until_closed(sock: socket.socket, pieces: Iterable[bytes], pause: float) -> float:
    """Send ``pieces`` one by one, ``pause`` apart, until the server closes the connection:
    the seconds that took (infinity if it never did)."""
    started = time.monotonic()
    sock.settimeout(pause)
    for piece in pieces:
        try:
            sock.sendall(piece)
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
    return math.inf


def test_a_trickled_request_is_cut_a_read_timeout_after_it_began(mock) -> None:
    # Each byte must not move the deadline: a client sending one every 0.2 s is cut at 1 s.
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        pieces = [bytes([byte]) for byte in MY_ORG[:25]]
        assert _seconds_until_closed(sock, pieces, 0.2) < 4


def test_blank_lines_after_an_answer_start_the_read_timeout(mock) -> None:
    # httptools skips CRLFs before a request line without starting a message; like Go's
    # server, the first byte of the next request starts its read deadline all the same.
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as sock:
        sock.sendall(MY_ORG)
        _Answers(sock).next()
        assert _seconds_until_closed(sock, [b"\r\n"] * 20, 0.3) < 4


def test_a_busy_keep_alive_connection_outlives_both_time_outs(mock) -> None:
    # Requests every 0.1 s for 2.5 s on one connection: each request's read deadline and the
    # idle time between them are far under 1 s, though the connection lives longer than both.
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as sock:
        answers, answered = _Answers(sock), 0
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            sock.sendall(MY_ORG)
            assert answers.next().startswith(b"HTTP/1.1 200 OK")
            answered += 1
            time.sleep(0.1)
        assert answered >= 10


def test_pipelined_requests_on_both_paths_are_all_answered_in_order(mock) -> None:
    # The ASGI path (the control plane) queues behind an unanswered request; the lane answers
    # from the parser: uvicorn starts each queued one when the previous answer completes.
    info = b"GET /_mock/v1/info HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as sock:
        sock.sendall(info + info + MY_ORG + info + MY_ORG)
        reader = _Answers(sock)
        answers = [reader.next() for _ in range(5)]
    assert all(answer.startswith(b"HTTP/1.1 200 OK") for answer in answers)
    bodies = [answer.partition(b"\r\n\r\n")[2] for answer in answers]
    assert [body.startswith(b'{"org":') for body in bodies] == [False, False, True, False, True]
    infos = [b'"management_base_path"' in body for body in bodies]
    assert infos == [True, True, False, True, False]


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive(mock) -> None:
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as sock:
        answers = _Answers(sock)
        sock.sendall(MY_ORG)
        answers.next()
        time.sleep(0.6)  # idle, but under the keep-alive: still open
        sock.sendall(MY_ORG)
        answers.next()
        answered = time.monotonic()
        assert sock.recv(65536) == b""
        assert 0.8 < time.monotonic() - answered < 5


def test_sigterm_with_a_half_sent_body_closes_listeners_then_exits_0() -> None:
    running = start_mock("--grpc-port", "0", "--shutdown-grace", "60")
    own = running.grpc_own_port
    with socket.create_connection(("127.0.0.1", running.port)) as client:
        client.sendall(HALF_SENT_BODY)
        time.sleep(0.2)  # let the server read the head; nothing below depends on timing
        running.signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while not (_refused(running.port) and _refused(own)):
            assert time.monotonic() < deadline, "listeners still open during the grace"
            assert running.process.poll() is None
            time.sleep(0.05)
        assert running.process.poll() is None  # the half-sent body holds it, within grace
    # The client gave up: nothing holds the mock any more.
    assert running.wait(20) == 0, running.stderr
    assert "Traceback" not in running.stderr


def test_sigterm_cuts_a_held_connection_after_the_grace() -> None:
    running = start_mock("--no-grpc", "--shutdown-grace", "1", "--read-timeout", "0")
    with socket.create_connection(("127.0.0.1", running.port)) as client:
        client.sendall(HALF_SENT_BODY)
        time.sleep(0.2)
        running.signal(signal.SIGTERM)
        client.settimeout(30)
        try:
            assert client.recv(100) == b""  # closed, never a 500
        except ConnectionResetError:
            pass
        assert running.wait(30) == 0, running.stderr
    assert "Traceback" not in running.stderr and "Cancel" not in running.stderr


@pytest.mark.parametrize("attempt", range(3))
def test_sigint_under_native_grpc_load_exits_0_quietly(attempt) -> None:
    running = start_mock("--grpc-port", "0")
    stop = threading.Event()
    calls = []

    def load(target: str) -> None:
        with grpc.insecure_channel(target) as channel:
            while not stop.is_set():
                try:
                    calls.append(call_grpc(channel, "ReactivateOrg", {}, ADMIN).code)
                except Exception:  # the server going away mid-call is expected
                    calls.append(None)

    threads = [
        threading.Thread(target=load, args=(t,), daemon=True)
        for t in (running.address, f"127.0.0.1:{running.grpc_own_port}") * 2
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while calls.count(9) < 20:
        assert time.monotonic() < deadline, "no gRPC load reached the mock"
        time.sleep(0.01)
    running.signal(signal.SIGINT)
    code = running.wait(20)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert code == 0, running.stderr
    assert "Traceback" not in running.stderr
    assert "RuntimeError" not in running.stderr


def test_beyond_loopback_the_control_plane_needs_the_printed_token() -> None:
    running = start_mock("--host", "0.0.0.0", "--no-grpc")
    try:
        line = next(line for line in running.banner if line.startswith("  Control plane"))
        assert "needs 'Authorization: Bearer " in line
        token = line.split("Bearer ", 1)[1].rstrip("')")
        url = f"http://127.0.0.1:{running.port}/_mock/v1/info"
        assert httpx.get(url).status_code == 401
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert "admin-pat" in response.text
    finally:
        running.signal(signal.SIGTERM)
        assert running.wait(30) == 0
