"""A seeded, bounded raw fuzzer against a real mock process, on every front.

REST gets well-framed requests with random methods, paths, header bytes and bodies (random
bytes, broken and deeply nested JSON) and must always answer ZITADEL's envelope (or a success)
without a 5xx; raw garbage must get either that or net/http's own plain 400/431; gRPC-web must
always answer a gRPC status in its trailer; native gRPC must answer a status that is not
UNKNOWN (which would be an exception in the mock). Same seed, same requests.
"""

from __future__ import annotations

import base64
import json
import random
import signal

import grpc
import pytest
from mock_process import start_mock
from raw_http import exchange

from mock_server.one_port import GO_400, GO_431

SEED = 20240607
RPC_PATHS = [
    "/management/v1/actions/{id}/_deactivate",
    "/management/v1/actions/{id}/_reactivate",
    "/management/v1/users/{id}/_deactivate",
    "/management/v1/users/{id}/_reactivate",
    "/management/v1/orgs/me/_deactivate",
    "/management/v1/orgs/me/_reactivate",
    "/management/v1/users/{id}/grants/{id}/_deactivate",
    "/management/v1/users/{id}/grants/{id}/_reactivate",
    "/management/v1/{id}",
    "/management/v1/",
    "/_mock/v1/info",
    "/_mock/v1/orgs",
    "/_mock/v1/users/{id}/state",
    "/{id}",
]
METHODS = ["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW", "M-SEARCH"]
RPCS = [
    "DeactivateAction",
    "ReactivateAction",
    "DeactivateUser",
    "ReactivateUser",
    "DeactivateOrg",
    "ReactivateOrg",
    "DeactivateUserGrant",
    "ReactivateUserGrant",
    "ListUsers",
    "Nothing",
]
CONTENT_TYPES = [
    b"application/json",
    b"text/plain",
    b"multipart/form-data",
    b"multipart/form-data; boundary=x",
    b"application/x-www-form-urlencoded",
    b"application/\xff\xfe",
    b"",
]


def _segment(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return str(rng.randrange(10**18)).encode()
    if kind == 1:
        return bytes(
            rng.choice(b"abcXYZ019%-._~!$&'()*+,;=:@") for _ in range(rng.randrange(1, 30))
        )
    if kind == 2:
        return bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 8)))
    if kind == 3:
        return b"%" + bytes(rng.choice(b"0123456789ABCDEFZ") for _ in range(2))
    return b"x" * rng.choice([1, 201, 5000, 70_000])


def _json_body(rng: random.Random) -> bytes:
    depth = rng.choice([1, 10, 999, 1001, 10_001])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    body = (
        opener * depth
        + rng.choice([b"1", b"tru", b'"x"', b"nul", b"-", b""])
        + closer * (depth if rng.random() < 0.7 else rng.randrange(depth))
    )
    if rng.random() < 0.3:
        body = b'{"id":' + body + b"}"
    return body


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 300))
    if kind == 1:
        return _json_body(rng)
    if kind == 2:
        value = {"id": rng.choice([5, "x", None, [1], {"a": 1}, True]), "name": "x"}
        text = json.dumps(value).encode()
        return text[: rng.randrange(len(text) + 1)]
    return b"&".join(b"a=%d" % i for i in range(rng.choice([1, 1001])))


def _rest_request(rng: random.Random) -> bytes:
    path = rng.choice(RPC_PATHS).encode()
    while b"{id}" in path:
        path = path.replace(b"{id}", _segment(rng), 1)
    if rng.random() < 0.2:
        path += b"/"
    if rng.random() < 0.2:
        path += b"?" + _segment(rng)
    body = _body(rng)
    headers = [b"Host: 127.0.0.1", b"Content-Length: %d" % len(body), b"Connection: close"]
    if rng.random() < 0.8:
        headers.append(b"Content-Type: " + rng.choice(CONTENT_TYPES))
    if rng.random() < 0.6:
        token = rng.choice([b"Bearer admin-pat", b"Bearer nope", b"bearer x", b"\xff\xfe"])
        headers.append(b"Authorization: " + token)
    if rng.random() < 0.3:
        headers.append(b"x-zitadel-orgid: " + _segment(rng)[:300])
    if rng.random() < 0.3:
        headers.append(b"Origin: http://" + bytes(rng.choice(b"abc.") for _ in range(8)))
    if rng.random() < 0.2:
        headers.append(b"X-Junk: " + bytes(rng.randrange(0x20, 0x100) for _ in range(20)))
    method = rng.choice(METHODS).encode()
    return method + b" " + path + b" HTTP/1.1\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body


