"""Authentication and authorization as ZITADEL's auth interceptor does them (facts F, I.7)."""

from __future__ import annotations

import pytest
from rest_support import (
    RPCS,
    assert_details,
    assert_error,
    find,
    main_org,
    second_org,
    user_of_token,
)

from mock_server.fixtures import SEED_TOKENS

TOKEN_INVALID = ("Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")
NO_MEMBERSHIP = ("membership not found (AUTHZ-cdgFk)", "AUTHZ-cdgFk")
NO_PERMISSION = ("No matching permissions found (AUTH-5mWD2)", "AUTH-5mWD2")


def _ids(api, rpc: str) -> dict[str, str]:
    """Ids of a resource the admin could change with ``rpc``, so only auth can refuse."""
    org = main_org(api.world)
    if rpc.endswith("Org"):
        return {}
    state = "active" if rpc.startswith("Deactivate") else "inactive"
    if rpc.endswith("UserGrant"):
        grant = find(api.world, "user_grants", org=org, state=state)
        return {"user_id": grant.user_id, "grant_id": grant.id}
    kind = "actions" if rpc.endswith("Action") else "users"
    return {"id": find(api.world, kind, org=org, state=state).id}


def _assert_unauthenticated(response, message: str, error_id: str | None) -> None:
    assert_error(response, 401, 16, message, error_id)
    # The gateway copies the status message into WWW-Authenticate for code 16.
    assert response.headers["www-authenticate"] == message


@pytest.mark.parametrize("rpc", RPCS)
def test_no_authorization_header(api, rpc) -> None:
    response = api.call(rpc, token=None, **_ids(api, rpc))
    _assert_unauthenticated(response, "auth header missing", None)


def test_an_empty_authorization_header_counts_as_missing(api) -> None:
    # ZITADEL checks `authToken == ""` on the metadata value, before parsing it.
    response = api.call("DeactivateOrg", token=None, headers={"Authorization": ""})
    _assert_unauthenticated(response, "auth header missing", None)


@pytest.mark.parametrize(
    "header", ["bearer admin-pat", "Basic YWRtaW46YWRtaW4=", "BEARER admin-pat", "admin-pat"]
)
def test_malformed_authorization_header(api, header) -> None:
    response = api.call("DeactivateOrg", token=None, headers={"Authorization": header})
    _assert_unauthenticated(response, "invalid auth header (AUTH-toLo1)", "AUTH-toLo1")


def test_bearer_prefix_twice_is_malformed(api) -> None:
    # strings.Split on "Bearer " must give exactly two parts.
    response = api.call("DeactivateOrg", token="admin-pat Bearer admin-pat")
    _assert_unauthenticated(response, "invalid auth header (AUTH-toLo1)", "AUTH-toLo1")


@pytest.mark.parametrize("token", ["not-a-token", "", "admin-pat ", "ADMIN-PAT"])
def test_unknown_token(api, token) -> None:
    response = api.call("DeactivateOrg", token=token)
    _assert_unauthenticated(response, *TOKEN_INVALID)


@pytest.mark.parametrize("rpc", RPCS)
def test_org_in_header_that_does_not_exist(api, rpc) -> None:
    response = api.call(rpc, org="100000000000000000", **_ids(api, rpc))
    assert_error(response, 403, 7, "Organisation doesn't exist (AUTH-Bs7Ds)", "AUTH-Bs7Ds")


@pytest.mark.parametrize("name", ["X-Zitadel-Orgid", "X-ZITADEL-ORGID", "x-zitadel-orgid"])
def test_org_header_name_is_case_insensitive(api, name) -> None:
    org = second_org(api.world)
    response = api.call("DeactivateOrg", headers={name: org})
    assert_details(response, "DeactivateOrg", org)
    assert api.world.orgs[org].state.value == "inactive"
    assert api.world.orgs[main_org(api.world)].state.value == "active"


def test_without_the_header_the_org_is_the_token_users_own(api) -> None:
    # The same action id answers differently depending on whose org the call lands in.
    action = find(api.world, "actions", org=second_org(api.world), state="active")
    response = api.on("DeactivateAction", action, token=SEED_TOKENS.org_owner)
    assert_error(response, 404, 5, "Action not found (COMMAND-NRmhu)", "COMMAND-NRmhu")
    response = api.on("DeactivateAction", action, token=SEED_TOKENS.second_org_owner)
    assert_details(response, "DeactivateAction", second_org(api.world))


@pytest.mark.parametrize("rpc", RPCS)
def test_user_without_any_membership(api, rpc) -> None:
    response = api.call(rpc, token=SEED_TOKENS.no_membership, **_ids(api, rpc))
    assert_error(response, 404, 5, *NO_MEMBERSHIP)


