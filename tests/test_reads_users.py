"""GetUserByID and ListUsers over REST: every field as ZITADEL's converters fill it, every query
type, paging, order, validation and decoding.

The expected JSON is built here from the world's values by the rules of UserToPb / HumanToPb /
MachineToPb and protojson (docs/zitadel-read-facts.md §1, §2, §7, §8, §11), never by the mock's
encoder.
"""

from __future__ import annotations

from typing import Any

import pytest
from read_support import (
    LIMIT_EXCEEDED,
    USER_NOT_FOUND,
    USER_OF_OTHER_ORG,
    USERS_SEARCH,
    create,
    get_user,
    ids,
    listed,
    ok,
    search,
    text_query,
)
from rest_support import (
    BASE,
    RFC3339_UTC,
    assert_error,
    assert_json_error_response,
    assert_validation_error,
    main_org,
    parse_date,
    second_org,
)

from mock_server.domain.world import User, World

STATE_NAMES = {
    "active": "USER_STATE_ACTIVE",
    "inactive": "USER_STATE_INACTIVE",
    "initial": "USER_STATE_INITIAL",
    "locked": "USER_STATE_LOCKED",
}
METHODS = (
    "TEXT_QUERY_METHOD_EQUALS",
    "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE",
    "TEXT_QUERY_METHOD_STARTS_WITH",
    "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE",
    "TEXT_QUERY_METHOD_CONTAINS",
    "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE",
    "TEXT_QUERY_METHOD_ENDS_WITH",
    "TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE",
)


def _dates_parsed(value: Any) -> Any:
    """The JSON with every RFC 3339 string turned into a datetime, for comparing instants."""
    if isinstance(value, dict):
        return {k: _dates_parsed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_parsed(v) for v in value]
    if isinstance(value, str) and RFC3339_UTC.match(value):
        return parse_date(value)
    return value


def expected_user(user: User) -> dict[str, Any]:
    """zitadel.user.v1.User in protojson, by ZITADEL's converters: zero values omitted."""

    def nonzero(**fields: Any) -> dict[str, Any]:
        return {k: v for k, v in fields.items() if v not in ("", False, None)}

    body: dict[str, Any] = {
        "id": user.id,
        "details": {
            "sequence": str(user.sequence),
            "creationDate": user.creation_date,
            "changeDate": user.change_date,
            "resourceOwner": user.resource_owner,
        },
        "state": STATE_NAMES[user.state.value],
        "userName": user.user_name,
        # userLoginMustBeDomain is false on a default instance: the bare user name (facts §2).
        "loginNames": [user.user_name],
        "preferredLoginName": user.user_name,
    }
    if user.kind == "machine":
        body["machine"] = nonzero(
            name=user.machine_name,
            description=user.description,
            hasSecret=user.has_secret,
            accessTokenType="ACCESS_TOKEN_TYPE_JWT" if user.access_token_type == "jwt" else "",
        )
        return body
    body["human"] = nonzero(
        profile=nonzero(
            firstName=user.first_name,
            lastName=user.last_name,
            nickName=user.nick_name,
            displayName=user.display_name,
            preferredLanguage=user.preferred_language or "und",
            gender="" if user.gender == "unspecified" else f"GENDER_{user.gender.upper()}",
        ),
        passwordChanged=user.password_changed,
    )
    # HumanToPb always sets email and phone, so both are objects even when empty.
    body["human"]["email"] = nonzero(email=user.email, isEmailVerified=user.email_verified)
    body["human"]["phone"] = nonzero(phone=user.phone, isPhoneVerified=user.phone_verified)
    return body


def _profile(user_json: dict[str, Any]) -> dict[str, Any]:
    return user_json.get("human", {}).get("profile", {})


def users_of(world: World, org: str) -> list[User]:
    return [u for u in world.users.values() if u.resource_owner == org]


def by_name(world: World, user_name: str) -> User:
    (user,) = [u for u in world.users.values() if u.user_name == user_name]
    return user


# --- GetUserByID --------------------------------------------------------------------------


