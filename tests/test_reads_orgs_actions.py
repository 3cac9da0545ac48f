"""GetMyOrg, GetAction and ListActions over REST, as ZITADEL's OrgViewToPb and ActionToPb fill
them (docs/zitadel-read-facts.md §3-5, §10, §11)."""

from __future__ import annotations

from typing import Any

import pytest
from read_support import (
    ACTION_NOT_FOUND,
    ACTIONS_SEARCH,
    LIMIT_EXCEEDED,
    create,
    get_action,
    get_my_org,
    ids,
    listed,
    ok,
    search,
    text_query,
)
from rest_support import (
    RFC3339_UTC,
    assert_error,
    assert_validation_error,
    inactive_org,
    main_org,
    parse_date,
    second_org,
)

from mock_server.domain.world import Action, World
from mock_server.fixtures import SEED_TOKENS

# ActionState on the wire: INACTIVE=1, ACTIVE=2 (the reverse of the domain's numbers).
ACTION_STATES = {"active": "ACTION_STATE_ACTIVE", "inactive": "ACTION_STATE_INACTIVE"}


def actions_of(world: World, org: str) -> list[Action]:
    return [a for a in world.actions.values() if a.resource_owner == org]


def _timeout(seconds: float) -> str:
    # Action.Timeout(): 0 or >= 20 s reads as the 20 s maximum; protojson writes 0/3/6/9 digits.
    if not 0 < seconds < 20:
        return "20s"
    return f"{seconds:.0f}s" if seconds == int(seconds) else f"{seconds:.3f}s"


def expected_action(action: Action) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": action.id,
        # ChangeToDetailsPb: no creationDate on action reads.
        "details": {
            "sequence": str(action.sequence),
            "changeDate": action.change_date,
            "resourceOwner": action.resource_owner,
        },
        "state": ACTION_STATES[action.state.value],
        "name": action.name,
        "script": action.script,
        "timeout": _timeout(action.timeout_seconds),
    }
    if action.allowed_to_fail:
        body["allowedToFail"] = True
    return body


def _with_dates(body: dict[str, Any]) -> dict[str, Any]:
    details = dict(body["details"])
    for key in ("creationDate", "changeDate"):
        if key in details:
            assert RFC3339_UTC.match(details[key]), details
            details[key] = parse_date(details[key])
    return {**body, "details": details}


# --- GetMyOrg -----------------------------------------------------------------------------


def test_my_org_reads_every_field_and_owns_itself(api):
    org = api.world.orgs[main_org(api.world)]
    body = ok(get_my_org(api))
    assert set(body) == {"org"}
    assert _with_dates(body["org"]) == {
        "id": org.id,
        # The org aggregate is its own resource owner.
        "details": {
            "sequence": str(org.sequence),
            "creationDate": org.creation_date,
            "changeDate": org.change_date,
            "resourceOwner": org.id,
        },
        "state": "ORG_STATE_ACTIVE",
        "name": org.name,
        "primaryDomain": org.primary_domain,
    }


def test_my_org_follows_the_org_header(api):
    world = api.world
    assert ok(get_my_org(api, org=second_org(world)))["org"]["id"] == second_org(world)
    token = SEED_TOKENS.second_org_owner
    assert ok(get_my_org(api, token=token))["org"]["id"] == second_org(world)


def test_an_inactive_org_is_still_returned(api):
    world = api.world
    for who in ({"org": inactive_org(world)}, {"token": SEED_TOKENS.inactive_org_owner}):
        org = ok(get_my_org(api, **who))["org"]
        assert (org["id"], org["state"]) == (inactive_org(world), "ORG_STATE_INACTIVE")
        assert org["details"]["sequence"] == "2"


def test_an_unknown_org_header_is_refused_before_the_read(api):
    assert_error(
        get_my_org(api, org="404404404"),
        403,
        7,
        "Organisation doesn't exist (AUTH-Bs7Ds)",
        "AUTH-Bs7Ds",
    )


# --- GetAction ----------------------------------------------------------------------------