def _assert_envelope_or_success(request: bytes, answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    status = int(status_line.split(b" ")[1])
    where = f"{request[:120]!r} -> {answer[:300]!r}"
    assert status < 500, where
    headers = dict(line.lower().split(b": ", 1) for line in header_lines if b": " in line)
    if status in (204, 307) or not body:  # reset, preflights, the /ui redirect
        assert status in (204, 307), where
        return
    assert headers.get(b"content-type") in (b"application/json", b"application/yaml"), where
    decoded = json.loads(body)
    if status >= 400:
        assert set(decoded) <= {"code", "message", "details"}, where
        assert isinstance(decoded["code"], int) and isinstance(decoded["message"], str), where


@pytest.fixture(scope="module")
def mock():
    # A big world cap is irrelevant here; the read time-out keeps half-framed garbage short.
    running = start_mock("--grpc-port", "0", "--read-timeout", "1")
    yield running
    running.signal(signal.SIGTERM)
    assert running.wait(30) == 0, running.stderr
    assert "Traceback" not in running.stderr, running.stderr


def test_rest_fuzz(mock) -> None:
    rng = random.Random(SEED)
    for _ in range(2000):
        request = _rest_request(rng)
        answer = exchange(mock.port, request)
        if answer in (GO_400, GO_431):
            # Below any router: only what Go's net/http refuses to parse may get these.
            assert (
                len(request) > (1 << 20)
                or b"\xff\xfe" in request.split(b"\r\n\r\n")[0]
                or (b"X-Junk" in request or b"\x7f" in request.split(b"\r\n\r\n")[0])
            ), request[:200]
            continue
        _assert_envelope_or_success(request, answer)


def test_raw_bytes_fuzz(mock) -> None:
    rng = random.Random(SEED + 1)
    for _ in range(300):
        garbage = rng.randbytes(rng.randrange(1, 200))
        if rng.random() < 0.5:
            garbage = rng.choice([b"POST ", b"GET /", b"PRI * "]) + garbage
        answer = exchange(mock.port, garbage + b"\r\n\r\n")
        if answer in (b"", GO_400, GO_431):
            continue  # closed, or net/http's own answer
        _assert_envelope_or_success(garbage, answer)


def test_grpc_web_fuzz(mock) -> None:
    rng = random.Random(SEED + 2)
    for _ in range(500):
        text = rng.random() < 0.3
        content_type = b"application/grpc-web-text" if text else b"application/grpc-web+proto"
        payload = rng.randbytes(rng.randrange(0, 60))
        if rng.random() < 0.5:
            payload = b"\x00" + len(payload).to_bytes(4, "big") + payload
        body = base64.b64encode(payload) if text and rng.random() < 0.7 else payload
        path = f"/zitadel.management.v1.ManagementService/{rng.choice(RPCS)}".encode()
        request = (
            b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: " + content_type + b"\r\nAuthorization: Bearer admin-pat\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        ) + body
        answer = exchange(mock.port, request)
        head, _, reply = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), (request[:200], answer[:300])
        if text:
            reply = base64.b64decode(reply)
        assert b"grpc-status:" in reply, (request[:200], answer[:300])


@pytest.mark.parametrize("port", ["http", "own"])
def test_native_grpc_fuzz(mock, port) -> None:
    rng = random.Random(SEED + 3)
    target = mock.address if port == "http" else f"127.0.0.1:{mock.grpc_own_port}"
    with grpc.insecure_channel(target) as channel:
        for _ in range(250):
            method = channel.unary_unary(
                f"/zitadel.management.v1.ManagementService/{rng.choice(RPCS)}",
                request_serializer=lambda raw: raw,
                response_deserializer=lambda raw: raw,
            )
            metadata = [("authorization", rng.choice(["Bearer admin-pat", "x", "Bearer "]))]
            if rng.random() < 0.5:
                metadata.append(("x-zitadel-orgid", str(rng.randrange(10**18))))
            try:
                method(rng.randbytes(rng.randrange(0, 80)), metadata=metadata, timeout=10)
            except grpc.RpcError as error:
                assert error.code() is not grpc.StatusCode.UNKNOWN, error.details()
                assert error.code() is not grpc.StatusCode.UNAVAILABLE, error.details()
