"""GetUserGrantByID and ListUserGrants over REST, as UserGrantToPb and the user_grants query
answer them (docs/zitadel-read-facts.md §6, §7, §9 and §11 of the research file)."""

from __future__ import annotations

from typing import Any

import pytest
from read_support import (
    GRANT_NOT_FOUND,
    GRANTS_SEARCH,
    LIMIT_EXCEEDED,
    create,
    get_grant,
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
    main_org,
    parse_date,
    second_org,
)

from mock_server.domain.world import UserGrant, World

GRANT_STATES = {"active": "USER_GRANT_STATE_ACTIVE", "inactive": "USER_GRANT_STATE_INACTIVE"}


def grants_of(world: World, org: str) -> list[UserGrant]:
    return [g for g in world.user_grants.values() if g.resource_owner == org]


def expected_grant(world: World, grant: UserGrant) -> dict[str, Any]:
    user = world.users[grant.user_id]
    project = world.projects[grant.project_id]
    owner = world.orgs[grant.resource_owner]  # orgId: the org owning the grant
    user_org = world.orgs[user.resource_owner]  # grantedOrgId: the user's org
    body = {
        "id": grant.id,
        "details": {
            "sequence": str(grant.sequence),
            "creationDate": grant.creation_date,
            "changeDate": grant.change_date,
            "resourceOwner": grant.resource_owner,
        },
        "roleKeys": list(grant.roles),
        "state": GRANT_STATES[grant.state.value],
        "userId": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "displayName": user.display_name,
        "orgId": owner.id,
        "orgName": owner.name,
        "orgDomain": owner.primary_domain,
        "projectId": project.id,
        "projectName": project.name,
        # projectGrantId is empty for grants on an own project, avatarUrl without an avatar.
        "preferredLoginName": user.user_name,
        "userType": "TYPE_MACHINE" if user.kind == "machine" else "TYPE_HUMAN",
        "grantedOrgId": user_org.id,
        "grantedOrgName": user_org.name,
        "grantedOrgDomain": user_org.primary_domain,
    }
    return {k: v for k, v in body.items() if v not in ("", [])}


def _with_dates(body: dict[str, Any]) -> dict[str, Any]:
    details = dict(body["details"])
    for key in ("creationDate", "changeDate"):
        assert RFC3339_UTC.match(details[key]), details
        details[key] = parse_date(details[key])
    return {**body, "details": details}


def test_every_grant_of_the_org_reads_field_by_field(api):
    world = api.world
    grants = grants_of(world, main_org(world))
    assert {g.state.value for g in grants} == set(GRANT_STATES)
    for grant in grants:
        body = ok(get_grant(api, grant.user_id, grant.id))
        assert set(body) == {"userGrant"}
        got = body["userGrant"]
        assert "projectGrantId" not in got and "avatarUrl" not in got
        assert _with_dates(got) == expected_grant(world, grant)


def test_user_id_of_the_path_is_ignored(api):
    grant = grants_of(api.world, main_org(api.world))[0]
    body = ok(get_grant(api, "anybody-at-all", grant.id))["userGrant"]
    assert (body["id"], body["userId"]) == (grant.id, grant.user_id)


def test_org_id_is_the_grant_owner_and_granted_org_the_user_org(api):
    world = api.world
    main, second = main_org(world), second_org(world)
    # A user of the second org granted a role on a project of the main org, by the main org.
    stranger = next(u for u in world.users.values() if u.resource_owner == second)
    project = next(p for p in world.projects.values() if p.resource_owner == main)
    made = create(
        api,
        "user_grants",
        {"org": main, "user": stranger.id, "project": project.id, "roles": ["a", "b"]},
    )
    grant = ok(get_grant(api, stranger.id, made["id"]))["userGrant"]
    assert (grant["orgId"], grant["details"]["resourceOwner"]) == (main, main)
    assert grant["orgName"] == world.orgs[main].name
    assert (grant["grantedOrgId"], grant["grantedOrgName"]) == (second, world.orgs[second].name)
    assert grant["grantedOrgDomain"] == world.orgs[second].primary_domain
    assert grant["roleKeys"] == ["a", "b"]


def test_a_machine_user_grant_omits_the_human_fields(api):
    world = api.world
    main = main_org(world)
    machine = next(
        u for u in world.users.values() if u.resource_owner == main and u.kind == "machine"
    )
    project = next(p for p in world.projects.values() if p.resource_owner == main)
    made = create(api, "user_grants", {"org": main, "user": machine.id, "project": project.id})
    grant = ok(get_grant(api, machine.id, made["id"]))["userGrant"]
    assert grant["userType"] == "TYPE_MACHINE"
    assert not {"firstName", "lastName", "email", "displayName", "roleKeys"} & set(grant)