def test_every_user_of_the_org_reads_field_by_field_as_zitadel_converts_it(api):
    world = api.world
    users = users_of(world, main_org(world))
    # The seeded org covers both kinds, every readable state and the zero values.
    assert {u.kind for u in users} == {"human", "machine"}
    assert {u.state.value for u in users} == set(STATE_NAMES)
    for user in users:
        body = ok(get_user(api, user.id))
        assert set(body) == {"user"}
        assert _dates_parsed(body["user"]) == expected_user(user), user.user_name


def test_a_human_without_phone_reads_an_empty_phone_and_omits_zero_values(api):
    user = by_name(api.world, "sabrina.davis")
    assert (user.phone, user.gender, user.nick_name) == ("", "unspecified", "sabrina")
    human = ok(get_user(api, user.id))["user"]["human"]
    assert human["phone"] == {}
    assert "gender" not in human["profile"]
    assert "avatarUrl" not in human["profile"]
    assert human["profile"]["nickName"] == "sabrina"
    assert human["email"] == {"email": "sabrina.davis@yahoo.com", "isEmailVerified": True}
    assert "machine" not in ok(get_user(api, user.id))["user"]


def test_an_unverified_email_omits_is_email_verified_and_gender_reads_its_name(api):
    user = by_name(api.world, "project-owner")
    assert not user.email_verified and user.gender == "diverse"
    human = ok(get_user(api, user.id))["user"]["human"]
    assert human["email"] == {"email": "project-owner@yahoo.com"}
    assert human["profile"]["gender"] == "GENDER_DIVERSE"
    assert "nickName" not in human["profile"]


def test_a_machine_reads_only_its_machine_fields(api):
    world = api.world
    (machine,) = [u for u in users_of(world, main_org(world)) if u.kind == "machine"]
    body = ok(get_user(api, machine.id))["user"]
    assert "human" not in body
    # hasSecret false and accessTokenType BEARER (0) are protojson zero values.
    assert body["machine"] == {"name": machine.machine_name, "description": machine.description}


def test_a_machine_with_a_secret_and_jwt_tokens_reads_both(api):
    created = create(
        api,
        "users",
        {
            "org": main_org(api.world),
            "user_name": "ci-robot",
            "kind": "machine",
            "machine_name": "CI Robot",
            "has_secret": True,
            "access_token_type": "jwt",
        },
    )
    body = ok(get_user(api, created["id"]))["user"]
    assert body["machine"] == {
        "name": "CI Robot",
        "hasSecret": True,
        "accessTokenType": "ACCESS_TOKEN_TYPE_JWT",
    }
    assert body["loginNames"] == ["ci-robot"] and body["preferredLoginName"] == "ci-robot"


def test_an_unset_language_reads_und_and_display_name_defaults_to_first_last(api):
    created = create(
        api,
        "users",
        {
            "org": main_org(api.world),
            "user_name": "no-lang",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "preferred_language": "",
        },
    )
    profile = ok(get_user(api, created["id"]))["user"]["human"]["profile"]
    # language.Und.String(); ZITADEL fills "first last" as display name when none is given.
    assert profile == {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "displayName": "Ada Lovelace",
        "preferredLanguage": "und",
    }


def test_user_details_are_strings_and_dates_of_its_events(api):
    user = by_name(api.world, "john.nguyen")  # seeded inactive: two events
    details = ok(get_user(api, user.id))["user"]["details"]
    assert details["sequence"] == "2"
    assert RFC3339_UTC.match(details["creationDate"]) and RFC3339_UTC.match(details["changeDate"])
    assert parse_date(details["creationDate"]) < parse_date(details["changeDate"])
    assert details["resourceOwner"] == user.resource_owner


def test_unknown_user_is_query_not_found(api):
    assert_error(get_user(api, "404404404"), 404, 5, *USER_NOT_FOUND)


def test_user_of_another_org_is_not_found_by_the_owner_check(api):
    world = api.world
    other = users_of(world, second_org(world))[0]
    assert_error(get_user(api, other.id), 404, 5, *USER_OF_OTHER_ORG)
    # In that org's context the same user is found.
    assert ok(get_user(api, other.id, org=second_org(world)))["user"]["id"] == other.id


def test_a_removed_user_has_left_the_projection(api):
    user = by_name(api.world, "aaron.snyder")
    api.mock.admin.set_state("users", user.id, "deleted")
    assert_error(get_user(api, user.id), 404, 5, *USER_NOT_FOUND)
    assert user.id not in ids(search(api, USERS_SEARCH, {}))


