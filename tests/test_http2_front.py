"""The native gRPC front's HTTP/2, frame by frame: what grpcio's and grpc-js's clients never
show (SETTINGS, PING, flow control, resets, GOAWAY, refusals before any RPC runs), driven by a
raw client over a socket, with the hpack library's encoder and decoder on the client's side."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import hpack
import pytest

from mock_server import ZitadelMock
from mock_server.domain.service import LifecycleService
from mock_server.fixtures import seeded_world
from mock_server.grpc_front import create_grpc_server
from mock_server.grpc_front import frames as h2
from mock_server.grpc_front.gen.zitadel import management_pb2
from mock_server.grpc_front.header_block import CompressionError, Decoder

SERVICE = "/zitadel.management.v1.ManagementService/"
GET_MY_ORG = management_pb2.GetMyOrgRequest()


class RawClient:
    """One HTTP/2 connection, frames written and read by hand."""

    def __init__(self, target: str, settings: dict[int, int] | None = None) -> None:
        host, _, port = target.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.buffer = b""
        self.goaways: list[tuple[int, int]] = []  # (last stream id, code)
        self.next_stream = 1
        payload = b"".join(struct.pack(">HL", k, v) for k, v in (settings or {}).items())
        self.sock.sendall(h2.PREFACE + h2.frame(h2.SETTINGS, 0, 0, payload))

    def send(self, kind: int, flags: int, stream_id: int, payload: bytes = b"") -> None:
        self.sock.sendall(h2.frame(kind, flags, stream_id, payload))

    def read(self) -> tuple[int, int, int, bytes]:
        while True:
            if len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) >= 9 + length:
                    head, self.buffer = self.buffer[:9], self.buffer[9:]
                    payload, self.buffer = self.buffer[:length], self.buffer[length:]
                    stream_id = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                    if head[3] == h2.GOAWAY:
                        self.goaways.append(struct.unpack(">LL", payload[:8]))
                    return head[3], head[4], stream_id, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk

    def frames_until(self, done) -> list[tuple[int, int, int, bytes]]:
        seen = []
        while True:
            seen.append(self.read())
            if done(seen[-1]):
                return seen

    def request(
        self,
        path: str,
        body: bytes | None,
        *,
        method: str = "POST",
        content_type: str = "application/grpc",
        extra: list[tuple[str, str]] | None = None,
        end: bool = True,
    ) -> int:
        stream_id, self.next_stream = self.next_stream, self.next_stream + 2
        headers = [
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", content_type),
            ("te", "trailers"),
            *(extra or []),
        ]
        block = self.encoder.encode(headers)
        pieces = [block[i : i + 16384] for i in range(0, len(block), 16384)]
        end_stream = h2.END_STREAM if body is None and end else 0
        for index, piece in enumerate(pieces):
            kind = h2.HEADERS if index == 0 else h2.CONTINUATION
            last = h2.END_HEADERS if index == len(pieces) - 1 else 0
            self.send(kind, last | (end_stream if index == 0 else 0), stream_id, piece)
        if body is not None:
            self.send(h2.DATA, h2.END_STREAM if end else 0, stream_id, body)
        return stream_id

    def answer(self, stream_id: int) -> dict:
        """The header blocks and DATA of one stream until it ends (reset or END_STREAM)."""
        blocks, data, reset = [], b"", None
        while True:
            kind, flags, sid, payload = self.read()
            if kind == h2.SETTINGS and not flags & h2.ACK:
                self.send(h2.SETTINGS, h2.ACK, 0)
            if sid != stream_id:
                continue
            if kind == h2.HEADERS:
                blocks.append(dict(self.decoder.decode(payload)))
            elif kind == h2.DATA:
                data += payload
            elif kind == h2.RST_STREAM:
                reset = int.from_bytes(payload, "big")
                if not blocks:
                    return {"blocks": blocks, "data": data, "reset": reset}
            if flags & h2.END_STREAM and kind in (h2.HEADERS, h2.DATA):
                return {"blocks": blocks, "data": data, "reset": reset}
            if reset is not None:
                return {"blocks": blocks, "data": data, "reset": reset}

    def close(self) -> None:
        self.sock.close()


def grpc_message(message) -> bytes:
    payload = message.SerializeToString()
    return struct.pack(">BL", 0, len(payload)) + payload


@pytest.fixture(scope="module")
def mock():
    with ZitadelMock() as running:
        yield running


@pytest.fixture
def client(mock):
    raw = RawClient(mock.grpc_target)
    yield raw
    raw.close()


def auth(mock) -> list[tuple[str, str]]:
    return [("authorization", "Bearer " + mock.tokens["instance_owner"])]


def _status(answer: dict) -> tuple[str, str, str]:
    last = answer["blocks"][-1]
    return (
        answer["blocks"][0].get(":status"),
        last.get("grpc-status"),
        last.get("grpc-message"),
    )


# ---- HPACK -------------------------------------------------------------------------------


def test_header_blocks_decode_as_the_hpack_library_decodes_them():
    encoder, theirs, ours = hpack.Encoder(), hpack.Decoder(), Decoder()
    rng = random.Random(7)
    for round_ in range(3000):
        if round_ % 11 == 0:
            encoder.header_table_size = rng.choice([0, 100, 256, 4096])
        fields = [
            (":method", "POST"),
            (":path", SERVICE + rng.choice(["GetMyOrg", "DeactivateAction", "ListUsers"])),
            ("grpc-timeout", f"{rng.randint(1, 10**8)}u"),
            ("authorization", "Bearer " + "t" * rng.randint(0, 2000)),
            ("x-zitadel-orgid", str(rng.randint(0, 10**18))),
            ("x-bin", "".join(chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 40)))),
        ]
        rng.shuffle(fields)
        block = encoder.encode(fields, huffman=rng.random() < 0.7)
        assert ours.decode(block)[0] == [tuple(field) for field in theirs.decode(block, raw=True)]


@pytest.mark.parametrize(
    "block",
    [b"\x80", b"\xff\xff\xff\xff\xff\xff\xff\x0f", b"\x40\x05ab", b"\xbf\x7f", b"\x3f\xe2\x1f"],
    ids=["index 0", "endless integer", "short string", "beyond the table", "table too big"],
)
def test_a_broken_header_block_is_a_compression_error(block):
    with pytest.raises(CompressionError):
        Decoder().decode(block)


# ---- the connection ----------------------------------------------------------------------


def test_the_server_settles_settings_and_answers_pings(client):
    client.send(h2.PING, 0, 0, b"12345678")
    frames = client.frames_until(lambda f: f[0] == h2.PING)
    kinds = [(kind, flags) for kind, flags, _, _ in frames]
    assert (h2.SETTINGS, 0) in kinds and (h2.SETTINGS, h2.ACK) in kinds
    assert frames[-1] == (h2.PING, h2.ACK, 0, b"12345678")


def test_a_call_answers_head_message_and_trailers(mock, client):
    stream = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    answer = client.answer(stream)
    head, trailers = answer["blocks"]
    assert (head[":status"], head["content-type"]) == ("200", "application/grpc")
    assert (trailers["grpc-status"], trailers["grpc-message"]) == ("0", "")
    flag, length = struct.unpack(">BL", answer["data"][:5])
    org = management_pb2.GetMyOrgResponse.FromString(answer["data"][5:]).org
    assert (flag, length) == (0, len(answer["data"]) - 5)
    owner = mock.world.tokens[mock.tokens["instance_owner"]].user_id
    assert org.id == mock.world.users[owner].resource_owner


def test_an_answer_waits_for_flow_control_credit(mock):
    client = RawClient(mock.grpc_target, {h2.SETTINGS_INITIAL_WINDOW_SIZE: 16})
    try:
        body = grpc_message(management_pb2.ListActionsRequest())
        stream = client.request(SERVICE + "ListActions", body, extra=auth(mock))
        first = []
        client.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            while True:
                frame = client.read()
                if frame[2] == stream:
                    first.append(frame)
        data = b"".join(payload for kind, _, _, payload in first if kind == h2.DATA)
        assert len(data) == 16  # the window, no more, and no trailers yet
        assert [kind for kind, *_ in first] == [h2.HEADERS, h2.DATA]
        client.sock.settimeout(5)
        client.send(h2.WINDOW_UPDATE, 0, stream, struct.pack(">L", 1 << 20))
        rest = client.answer(stream)
        message = data + rest["data"]
        assert rest["blocks"][-1]["grpc-status"] == "0"
        answer = management_pb2.ListActionsResponse.FromString(message[5:])
        assert len(message) == 5 + struct.unpack(">L", message[1:5])[0]
        assert answer.details.total_result == len(answer.result) > 0
    finally:
        client.close()


def test_a_broken_preface_is_a_protocol_error():
    server, port = create_grpc_server(LifecycleService(seeded_world(0)), "127.0.0.1", 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        server.stop(None).wait(5)
    # Our SETTINGS and WINDOW_UPDATE (sent at once), then GOAWAY(PROTOCOL_ERROR), then the end.
    goaway = answer[answer.index(bytes([h2.GOAWAY, 0, 0, 0, 0, 0])) - 3 :]
    assert struct.unpack(">LL", goaway[9:17]) == (0, h2.PROTOCOL_ERROR)


def test_a_stream_id_going_backwards_ends_the_connection(mock, client):
    client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    client.next_stream = 1
    client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG))
    frames = client.frames_until(lambda f: f[0] == h2.GOAWAY)
    code = struct.unpack(">L", frames[-1][3][4:8])[0]
    assert code == h2.PROTOCOL_ERROR
    with pytest.raises((EOFError, ConnectionResetError)):
        client.read()


# ---- refusals, as grpc-go words them -----------------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs, expected",
    [
        (
            {"content_type": "text/plain"},
            ("415", "3", 'invalid gRPC request content-type "text/plain"'),
        ),
        (
            {"method": "GET"},
            ("405", "13", 'Received a HEADERS frame with :method "GET" which should be POST'),
        ),
        (
            {"content_type": "application/grpc+json"},
            ("200", "13", "grpc: no codec registered for content-subtype json"),
        ),
        ({"path": "/foo.Bar/Baz"}, ("200", "12", "unknown service foo.Bar")),
        (
            {"path": "/grpc.health.v1.Health/Nope"},
            ("200", "12", "unknown method Nope for service grpc.health.v1.Health"),
        ),
        ({"path": "nothing"}, ("200", "12", "malformed method name: 'nothing'")),
        ({"body": b""}, ("200", "2", "EOF")),
        ({"body": b"\0\0\0\0\x09abc"}, ("200", "2", "unexpected EOF")),
        (
            {"body": b"\x01\0\0\0\0", "extra": [("grpc-encoding", "gzip")]},
            ("200", "12", 'grpc: Decompressor is not installed for grpc-encoding "gzip"'),
        ),
        ({"body": b"\x02\0\0\0\0"}, ("200", "13", "grpc: received unexpected payload format 2")),
        (
            {"body": b"\0\0\0\0\x03\xff\xff\xff"},
            ("200", "13", "grpc: error unmarshalling request: Error parsing message"),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_refusals_follow_grpc_go(mock, client, request_kwargs, expected):
    kwargs = {"path": SERVICE + "GetMyOrg", "body": grpc_message(GET_MY_ORG)}
    kwargs.update(request_kwargs)
    kwargs["extra"] = auth(mock) + kwargs.get("extra", [])
    path, body = kwargs.pop("path"), kwargs.pop("body")
    answer = client.answer(client.request(path, body, **kwargs))
    status, code, message = _status(answer)
    assert (status, code) == expected[:2]
    assert message.startswith(expected[2])
    # The connection serves on.
    stream = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    assert _status(client.answer(stream))[1] == "0"


def test_an_early_answer_resets_the_rest_of_the_request(mock, client):
    stream = client.request(SERVICE + "GetMyOrg", None, content_type="text/plain", end=False)
    answer = client.answer(stream)
    assert _status(answer)[:2] == ("415", "3")
    kind, _, sid, payload = client.read()
    assert (kind, sid, struct.unpack(">L", payload)[0]) == (
        h2.RST_STREAM,
        stream,
        h2.NO_ERROR,
    )


def test_a_message_over_4_mib_is_refused_and_the_connection_serves_on(mock, client):
    stream = client.request(SERVICE + "GetMyOrg", None, extra=auth(mock), end=False)
    client.send(h2.DATA, 0, stream, struct.pack(">BL", 0, 5 << 20))
    answer = client.answer(stream)
    assert _status(answer)[1:] == (
        "8",
        "grpc: received message larger than max (5242880 vs. 4194304)",
    )
    again = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    assert _status(client.answer(again))[1] == "0"


def test_a_header_list_over_the_limit_resets_its_stream(mock, client):
    huge = [("x-big", "a" * 8000) for _ in range(140)]  # over 1 MiB once decoded
    stream_id = client.request(SERVICE + "GetMyOrg", None, extra=[*auth(mock), *huge])
    answer = client.answer(stream_id)
    assert answer["reset"] == h2.FRAME_SIZE_ERROR and not answer["blocks"]
    again = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    assert _status(client.answer(again))[1] == "0"


# ---- faults and cancellation -------------------------------------------------------------


def test_an_injected_drop_resets_the_stream_with_cancel(mock, client):
    with mock.inject("GetMyOrg", drop=True):
        stream = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
        answer = client.answer(stream)
    assert answer == {"blocks": [], "data": b"", "reset": h2.CANCEL}


def test_a_client_reset_cancels_a_delayed_call_before_it_runs(mock, client):
    world = mock.world
    action = next(a for a in world.actions.values() if a.state.value == "active")
    request = management_pb2.DeactivateActionRequest(id=action.id)
    with mock.inject("DeactivateAction", latency=300):
        stream = client.request(
            SERVICE + "DeactivateAction", grpc_message(request), extra=auth(mock)
        )
        client.send(h2.RST_STREAM, 0, stream, struct.pack(">L", h2.CANCEL))
        time.sleep(0.6)
    assert world.actions[action.id].state.value == "active"
    again = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    assert _status(client.answer(again))[1] == "0"


def test_stop_sends_goaway_and_lets_the_call_in_flight_finish():
    mock = ZitadelMock().start()
    client = RawClient(mock.grpc_target)
    stopper = threading.Thread(target=mock.stop)
    try:
        with mock.inject("GetMyOrg", latency=300):
            stream = client.request(
                SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock)
            )
            time.sleep(0.05)
            stopper.start()
            answer = client.answer(stream)
        assert client.goaways == [(stream, h2.NO_ERROR)]
        assert _status(answer)[1] == "0" and answer["data"]
        with pytest.raises((EOFError, ConnectionResetError)):
            client.read()  # closed once its last stream is done
    finally:
        stopper.join(10)
        client.close()


# ---- what a hostile client sends (RFC 9113 10.5) -----------------------------------------


def _goaway_code(client: RawClient) -> int:
    client.frames_until(lambda f: f[0] == h2.GOAWAY)
    return client.goaways[-1][1]


def test_a_continuation_flood_ends_the_connection(mock, client):
    stream = client.next_stream
    client.send(h2.HEADERS, 0, stream, client.encoder.encode([(":method", "POST")]))
    client.sock.sendall(h2.frame(h2.CONTINUATION, 0, stream) * 200)
    assert _goaway_code(client) == h2.ENHANCE_YOUR_CALM


def test_a_small_block_naming_a_big_entry_again_and_again_is_over_the_limit(mock, client):
    encoder = hpack.Encoder()
    first = encoder.encode([("x-big", "b" * 4000)])  # added to the table
    block = first + bytes([0x80 | 62]) * 300  # the same entry 300 times: 1.2 MB decoded
    fields, size = Decoder().decode(block, limit=1 << 20)
    assert size > 1 << 20 and sum(len(n) + len(v) + 32 for n, v in fields) <= 1 << 20
    again = client.next_stream
    client.next_stream += 2
    head = client.encoder.encode(
        [(":method", "POST"), (":path", SERVICE + "GetMyOrg"), ("content-type", "application/grpc")]
    )
    client.send(h2.HEADERS, h2.END_HEADERS, again, head + block)
    assert client.answer(again)["reset"] == h2.FRAME_SIZE_ERROR


def test_padding_counts_against_the_stream_window(mock, client):
    stream = client.request(SERVICE + "GetMyOrg", None, extra=auth(mock), end=False)
    client.send(h2.DATA, 0, stream, struct.pack(">BL", 0, 4_000_000))
    padded = bytes([255]) + b"m" * (16_384 - 256) + b"\0" * 255
    for _ in range(40):  # 655 KB of frames, 645 KB of them message
        client.send(h2.DATA, h2.PADDED, stream, padded)
    frames = client.frames_until(lambda f: f[0] == h2.WINDOW_UPDATE and f[2] == stream)
    assert frames[-1][2] == stream


def test_an_answer_with_end_stream_in_the_same_batch_is_not_reset(mock, client):
    message = grpc_message(GET_MY_ORG)
    stream = client.request(SERVICE + "GetMyOrg", None, extra=auth(mock), end=False)
    client.sock.sendall(
        h2.frame(h2.DATA, 0, stream, message) + h2.frame(h2.DATA, h2.END_STREAM, stream)
    )
    assert _status(client.answer(stream))[1] == "0"
    client.send(h2.PING, 0, 0, b"probe..."[:8])
    frames = client.frames_until(lambda f: f[0] == h2.PING)
    assert not [f for f in frames if f[0] == h2.RST_STREAM]
    # Without END_STREAM the stream is reset once the batch is over, as grpc-go does.
    stream = client.request(SERVICE + "GetMyOrg", message, extra=auth(mock), end=False)
    assert _status(client.answer(stream))[1] == "0"
    kind, _, sid, payload = client.read()
    assert (kind, sid, payload) == (h2.RST_STREAM, stream, struct.pack(">L", h2.NO_ERROR))


def test_frames_in_flight_after_our_reset_are_ignored(mock, client):
    stream = client.request(SERVICE + "GetMyOrg", None, content_type="text/plain", end=False)
    client.answer(stream)
    client.read()  # our RST_STREAM(NO_ERROR)
    trailers = client.encoder.encode([("x-late", "1")])
    client.send(h2.HEADERS, h2.END_HEADERS | h2.END_STREAM, stream, trailers)
    client.send(h2.DATA, h2.END_STREAM, stream, b"late")
    again = client.request(SERVICE + "GetMyOrg", grpc_message(GET_MY_ORG), extra=auth(mock))
    assert _status(client.answer(again))[1] == "0" and not client.goaways


@pytest.mark.parametrize(
    "frame, code",
    [
        ((h2.RST_STREAM, 0, 99, struct.pack(">L", 8)), h2.PROTOCOL_ERROR),
        ((h2.WINDOW_UPDATE, 0, 99, struct.pack(">L", 1)), h2.PROTOCOL_ERROR),
        ((h2.SETTINGS, h2.ACK, 0, b"\0" * 6), h2.FRAME_SIZE_ERROR),
        ((h2.PING, 0, 0, b"short"), h2.FRAME_SIZE_ERROR),
        ((h2.GOAWAY, 0, 0, b"\0"), h2.FRAME_SIZE_ERROR),
        ((h2.PUSH_PROMISE, 0, 1, b"\0" * 4), h2.PROTOCOL_ERROR),
    ],
    ids=[
        "reset of an idle stream",
        "window of an idle stream",
        "settings ack with payload",
        "short ping",
        "short goaway",
        "push promise",
    ],
)
def test_connection_errors_end_in_goaway(client, frame, code):
    client.send(*frame)
    assert _goaway_code(client) == code


def test_a_stream_window_update_of_zero_or_past_the_limit_resets_the_stream(mock, client):
    for increment, code in ((0, h2.PROTOCOL_ERROR), (2**31 - 1, h2.FLOW_CONTROL_ERROR)):
        stream = client.request(SERVICE + "GetMyOrg", None, extra=auth(mock), end=False)
        client.send(h2.WINDOW_UPDATE, 0, stream, struct.pack(">L", increment))
        assert client.answer(stream)["reset"] == code
    assert not client.goaways


def test_a_table_size_update_after_a_field_is_a_compression_error():
    with pytest.raises(CompressionError):
        Decoder().decode(bytes([0x80 | 2]) + b"\x20")
