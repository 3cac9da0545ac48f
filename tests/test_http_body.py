"""The size limit on request bodies, shared by the REST gateway and the gRPC-web front.

The limits are patched small here: what is tested is that an oversize body becomes each front's
own error (never a 500, never a hang) and that the world is not touched.
"""

from __future__ import annotations

import asyncio

import pytest
from grpc_harness import grpc_web_body, grpc_web_headers, parse_frames, parse_trailer
from rest_support import assert_error, find, main_org

from mock_server.http_body import BodyTooLarge, read_body


def _receive_chunks(chunks: list[bytes]):
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0)

    return receive


def test_read_body_joins_chunks_up_to_the_limit():
    body = asyncio.run(read_body(_receive_chunks([b"ab", b"cd", b"e"]), limit=5))
    assert body == b"abcde"


def test_read_body_stops_at_the_first_chunk_past_the_limit():
    receive = _receive_chunks([b"ab", b"cd", b"ef", b"never read"])
    with pytest.raises(BodyTooLarge) as caught:
        asyncio.run(read_body(receive, limit=5))
    assert (caught.value.size, caught.value.limit) == (6, 5)


def test_rest_body_over_the_limit_is_resource_exhausted(api, monkeypatch):
    monkeypatch.setattr("mock_server.rest.gateway.MAX_BODY_BYTES", 64)
    action = find(api.world, "actions", org=main_org(api.world), state="active")
    sequence = action.sequence
    body = b'{"pad": "' + b"x" * 100 + b'"}'
    response = api.on("DeactivateAction", action, body=body)
    expected = f"grpc: received message larger than max ({len(body)} vs. 64)"
    assert_error(response, 429, 8, expected, None)
    assert (action.state.value, action.sequence) == ("active", sequence)


def test_grpc_web_body_over_the_limit_is_resource_exhausted(api, monkeypatch):
    monkeypatch.setattr("mock_server.grpc_front.web.MAX_BODY_BYTES", 4)
    action = find(api.world, "actions", org=main_org(api.world), state="active")
    response = api.client.post(
        "/zitadel.management.v1.ManagementService/DeactivateAction",
        content=grpc_web_body("DeactivateAction", {"id": action.id}),
        headers=grpc_web_headers("admin-pat", None),
    )
    assert response.status_code == 200
    frames = parse_frames(response.content)
    trailer = parse_trailer(frames[-1][1])
    assert trailer["grpc-status"] == "8"
    assert "larger than 4 bytes" in trailer["grpc-message"]
    assert action.state.value == "active"