def test_unknown_and_foreign_grants_are_not_found(api):
    world = api.world
    foreign = grants_of(world, second_org(world))[0]
    assert_error(get_grant(api, "1", "404404404"), 404, 5, *GRANT_NOT_FOUND)
    assert_error(get_grant(api, foreign.user_id, foreign.id), 404, 5, *GRANT_NOT_FOUND)
    found = ok(get_grant(api, foreign.user_id, foreign.id, org=second_org(world)))
    assert found["userGrant"]["id"] == foreign.id


def test_a_removed_grant_is_not_found_and_not_listed(api):
    grant = grants_of(api.world, main_org(api.world))[0]
    api.mock.admin.set_state("user_grants", grant.id, "removed")
    assert_error(get_grant(api, grant.user_id, grant.id), 404, 5, *GRANT_NOT_FOUND)
    assert grant.id not in ids(search(api, GRANTS_SEARCH, {}))


@pytest.mark.parametrize("field", ["user_id", "grant_id"])
def test_grant_path_ids_are_validated(api, field):
    ids_ = {"user_id": "1", "grant_id": "2", field: "9" * 201}
    go_name = "UserId" if field == "user_id" else "GrantId"
    assert_validation_error(
        get_grant(api, ids_["user_id"], ids_["grant_id"]),
        f"invalid GetUserGrantByIDRequest.{go_name}: "
        "value length must be between 1 and 200 runes, inclusive",
    )


# --- ListUserGrants -----------------------------------------------------------------------


def test_list_user_grants_lists_the_org_grants(api):
    world = api.world
    response = search(api, GRANTS_SEARCH, {})
    body = ok(response)
    assert set(body) == {"details", "result"}
    assert set(body["details"]) == {"totalResult", "viewTimestamp"}
    expected = grants_of(world, main_org(world))
    assert body["details"]["totalResult"] == str(len(expected))
    assert sorted(ids(response)) == sorted(g.id for g in expected)
    for item in listed(response):
        assert _with_dates(item) == expected_grant(world, world.user_grants[item["id"]])


def test_list_user_grants_pages_and_limits(api):
    plain = ids(search(api, GRANTS_SEARCH, {}))
    response = search(api, GRANTS_SEARCH, {"query": {"offset": "2", "limit": 2}})
    assert ids(response) == plain[2:4]
    assert ok(response)["details"]["totalResult"] == str(len(plain))
    assert_error(search(api, GRANTS_SEARCH, {"query": {"limit": 1001}}), 400, 3, *LIMIT_EXCEEDED)


def _found(api, *queries: dict, **who: Any) -> set[str]:
    return set(ids(search(api, GRANTS_SEARCH, {"queries": list(queries)}, **who)))


def test_user_id_and_project_id_queries(api):
    world = api.world
    grants = grants_of(world, main_org(world))
    user_id, project_id = grants[0].user_id, grants[0].project_id
    assert _found(api, {"userIdQuery": {"userId": user_id}}) == {
        g.id for g in grants if g.user_id == user_id
    }
    assert _found(api, {"projectIdQuery": {"projectId": project_id}}) == {
        g.id for g in grants if g.project_id == project_id
    }
    both = {g.id for g in grants if (g.user_id, g.project_id) == (user_id, project_id)}
    assert (
        _found(
            api, {"userIdQuery": {"userId": user_id}}, {"projectIdQuery": {"projectId": project_id}}
        )
        == both
    )


def test_user_type_query(api):
    world = api.world
    grants = grants_of(world, main_org(world))
    assert _found(api, {"userTypeQuery": {"type": "TYPE_HUMAN"}}) == {g.id for g in grants}
    assert _found(api, {"userTypeQuery": {"type": "TYPE_MACHINE"}}) == set()


