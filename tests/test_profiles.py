"""The two releases the mock reproduces: grant transitions became idempotent in v4.0.0 (facts C.5,
I.4); v2/v3 answered a precondition error."""

from __future__ import annotations

import pytest
from rest_support import (
    assert_details,
    assert_error,
    find,
    find_other_project_grant,
    main_org,
    parse_date,
)

from mock_server.fixtures import SEED_TOKENS

# (RPC, the state it is a no-op in)
NO_OPS = [("ReactivateUserGrant", "active"), ("DeactivateUserGrant", "inactive")]


@pytest.mark.parametrize(("rpc", "state"), NO_OPS)
def test_v4_answers_200_with_the_existing_details(api, rpc, state) -> None:
    org = main_org(api.world)
    grant = find(api.world, "user_grants", org=org, state=state)
    before = (grant.sequence, grant.change_date, len(api.world.events))
    for _ in range(2):
        details = assert_details(api.on(rpc, grant), rpc, org, sequence=before[0])
        assert parse_date(details["changeDate"]) == grant.change_date
    assert (grant.sequence, grant.change_date, len(api.world.events)) == before
    assert grant.state.value == state


@pytest.mark.parametrize(("rpc", "state"), NO_OPS)
def test_v4_no_op_comes_before_the_project_permission_check(api, rpc, state) -> None:
    grant = find_other_project_grant(api.world, state)
    response = api.on(rpc, grant, token=SEED_TOKENS.project_owner)
    assert_details(response, rpc, main_org(api.world), sequence=grant.sequence)


def test_v4_no_op_returns_the_details_of_the_latest_event(api) -> None:
    org = main_org(api.world)
    grant = find(api.world, "user_grants", org=org, state="active")
    deactivated = assert_details(api.on("DeactivateUserGrant", grant), "DeactivateUserGrant", org)
    repeated = assert_details(api.on("DeactivateUserGrant", grant), "DeactivateUserGrant", org)
    assert repeated == deactivated


def test_v3_reactivating_an_active_grant(api_v3) -> None:
    grant = find(api_v3.world, "user_grants", org=main_org(api_v3.world), state="active")
    response = api_v3.on("ReactivateUserGrant", grant)
    message = "User grant is not deactivated (COMMAND-1ML0v)"
    assert_error(response, 400, 9, message, "COMMAND-1ML0v")


def test_v3_deactivating_an_inactive_grant(api_v3) -> None:
    grant = find(api_v3.world, "user_grants", org=main_org(api_v3.world), state="inactive")
    before = grant.sequence
    response = api_v3.on("DeactivateUserGrant", grant)
    assert_error(response, 400, 9, "User grant is not active (COMMAND-1S9gx)", "COMMAND-1S9gx")
    assert grant.sequence == before


@pytest.mark.parametrize("rpc", ["DeactivateUserGrant", "ReactivateUserGrant"])
def test_v3_still_performs_real_transitions(api_v3, rpc) -> None:
    org = main_org(api_v3.world)
    state = "active" if rpc.startswith("Deactivate") else "inactive"
    grant = find(api_v3.world, "user_grants", org=org, state=state)
    before = grant.sequence
    assert_details(api_v3.on(rpc, grant), rpc, org, sequence=before + 1)


def test_v3_and_v4_agree_on_everything_else(api, api_v3) -> None:
    for mock_api in (api, api_v3):
        action = find(mock_api.world, "actions", org=main_org(mock_api.world), state="inactive")
        response = mock_api.on("DeactivateAction", action)
        assert_error(response, 400, 9, "Action is not active (COMMAND-Dgj92)", "COMMAND-Dgj92")
        grant = find_other_project_grant(mock_api.world, "active")
        response = mock_api.on("DeactivateUserGrant", grant, token=SEED_TOKENS.project_owner)
        message = "User has no permissions on this project (EVENT-Shu7e)"
        assert_error(response, 403, 7, message, "EVENT-Shu7e")


@pytest.mark.parametrize("profile", ["v4", "v3"])
def test_the_control_plane_reports_the_profile(api, api_v3, profile) -> None:
    mock_api = api if profile == "v4" else api_v3
    assert mock_api.client.get("/_mock/v1/info").json()["profile"] == profile
