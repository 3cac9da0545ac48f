"""Injected faults: errors rendered as ZITADEL renders its own on each front, latency that never
blocks the event loop, dropped connections, next-N and seeded fractions, stacking, isolation
per instance, no state change, the control plane and the Python and CLI ways to set them.

Expectations for the error shapes come from ZITADEL's wire (the same as tests/grpc_harness.py
decodes for real errors): the gateway's envelope with a zitadel.v1.ErrorDetail only when the
error has an id, grpc-status/grpc-message/grpc-status-details-bin in gRPC-web trailers and
native gRPC trailing metadata.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from controls_support import Client, grpc_call
from google.rpc import status_pb2
from grpc_harness import (
    SERVICE_PATH,
    _error_details,
    grpc_web_body,
    grpc_web_headers,
    grpc_web_outcome,
    parse_frames,
    parse_trailer,
)
from starlette.testclient import TestClient

from mock_server import ZitadelMock
from mock_server.app import create_mock
from mock_server.banner import _fault_text, describe
from mock_server.cli import parse_args
from mock_server.faults import Faults, parse_fail_option, parse_latency
from mock_server.inprocess import MockInstance

USER = "282274986523091618"  # active human of the main org
INACTIVE_USER = "135901735825285059"
ACTION = "182142426217625554"  # active action of the main org
CONTROL = "/_mock/v1"
DEACTIVATE_USER = f"/management/v1/users/{USER}/_deactivate"


@pytest.fixture(scope="module")
def mock() -> ZitadelMock:
    return ZitadelMock()  # not started: the ASGI app alone


@pytest.fixture
def instance(mock: ZitadelMock) -> Iterator[MockInstance]:
    created = mock.new_instance()
    yield created
    created.delete()


@pytest.fixture
def client(mock: ZitadelMock, instance: MockInstance) -> Client:
    return Client(mock, instance)


def _state(instance: MockInstance, user: str = USER) -> tuple[str, int]:
    with instance.world.lock:
        aggregate = instance.world.users[user]
        return aggregate.state.value, aggregate.sequence


# ---- errors on each front ------------------------------------------------------------------


def test_an_injected_error_on_rest_is_zitadels_envelope_with_its_error_detail(instance, client):
    before = _state(instance)
    with instance.inject(
        "DeactivateUser", code="unavailable", message="try later", error_id="MOCK-1"
    ):
        answer = client.post(DEACTIVATE_USER)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "code": 14,
        "message": "try later (MOCK-1)",
        "details": [
            {
                "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                "id": "MOCK-1",
                "message": "try later",
            }
        ],
    }
    assert _state(instance) == before  # no event, no sequence


def test_without_an_error_id_there_are_no_details_and_a_default_message(instance, client):
    with instance.inject("GetMyOrg", code=4):
        answer = client.get("/management/v1/orgs/me")
    assert answer.status_code == 504
    body = answer.json()
    assert body["code"] == 4 and "details" not in body
    assert re.fullmatch(r"injected fault \d+: DEADLINE_EXCEEDED", body["message"])


def test_an_injected_unauthenticated_carries_www_authenticate(instance, client):
    with instance.inject("GetMyOrg", code="unauthenticated", message="Errors.Token.Invalid"):
        answer = client.get("/management/v1/orgs/me")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Errors.Token.Invalid"


def test_an_injected_error_on_grpc_web_is_in_the_trailer(instance, client):
    with instance.inject(
        "DeactivateUser", code="failed_precondition", message="nope", error_id="X-1"
    ):
        answer = client.web("DeactivateUser", {"id": USER})
    outcome = grpc_web_outcome(
        "DeactivateUser", answer.status_code, answer.headers["content-type"], answer.content
    )
    assert (outcome.code, outcome.message, outcome.error_details) == (
        9,
        "nope (X-1)",
        (("X-1", "nope"),),
    )
    assert _state(instance)[0] == "active"


def test_an_injected_error_on_native_grpc_is_its_status_and_details(zitadel_mock, zitadel_instance):
    with (
        zitadel_instance.inject("DeactivateUser", code=14, message="down", error_id="MOCK-2"),
        grpc.insecure_channel(zitadel_mock.grpc_target) as channel,
        pytest.raises(grpc.RpcError) as failure,
    ):
        grpc_call(channel, zitadel_instance, "DeactivateUser", {"id": USER})
    error = failure.value
    assert (error.code(), error.details()) == (grpc.StatusCode.UNAVAILABLE, "down (MOCK-2)")
    raw = dict(error.trailing_metadata())["grpc-status-details-bin"]
    assert _error_details(status_pb2.Status.FromString(raw)) == (("MOCK-2", "down"),)
    assert _state(zitadel_instance)[0] == "active"
    (call,) = zitadel_instance.calls()
    assert (call.transport, call.code, call.injected, call.error_id) == ("grpc", 14, True, "MOCK-2")


def test_an_injected_failure_is_marked_in_the_journal_and_changes_nothing(instance, client):
    before = _state(instance)
    with instance.inject("DeactivateUser", code="aborted", times=1) as fault:
        failed = client.post(DEACTIVATE_USER)
        passed = client.post(DEACTIVATE_USER)
    assert (failed.status_code, passed.status_code) == (409, 200)
    first, second = instance.calls()
    assert (first.injected, first.fault, first.code, first.http_status) == (True, fault.id, 10, 409)
    assert first.caller == second.caller and first.caller is not None
    assert (second.injected, second.fault) == (False, None)
    # The one real transition is the only change: one event after the start.
    assert _state(instance) == ("inactive", before[1] + 1)
    assert instance.calls(injected=True) == [first]


# ---- next N, fractions, stacking -------------------------------------------------------------


def test_times_fails_the_next_n_calls_then_the_fault_is_gone(instance, client):
    with instance.inject("GetMyOrg", code=14, times=2):
        statuses = [client.get("/management/v1/orgs/me").status_code for _ in range(3)]
        assert instance.instance.faults.to_json() == []
    assert statuses == [503, 503, 200]


def test_a_fault_on_one_rpc_leaves_the_others_alone(instance, client):
    with instance.inject("DeactivateAction", code=14):
        assert client.get("/management/v1/orgs/me").status_code == 200
        assert client.post(DEACTIVATE_USER).status_code == 200
        assert client.post(f"/management/v1/actions/{ACTION}/_deactivate").status_code == 503


def test_a_fraction_is_seeded_so_every_run_fails_the_same_calls(mock):
    def pattern(seed: int) -> list[int]:
        created = mock.new_instance()
        try:
            client = Client(mock, created)
            with created.inject("GetMyOrg", code=14, fraction=0.3, seed=seed):
                return [client.get("/management/v1/orgs/me").status_code for _ in range(30)]
        finally:
            created.delete()

    first = pattern(0)
    assert first == pattern(0)
    assert {200, 503} == set(first) and 3 <= first.count(503) <= 18
    assert pattern(1) != first


def test_faults_stack_latency_adds_and_the_first_failure_decides(instance, client):
    with (
        instance.inject(latency=30),
        instance.inject("GetMyOrg", latency=[20, 20]),
        instance.inject("GetMyOrg", code=14, times=1) as first,
        instance.inject("GetMyOrg", code=13, times=1) as second,
    ):
        statuses = [client.get("/management/v1/orgs/me").status_code for _ in range(3)]
    assert statuses == [503, 500, 200]
    calls = instance.calls()
    assert [c.fault for c in calls] == [first.id, second.id, None]
    assert [c.delay_ms for c in calls] == [50, 50, 50]
    assert all(c.duration_ms >= 50 for c in calls)


def test_a_range_draws_each_delay_within_it():
    faults = Faults()
    faults.add({"latency_ms": [10, 40], "seed": 3})
    delays = [faults.take("GetMyOrg").delay for _ in range(50)]
    assert all(0.010 <= delay <= 0.040 for delay in delays) and len(set(delays)) > 40


def test_take_is_atomic_under_threads():
    faults = Faults()
    faults.add({"code": 14, "times": 100})
    failed = []

    def call() -> None:
        for _ in range(50):
            if faults.take("GetMyOrg").error is not None:
                failed.append(1)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failed) == 100 and len(faults) == 0


# ---- latency on each front -------------------------------------------------------------------


def test_latency_on_rest_and_grpc_web(instance, client):
    with instance.inject("GetMyOrg", latency=120):
        started = time.monotonic()
        assert client.get("/management/v1/orgs/me").status_code == 200
        assert time.monotonic() - started >= 0.12
        started = time.monotonic()
        answer = client.web("GetMyOrg", {})
        assert time.monotonic() - started >= 0.12
    assert parse_trailer(parse_frames(answer.content)[-1][1])["grpc-status"] == "0"
    rest, web = instance.calls()
    assert (rest.delay_ms, web.delay_ms) == (120, 120) and web.duration_ms >= 120


def test_latency_on_native_grpc(zitadel_mock, zitadel_instance):
    with (
        zitadel_instance.inject("GetMyOrg", latency=120),
        grpc.insecure_channel(zitadel_mock.grpc_target) as channel,
    ):
        started = time.monotonic()
        grpc_call(channel, zitadel_instance, "GetMyOrg", {})
        assert time.monotonic() - started >= 0.12
    (call,) = zitadel_instance.calls()
    assert call.transport == "grpc" and call.duration_ms >= 120


def test_latency_is_awaited_so_other_calls_pass_a_slow_one(zitadel_mock, zitadel_instance):
    """One uvicorn event loop serves both calls: a slept latency would hold the fast one."""
    finished: list[str] = []
    token = {"Authorization": f"Bearer {zitadel_instance.tokens['instance_owner']}"}

    def slow() -> None:
        with zitadel_instance.client(headers=token) as client:
            assert client.post(DEACTIVATE_USER, json={}).status_code == 200
        finished.append("slow")

    with zitadel_instance.inject("DeactivateUser", latency=1000, times=1):
        thread = threading.Thread(target=slow)
        thread.start()
        deadline = time.monotonic() + 10
        while len(zitadel_instance.instance.faults):  # until the slow call has taken it
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.005)
        with zitadel_instance.client(headers=token) as client:
            assert client.get("/management/v1/orgs/me").status_code == 200
        finished.append("fast")
        thread.join()
    assert finished == ["fast", "slow"]


# ---- dropped connections ---------------------------------------------------------------------


def test_a_drop_cuts_the_rest_connection(zitadel_instance):
    token = {"Authorization": f"Bearer {zitadel_instance.tokens['instance_owner']}"}
    with zitadel_instance.client(headers=token) as client:
        with (
            zitadel_instance.inject("DeactivateUser", drop=True, times=1),
            pytest.raises(httpx.RemoteProtocolError),
        ):
            client.post(DEACTIVATE_USER, json={})
        assert _state(zitadel_instance)[0] == "active"
        assert client.post(DEACTIVATE_USER, json={}).status_code == 200
    dropped, passed = zitadel_instance.calls()
    assert (dropped.injected, dropped.code, passed.injected) == (True, 14, False)
    assert "connection dropped" in dropped.message


def test_a_drop_cuts_the_grpc_web_connection(zitadel_instance):
    token = zitadel_instance.tokens["instance_owner"]
    with (
        zitadel_instance.client() as client,
        zitadel_instance.inject("GetMyOrg", drop=True),
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post(
            SERVICE_PATH + "GetMyOrg",
            content=grpc_web_body("GetMyOrg", {}),
            headers=grpc_web_headers(token, None),
        )
    (call,) = zitadel_instance.calls()
    assert (call.transport, call.injected) == ("grpc-web", True)


def test_a_drop_on_native_grpc_is_cancelled(zitadel_mock, zitadel_instance):
    with (
        zitadel_instance.inject("DeactivateUser", drop=True),
        grpc.insecure_channel(zitadel_mock.grpc_target) as channel,
        pytest.raises(grpc.RpcError) as failure,
    ):
        grpc_call(channel, zitadel_instance, "DeactivateUser", {"id": USER})
    assert failure.value.code() is grpc.StatusCode.CANCELLED
    assert _state(zitadel_instance)[0] == "active"


def test_without_a_connection_a_drop_is_a_clear_status(instance, client):
    with instance.inject("GetMyOrg", drop=True):
        answer = client.get("/management/v1/orgs/me")
        web = client.web("GetMyOrg", {})
    assert answer.status_code == 503
    assert "connection dropped" in answer.json()["message"]
    assert "in-process client has no connection to cut" in answer.json()["message"]
    outcome = grpc_web_outcome("GetMyOrg", 200, web.headers["content-type"], web.content)
    assert outcome.code == 14 and "no connection to cut" in outcome.message


# ---- per instance, and the Python API --------------------------------------------------------


def test_faults_are_per_instance(mock, instance, client):
    other = mock.new_instance()
    try:
        with instance.inject(code=14):
            assert client.get("/management/v1/orgs/me").status_code == 503
            assert Client(mock, other).get("/management/v1/orgs/me").status_code == 200
            admin = {"Authorization": "Bearer admin-pat"}
            assert (
                TestClient(mock.app).get("/management/v1/orgs/me", headers=admin).status_code == 200
            )
        assert other.calls(injected=True) == []
    finally:
        other.delete()


def test_inject_removes_its_fault_on_exit_even_after_an_exception(instance):
    with pytest.raises(RuntimeError), instance.inject("GetMyOrg", code=14):
        assert len(instance.instance.faults) == 1
        raise RuntimeError
    assert len(instance.instance.faults) == 0


def test_inject_refuses_a_fault_that_makes_no_sense(instance):
    with pytest.raises(ValueError, match="a fault needs code, latency_ms or drop"):
        instance.inject("GetMyOrg").__enter__()
    with pytest.raises(ValueError, match="did you mean 'unavailable'"):
        instance.inject("GetMyOrg", code="unavailabel").__enter__()
    assert len(instance.instance.faults) == 0


def test_the_mock_injects_into_its_default_instance(mock):
    admin = {"Authorization": "Bearer admin-pat"}
    with mock.inject("GetMyOrg", code="internal", times=1):
        assert TestClient(mock.app).get("/management/v1/orgs/me", headers=admin).status_code == 500
    mock.clear_faults()


# ---- the control plane -----------------------------------------------------------------------


def test_the_control_plane_creates_lists_and_deletes_faults(instance, client):
    http = client.http
    created = http.post(
        f"{CONTROL}/faults", json={"rpc": "GetMyOrg", "code": "unavailable", "times": 2}
    )
    assert created.status_code == 201
    fault = created.json()
    assert fault["rpc"] == "GetMyOrg" and (fault["code"], fault["code_name"]) == (14, "UNAVAILABLE")
    assert fault["times"] == 2 and fault["latency_ms"] is None and fault["drop"] is False
    latency = http.post(f"{CONTROL}/faults", json={"latency_ms": [100, 300]}).json()
    assert latency["rpc"] == "*" and latency["latency_ms"] == [100, 300]

    assert client.get("/management/v1/orgs/me").status_code == 503  # waits nothing: GetMyOrg
    listed = http.get(f"{CONTROL}/faults").json()["faults"]
    assert [f["id"] for f in listed] == [fault["id"], latency["id"]]
    assert (listed[0]["remaining"], listed[0]["picked"]) == (1, 1)

    assert http.delete(f"{CONTROL}/faults/{latency['id']}").status_code == 204
    missing = http.delete(f"{CONTROL}/faults/{latency['id']}")
    assert missing.status_code == 404 and missing.json()["code"] == 5
    assert http.delete(f"{CONTROL}/faults").status_code == 204
    assert http.get(f"{CONTROL}/faults").json() == {"faults": []}
    assert client.get("/management/v1/orgs/me").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1], "a fault is a JSON object"),
        ("unavailable", "a fault is a JSON object"),
        ({"code": 14, "colour": "red"}, "unknown fields ['colour']"),
        ({"rpc": "DeactivateUsr", "code": 14}, "did you mean 'DeactivateUser'"),
        ({"rpc": 7, "code": 14}, "rpc 7 is no RPC"),
        ({"code": "unavailabel"}, "did you mean 'unavailable'"),
        ({"code": 0}, "code 0 is no gRPC error code"),
        ({"code": 17}, "code 17 is no gRPC error code"),
        ({"code": True}, "code must be a gRPC code name or number"),
        ({"code": 14, "message": ""}, "message must be a non-empty text"),
        ({"message": "x"}, "give its code too"),
        ({"code": 14, "error_id": "has spaces"}, "error_id must look like ZITADEL's"),
        ({"code": 14, "drop": True}, "not both"),
        ({"drop": "yes"}, "drop must be true or false"),
        ({}, "a fault needs code, latency_ms or drop"),
        ({"latency_ms": -1}, "0 <= min <= max"),
        ({"latency_ms": [300, 100]}, "0 <= min <= max"),
        ({"latency_ms": 600_001}, "0 <= min <= max"),
        ({"latency_ms": [1, 2, 3]}, "a [min, max] pair"),
        ({"latency_ms": "soon"}, "no duration such as 200ms"),
        ({"code": 14, "times": 0}, "times must be a whole number of at least 1"),
        ({"code": 14, "times": True}, "times must be a whole number"),
        ({"code": 14, "fraction": 0}, "fraction must be a number above 0"),
        ({"code": 14, "fraction": 1.5}, "fraction must be a number above 0"),
        ({"code": 14, "seed": "x"}, "seed must be a whole number"),
    ],
)
def test_a_bad_fault_is_a_400_envelope(client, body, message):
    answer = client.http.post(f"{CONTROL}/faults", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == 3
    assert message in answer.json()["message"]


def test_a_fault_body_that_is_no_json_is_a_400_envelope(client):
    answer = client.http.post(
        f"{CONTROL}/faults", content=b"{", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.json()["code"] == 3


def test_the_control_plane_acts_on_the_instance_its_host_selects(mock, instance, client):
    client.http.post(f"{CONTROL}/faults", json={"code": 14})
    assert len(instance.instance.faults) == 1
    assert len(mock.default.instance.faults) == 0


# ---- the command line ------------------------------------------------------------------------


def test_the_cli_options_become_faults_of_the_default_instance():
    args = parse_args(["--latency", "100-300ms", "--fail", "DeactivateUser=unavailable:0.1"])
    assert args.latency == {"rpc": "*", "latency_ms": [100, 300]}
    assert args.fail == [{"rpc": "DeactivateUser", "code": "unavailable", "fraction": 0.1}]
    args = parse_args(["--latency", "200ms", "--fail", "*=14", "--fail", "GetMyOrg=not_found"])
    assert args.latency == {"rpc": "*", "latency_ms": [200, 200]}
    assert [f["rpc"] for f in args.fail] == ["*", "GetMyOrg"]
    server = create_mock(faults=[args.latency, *args.fail])
    listed = server.instances.default.faults.to_json()
    assert [_fault_text(f) for f in listed] == [
        "latency 200 ms on every RPC",
        "every RPC fails UNAVAILABLE on every call",
        "GetMyOrg fails NOT_FOUND on every call",
    ]
    banner = describe(server.world, "http://x", "v4", True, faults=listed)
    assert "  Faults          latency 200 ms on every RPC; every RPC fails UNAVAILABLE" in banner


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--latency", "fast"),
        ("--latency", "300-100ms"),
        ("--fail", "DeactivateUser"),
        ("--fail", "DeactivateUser=teapot"),
        ("--fail", "DeactivateUser=unavailable:lots"),
        ("--fail", "DeactivateUser=unavailable:2"),
        ("--fail", "Nope=unavailable"),
    ],
)
def test_bad_cli_fault_options_stop_at_the_command_line(option, value, capsys):
    with pytest.raises(SystemExit):
        parse_args([option, value])
    assert f"argument {option}" in capsys.readouterr().err


def test_parsers_take_the_forms_the_readme_shows():
    assert parse_latency("200ms") == (200, 200)
    assert parse_latency("100-300ms") == (100, 300)
    assert parse_latency(250) == (250, 250)
    assert parse_fail_option("*=deadline_exceeded") == {"rpc": "*", "code": "deadline_exceeded"}
