"""The mock's own control plane under /_mock/v1: info, export, reset, create, get, set state."""

from __future__ import annotations

import pytest
import yaml
from rest_support import (
    Api,
    assert_details,
    assert_error,
    assert_json_error_response,
    find,
    main_org,
    user_of_token,
)

from mock_server.fixtures import SEED_TOKENS

CONTROL = "/_mock/v1"
NEW_ORG = "200000000000000001"


def _control_error(response, status: int, code: int, fragment: str) -> None:
    body = assert_json_error_response(response)
    assert (response.status_code, body["code"]) == (status, code), body
    assert fragment in body["message"], body
    assert "details" not in body


def _post(api: Api, kind: str, entry) -> dict:
    response = api.client.post(f"{CONTROL}/{kind}", json=entry)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _set_state(api: Api, kind: str, resource_id: str, state):
    return api.client.put(f"{CONTROL}/{kind}/{resource_id}/state", json={"state": state})


def test_info(api) -> None:
    response = api.client.get(f"{CONTROL}/info")
    assert response.status_code == 200
    info = response.json()
    assert (info["profile"], info["seed"], info["management_base_path"]) == (
        "v4",
        0,
        "/management/v1",
    )
    tokens = {t["token"]: t for t in info["tokens"]}
    assert set(tokens) == set(vars(SEED_TOKENS).values())
    for value, token in tokens.items():
        user = api.world.users[user_of_token(api.world, value)]
        assert (token["user"], token["org"], token["revoked"]) == (user.id, user.org_id, False)


def test_export_as_json_and_yaml(api) -> None:
    as_json = api.client.get(f"{CONTROL}/world")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json() == api.mock.admin.export()
    as_yaml = api.client.get(f"{CONTROL}/world", params={"format": "yaml"})
    assert as_yaml.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == as_json.json()
    document = as_json.json()
    assert {"seed", "instance", "orgs", "users", "projects", "actions", "user_grants"} <= set(
        document
    )
    assert {"memberships", "tokens"} <= set(document)


def test_export_reflects_api_changes(api) -> None:
    action = find(api.world, "actions", org=main_org(api.world), state="active")
    assert api.on("DeactivateAction", action).status_code == 200
    exported = {a["id"]: a for a in api.client.get(f"{CONTROL}/world").json()["actions"]}
    assert exported[action.id]["state"] == "inactive"
    assert exported[action.id]["sequence"] == action.sequence


def test_reset_restores_the_start(api) -> None:
    start = api.client.get(f"{CONTROL}/world").json()
    # Move everything that can move: states, sequences, tokens, new resources.
    assert api.call("DeactivateOrg").status_code == 200
    manager = user_of_token(api.world, SEED_TOKENS.user_manager)
    assert api.call("DeactivateUser", id=manager).status_code == 200
    _post(api, "orgs", {"id": NEW_ORG, "name": "Temporary"})
    assert api.client.get(f"{CONTROL}/world").json() != start

    response = api.client.post(f"{CONTROL}/reset")
    assert (response.status_code, response.content) == (204, b"")
    assert api.client.get(f"{CONTROL}/world").json() == start
    _control_error(api.client.get(f"{CONTROL}/orgs/{NEW_ORG}"), 404, 5, NEW_ORG)
    user = find(api.world, "users", org=main_org(api.world), state="active")
    response = api.on("DeactivateUser", user, token=SEED_TOKENS.user_manager)
    assert_details(response, "DeactivateUser", main_org(api.world))


