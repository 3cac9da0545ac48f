"""DeactivateUser and ReactivateUser: every row of the facts' tables (sections D and I.8)."""

from __future__ import annotations

import urllib.parse

import pytest
from rest_support import (
    VALIDATION_TEXT,
    assert_details,
    assert_error,
    assert_validation_error,
    find,
    main_org,
    rest_path,
    second_org,
)

NOT_FOUND_ID = {"DeactivateUser": "COMMAND-3M9ds", "ReactivateUser": "COMMAND-4M0sd"}


def _not_found(response, rpc: str) -> None:
    error_id = NOT_FOUND_ID[rpc]
    assert_error(response, 404, 5, f"User could not be found ({error_id})", error_id)


def test_deactivate_an_active_user(api) -> None:
    org = main_org(api.world)
    user = find(api.world, "users", org=org, state="active")
    before = user.sequence
    assert_details(api.on("DeactivateUser", user), "DeactivateUser", org, sequence=before + 1)
    assert user.state.value == "inactive"


def test_reactivate_an_inactive_user(api) -> None:
    org = main_org(api.world)
    user = find(api.world, "users", org=org, state="inactive")
    before = user.sequence
    assert_details(api.on("ReactivateUser", user), "ReactivateUser", org, sequence=before + 1)
    assert user.state.value == "active"


def test_deactivate_a_locked_user_succeeds_and_the_lock_is_gone_after_reactivation(api) -> None:
    org = main_org(api.world)
    user = find(api.world, "users", org=org, state="locked")
    assert_details(api.on("DeactivateUser", user), "DeactivateUser", org)
    assert user.state.value == "inactive"
    assert_details(api.on("ReactivateUser", user), "ReactivateUser", org)
    assert user.state.value == "active"


def test_deactivate_an_initial_user_is_not_found(api) -> None:
    user = find(api.world, "users", org=main_org(api.world), state="initial")
    response = api.on("DeactivateUser", user)
    # The exact body of facts I.8: NotFound kind, so 404 rather than 400.
    assert response.status_code == 404
    assert response.json() == {
        "code": 5,
        "message": "User with state initial can only be deleted not deactivated (COMMAND-ke0fw)",
        "details": [
            {
                "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                "id": "COMMAND-ke0fw",
                "message": "User with state initial can only be deleted not deactivated",
            }
        ],
    }
    assert user.state.value == "initial"


def test_deactivate_an_inactive_user(api) -> None:
    user = find(api.world, "users", org=main_org(api.world), state="inactive")
    response = api.on("DeactivateUser", user)
    assert_error(response, 400, 9, "User already inactive (COMMAND-5M0sf)", "COMMAND-5M0sf")


@pytest.mark.parametrize("state", ["active", "initial", "locked"])
def test_reactivate_a_user_that_is_not_inactive(api, state) -> None:
    user = find(api.world, "users", org=main_org(api.world), state=state)
    before = user.sequence
    response = api.on("ReactivateUser", user)
    assert_error(response, 400, 9, "User is not inactive (COMMAND-6M0sf)", "COMMAND-6M0sf")
    assert (user.state.value, user.sequence) == (state, before)


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
def test_unknown_user_is_not_found(api, rpc) -> None:
    _not_found(api.call(rpc, id="100000000000000000"), rpc)


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
def test_user_of_another_org_is_not_found(api, rpc) -> None:
    state = "active" if rpc == "DeactivateUser" else "inactive"
    user = find(api.world, "users", org=second_org(api.world), state=state)
    _not_found(api.on(rpc, user), rpc)
    assert user.state.value == state


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
def test_deleted_user_is_not_found(api, rpc) -> None:
    user = find(api.world, "users", org=main_org(api.world), state="inactive")
    api.mock.admin.set_state("users", user.id, "deleted")
    _not_found(api.on(rpc, user), rpc)


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
@pytest.mark.parametrize("user_id", ["1" * 201, "é" * 201, "✓" * 5000])
def test_user_id_longer_than_200_runes_fails_validation(api, rpc, user_id) -> None:
    response = api.call(rpc, id=user_id)
    assert_validation_error(response, f"invalid {rpc}Request.Id: {VALIDATION_TEXT}")


@pytest.mark.parametrize("rpc", ["DeactivateUser", "ReactivateUser"])
@pytest.mark.parametrize("user_id", ["1" * 200, "é" * 200, "𝄞" * 200])
def test_200_runes_pass_validation_whatever_their_byte_length(api, rpc, user_id) -> None:
    # Runes, not bytes: 200 "é" are 400 bytes and 200 "𝄞" are 800, yet they pass to the lookup.
    _not_found(api.call(rpc, id=user_id), rpc)


def test_percent_encoded_runes_count_once(live_api) -> None:
    # Over real HTTP, so that the server, not the client, decodes the escapes.
    for count, valid in ((200, True), (201, False)):
        encoded = urllib.parse.quote("é" * count)
        response = live_api.client.post(
            rest_path("DeactivateUser", id=encoded),
            headers={"Authorization": "Bearer admin-pat"},
            content=b"{}",
        )
        if valid:
            _not_found(response, "DeactivateUser")
        else:
            assert_validation_error(
                response, f"invalid DeactivateUserRequest.Id: {VALIDATION_TEXT}"
            )


def test_a_machine_user_is_handled_like_a_human(api) -> None:
    org = main_org(api.world)
    machine = next(
        u for u in api.world.users.values() if u.kind == "machine" and u.resource_owner == org
    )
    assert machine.state.value == "active"
    assert_details(api.on("DeactivateUser", machine), "DeactivateUser", org)
    assert_details(api.on("ReactivateUser", machine), "ReactivateUser", org)
