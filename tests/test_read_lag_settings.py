"""The read lag as a user sets it: ``--read-lag`` on the command line and ``/_mock/v1/settings``."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_mock
from mock_server.banner import describe
from mock_server.cli import parse_args

BASE = "/management/v1"
ADMIN = {"Authorization": "Bearer admin-pat"}


def _client(**options) -> TestClient:
    return TestClient(create_mock(**options).app)


def _active_action(client: TestClient) -> str:
    body = {"queries": [{"actionStateQuery": {"state": "ACTION_STATE_ACTIVE"}}]}
    listed = client.post(f"{BASE}/actions/_search", json=body, headers=ADMIN).json()
    return listed["result"][0]["id"]


def _state(client: TestClient, action_id: str) -> str:
    return client.get(f"{BASE}/actions/{action_id}", headers=ADMIN).json()["action"]["state"]


def test_settings_default_to_no_lag_and_reads_follow_writes_at_once() -> None:
    client = _client()
    assert client.get("/_mock/v1/settings").json() == {"read_lag_ms": 0}
    action = _active_action(client)
    client.post(f"{BASE}/actions/{action}/_deactivate", json={}, headers=ADMIN)
    assert _state(client, action) == "ACTION_STATE_INACTIVE"


def test_a_lag_set_through_the_control_plane_delays_what_the_reads_show() -> None:
    client = _client()
    answer = client.put("/_mock/v1/settings", json={"read_lag_ms": 400})
    assert (answer.status_code, answer.json()) == (200, {"read_lag_ms": 400})
    action = _active_action(client)
    written = client.post(f"{BASE}/actions/{action}/_deactivate", json={}, headers=ADMIN)
    assert written.status_code == 200
    # The write took effect (a second one fails), the reads still show the state before it.
    again = client.post(f"{BASE}/actions/{action}/_deactivate", json={}, headers=ADMIN)
    assert again.json()["code"] == 9
    assert _state(client, action) == "ACTION_STATE_ACTIVE"
    deadline = time.monotonic() + 5
    while _state(client, action) != "ACTION_STATE_INACTIVE":
        assert time.monotonic() < deadline, "the lagging read never caught up"
        time.sleep(0.05)


def test_the_start_lag_survives_a_reset_and_a_changed_one_does_not() -> None:
    client = _client(read_lag=0.25)
    assert client.get("/_mock/v1/settings").json() == {"read_lag_ms": 250}
    client.put("/_mock/v1/settings", json={"read_lag_ms": 0})
    assert client.post("/_mock/v1/reset").status_code == 204
    assert client.get("/_mock/v1/settings").json() == {"read_lag_ms": 250}


@pytest.mark.parametrize(
    "body",
    [
        {"read_lag_ms": -1},
        {"read_lag_ms": "5"},
        {"read_lag_ms": 1.5},
        {"read_lag_ms": True},
        {"read_lag_ms": 600_001},
        [1],
    ],
)
def test_bad_settings_are_refused_in_the_envelope(body) -> None:
    client = _client()
    answer = client.put("/_mock/v1/settings", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == 3
    assert client.get("/_mock/v1/settings").json() == {"read_lag_ms": 0}


def test_the_cli_takes_the_lag_in_milliseconds_and_the_banner_says_so() -> None:
    assert parse_args(["--read-lag", "250"]).read_lag == 250
    assert parse_args(["--read-lag", "250ms"]).read_lag == 250
    assert parse_args([]).read_lag == 0
    for bad in ("-5", "soon", "600001"):
        with pytest.raises(SystemExit):
            parse_args(["--read-lag", bad])
    mock = create_mock(read_lag=0.25)
    assert "Read lag        250 ms" in describe(mock.world, "http://x", "v4", True)
    assert "Read lag        none" in describe(create_mock().world, "http://x", "v4", True)