def test_role_key_query_ignores_its_method(api):
    world = api.world
    grants = grants_of(world, main_org(world))
    holders = {g.id for g in grants if "reader" in g.roles}
    assert holders
    assert _found(api, {"roleKeyQuery": {"roleKey": "reader"}}) == holders
    # NewUserGrantRoleQuery(q.RoleKey): a prefix with STARTS_WITH still means the whole key.
    starts = {"roleKeyQuery": {"roleKey": "read", "method": "TEXT_QUERY_METHOD_STARTS_WITH"}}
    assert _found(api, starts) == set()
    shout = {
        "roleKeyQuery": {"roleKey": "READER", "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}
    }
    assert _found(api, shout) == set()


# (query key, its text field, the value of a seeded grant it compares)
GRANT_TEXT_QUERIES = [
    ("userNameQuery", "userName", lambda w, g: w.users[g.user_id].user_name),
    ("firstNameQuery", "firstName", lambda w, g: w.users[g.user_id].first_name),
    ("lastNameQuery", "lastName", lambda w, g: w.users[g.user_id].last_name),
    ("emailQuery", "email", lambda w, g: w.users[g.user_id].email),
    ("displayNameQuery", "displayName", lambda w, g: w.users[g.user_id].display_name),
    ("orgNameQuery", "orgName", lambda w, g: w.orgs[g.resource_owner].name),
    ("orgDomainQuery", "orgDomain", lambda w, g: w.orgs[g.resource_owner].primary_domain),
    ("projectNameQuery", "projectName", lambda w, g: w.projects[g.project_id].name),
]


@pytest.mark.parametrize(
    ("key", "field", "value_of"), GRANT_TEXT_QUERIES, ids=[q[0] for q in GRANT_TEXT_QUERIES]
)
def test_grant_text_queries(api, key, field, value_of):
    world = api.world
    grants = grants_of(world, main_org(world))
    value = value_of(world, grants[0])
    exact = {g.id for g in grants if value_of(world, g) == value}
    assert _found(api, text_query(key, field, value)) == exact
    ignore_case = text_query(key, field, value.upper(), "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE")
    assert _found(api, ignore_case) == exact
    contains = text_query(key, field, value[1:-1], "TEXT_QUERY_METHOD_CONTAINS")
    assert _found(api, contains) == {g.id for g in grants if value[1:-1] in value_of(world, g)}
    assert _found(api, text_query(key, field, value + "-nope")) == set()


def test_with_granted_query_adds_grants_on_own_projects_whatever_its_value(api):
    world = api.world
    main, second = main_org(world), second_org(world)
    # A grant owned by the second org on a project of the main org.
    project = next(p for p in world.projects.values() if p.resource_owner == main)
    user = next(u for u in world.users.values() if u.resource_owner == second)
    made = create(api, "user_grants", {"org": second, "user": user.id, "project": project.id})
    own = {g.id for g in grants_of(world, main)} - {made["id"]}
    assert _found(api) == own
    for query in ({}, {"withGranted": True}, {"withGranted": False}):
        assert _found(api, {"withGrantedQuery": query}) == own | {made["id"]}, query
    granted = ok(get_grant(api, user.id, made["id"], org=second))["userGrant"]
    assert granted["orgId"] == second and granted["projectId"] == project.id
    # The main org cannot get it by id: GetUserGrantByID filters by the owner only.
    assert_error(get_grant(api, user.id, made["id"]), 404, 5, *GRANT_NOT_FOUND)


def test_another_org_grants_are_never_listed(api):
    world = api.world
    foreign = {g.id for g in grants_of(world, second_org(world))}
    assert foreign and not foreign & _found(api)
    their_user = grants_of(world, second_org(world))[0].user_id
    assert not foreign & _found(api, {"userIdQuery": {"userId": their_user}})


def test_there_is_no_grant_state_query_and_inactive_grants_are_listed(api):
    world = api.world
    inactive = {g.id for g in grants_of(world, main_org(world)) if g.state.value == "inactive"}
    listed_states = {i["id"]: i["state"] for i in listed(search(api, GRANTS_SEARCH, {}))}
    assert inactive and all(listed_states[i] == "USER_GRANT_STATE_INACTIVE" for i in inactive)
    # An unknown oneof field is discarded, leaving an empty query: PGV's required rule.
    assert_validation_error(
        search(api, GRANTS_SEARCH, {"queries": [{"stateQuery": {"state": 1}}]}),
        "invalid ListUserGrantRequest.Queries[0]: embedded message failed validation | "
        "caused by: invalid UserGrantQuery.Query: value is required",
    )


def test_grant_queries_are_validated_with_their_own_rules(api):
    prefix = (
        "invalid ListUserGrantRequest.Queries[0]: embedded message failed validation | "
        "caused by: invalid UserGrantQuery."
    )
    assert_validation_error(
        search(api, GRANTS_SEARCH, {"queries": [{"userNameQuery": {"userName": "u" * 201}}]}),
        prefix + "UserNameQuery: embedded message failed validation | caused by: "
        "invalid UserGrantUserNameQuery.UserName: value length must be at most 200 runes",
    )
    assert_validation_error(
        search(api, GRANTS_SEARCH, {"queries": [{"roleKeyQuery": {"roleKey": "r", "method": 9}}]}),
        prefix + "RoleKeyQuery: embedded message failed validation | caused by: "
        "invalid UserGrantRoleKeyQuery.Method: value must be one of the defined enum values",
    )
    # UserGrantDisplayNameQuery has no length rule, UserGrantUserTypeQuery no defined_only.
    long_name = {"displayNameQuery": {"displayName": "d" * 300}}
    assert "result" not in ok(search(api, GRANTS_SEARCH, {"queries": [long_name]}))
    odd_type = {"userTypeQuery": {"type": 7}}
    assert "result" not in ok(search(api, GRANTS_SEARCH, {"queries": [odd_type]}))