def test_every_action_of_the_org_reads_as_action_to_pb_fills_it(api):
    world = api.world
    actions = actions_of(world, main_org(world))
    assert {a.state.value for a in actions} == set(ACTION_STATES)
    assert {a.allowed_to_fail for a in actions} == {True, False}
    for action in actions:
        body = ok(get_action(api, action.id))
        assert set(body) == {"action"}
        assert "creationDate" not in body["action"]["details"]
        assert _with_dates(body["action"]) == expected_action(action), action.name


def test_action_timeouts_read_as_durations_with_20s_for_zero(api):
    world = api.world
    org = main_org(world)
    cases = {0: "20s", 5: "5s", 1.5: "1.500s", 20: "20s", 0.25: "0.250s"}
    created = {
        seconds: create(api, "actions", {"org": org, "name": f"t-{seconds}", "timeout": seconds})
        for seconds in cases
    }
    for seconds, wanted in cases.items():
        action = ok(get_action(api, created[seconds]["id"]))["action"]
        assert action["timeout"] == wanted, seconds
        assert "allowedToFail" not in action and "script" not in action


def test_seeded_zero_timeout_reads_20s(api):
    world = api.world
    (zero,) = [a for a in world.actions.values() if a.timeout_seconds == 0]
    action = ok(get_action(api, zero.id, org=zero.resource_owner))["action"]
    assert action["timeout"] == "20s"


def test_unknown_or_foreign_action_is_not_found(api):
    world = api.world
    foreign = actions_of(world, second_org(world))[0]
    assert_error(get_action(api, "404404404"), 404, 5, *ACTION_NOT_FOUND)
    assert_error(get_action(api, foreign.id), 404, 5, *ACTION_NOT_FOUND)
    # GetActionRequest has no validation rules: a long id is just not found.
    assert_error(get_action(api, "1" * 201), 404, 5, *ACTION_NOT_FOUND)


def test_a_removed_action_is_not_found_and_not_listed(api):
    action = actions_of(api.world, main_org(api.world))[0]
    api.mock.admin.set_state("actions", action.id, "removed")
    assert_error(get_action(api, action.id), 404, 5, *ACTION_NOT_FOUND)
    assert action.id not in ids(search(api, ACTIONS_SEARCH, {}))


# --- ListActions --------------------------------------------------------------------------


def test_list_actions_lists_the_org_actions_only(api):
    world = api.world
    response = search(api, ACTIONS_SEARCH, {})
    body = ok(response)
    assert set(body) == {"details", "result"}
    assert set(body["details"]) == {"totalResult", "viewTimestamp"}
    expected = actions_of(world, main_org(world))
    assert body["details"]["totalResult"] == str(len(expected))
    assert sorted(ids(response)) == sorted(a.id for a in expected)
    by_id = {a.id: a for a in expected}
    for item in listed(response):
        assert _with_dates(item) == expected_action(by_id[item["id"]])
    second = search(api, ACTIONS_SEARCH, {}, org=second_org(world))
    assert sorted(ids(second)) == sorted(a.id for a in actions_of(world, second_org(world)))


def test_list_actions_ignores_sorting_column_and_asc(api):
    # listActionsToQuery passes only offset, limit and asc, and no ORDER BY is built without
    # a sorting column: the order is the same whatever is asked.
    plain = ids(search(api, ACTIONS_SEARCH, {}))
    for body in (
        {"sortingColumn": "ACTION_FIELD_NAME_NAME"},
        {"sortingColumn": "ACTION_FIELD_NAME_ID", "query": {"asc": True}},
        {"query": {"asc": True}},
    ):
        response = search(api, ACTIONS_SEARCH, body)
        assert ids(response) == plain, body
        assert "sortingColumn" not in ok(response)


def test_list_actions_pages(api):
    plain = ids(search(api, ACTIONS_SEARCH, {}))
    response = search(api, ACTIONS_SEARCH, {"query": {"offset": "1", "limit": 1}})
    assert ids(response) == plain[1:2]
    assert ok(response)["details"]["totalResult"] == str(len(plain))
    assert_error(search(api, ACTIONS_SEARCH, {"query": {"limit": 1001}}), 400, 3, *LIMIT_EXCEEDED)