def test_create_every_kind_and_use_it(api) -> None:
    org = _post(api, "orgs", {"id": NEW_ORG, "name": "Hooli"})
    assert (org["id"], org["state"], org["sequence"]) == (NEW_ORG, "active", 1)
    user = _post(api, "users", {"org": NEW_ORG, "user_name": "gavin"})
    assert user["id"].isdigit() and len(user["id"]) == 18
    assert (user["org"], user["state"]) == (NEW_ORG, "active")
    project = _post(api, "projects", {"org": NEW_ORG, "name": "Nucleus"})
    action = _post(api, "actions", {"org": NEW_ORG, "name": "box", "state": "inactive"})
    assert (action["state"], action["sequence"]) == ("inactive", 2)
    grant = _post(
        api,
        "user_grants",
        {"org": NEW_ORG, "user": user["id"], "project": project["id"], "roles": ["reader"]},
    )
    assert (grant["user"], grant["project"], grant["roles"]) == (
        user["id"],
        project["id"],
        ["reader"],
    )
    membership = _post(
        api,
        "memberships",
        {"user": user["id"], "scope": "org", "id": NEW_ORG, "roles": ["ORG_OWNER"]},
    )
    assert membership == {"user": user["id"], "scope": "org", "id": NEW_ORG, "roles": ["ORG_OWNER"]}
    token = _post(api, "tokens", {"token": "gavin-pat", "user": user["id"]})
    assert (token["token"], token["revoked"]) == ("gavin-pat", False)

    response = api.call("ReactivateAction", id=action["id"], token="gavin-pat")
    assert_details(response, "ReactivateAction", NEW_ORG, sequence=3)
    response = api.call("DeactivateUserGrant", user_id="-", grant_id=grant["id"], token="gavin-pat")
    assert_details(response, "DeactivateUserGrant", NEW_ORG, sequence=2)
    assert_details(api.call("DeactivateOrg", token="gavin-pat"), "DeactivateOrg", NEW_ORG)
    # The new org's owner has no say over the seeded orgs.
    response = api.call("ReactivateOrg", token="gavin-pat", org=main_org(api.world))
    assert_error(response, 404, 5, "membership not found (AUTHZ-cdgFk)", "AUTHZ-cdgFk")


def test_get_returns_the_exported_entry(api) -> None:
    action = find(api.world, "actions", org=main_org(api.world), state="active")
    response = api.client.get(f"{CONTROL}/actions/{action.id}")
    assert response.status_code == 200
    exported = {a["id"]: a for a in api.mock.admin.export()["actions"]}
    assert response.json() == exported[action.id]


@pytest.mark.parametrize(
    ("kind", "entry", "status", "code", "fragment"),
    [
        ("users", {"org": "nowhere"}, 400, 3, "unknown org 'nowhere'"),
        ("actions", {"org": "x", "state": "asleep"}, 400, 3, "state 'asleep' is not one of"),
        ("memberships", {"user": "nobody", "scope": "instance"}, 400, 3, "unknown user"),
        ("tokens", {"user": "nobody"}, 400, 3, "non-empty 'token'"),
        ("tokens", {"token": "admin-pat", "user": "x"}, 409, 6, "exists"),
        ("widgets", {}, 404, 5, "unknown resource kind 'widgets'"),
        ("orgs", ["not", "an", "object"], 400, 3, "JSON object"),
    ],
)
def test_create_errors_are_envelopes(api, kind, entry, status, code, fragment) -> None:
    response = api.client.post(f"{CONTROL}/{kind}", json=entry)
    _control_error(response, status, code, fragment)


def test_create_with_an_existing_id_conflicts(api) -> None:
    org = main_org(api.world)
    response = api.client.post(f"{CONTROL}/orgs", json={"id": org})
    _control_error(response, 409, 6, org)


def test_create_with_a_body_that_is_not_json(api) -> None:
    response = api.client.post(
        f"{CONTROL}/orgs", content=b"{", headers={"Content-Type": "application/json"}
    )
    _control_error(response, 400, 3, "not JSON")


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("/actions/100000000000000000", "not found"), ("/widgets/1", "unknown resource kind")],
)
def test_get_errors_are_envelopes(api, path, fragment) -> None:
    _control_error(api.client.get(CONTROL + path), 404, 5, fragment)


