"""DeactivateUserGrant and ReactivateUserGrant: the facts' rows (sections C.5, D, I.4, I.8).

The already-active / already-inactive rows depend on the release; they are in test_profiles.py.
"""

from __future__ import annotations

import pytest
from rest_support import (
    VALIDATION_TEXT,
    assert_details,
    assert_error,
    assert_validation_error,
    find,
    find_other_project_grant,
    main_org,
    project_of_project_owner,
    second_org,
)

from mock_server.fixtures import SEED_TOKENS

RPCS = ("DeactivateUserGrant", "ReactivateUserGrant")
NOT_FOUND_ID = {"DeactivateUserGrant": "COMMAND-3M9sd", "ReactivateUserGrant": "COMMAND-Lp0gs"}
FROM_STATE = {"DeactivateUserGrant": "active", "ReactivateUserGrant": "inactive"}
TO_STATE = {"DeactivateUserGrant": "inactive", "ReactivateUserGrant": "active"}


def _not_found(response, rpc: str) -> None:
    error_id = NOT_FOUND_ID[rpc]
    assert_error(response, 404, 5, f"User grant not found ({error_id})", error_id)


@pytest.mark.parametrize("rpc", RPCS)
def test_transition_succeeds(api, rpc) -> None:
    org = main_org(api.world)
    grant = find(api.world, "user_grants", org=org, state=FROM_STATE[rpc])
    before = grant.sequence
    assert_details(api.on(rpc, grant), rpc, org, sequence=before + 1)
    assert grant.state.value == TO_STATE[rpc]


@pytest.mark.parametrize("rpc", RPCS)
def test_unknown_grant_is_not_found(api, rpc) -> None:
    user = find(api.world, "users", org=main_org(api.world), state="active")
    _not_found(api.call(rpc, user_id=user.id, grant_id="100000000000000000"), rpc)


@pytest.mark.parametrize("rpc", RPCS)
def test_grant_of_another_org_is_not_found(api, rpc) -> None:
    grant = find(api.world, "user_grants", org=second_org(api.world), state=FROM_STATE[rpc])
    _not_found(api.on(rpc, grant), rpc)
    assert grant.state.value == FROM_STATE[rpc]


@pytest.mark.parametrize("rpc", RPCS)
def test_removed_grant_is_not_found(api, rpc) -> None:
    grant = find(api.world, "user_grants", org=main_org(api.world), state=FROM_STATE[rpc])
    api.mock.admin.set_state("user_grants", grant.id, "removed")
    _not_found(api.on(rpc, grant), rpc)


@pytest.mark.parametrize("rpc", RPCS)
def test_no_permission_on_the_grants_project(api, rpc) -> None:
    grant = find_other_project_grant(api.world, FROM_STATE[rpc])
    before = grant.sequence
    response = api.on(rpc, grant, token=SEED_TOKENS.project_owner)
    message = "User has no permissions on this project (EVENT-Shu7e)"
    assert_error(response, 403, 7, message, "EVENT-Shu7e")
    assert (grant.state.value, grant.sequence) == (FROM_STATE[rpc], before)


@pytest.mark.parametrize("rpc", RPCS)
def test_project_owner_may_change_grants_of_its_project(api, rpc) -> None:
    org = main_org(api.world)
    project = project_of_project_owner(api.world)
    grant = find(api.world, "user_grants", org=org, state=FROM_STATE[rpc], project=project)
    assert_details(api.on(rpc, grant, token=SEED_TOKENS.project_owner), rpc, org)
    assert grant.state.value == TO_STATE[rpc]


@pytest.mark.parametrize("rpc", RPCS)
@pytest.mark.parametrize("user_id", ["nobody", "100000000000000000", "other-user"])
def test_the_user_id_in_the_path_is_ignored(api, rpc, user_id) -> None:
    org = main_org(api.world)
    grant = find(api.world, "user_grants", org=org, state=FROM_STATE[rpc])
    if user_id == "other-user":
        user_id = next(u for u in api.world.users if u != grant.user_id)
    response = api.call(rpc, user_id=user_id, grant_id=grant.id)
    assert_details(response, rpc, org)
    assert grant.state.value == TO_STATE[rpc]


@pytest.mark.parametrize("rpc", RPCS)
def test_too_long_ids_name_user_id_first(api, rpc) -> None:
    grant = find(api.world, "user_grants", org=main_org(api.world), state=FROM_STATE[rpc])
    user_message = f"invalid {rpc}Request.UserId: {VALIDATION_TEXT}"
    grant_message = f"invalid {rpc}Request.GrantId: {VALIDATION_TEXT}"
    assert_validation_error(api.call(rpc, user_id="u" * 201, grant_id="g" * 201), user_message)
    assert_validation_error(api.call(rpc, user_id="u" * 201, grant_id=grant.id), user_message)
    assert_validation_error(api.call(rpc, user_id=grant.user_id, grant_id="é" * 201), grant_message)
    assert grant.state.value == FROM_STATE[rpc], "a validation error changes nothing"


@pytest.mark.parametrize("rpc", RPCS)
def test_200_rune_grant_ids_pass_validation(api, rpc) -> None:
    _not_found(api.call(rpc, user_id="é" * 200, grant_id="é" * 200), rpc)


def test_second_orgs_owner_changes_its_own_grants(api) -> None:
    org = second_org(api.world)
    grant = find(api.world, "user_grants", org=org, state="active")
    response = api.on("DeactivateUserGrant", grant, token=SEED_TOKENS.second_org_owner)
    assert_details(response, "DeactivateUserGrant", org)