def test_user_id_longer_than_200_runes_fails_validation(api):
    assert_validation_error(
        get_user(api, "1" * 201),
        "invalid GetUserByIDRequest.Id: value length must be between 1 and 200 runes, inclusive",
    )
    assert_error(get_user(api, "1" * 200), 404, 5, *USER_NOT_FOUND)


# --- ListUsers: the envelope, paging, order ----------------------------------------------


def test_list_users_envelope_has_only_details_and_result(api):
    world = api.world
    response = search(api, USERS_SEARCH, {})
    body = ok(response)
    assert set(body) == {"details", "result"}  # no sortingColumn, ever
    details = body["details"]
    # processedSequence is never filled on current releases, so protojson omits it.
    assert set(details) == {"totalResult", "viewTimestamp"}
    expected = users_of(world, main_org(world))
    assert details["totalResult"] == str(len(expected))
    assert RFC3339_UTC.match(details["viewTimestamp"])
    assert sorted(ids(response)) == sorted(u.id for u in expected)


def test_list_users_is_ordered_by_id_descending_unless_asc(api):
    everyone = sorted(u.id for u in users_of(api.world, main_org(api.world)))
    assert ids(search(api, USERS_SEARCH, {})) == everyone[::-1]
    assert ids(search(api, USERS_SEARCH, {"query": {"asc": True}})) == everyone


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("USER_FIELD_NAME_USER_NAME", lambda u: u["userName"]),
        ("USER_FIELD_NAME_FIRST_NAME", lambda u: _profile(u).get("firstName", "")),
        ("USER_FIELD_NAME_DISPLAY_NAME", lambda u: _profile(u).get("displayName", "")),
        ("USER_FIELD_NAME_EMAIL", lambda u: u.get("human", {}).get("email", {}).get("email", "")),
        ("USER_FIELD_NAME_CREATION_DATE", lambda u: parse_date(u["details"]["creationDate"])),
    ],
)
def test_list_users_sorts_by_the_requested_column(api, column, key):
    descending = [key(u) for u in listed(search(api, USERS_SEARCH, {"sortingColumn": column}))]
    assert descending == sorted(descending, reverse=True) and len(set(descending)) > 2
    body = {"sortingColumn": column, "query": {"asc": True}}
    response = search(api, USERS_SEARCH, body)
    assert [key(u) for u in listed(response)] == sorted(descending)
    assert "sortingColumn" not in ok(response)


def test_list_users_sorting_column_may_be_sent_as_its_number(api):
    names = [u["userName"] for u in listed(search(api, USERS_SEARCH, {"sortingColumn": 1}))]
    assert names == sorted(names, reverse=True)


def test_list_users_pages_with_offset_and_limit_and_counts_the_whole_filter(api):
    everyone = ids(search(api, USERS_SEARCH, {}))
    response = search(api, USERS_SEARCH, {"query": {"offset": "2", "limit": 3}})
    assert ids(response) == everyone[2:5]
    assert ok(response)["details"]["totalResult"] == str(len(everyone))
    # uint64 offset as a JSON number is accepted as well.
    assert ids(search(api, USERS_SEARCH, {"query": {"offset": 4, "limit": 2}})) == everyone[4:6]
    last = search(api, USERS_SEARCH, {"query": {"offset": str(len(everyone) - 1)}})
    assert ids(last) == everyone[-1:]


def test_list_users_past_the_end_has_neither_result_nor_total(api):
    everyone = ids(search(api, USERS_SEARCH, {}))
    body = ok(search(api, USERS_SEARCH, {"query": {"offset": str(len(everyone))}}))
    assert set(body) == {"details"} and set(body["details"]) == {"viewTimestamp"}


def test_an_empty_list_omits_result_and_total(api):
    query = text_query("userNameQuery", "userName", "nobody-has-this-name")
    body = ok(search(api, USERS_SEARCH, {"queries": [query]}))
    assert body == {"details": {"viewTimestamp": body["details"]["viewTimestamp"]}}