def test_action_id_query(api):
    world = api.world
    action = actions_of(world, main_org(world))[1]
    foreign = actions_of(world, second_org(world))[0]
    query = {"actionIdQuery": {"id": action.id}}
    assert ids(search(api, ACTIONS_SEARCH, {"queries": [query]})) == [action.id]
    query = {"actionIdQuery": {"id": foreign.id}}
    assert "result" not in ok(search(api, ACTIONS_SEARCH, {"queries": [query]}))


@pytest.mark.parametrize("state", sorted(ACTION_STATES))
def test_action_state_query(api, state):
    world = api.world
    query = {"actionStateQuery": {"state": ACTION_STATES[state]}}
    response = search(api, ACTIONS_SEARCH, {"queries": [query]})
    expected = {a.id for a in actions_of(world, main_org(world)) if a.state.value == state}
    assert expected and set(ids(response)) == expected


def test_action_state_numbers_are_zitadel_api_numbers(api):
    world = api.world
    inactive = {a.id for a in actions_of(world, main_org(world)) if a.state.value == "inactive"}
    response = search(api, ACTIONS_SEARCH, {"queries": [{"actionStateQuery": {"state": 1}}]})
    assert set(ids(response)) == inactive


@pytest.mark.parametrize(
    ("method", "text", "matches"),
    [
        ("TEXT_QUERY_METHOD_EQUALS", "might-boy", True),
        ("TEXT_QUERY_METHOD_EQUALS", "Might-Boy", False),
        ("TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE", "MIGHT-BOY", True),
        ("TEXT_QUERY_METHOD_STARTS_WITH", "migh", True),
        ("TEXT_QUERY_METHOD_STARTS_WITH", "MIGH", False),
        ("TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE", "MIGH", True),
        ("TEXT_QUERY_METHOD_CONTAINS", "ght-b", True),
        ("TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE", "GHT-B", True),
        ("TEXT_QUERY_METHOD_ENDS_WITH", "-boy", True),
        ("TEXT_QUERY_METHOD_ENDS_WITH", "-bo", False),
        ("TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE", "-BOY", True),
        (None, "might-boy", True),
    ],
)
def test_action_name_query_methods(api, method, text, matches):
    world = api.world
    (action,) = [a for a in actions_of(world, main_org(world)) if a.name == "might-boy"]
    query = text_query("actionNameQuery", "name", text, method)
    assert ids(search(api, ACTIONS_SEARCH, {"queries": [query]})) == (
        [action.id] if matches else []
    )


def test_action_queries_are_validated(api):
    prefix = (
        "invalid ListActionsRequest.Queries[0]: embedded message failed validation | caused by: "
    )
    assert_validation_error(
        search(api, ACTIONS_SEARCH, {"queries": [{}]}),
        prefix + "invalid ActionQuery.Query: value is required",
    )
    assert_validation_error(
        search(api, ACTIONS_SEARCH, {"queries": [{"actionNameQuery": {"name": "n" * 201}}]}),
        prefix + "invalid ActionQuery.ActionNameQuery: embedded message failed validation | "
        "caused by: invalid ActionNameQuery.Name: value length must be at most 200 runes",
    )
    assert_validation_error(
        search(api, ACTIONS_SEARCH, {"queries": [{"actionStateQuery": {"state": 7}}]}),
        prefix + "invalid ActionQuery.ActionStateQuery: embedded message failed validation | "
        "caused by: invalid ActionStateQuery.State: value must be one of the defined enum values",
    )
    assert_validation_error(
        search(api, ACTIONS_SEARCH, {"queries": [{"actionIdQuery": {"id": "1" * 201}}]}),
        prefix + "invalid ActionQuery.ActionIdQuery: embedded message failed validation | "
        "caused by: invalid ActionIDQuery.Id: value length must be at most 200 runes",
    )


def test_list_actions_body_decoding_errors(api):
    response = search(api, ACTIONS_SEARCH, b'{"queries": [{"actionIdQuery": []}]}', token=None)
    assert (response.status_code, response.json()["code"]) == (400, 3)
    assert response.json()["message"].startswith("proto:")