@pytest.mark.parametrize(
    ("kind", "start", "target"),
    [
        ("actions", "active", "inactive"),
        ("actions", "inactive", "removed"),
        ("user_grants", "inactive", "active"),
        ("users", "inactive", "initial"),
        ("users", "active", "locked"),
    ],
)
def test_set_state_records_an_event(api, kind, start, target) -> None:
    aggregate = find(api.world, kind, org=main_org(api.world), state=start)
    before = aggregate.sequence
    response = _set_state(api, kind, aggregate.id, target.upper())
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["sequence"]) == (target, before + 1)
    assert aggregate.state.value == target
    events = [e for e in api.world.events if e.aggregate_id == aggregate.id]
    assert events[-1].sequence == before + 1
    # Setting the state it already has records nothing.
    assert _set_state(api, kind, aggregate.id, target).json()["sequence"] == before + 1


def test_set_state_then_the_api_continues_the_sequence(api) -> None:
    org = main_org(api.world)
    action = find(api.world, "actions", org=org, state="active")
    before = action.sequence
    assert _set_state(api, "actions", action.id, "inactive").status_code == 200
    response = api.on("ReactivateAction", action)
    assert_details(response, "ReactivateAction", org, sequence=before + 2)


def test_an_org_set_inactive_is_still_reachable(api) -> None:
    org = main_org(api.world)
    assert _set_state(api, "orgs", org, "inactive").status_code == 200
    assert_details(api.call("ReactivateOrg"), "ReactivateOrg", org)


@pytest.mark.parametrize("state", ["inactive", "locked", "deleted"])
def test_a_user_state_without_login_revokes_the_users_tokens(api, state) -> None:
    manager = user_of_token(api.world, SEED_TOKENS.user_manager)
    assert _set_state(api, "users", manager, state).status_code == 200
    tokens = {t["token"]: t for t in api.client.get(f"{CONTROL}/info").json()["tokens"]}
    assert tokens[SEED_TOKENS.user_manager]["revoked"] is True
    assert tokens[SEED_TOKENS.org_owner]["revoked"] is False
    response = api.call("DeactivateOrg", token=SEED_TOKENS.user_manager)
    assert_error(response, 401, 16, "Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")
    # Back to active, the token stays dead, as in ZITADEL.
    assert _set_state(api, "users", manager, "active").status_code == 200
    response = api.call("DeactivateOrg", token=SEED_TOKENS.user_manager)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "fragment"),
    [
        ("/actions/{action}/state", {"state": "sleeping"}, 400, 3, "state must be one of"),
        ("/actions/{action}/state", {}, 400, 3, "state must be one of"),
        ("/actions/{action}/state", {"state": 1}, 400, 3, "state must be one of"),
        ("/users/{action}/state", {"state": "active"}, 404, 5, "not found"),
        ("/projects/{project}/state", {"state": "active"}, 400, 3, "have no state"),
        ("/widgets/1/state", {"state": "active"}, 404, 5, "unknown resource kind"),
    ],
)
def test_set_state_errors_are_envelopes(api, path, body, status, code, fragment) -> None:
    org = main_org(api.world)
    action = find(api.world, "actions", org=org, state="active")
    project = next(p for p in api.world.projects.values() if p.resource_owner == org)
    url = CONTROL + path.format(action=action.id, project=project.id)
    _control_error(api.client.put(url, json=body), status, code, fragment)
    assert action.state.value == "active"


def test_without_the_control_plane_its_paths_are_not_found() -> None:
    from mock_server.app import create_mock

    api = Api(create_mock(control=False))
    for method, path in [("GET", "/info"), ("GET", "/world"), ("POST", "/reset")]:
        response = api.client.request(method, CONTROL + path)
        assert response.status_code == 404
        assert response.json() == {"code": 5, "message": "Not Found"}
    assert_details(api.call("DeactivateOrg"), "DeactivateOrg", main_org(api.world))