def test_default_and_maximum_limit_is_1000(api):
    world = api.world
    org = main_org(world)
    for number in range(1001 - len(users_of(world, org))):
        create(api, "users", {"org": org, "user_name": f"bulk-{number:04d}"})
    assert len(users_of(world, org)) == 1001
    # V1QueryLimit: no limit (or 0) means the maximum, not DefaultQueryLimit (100).
    for body in ({}, {"query": {"limit": 0}}, {"query": {"limit": 1000}}):
        response = search(api, USERS_SEARCH, body)
        assert len(listed(response)) == 1000, body
        assert ok(response)["details"]["totalResult"] == "1001"
    assert_error(search(api, USERS_SEARCH, {"query": {"limit": 1001}}), 400, 3, *LIMIT_EXCEEDED)


def test_limit_above_1000_is_rejected_with_its_error_detail(api):
    assert_error(search(api, USERS_SEARCH, {"query": {"limit": 1001}}), 400, 3, *LIMIT_EXCEEDED)
    assert_error(search(api, USERS_SEARCH, {"query": {"limit": 5000}}), 400, 3, *LIMIT_EXCEEDED)


# --- ListUsers: queries -------------------------------------------------------------------

# (query key, field of the query message, the user's value it compares)
TEXT_QUERIES = [
    ("userNameQuery", "userName", lambda u: u.user_name),
    ("firstNameQuery", "firstName", lambda u: u.first_name),
    ("lastNameQuery", "lastName", lambda u: u.last_name),
    ("nickNameQuery", "nickName", lambda u: u.nick_name),
    ("displayNameQuery", "displayName", lambda u: u.display_name),
    ("emailQuery", "emailAddress", lambda u: u.email),
    ("loginNameQuery", "loginName", lambda u: u.user_name),  # login names are the user name
]


def _probe(method: str, value: str) -> str:
    """A search text for ``value`` under ``method``; ignore-case ones are sent upper-cased."""
    base = method.removeprefix("TEXT_QUERY_METHOD_").removesuffix("_IGNORE_CASE")
    text = {"EQUALS": value, "STARTS_WITH": value[:3], "CONTAINS": value[1:-1]}.get(
        base, value[-3:]
    )
    return text.upper() if method.endswith("_IGNORE_CASE") else text


def _zitadel_matches(method: str, value: str, wanted: str) -> bool:
    """internal/query TextComparison: =, LOWER(..) =, LIKE 'x%', '%x%', '%x' (ILIKE for the
    ignore-case ones)."""
    if method.endswith("_IGNORE_CASE"):
        value, wanted = value.lower(), wanted.lower()
    base = method.removeprefix("TEXT_QUERY_METHOD_").removesuffix("_IGNORE_CASE")
    return {
        "EQUALS": value == wanted,
        "STARTS_WITH": value.startswith(wanted),
        "CONTAINS": wanted in value,
        "ENDS_WITH": value.endswith(wanted),
    }[base]


@pytest.mark.parametrize(
    ("key", "field", "value_of"), TEXT_QUERIES, ids=[query[0] for query in TEXT_QUERIES]
)
def test_each_text_query_with_each_method(api, key, field, value_of):
    world = api.world
    org_users = users_of(world, main_org(world))
    target = by_name(world, "sabrina.davis")  # has a nick name, an email, mixed-case names
    value = value_of(target)
    assert value and value != value.upper()
    for method in METHODS:
        wanted = _probe(method, value)
        query = text_query(key, field, wanted, method)
        got = set(ids(search(api, USERS_SEARCH, {"queries": [query]})))
        expected = {u.id for u in org_users if _zitadel_matches(method, value_of(u), wanted)}
        assert target.id in expected and got == expected, (method, wanted)
        if not method.endswith("_IGNORE_CASE"):
            # Case matters for the plain methods: the upper-cased text finds nobody here.
            shouted = text_query(key, field, wanted.upper(), method)
            assert target.id not in ids(search(api, USERS_SEARCH, {"queries": [shouted]}))


def test_text_query_without_method_is_equals(api):
    target = by_name(api.world, "sabrina.davis")
    exact = {"userNameQuery": {"userName": "sabrina.davis"}}
    prefix = {"userNameQuery": {"userName": "sabrina"}}
    assert ids(search(api, USERS_SEARCH, {"queries": [exact]})) == [target.id]
    assert ids(search(api, USERS_SEARCH, {"queries": [prefix]})) == []


