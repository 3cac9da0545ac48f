"""The request journal: every call on every front recorded per instance, its filters, its
assertion helpers and their failure messages, and the control plane's view of it.

Most tests reach the ASGI app in-process (Starlette's TestClient) on an instance of their own;
native gRPC needs the running mock of the plugin's ``zitadel_mock`` fixture.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from controls_support import Client, grpc_call
from grpc_harness import SERVICE_PATH, grpc_web_headers
from starlette.testclient import TestClient

from mock_server import ZitadelMock
from mock_server.app import create_mock
from mock_server.cli import parse_args
from mock_server.domain.service import CallMetadata
from mock_server.inprocess import MockInstance
from mock_server.journal import Call, Journal

USER = "282274986523091618"  # active human of the main org (README "Try it")
MAIN_ORG = "322078799564244941"
SECOND_ORG = "123337655796929621"
GRANT = ("282274986523091618", "273772242665813777")  # (user, grant), active
INACTIVE_USER = "135901735825285059"
CONTROL = "/_mock/v1"


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


def test_a_rest_write_is_recorded_with_caller_org_fields_outcome_and_sequence(instance, client):
    answer = client.post(f"/management/v1/users/{USER}/_deactivate")
    assert answer.status_code == 200
    (call,) = instance.calls()
    owner = instance.world.tokens[client.token]
    assert call.index == 1 and call.transport == "rest" and call.rpc == "DeactivateUser"
    assert (call.caller, call.token) == (owner.user_id, owner.description)
    assert call.org == MAIN_ORG
    assert dict(call.fields) == {"id": USER}
    assert (call.code, call.http_status, call.error_id, call.message) == (0, 200, None, "")
    assert call.sequence == int(answer.json()["details"]["sequence"])
    assert not call.injected and call.fault is None and call.delay_ms == 0
    assert call.duration_ms >= 0
    assert abs(call.time - datetime.now(UTC)) < timedelta(minutes=1)
    assert call.to_json()["fields"] == {"id": USER}


def test_a_failure_is_recorded_with_its_code_status_and_error_id(instance, client):
    client.post(f"/management/v1/users/{USER}/_deactivate")
    again = client.post(f"/management/v1/users/{USER}/_deactivate")
    assert again.status_code == 400
    call = instance.calls()[-1]
    assert (call.code, call.code_name, call.http_status) == (9, "FAILED_PRECONDITION", 400)
    assert call.error_id == again.json()["details"][0]["id"]
    assert call.message == again.json()["message"]
    assert call.sequence is None and not call.injected


def test_an_unauthenticated_call_is_recorded_without_a_caller(instance, client):
    answer = client.http.get("/management/v1/orgs/me", headers={"x-zitadel-orgid": SECOND_ORG})
    assert answer.status_code == 401
    (call,) = instance.calls()
    assert (call.caller, call.token, call.org, call.code) == (None, None, SECOND_ORG, 16)


def test_reads_are_recorded_with_their_request_fields(instance, client):
    client.get("/management/v1/orgs/me", x_zitadel_orgid=SECOND_ORG)
    body = {"query": {"limit": 2}, "queries": [{"stateQuery": {"state": "USER_STATE_INACTIVE"}}]}
    client.post("/management/v1/users/_search", body)
    org, users = instance.calls()
    assert (org.rpc, org.org, org.sequence, org.code) == ("GetMyOrg", SECOND_ORG, None, 0)
    assert users.rpc == "ListUsers"
    assert users.fields["query"] == {"limit": 2}
    assert users.fields["queries"] == [{"state_query": {"state": "USER_STATE_INACTIVE"}}]


def test_grpc_web_calls_are_recorded_as_grpc_web(instance, client):
    answer = client.web("DeactivateUserGrant", {"user_id": GRANT[0], "grant_id": GRANT[1]})
    assert answer.status_code == 200
    (call,) = instance.calls()
    assert (call.transport, call.rpc, call.code) == ("grpc-web", "DeactivateUserGrant", 0)
    assert dict(call.fields) == {"user_id": GRANT[0], "grant_id": GRANT[1]}
    assert call.sequence is not None


def test_an_rpc_the_mock_does_not_serve_is_recorded_too(instance, client):
    answer = client.http.post(
        SERVICE_PATH + "AddOrg", content=b"\0\0\0\0\0", headers=grpc_web_headers(None, None)
    )
    assert answer.status_code == 200
    (call,) = instance.calls("AddOrg")
    assert (call.code, call.http_status) == (12, 501)
    with pytest.raises(AssertionError, match="not to be called"):
        instance.assert_not_called("AddOrg")  # a name the journal saw is never a typo


def test_native_grpc_calls_are_recorded_as_grpc(zitadel_mock, zitadel_instance):
    with grpc.insecure_channel(zitadel_mock.grpc_target) as channel:
        answer = grpc_call(channel, zitadel_instance, "DeactivateUser", {"id": USER})
        grpc_call(channel, zitadel_instance, "GetUserByID", {"id": USER})
    write, read = zitadel_instance.calls()
    assert (write.transport, write.rpc, write.code) == ("grpc", "DeactivateUser", 0)
    assert write.sequence == answer.details.sequence
    assert (read.transport, read.rpc, read.fields["id"]) == ("grpc", "GetUserByID", USER)


def test_direct_service_calls_are_recorded_as_direct():
    server = create_mock()
    server.service.call("GetMyOrg", {}, CallMetadata("Bearer admin-pat"))
    (call,) = server.instances.default.journal.calls()
    assert call.transport == "direct" and call.token == "zitadel-admin"


# ---- filters ---------------------------------------------------------------------------------


@pytest.fixture
def mixed(instance, client) -> list[Call]:
    """Six calls: ok and failed writes, reads, a 401, on REST and gRPC-web."""
    client.post(f"/management/v1/users/{USER}/_deactivate")  # 1 ok
    client.post(f"/management/v1/users/{USER}/_deactivate")  # 2 code 9, 400
    client.get(f"/management/v1/users/{USER}")  # 3 ok read
    client.http.get("/management/v1/orgs/me")  # 4 code 16, 401
    client.web("ReactivateUser", {"id": INACTIVE_USER})  # 5 ok, grpc-web
    client.post("/management/v1/users/1/_deactivate")  # 6 code 5, 404
    calls = instance.calls()
    assert [c.index for c in calls] == [1, 2, 3, 4, 5, 6]
    return calls


def _indexes(calls: list[Call]) -> list[int]:
    return [call.index for call in calls]


def test_filter_by_rpc(instance, mixed):
    assert _indexes(instance.calls("DeactivateUser")) == [1, 2, 6]
    assert _indexes(instance.calls(rpc="GetUserByID")) == [3]
    assert instance.calls("DeactivateAction") == []


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("ok", [1, 3, 5]),
        ("error", [2, 4, 6]),
        ("failed_precondition", [2]),
        ("UNAUTHENTICATED", [4]),
        (5, [6]),
        ("0", [1, 3, 5]),
        (401, [4]),
        ("400", [2]),
    ],
)
def test_filter_by_outcome(instance, mixed, outcome, expected):
    assert _indexes(instance.calls(outcome=outcome)) == expected


def test_filter_by_since_a_call_an_index_or_a_time(instance, mixed):
    assert _indexes(instance.calls(since=mixed[3])) == [5, 6]
    assert _indexes(instance.calls(since=4)) == [5, 6]
    assert _indexes(instance.calls(since="4")) == [5, 6]
    assert _indexes(instance.calls(since=mixed[2].time)) == [3, 4, 5, 6]
    text = mixed[2].time.isoformat().replace("+00:00", "Z")
    assert _indexes(instance.calls(since=text)) == [3, 4, 5, 6]
    assert instance.calls(since=datetime.now(UTC) + timedelta(hours=1)) == []


def test_filter_by_transport_injected_and_request_fields(instance, mixed):
    assert _indexes(instance.calls(transport="grpc-web")) == [5]
    assert _indexes(instance.calls(transport="rest")) == [1, 2, 3, 4, 6]
    assert instance.calls(injected=True) == []
    assert len(instance.calls(injected=False)) == 6
    assert _indexes(instance.calls(id=USER)) == [1, 2, 3]
    assert _indexes(instance.calls("DeactivateUser", id=USER, outcome="ok")) == [1]
    assert instance.calls(id="nobody") == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"outcome": "bogus"}, "outcome 'bogus' is none of ok, error"),
        ({"outcome": 42}, "no gRPC code"),
        ({"since": "yesterday"}, "neither a journal index nor an RFC 3339 time"),
        ({"transport": "smoke"}, "transport 'smoke' is none of"),
        ({"rpc": "DeactivateUsr"}, "did you mean 'DeactivateUser'"),
    ],
)
def test_a_bad_filter_is_a_value_error(instance, filters, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        instance.calls(**filters)


# ---- the assertion helpers -------------------------------------------------------------------


def test_assert_called_returns_the_matching_calls(instance, mixed):
    assert _indexes(instance.assert_called("DeactivateUser")) == [1, 2, 6]
    assert _indexes(instance.assert_called("DeactivateUser", times=2, id=USER)) == [1, 2]
    instance.assert_called("GetUserByID", 1)
    instance.assert_not_called("DeactivateAction")
    instance.assert_not_called("DeactivateUser", id="nobody")


def test_assert_called_lists_the_calls_that_were_made(instance, mixed):
    with pytest.raises(AssertionError) as failure:
        instance.assert_called("DeactivateUser", times=3, id=USER)
    text = str(failure.value)
    first_line, *listing = text.splitlines()
    assert first_line == (
        f"expected DeactivateUser(id='{USER}') to be called 3 times, it was called 2 times; "
        "the journal holds 6 calls:"
    )
    assert listing[0] == f"  #1 rest DeactivateUser(id='{USER}') -> OK sequence {mixed[0].sequence}"
    assert listing[1].startswith(
        f"  #2 rest DeactivateUser(id='{USER}') -> FAILED_PRECONDITION 400 "
    )
    assert listing[3] == "  #4 rest GetMyOrg() -> UNAUTHENTICATED 401 'auth header missing'"
    assert listing[4].startswith(f"  #5 grpc-web ReactivateUser(id='{INACTIVE_USER}') -> OK")
    assert len(listing) == 6


def test_assert_called_without_times_needs_one_call(instance, mixed):
    with pytest.raises(AssertionError, match=r"^expected DeactivateAction\(\) to be called at "):
        instance.assert_called("DeactivateAction")
    with pytest.raises(AssertionError, match=r"to be called 0 times, it was called once;"):
        instance.assert_called("GetUserByID", times=0)


def test_assert_not_called_lists_the_calls_that_were_made(instance, mixed):
    with pytest.raises(AssertionError) as failure:
        instance.assert_not_called("GetUserByID")
    first_line, *listing = str(failure.value).splitlines()
    assert first_line == (
        "expected GetUserByID() not to be called, it was called once; the journal holds 6 calls:"
    )
    assert len(listing) == 6


def test_an_empty_journal_says_so(instance):
    with pytest.raises(AssertionError, match="it was called 0 times; the journal is empty$"):
        instance.assert_called("DeactivateUser")


def test_a_misspelt_rpc_never_passes_assert_not_called(instance):
    with pytest.raises(ValueError, match="'DeactivateUsers' is no RPC.*'DeactivateUser'"):
        instance.assert_not_called("DeactivateUsers")


def test_a_long_journal_lists_its_latest_calls():
    journal = Journal(100)
    for _ in range(60):
        journal.record(_call("GetMyOrg"))
    with pytest.raises(AssertionError) as failure:
        journal.assert_called("DeactivateUser")
    lines = str(failure.value).splitlines()
    assert lines[1] == "  ... 10 calls before these"
    assert lines[2].startswith("  #11 ") and lines[-1].startswith("  #60 ")


def test_the_default_instance_has_the_same_helpers(mock):
    mock.clear_journal()
    TestClient(mock.app).get(
        "/management/v1/orgs/me", headers={"Authorization": "Bearer admin-pat"}
    )
    assert _indexes(mock.assert_called("GetMyOrg", 1)) == [mock.calls()[0].index]
    mock.assert_not_called("DeactivateUser")
    mock.clear_journal()
    assert mock.calls() == []


# ---- bounds, clearing, instances, threads ----------------------------------------------------


def _call(rpc: str) -> Call:
    return Call(0, datetime.now(UTC), "direct", rpc, None, None, None, {}, 0, 200)


def test_the_journal_is_a_ring_buffer_whose_indexes_never_repeat():
    journal = Journal(3)
    for _ in range(5):
        journal.record(_call("GetMyOrg"))
    assert [call.index for call in journal.calls()] == [3, 4, 5]
    journal.clear()
    assert journal.calls() == [] and journal.record(_call("GetMyOrg")).index == 6
    with pytest.raises(ValueError):
        Journal(0)


def test_the_journal_size_is_an_option_of_every_instance():
    server = create_mock(journal_size=2)
    created = server.instances.create()
    assert server.instances.default.journal.size == created.journal.size == 2
    assert parse_args(["--journal-size", "50"]).journal_size == 50
    assert parse_args([]).journal_size == 10_000
    with pytest.raises(SystemExit):
        parse_args(["--journal-size", "0"])


def test_journals_are_per_instance_and_survive_a_reset(mock, instance, client):
    other = mock.new_instance()
    try:
        client.post(f"/management/v1/users/{USER}/_deactivate")
        assert other.calls() == []
        assert all(call.caller != instance.calls()[0].caller for call in mock.calls())
        instance.reset()
        client.http.post(f"{CONTROL}/reset")
        assert _indexes(instance.calls()) == [1]
        assert instance.world.users[USER].state.value == "active"
    finally:
        other.delete()


def test_concurrent_calls_get_distinct_indexes():
    journal = Journal(10_000)

    def record() -> None:
        for _ in range(250):
            journal.record(_call("GetMyOrg"))

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(call.index for call in journal.calls()) == list(range(1, 2001))


# ---- the control plane -----------------------------------------------------------------------


def test_the_control_plane_serves_and_filters_the_journal(mixed, client):
    answer = client.http.get(f"{CONTROL}/journal")
    assert answer.status_code == 200
    calls = answer.json()["calls"]
    assert [c["index"] for c in calls] == [1, 2, 3, 4, 5, 6]
    assert calls[0] == mixed[0].to_json()
    assert calls[1]["code_name"] == "FAILED_PRECONDITION" and calls[1]["http_status"] == 400
    assert calls[0]["time"].endswith("Z") and calls[0]["sequence"] == mixed[0].sequence

    def indexes(query: str) -> list[int]:
        answer = client.http.get(f"{CONTROL}/journal?{query}")
        assert answer.status_code == 200, answer.text
        return [c["index"] for c in answer.json()["calls"]]

    assert indexes("rpc=DeactivateUser") == [1, 2, 6]
    assert indexes("outcome=error") == [2, 4, 6]
    assert indexes("outcome=404") == [6]
    assert indexes("since=4") == [5, 6]
    assert indexes(f"since={calls[2]['time']}") == [3, 4, 5, 6]
    assert indexes("transport=grpc-web") == [5]
    assert indexes("rpc=DeactivateUser&outcome=ok&since=0") == [1]


@pytest.mark.parametrize(
    "query", ["outcome=bogus", "since=last-week", "transport=pigeon", "rpc=DeactivateUsr"]
)
def test_a_bad_journal_query_is_a_400_envelope(client, query):
    answer = client.http.get(f"{CONTROL}/journal?{query}")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == 3 and answer.json()["message"]


def test_the_control_plane_clears_the_journal_of_its_instance_alone(mock, instance, mixed, client):
    mock.clear_journal()
    TestClient(mock.app).get(
        "/management/v1/orgs/me", headers={"Authorization": "Bearer admin-pat"}
    )
    assert client.http.delete(f"{CONTROL}/journal").status_code == 204
    assert client.http.get(f"{CONTROL}/journal").json() == {"calls": []}
    assert len(mock.calls()) == 1  # the default instance kept its own
    client.get("/management/v1/orgs/me")
    assert _indexes(instance.calls()) == [7]
