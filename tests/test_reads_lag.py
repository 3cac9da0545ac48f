"""Reads follow writes at once on every front; with World.read_lag they trail them like
ZITADEL's projections (zitadel issue 7543): the previous state for that long, then the new one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_harness import (
    Outcome,
    call_grpc,
    grpc_metadata,
    grpc_web_body,
    grpc_web_headers,
    grpc_web_outcome,
    rest_outcome,
    rest_path,
)
from read_support import ADMIN, USERS_SEARCH, ReadFronts, get_user, ids, ok, search
from rest_support import main_org, second_org
from starlette.testclient import TestClient

from mock_server.app import create_mock
from mock_server.domain import queries
from mock_server.domain import world as world_module
from mock_server.domain.world import World
from mock_server.fixtures import SEED_TOKENS, seeded_world
from mock_server.fixtures import load as fixture_loading
from mock_server.grpc_front import create_grpc_server

FRONTS = ReadFronts.FRONTS


class Wires(ReadFronts):
    """ReadFronts that can also write, over the same three wires."""

    def write(self, front: str, rpc: str, fields: dict[str, str], org: str | None = None):
        if front == "grpc":
            return call_grpc(self.channel, rpc, fields, ADMIN, org)
        if front == "grpc-web":
            response = self.http.post(
                f"/zitadel.management.v1.ManagementService/{rpc}",
                content=grpc_web_body(rpc, fields),
                headers=grpc_web_headers(ADMIN, org),
            )
            return grpc_web_outcome(
                rpc, response.status_code, response.headers["content-type"], response.content
            )
        response = self.http.post(
            rest_path(rpc, fields), json={}, headers=dict(grpc_metadata(ADMIN, org))
        )
        return rest_outcome(response.status_code, response.json())


@pytest.fixture
def wires() -> Iterator[tuple[Wires, World]]:
    world = seeded_world(0)
    mock = create_mock(world)
    server, port = create_grpc_server(mock.service, "127.0.0.1", 0)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Wires(TestClient(mock.app), channel), world
    server.stop(grace=None)


def _targets(world: World) -> dict[str, tuple[str, dict[str, str], dict]]:
    """For each resource kind: the Get read, its request, and the write fields."""
    main = main_org(world)
    callers = {t.user_id for t in world.tokens.values()}
    user = next(
        u
        for u in world.users.values()
        if u.resource_owner == main and u.state.value == "active" and u.id not in callers
    )
    action = next(
        a for a in world.actions.values() if a.resource_owner == main and a.state.value == "active"
    )
    grant = next(
        g
        for g in world.user_grants.values()
        if g.resource_owner == main and g.state.value == "active"
    )
    return {
        "User": ("GetUserByID", {"id": user.id}, {"id": user.id}),
        "Action": ("GetAction", {"id": action.id}, {"id": action.id}),
        "UserGrant": (
            "GetUserGrantByID",
            {"userId": grant.user_id, "grantId": grant.id},
            {"user_id": grant.user_id, "grant_id": grant.id},
        ),
        "Org": ("GetMyOrg", {}, {}),
    }


STATE = {
    ("User", "Deactivate"): "USER_STATE_INACTIVE",
    ("User", "Reactivate"): "USER_STATE_ACTIVE",
    ("Action", "Deactivate"): "ACTION_STATE_INACTIVE",
    ("Action", "Reactivate"): "ACTION_STATE_ACTIVE",
    ("UserGrant", "Deactivate"): "USER_GRANT_STATE_INACTIVE",
    ("UserGrant", "Reactivate"): "USER_GRANT_STATE_ACTIVE",
    ("Org", "Deactivate"): "ORG_STATE_INACTIVE",
    ("Org", "Reactivate"): "ORG_STATE_ACTIVE",
}
FIELD = {"User": "user", "Action": "action", "UserGrant": "user_grant", "Org": "org"}


def _seen(answer) -> tuple[str, int, datetime]:
    (field,) = [f for f in FIELD.values() if answer.DESCRIPTOR.fields_by_name.get(f)]
    read = getattr(answer, field)
    state = read.DESCRIPTOR.fields_by_name["state"].enum_type.values_by_number[read.state].name
    return state, read.details.sequence, read.details.change_date.ToDatetime(tzinfo=UTC)


@pytest.mark.parametrize("write_front", FRONTS)
def test_every_transition_is_visible_at_once_on_every_front(wires, write_front):
    reader, world = wires
    org = second_org(world)  # the org RPCs act on the second org, which the admin may switch
    for kind, (get_rpc, request, fields) in _targets(world).items():
        read_org = org if kind == "Org" else None
        for verb in ("Deactivate", "Reactivate"):
            outcome: Outcome = reader.write(write_front, f"{verb}{kind}", fields, org=read_org)
            assert outcome.ok, (kind, verb, outcome)
            for front in FRONTS:
                state, sequence, changed = _seen(reader.read(front, get_rpc, request, org=read_org))
                assert (state, sequence) == (STATE[kind, verb], outcome.sequence), (kind, verb)
                # The write's one date field is the event's date, which the read reports as
                # its changeDate.
                assert changed == outcome.date, (kind, verb, front)


def test_lists_follow_writes_with_their_state_queries(wires):
    reader, world = wires
    _, request, fields = _targets(world)["User"]
    inactive = {"queries": [{"stateQuery": {"state": "USER_STATE_INACTIVE"}}]}
    for front in FRONTS:
        assert request["id"] not in [u.id for u in reader.read(front, "ListUsers", inactive).result]
    assert reader.write("grpc", "DeactivateUser", fields).ok
    for front in FRONTS:
        listed = {u.id: u for u in reader.read(front, "ListUsers", inactive).result}
        assert request["id"] in listed
    grant_rpc, grant_request, grant_fields = _targets(world)["UserGrant"]
    assert reader.write("grpc-web", "DeactivateUserGrant", grant_fields).ok
    for front in FRONTS:
        grants = {g.id: g for g in reader.read(front, "ListUserGrants", {}).result}
        assert grants[grant_request["grantId"]].state == 2  # USER_GRANT_STATE_INACTIVE


# --- read lag ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The one clock of writes (World.push, the fixture loader) and reads (the query layer)."""
    fake = Clock()
    monkeypatch.setattr(world_module, "now", fake)
    monkeypatch.setattr(queries, "now", fake)
    monkeypatch.setattr(fixture_loading, "now", fake)  # resources the control plane creates
    return fake