def test_text_queries_never_reach_another_org(api):
    world = api.world
    # thomas.davis lives in the second org; only sabrina.davis ends with ".davis" here.
    assert any(u.user_name == "thomas.davis" for u in users_of(world, second_org(world)))
    query = text_query("userNameQuery", "userName", ".davis", "TEXT_QUERY_METHOD_ENDS_WITH")
    assert ids(search(api, USERS_SEARCH, {"queries": [query]})) == [
        by_name(world, "sabrina.davis").id
    ]


@pytest.mark.parametrize("state", sorted(STATE_NAMES))
def test_state_query_lists_exactly_that_state(api, state):
    world = api.world
    query = {"stateQuery": {"state": STATE_NAMES[state]}}
    response = search(api, USERS_SEARCH, {"queries": [query]})
    expected = {u.id for u in users_of(world, main_org(world)) if u.state.value == state}
    assert expected and set(ids(response)) == expected
    assert {u["state"] for u in listed(response)} == {STATE_NAMES[state]}
    assert ok(response)["details"]["totalResult"] == str(len(expected))


def test_state_query_by_number(api):
    world = api.world
    inactive = {u.id for u in users_of(world, main_org(world)) if u.state.value == "inactive"}
    response = search(api, USERS_SEARCH, {"queries": [{"stateQuery": {"state": 2}}]})
    assert inactive and set(ids(response)) == inactive


@pytest.mark.parametrize(
    ("type_name", "kind"), [("TYPE_HUMAN", "human"), ("TYPE_MACHINE", "machine")]
)
def test_type_query(api, type_name, kind):
    world = api.world
    response = search(api, USERS_SEARCH, {"queries": [{"typeQuery": {"type": type_name}}]})
    expected = {u.id for u in users_of(world, main_org(world)) if u.kind == kind}
    assert expected and set(ids(response)) == expected
    assert all(kind in u for u in listed(response))


def test_in_user_ids_query_lists_those_of_the_org(api):
    world = api.world
    mine = [u.id for u in users_of(world, main_org(world))][:3]
    foreign = users_of(world, second_org(world))[0].id
    query = {"inUserIdsQuery": {"userIds": [*mine, foreign, "404404404"]}}
    assert set(ids(search(api, USERS_SEARCH, {"queries": [query]}))) == set(mine)


def test_in_user_emails_query(api):
    world = api.world
    a, b = by_name(world, "sabrina.davis"), by_name(world, "john.nguyen")
    query = {"inUserEmailsQuery": {"userEmails": [a.email, b.email, "nobody@example.com"]}}
    assert set(ids(search(api, USERS_SEARCH, {"queries": [query]}))) == {a.id, b.id}


def test_or_and_not_queries_compose(api):
    world = api.world
    org_users = users_of(world, main_org(world))
    a, b = by_name(world, "sabrina.davis"), by_name(world, "john.nguyen")
    name_a = {"userNameQuery": {"userName": a.user_name}}
    name_b = {"userNameQuery": {"userName": b.user_name}}
    active = {"stateQuery": {"state": "USER_STATE_ACTIVE"}}
    machine = {"typeQuery": {"type": "TYPE_MACHINE"}}

    def found(*queries: dict) -> set[str]:
        return set(ids(search(api, USERS_SEARCH, {"queries": list(queries)})))

    assert found({"orQuery": {"queries": [name_a, name_b]}}) == {a.id, b.id}
    machines = {u.id for u in org_users if u.kind == "machine" and u.state.value == "active"}
    assert found({"andQuery": {"queries": [active, machine]}}) == machines
    assert found({"notQuery": {"query": active}}) == {
        u.id for u in org_users if u.state.value != "active"
    }
    # Nested: not (a or b), and top-level queries are ANDed with each other.
    assert found({"notQuery": {"query": {"orQuery": {"queries": [name_a, name_b]}}}}) == {
        u.id for u in org_users
    } - {a.id, b.id}
    assert found({"orQuery": {"queries": [name_a, name_b]}}, active) == {a.id}
    assert found(name_a, name_b) == set()