def test_membership_in_another_org_only(api) -> None:
    response = api.call("DeactivateOrg", token=SEED_TOKENS.org_owner, org=second_org(api.world))
    assert_error(response, 404, 5, *NO_MEMBERSHIP)


@pytest.mark.parametrize(
    ("token", "rpc"),
    [
        # ORG_USER_MANAGER has user.write and user.grant.write, not org.action.write/org.write.
        (SEED_TOKENS.user_manager, "DeactivateAction"),
        (SEED_TOKENS.user_manager, "ReactivateAction"),
        (SEED_TOKENS.user_manager, "DeactivateOrg"),
        (SEED_TOKENS.user_manager, "ReactivateOrg"),
        # PROJECT_OWNER only has user.grant.write.
        (SEED_TOKENS.project_owner, "DeactivateUser"),
        (SEED_TOKENS.project_owner, "ReactivateUser"),
        (SEED_TOKENS.project_owner, "DeactivateAction"),
        (SEED_TOKENS.project_owner, "DeactivateOrg"),
    ],
)
def test_membership_without_the_permission(api, token, rpc) -> None:
    response = api.call(rpc, token=token, **_ids(api, rpc))
    assert_error(response, 403, 7, *NO_PERMISSION)


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser", "DeactivateUserGrant"])
def test_user_manager_may_change_users_and_grants(api, rpc) -> None:
    response = api.call(rpc, token=SEED_TOKENS.user_manager, **_ids(api, rpc))
    assert_details(response, rpc, main_org(api.world))


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
def test_auth_errors_come_before_validation_errors(api, rpc) -> None:
    too_long = "1" * 201
    _assert_unauthenticated(api.call(rpc, id=too_long, token=None), "auth header missing", None)
    _assert_unauthenticated(api.call(rpc, id=too_long, token="nope"), *TOKEN_INVALID)
    response = api.call(rpc, id=too_long, org="100000000000000000")
    assert_error(response, 403, 7, "Organisation doesn't exist (AUTH-Bs7Ds)", "AUTH-Bs7Ds")
    response = api.call(rpc, id=too_long, token=SEED_TOKENS.no_membership)
    assert_error(response, 404, 5, *NO_MEMBERSHIP)
    response = api.call(rpc, id=too_long, token=SEED_TOKENS.project_owner)
    assert_error(response, 403, 7, *NO_PERMISSION)


def test_grant_ids_are_validated_after_auth_too(api) -> None:
    response = api.call("DeactivateUserGrant", user_id="u" * 201, grant_id="g" * 201, token=None)
    _assert_unauthenticated(response, "auth header missing", None)


def test_a_deactivated_users_token_dies_and_stays_dead(api) -> None:
    manager_id = user_of_token(api.world, SEED_TOKENS.user_manager)
    org = main_org(api.world)
    assert_details(api.call("DeactivateUser", id=manager_id), "DeactivateUser", org)
    user = find(api.world, "users", org=org, state="active")
    response = api.call("DeactivateUser", id=user.id, token=SEED_TOKENS.user_manager)
    _assert_unauthenticated(response, *TOKEN_INVALID)
    assert user.state.value == "active"

    assert_details(api.call("ReactivateUser", id=manager_id), "ReactivateUser", org)
    # The token rows were deleted on deactivation; reactivating the user does not revive them.
    response = api.call("DeactivateUser", id=user.id, token=SEED_TOKENS.user_manager)
    _assert_unauthenticated(response, *TOKEN_INVALID)


def test_a_user_may_deactivate_itself_and_loses_access_at_once(api) -> None:
    owner_id = user_of_token(api.world, SEED_TOKENS.org_owner)
    response = api.call("DeactivateUser", id=owner_id, token=SEED_TOKENS.org_owner)
    assert_details(response, "DeactivateUser", main_org(api.world))
    response = api.call("ReactivateUser", id=owner_id, token=SEED_TOKENS.org_owner)
    _assert_unauthenticated(response, *TOKEN_INVALID)


def test_a_locked_users_token_dies(api) -> None:
    manager_id = user_of_token(api.world, SEED_TOKENS.user_manager)
    api.mock.admin.set_state("users", manager_id, "locked")
    response = api.call("DeactivateOrg", token=SEED_TOKENS.user_manager)
    _assert_unauthenticated(response, *TOKEN_INVALID)


def test_the_inactive_org_is_reachable_with_its_owners_token_and_with_the_header(api) -> None:
    org = main_org(api.world)
    # Deactivating the org does not touch its users' tokens or memberships.
    assert_details(api.call("DeactivateOrg"), "DeactivateOrg", org)
    user = find(api.world, "users", org=org, state="active")
    response = api.on("DeactivateUser", user, token=SEED_TOKENS.user_manager)
    assert_details(response, "DeactivateUser", org)