def _state(api, user_id: str) -> tuple[str, str]:
    user = ok(get_user(api, user_id))["user"]
    return user["state"], user["details"]["sequence"]


def test_lagging_reads_show_the_previous_state_until_the_lag_has_passed(api, clock):
    world = api.world
    user = next(u for u in world.users.values() if u.user_name == "sabrina.davis")
    world.read_lag = 2.0  # switched on in a running world, as the control plane does
    assert _state(api, user.id) == ("USER_STATE_ACTIVE", "1")
    assert api.call("DeactivateUser", id=user.id).status_code == 200
    clock.advance(1.9)
    assert _state(api, user.id) == ("USER_STATE_ACTIVE", "1")
    inactive = {"queries": [{"stateQuery": {"state": "USER_STATE_INACTIVE"}}]}
    assert user.id not in ids(search(api, USERS_SEARCH, inactive))
    assert api.call("ReactivateUser", id=user.id).status_code == 200  # at 1.9 s
    clock.advance(0.1)  # the deactivation is 2 s old now, the reactivation 0.1 s
    assert _state(api, user.id) == ("USER_STATE_INACTIVE", "2")
    assert user.id in ids(search(api, USERS_SEARCH, inactive))
    clock.advance(1.9)
    assert _state(api, user.id) == ("USER_STATE_ACTIVE", "3")


def test_a_resource_created_within_the_lag_is_not_found_yet(api, clock):
    world = api.world
    world.read_lag = 1.0
    made = api.mock.admin.create("users", {"org": main_org(world), "user_name": "newcomer"})
    response = get_user(api, made["id"])
    assert response.status_code == 404 and response.json()["details"][0]["id"] == "QUERY-Dfbg2"
    assert made["id"] not in ids(search(api, USERS_SEARCH, {}))
    clock.advance(1.0)
    assert ok(get_user(api, made["id"]))["user"]["userName"] == "newcomer"


def test_without_lag_a_read_shows_the_write_at_once(api, clock):
    user = next(u for u in api.world.users.values() if u.user_name == "sabrina.davis")
    assert api.call("DeactivateUser", id=user.id).status_code == 200
    assert _state(api, user.id) == ("USER_STATE_INACTIVE", "2")


def test_lag_on_every_front_then_the_new_state(wires):
    """Real time, short lag: right after the write the old state, then poll for the new."""
    reader, world = wires
    get_rpc, request, fields = _targets(world)["Action"]
    world.read_lag = 0.3
    outcome = reader.write("rest", "DeactivateAction", fields)
    assert outcome.ok
    for front in FRONTS:
        state, sequence, _ = _seen(reader.read(front, get_rpc, request))
        assert (state, sequence) == ("ACTION_STATE_ACTIVE", outcome.sequence - 1), front
    deadline = time.monotonic() + 10
    for front in FRONTS:
        while True:
            state, sequence, _ = _seen(reader.read(front, get_rpc, request))
            if state == "ACTION_STATE_INACTIVE":
                break
            assert time.monotonic() < deadline, "the write never became visible"
            time.sleep(0.05)
        assert sequence == outcome.sequence


def test_lag_does_not_touch_authorization(wires):
    """Tokens are checked against the present: a deactivated caller is refused at once."""
    reader, world = wires
    world.read_lag = 60
    manager = world.tokens[SEED_TOKENS.user_manager].user_id
    assert reader.write("grpc", "DeactivateUser", {"id": manager}).ok
    for front in FRONTS:
        answer = reader.read(front, "ListUsers", {}, token=SEED_TOKENS.user_manager)
        assert answer[0] == 16, front
    # The admin still sees the manager as active: the read lags, the write happened.
    (state, _, _) = _seen(reader.read("grpc", "GetUserByID", {"id": manager}))
    assert state == "USER_STATE_ACTIVE"