# --- ListUsers: validation and decoding ---------------------------------------------------


def test_an_empty_query_fails_pgv_required(api):
    assert_validation_error(
        search(api, USERS_SEARCH, {"queries": [{}]}),
        "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: "
        "invalid SearchQuery.Query: value is required",
    )


def test_an_empty_nested_query_fails_with_the_whole_chain(api):
    body = {"queries": [{"userNameQuery": {"userName": "x"}}, {"orQuery": {"queries": [{}]}}]}
    assert_validation_error(
        search(api, USERS_SEARCH, body),
        "invalid ListUsersRequest.Queries[1]: embedded message failed validation | caused by: "
        "invalid SearchQuery.OrQuery: embedded message failed validation | caused by: "
        "invalid OrQuery.Queries[0]: embedded message failed validation | caused by: "
        "invalid SearchQuery.Query: value is required",
    )


def test_a_201_rune_user_name_query_is_too_long(api):
    too_long = text_query("userNameQuery", "userName", "ä" * 201)
    assert_validation_error(
        search(api, USERS_SEARCH, {"queries": [too_long]}),
        "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: "
        "invalid SearchQuery.UserNameQuery: embedded message failed validation | caused by: "
        "invalid UserNameQuery.UserName: value length must be at most 200 runes",
    )
    ok(search(api, USERS_SEARCH, {"queries": [text_query("userNameQuery", "userName", "ä" * 200)]}))


@pytest.mark.parametrize(
    ("query", "message", "field"),
    [
        ({"userNameQuery": {"userName": "a", "method": 8}}, "UserNameQuery", "Method"),
        ({"stateQuery": {"state": 99}}, "StateQuery", "State"),
        ({"typeQuery": {"type": 3}}, "TypeQuery", "Type"),
    ],
)
def test_an_undefined_enum_number_fails_defined_only(api, query, message, field):
    assert_validation_error(
        search(api, USERS_SEARCH, {"queries": [query]}),
        "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: "
        f"invalid SearchQuery.{message}: embedded message failed validation | caused by: "
        f"invalid {message}.{field}: value must be one of the defined enum values",
    )


def test_validation_comes_before_the_limit_check(api):
    # PGV runs in the interceptor chain, V1QueryLimit in the handler.
    response = search(api, USERS_SEARCH, {"query": {"limit": 1001}, "queries": [{}]})
    assert_validation_error(
        response,
        "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: "
        "invalid SearchQuery.Query: value is required",
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"queries": {}}',
        b'{"queries": "x"}',
        b'{"queries": [5]}',
        b'{"queries": [[]]}',
        b'{"query": []}',
        b'{"query": "x"}',
        b'{"query": {"limit": "x"}}',
        b'{"query": {"limit": -1}}',
        b'{"query": {"limit": 4294967296}}',
        b'{"query": {"asc": "true"}}',
        b'{"queries": [{"userNameQuery": {"userName": 5}}]}',
        b'{"queries": [{"orQuery": []}]}',
        b'{"queries": [{"inUserIdsQuery": {"userIds": "a"}}]}',
        b'[]',
    ],
)  # fmt: skip
def test_wrongly_typed_bodies_are_protojson_errors_before_authentication(api, body):
    # The gateway decodes before it calls the service: no token, still 400.
    response = search(api, USERS_SEARCH, body, token=None)
    error = assert_json_error_response(response)
    assert (response.status_code, error["code"]) == (400, 3), response.text
    assert error["message"].startswith("proto:") and "details" not in error


def test_unknown_fields_are_discarded(api):
    everyone = ids(search(api, USERS_SEARCH, {}))
    body = {"whatever": 1, "query": {"limit": 2, "extra": True}}
    assert ids(search(api, USERS_SEARCH, body)) == everyone[:2]


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/users/282274986523091618",
        f"{BASE}/orgs/me",
        f"{BASE}/actions/182142426217625554",
        f"{BASE}/users/282274986523091618/grants/273772242665813777",
    ],
)
def test_post_on_a_get_path_is_method_not_allowed(api, path):
    response = api.client.post(path, json={}, headers={"Authorization": "Bearer admin-pat"})
    assert response.status_code == 405
    assert response.json() == {"code": 12, "message": "Method Not Allowed"}
