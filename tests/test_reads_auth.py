"""Who may read what: ZITADEL's read permissions per role (docs/zitadel-read-facts.md §1, from
cmd/defaults.yaml), the seeded tokens, and the order auth -> permission -> validation."""

from __future__ import annotations

import pytest
from read_support import (
    ACTIONS_SEARCH,
    GRANTS_SEARCH,
    NO_MEMBERSHIP,
    NO_PERMISSION,
    USERS_SEARCH,
    add_caller,
    get_action,
    get_grant,
    get_my_org,
    get_user,
    ids,
    ok,
    search,
)
from rest_support import (
    assert_error,
    assert_validation_error,
    main_org,
    project_of_project_owner,
    second_org,
)

from mock_server.fixtures import SEED_TOKENS

PERMISSION = {
    "GetUserByID": "user.read",
    "ListUsers": "user.read",
    "GetMyOrg": "org.read",
    "GetAction": "org.action.read",
    "ListActions": "org.action.read",
    "GetUserGrantByID": "user.grant.read",
    "ListUserGrants": "user.grant.read",
}
READS = tuple(PERMISSION)
# cmd/defaults.yaml InternalAuthZ.RolePermissionMappings, the four read permissions.
HOLDERS = {
    "user.read": {
        "IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER", "ORG_OWNER",
        "IAM_LOGIN_CLIENT", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER", "ORG_USER_PERMISSION_EDITOR",
        "ORG_PROJECT_PERMISSION_EDITOR", "PROJECT_OWNER", "PROJECT_OWNER_VIEWER",
        "PROJECT_GRANT_OWNER", "PROJECT_GRANT_OWNER_VIEWER",
    },
    "org.read": {
        "IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER", "ORG_OWNER",
        "IAM_LOGIN_CLIENT", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER", "ORG_SETTINGS_MANAGER",
        "ORG_USER_PERMISSION_EDITOR", "ORG_PROJECT_PERMISSION_EDITOR",
    },
    "org.action.read": {
        "IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "ORG_OWNER", "ORG_OWNER_VIEWER",
    },
    "user.grant.read": {
        "IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER", "ORG_OWNER",
        "IAM_LOGIN_CLIENT", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER", "ORG_USER_PERMISSION_EDITOR",
        "ORG_PROJECT_PERMISSION_EDITOR", "PROJECT_OWNER", "PROJECT_OWNER_VIEWER",
        "PROJECT_OWNER_GLOBAL", "PROJECT_OWNER_VIEWER_GLOBAL", "PROJECT_GRANT_OWNER",
        "PROJECT_GRANT_OWNER_VIEWER",
    },
}  # fmt: skip
# Roles worth a row each: every org role below, on the main org; the project ones on a project.
ORG_ROLES = ("ORG_OWNER_VIEWER", "ORG_SETTINGS_MANAGER", "ORG_USER_PERMISSION_EDITOR")
PROJECT_ROLES = ("PROJECT_OWNER_VIEWER", "PROJECT_OWNER_GLOBAL", "PROJECT_GRANT_OWNER")
INSTANCE_ROLES = ("IAM_OWNER_VIEWER", "IAM_USER_MANAGER", "IAM_ORG_MANAGER")


def _read(api, rpc: str, token: str, org: str | None = None):
    world = api.world
    main = main_org(world)
    user = next(u for u in world.users.values() if u.resource_owner == main)
    action = next(a for a in world.actions.values() if a.resource_owner == main)
    grant = next(g for g in world.user_grants.values() if g.resource_owner == main)
    who = {"token": token, "org": org}
    return {
        "GetUserByID": lambda: get_user(api, user.id, **who),
        "ListUsers": lambda: search(api, USERS_SEARCH, {}, **who),
        "GetMyOrg": lambda: get_my_org(api, **who),
        "GetAction": lambda: get_action(api, action.id, **who),
        "ListActions": lambda: search(api, ACTIONS_SEARCH, {}, **who),
        "GetUserGrantByID": lambda: get_grant(api, grant.user_id, grant.id, **who),
        "ListUserGrants": lambda: search(api, GRANTS_SEARCH, {}, **who),
    }[rpc]()


def _check(api, rpc: str, role: str, token: str) -> None:
    response = _read(api, rpc, token)
    if role in HOLDERS[PERMISSION[rpc]]:
        assert response.status_code == 200, (role, rpc, response.text)
    else:
        assert_error(response, 403, 7, *NO_PERMISSION)


