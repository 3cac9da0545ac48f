"""The eight lifecycle commands, with ZITADEL's checks in ZITADEL's order.

Each command takes the authorized :class:`Caller` and the request fields (proto field names) and
returns the :class:`Details` of the object's latest event, or raises a ZitadelError. The ids and
English texts are those of internal/command/{org_action,user,org,user_grant}.go and en.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mock_server.domain import errors
from mock_server.domain.auth import Caller
from mock_server.domain.world import (
    ActionState,
    Details,
    GrantState,
    OrgState,
    UserState,
    World,
)


@dataclass(frozen=True)
class Profile:
    """Behaviour that differs between ZITADEL releases."""

    name: str
    # v4.0.0 ("feat: user profile requests in resource APIs") made both grant transitions
    # idempotent: the existing details come back instead of a precondition error.
    idempotent_user_grants: bool


PROFILES = {
    "v4": Profile("v4", idempotent_user_grants=True),
    "v3": Profile("v3", idempotent_user_grants=False),
}
DEFAULT_PROFILE = "v4"

Command = Callable[[World, Caller, dict[str, str], Profile], Details]


def _action(world: World, caller: Caller, action_id: str, missing_id: str, not_found_id: str):
    if not action_id or not caller.org_id:
        raise errors.invalid_argument("ID missing", missing_id)
    action = world.actions.get(action_id)
    if (
        action is None
        or action.resource_owner != caller.org_id
        or action.state is ActionState.REMOVED
    ):
        raise errors.not_found("Action not found", not_found_id)
    return action


def deactivate_action(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    action = _action(world, caller, fields.get("id", ""), "COMMAND-DAhk5", "COMMAND-NRmhu")
    if action.state is not ActionState.ACTIVE:
        raise errors.precondition("Action is not active", "COMMAND-Dgj92")
    action.state = ActionState.INACTIVE
    world.push(action, "action.deactivated")
    return action.details()


def reactivate_action(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    action = _action(world, caller, fields.get("id", ""), "COMMAND-BNm56", "COMMAND-Aa22g")
    if action.state is not ActionState.INACTIVE:
        raise errors.precondition("Action is not inactive", "COMMAND-J53zh")
    action.state = ActionState.ACTIVE
    world.push(action, "action.reactivated")
    return action.details()


def _user(world: World, caller: Caller, user_id: str, missing_id: str, not_found_id: str):
    if not user_id:
        raise errors.invalid_argument("User ID missing", missing_id)
    user = world.users.get(user_id)
    if user is None or user.resource_owner != caller.org_id or user.state is UserState.DELETED:
        raise errors.not_found("User could not be found", not_found_id)
    return user


def deactivate_user(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    user = _user(world, caller, fields.get("id", ""), "COMMAND-m0gDf", "COMMAND-3M9ds")
    if user.state is UserState.INITIAL:
        # ZITADEL v1 throws this with the NotFound kind, so it answers 404, not 400.
        raise errors.not_found(
            "User with state initial can only be deleted not deactivated", "COMMAND-ke0fw"
        )
    if user.state is UserState.INACTIVE:
        raise errors.precondition("User already inactive", "COMMAND-5M0sf")
    # Active and locked users alike; nothing guards against deactivating oneself.
    user.state = UserState.INACTIVE
    world.push(user, "user.deactivated")
    world.revoke_tokens_of(user.id)
    return user.details()


def reactivate_user(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    user = _user(world, caller, fields.get("id", ""), "COMMAND-4M9ds", "COMMAND-4M0sd")
    if user.state is not UserState.INACTIVE:
        raise errors.precondition("User is not inactive", "COMMAND-6M0sf")
    # Tokens revoked by the deactivation stay revoked: ZITADEL deleted their rows.
    user.state = UserState.ACTIVE
    world.push(user, "user.reactivated")
    return user.details()


def _org(world: World, caller: Caller, not_found_id: str):
    org = world.orgs.get(caller.org_id)
    if org is None or org.state is OrgState.REMOVED:
        raise errors.not_found("Organisation not found", not_found_id)
    return org


def deactivate_org(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    org = _org(world, caller, "ORG-oL9nT")
    if org.state is OrgState.INACTIVE:
        raise errors.precondition("Organisation is already deactivated", "EVENT-Dbs2g")
    # No guard for the default org or the org owning the ZITADEL project, as upstream.
    org.state = OrgState.INACTIVE
    world.push(org, "org.deactivated")
    return org.details()


def reactivate_org(world: World, caller: Caller, fields: dict[str, str], _: Profile) -> Details:
    org = _org(world, caller, "ORG-Dgf3g")
    if org.state is OrgState.ACTIVE:
        raise errors.precondition("Organisation is already active", "EVENT-bfnrh")
    org.state = OrgState.ACTIVE
    world.push(org, "org.reactivated")
    return org.details()


def _grant(world: World, caller: Caller, grant_id: str, missing_id: str, not_found_id: str):
    # The user_id of the path is ignored by ZITADEL: only the grant id and the org select.
    if not grant_id:
        raise errors.invalid_argument("Id missing", missing_id)
    grant = world.user_grants.get(grant_id)
    if grant is None or grant.resource_owner != caller.org_id or grant.state is GrantState.REMOVED:
        raise errors.not_found("User grant not found", not_found_id)
    return grant


def _check_project_permission(caller: Caller, project_id: str) -> None:
    if not caller.may_touch_project(project_id):
        raise errors.permission_denied("User has no permissions on this project", "EVENT-Shu7e")


def deactivate_user_grant(
    world: World, caller: Caller, fields: dict[str, str], profile: Profile
) -> Details:
    grant = _grant(world, caller, fields.get("grant_id", ""), "COMMAND-N2OhG", "COMMAND-3M9sd")
    if grant.state is not GrantState.ACTIVE:
        if profile.idempotent_user_grants:
            # Returned before the permission check, so even a caller without project rights
            # gets 200 here.
            return grant.details()
        raise errors.precondition("User grant is not active", "COMMAND-1S9gx")
    _check_project_permission(caller, grant.project_id)
    grant.state = GrantState.INACTIVE
    world.push(grant, "user.grant.deactivated")
    return grant.details()


def reactivate_user_grant(
    world: World, caller: Caller, fields: dict[str, str], profile: Profile
) -> Details:
    grant = _grant(world, caller, fields.get("grant_id", ""), "COMMAND-Qxy8v", "COMMAND-Lp0gs")
    if grant.state is not GrantState.INACTIVE:
        if profile.idempotent_user_grants:
            return grant.details()
        raise errors.precondition("User grant is not deactivated", "COMMAND-1ML0v")
    _check_project_permission(caller, grant.project_id)
    grant.state = GrantState.ACTIVE
    world.push(grant, "user.grant.reactivated")
    return grant.details()


COMMANDS: dict[str, Command] = {
    "DeactivateAction": deactivate_action,
    "ReactivateAction": reactivate_action,
    "DeactivateUser": deactivate_user,
    "ReactivateUser": reactivate_user,
    "DeactivateOrg": deactivate_org,
    "ReactivateOrg": reactivate_org,
    "DeactivateUserGrant": deactivate_user_grant,
    "ReactivateUserGrant": reactivate_user_grant,
}
