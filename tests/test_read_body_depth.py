"""Deeply nested list queries: a clear 400, never a 500 and never a query silently dropped."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_mock

SEARCH = "/management/v1/users/_search"
HEADERS = {"Authorization": "Bearer admin-pat", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_mock().app, raise_server_exceptions=False)


def _nested_not(depth: int, name: str) -> bytes:
    inner = '{"userNameQuery":{"userName":"' + name + '"}}'
    return ('{"queries":[' + '{"notQuery":{"query":' * depth + inner + "}}" * depth + "]}").encode()


def test_a_few_levels_of_not_are_evaluated(client) -> None:
    # Two NOTs around "user name is nobody" select everyone with that name: no one.
    answer = client.post(SEARCH, content=_nested_not(2, "nobody"), headers=HEADERS)
    assert answer.status_code == 200
    assert "result" not in answer.json()
    answer = client.post(SEARCH, content=_nested_not(1, "nobody"), headers=HEADERS)
    assert answer.status_code == 200 and answer.json()["result"]


@pytest.mark.parametrize("depth", [60, 200, 1500])
def test_deeper_than_the_mock_parses_is_refused_in_the_envelope(client, depth) -> None:
    answer = client.post(SEARCH, content=_nested_not(depth, "nobody"), headers=HEADERS)
    assert answer.status_code == 400
    assert answer.json() == {"code": 3, "message": "proto: exceeded max recursion depth"}


def test_a_known_field_too_deep_for_python_is_refused_not_dropped(client) -> None:
    # Valid for Go's scanner (under 10,000 levels), deeper than Python's decoder goes.
    body = b'{"queries":' + b"[" * 3000 + b"]" * 3000 + b"}"
    answer = client.post(SEARCH, content=body, headers=HEADERS)
    assert answer.status_code == 400
    assert answer.json() == {"code": 3, "message": "proto: exceeded max recursion depth"}


def test_an_unknown_field_too_deep_for_python_is_still_ignored(client) -> None:
    body = b'{"deep":' + b"[" * 3000 + b"]" * 3000 + b',"query":{"limit":1}}'
    answer = client.post(SEARCH, content=body, headers=HEADERS)
    assert answer.status_code == 200
    assert len(answer.json()["result"]) == 1