@pytest.mark.parametrize("role", ORG_ROLES + PROJECT_ROLES + INSTANCE_ROLES)
def test_each_role_reads_what_defaults_yaml_grants_it(api, role):
    world = api.world
    if role in ORG_ROLES:
        scope, scope_id = "org", main_org(world)
    elif role in PROJECT_ROLES:
        # A project membership counts org-wide: the reads declare no check_field_name.
        scope, scope_id = "project", project_of_project_owner(world)
    else:
        scope, scope_id = "instance", ""
    token = f"{role.lower()}-pat"
    add_caller(api, token, scope, scope_id, [role])
    for rpc in READS:
        _check(api, rpc, role, token)


SEEDED = {
    SEED_TOKENS.instance_owner: "IAM_OWNER",
    SEED_TOKENS.org_owner: "ORG_OWNER",
    SEED_TOKENS.user_manager: "ORG_USER_MANAGER",
    SEED_TOKENS.project_owner: "PROJECT_OWNER",
}


@pytest.mark.parametrize("token", SEEDED)
def test_seeded_tokens_read_by_their_role(api, token):
    for rpc in READS:
        _check(api, rpc, SEEDED[token], token)


def test_user_manager_reads_users_and_grants_but_not_actions(api):
    token = SEED_TOKENS.user_manager
    assert ok(search(api, USERS_SEARCH, {}, token=token))
    assert ok(search(api, GRANTS_SEARCH, {}, token=token))
    assert ok(get_my_org(api, token=token))
    assert_error(search(api, ACTIONS_SEARCH, {}, token=token), 403, 7, *NO_PERMISSION)


def test_project_owner_reads_every_grant_of_the_org_not_only_its_project(api):
    world = api.world
    token = SEED_TOKENS.project_owner
    own = project_of_project_owner(world)
    org_grants = {g.id for g in world.user_grants.values() if g.resource_owner == main_org(world)}
    assert any(world.user_grants[g].project_id != own for g in org_grants)
    assert set(ids(search(api, GRANTS_SEARCH, {}, token=token))) == org_grants
    other = next(world.user_grants[g] for g in org_grants if world.user_grants[g].project_id != own)
    assert ok(get_grant(api, other.user_id, other.id, token=token))
    users = {u.id for u in world.users.values() if u.resource_owner == main_org(world)}
    assert set(ids(search(api, USERS_SEARCH, {}, token=token))) == users
    assert_error(get_my_org(api, token=token), 403, 7, *NO_PERMISSION)


@pytest.mark.parametrize("rpc", READS)
def test_no_membership_is_not_found(api, rpc):
    assert_error(_read(api, rpc, SEED_TOKENS.no_membership), 404, 5, *NO_MEMBERSHIP)


@pytest.mark.parametrize("rpc", READS)
def test_an_org_owner_cannot_read_another_org(api, rpc):
    response = _read(api, rpc, SEED_TOKENS.org_owner, org=second_org(api.world))
    assert_error(response, 404, 5, *NO_MEMBERSHIP)


@pytest.mark.parametrize("rpc", READS)
def test_no_token_is_unauthenticated(api, rpc):
    response = _read(api, rpc, "not-a-token")
    assert_error(response, 401, 16, "Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")


def test_authentication_comes_before_permission_before_validation(api):
    invalid = {"queries": [{}]}
    required = (
        "invalid ListActionsRequest.Queries[0]: embedded message failed validation | "
        "caused by: invalid ActionQuery.Query: value is required"
    )
    # 401 before everything, even on a body PGV rejects.
    response = search(api, ACTIONS_SEARCH, invalid, token=None)
    assert_error(response, 401, 16, "auth header missing", None)
    assert_error(get_user(api, "1" * 201, token=None), 401, 16, "auth header missing", None)
    # 403 before validation and before the handler's limit check.
    token = SEED_TOKENS.user_manager
    assert_error(search(api, ACTIONS_SEARCH, invalid, token=token), 403, 7, *NO_PERMISSION)
    limit = {"query": {"limit": 1001}}
    assert_error(search(api, ACTIONS_SEARCH, limit, token=token), 403, 7, *NO_PERMISSION)
    project = SEED_TOKENS.project_owner
    assert_error(get_my_org(api, token=project), 403, 7, *NO_PERMISSION)
    # With the permission, validation speaks.
    assert_validation_error(search(api, ACTIONS_SEARCH, invalid), required)


def test_a_deactivated_caller_can_no_longer_read(api):
    world = api.world
    user = world.tokens[SEED_TOKENS.user_manager].user_id
    api.call("DeactivateUser", id=user)
    response = search(api, USERS_SEARCH, {}, token=SEED_TOKENS.user_manager)
    assert_error(response, 401, 16, "Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")
