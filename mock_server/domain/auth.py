"""Authentication and authorization the way ZITADEL's auth interceptor does them.

The order of checks, the codes, ids and (untranslated) messages follow
internal/api/grpc/server/middleware/auth_interceptor.go and internal/api/authz.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.domain import errors
from mock_server.domain.world import User, World

BEARER_PREFIX = "Bearer "

# cmd/defaults.yaml, InternalAuthZ.RolePermissionMappings, for the permissions these RPCs need.
_USER_WRITE_ROLES = {
    "IAM_OWNER",
    "IAM_ORG_MANAGER",
    "IAM_USER_MANAGER",
    "ORG_OWNER",
    "IAM_LOGIN_CLIENT",
    "ORG_USER_MANAGER",
}
_USER_READ_ROLES = {
    "IAM_OWNER",
    "IAM_OWNER_VIEWER",
    "IAM_ORG_MANAGER",
    "IAM_USER_MANAGER",
    "ORG_OWNER",
    "IAM_LOGIN_CLIENT",
    "ORG_USER_MANAGER",
    "ORG_OWNER_VIEWER",
    "ORG_USER_PERMISSION_EDITOR",
    "ORG_PROJECT_PERMISSION_EDITOR",
    "PROJECT_OWNER",
    "PROJECT_OWNER_VIEWER",
    "PROJECT_GRANT_OWNER",
    "PROJECT_GRANT_OWNER_VIEWER",
}
ROLES_BY_PERMISSION: dict[str, frozenset[str]] = {
    "org.action.write": frozenset({"IAM_OWNER", "IAM_ORG_MANAGER", "ORG_OWNER"}),
    "user.write": frozenset(_USER_WRITE_ROLES),
    "org.write": frozenset({"IAM_OWNER", "IAM_ORG_MANAGER", "ORG_OWNER", "ORG_SETTINGS_MANAGER"}),
    "user.grant.write": frozenset(
        _USER_WRITE_ROLES
        | {
            "ORG_USER_PERMISSION_EDITOR",
            "ORG_PROJECT_PERMISSION_EDITOR",
            "PROJECT_OWNER",
            "PROJECT_OWNER_GLOBAL",
            "PROJECT_GRANT_OWNER",
        }
    ),
    # The reads declare no check_field_name, so a permission held through a project
    # membership counts org-wide (docs/zitadel-read-facts.md).
    "user.read": frozenset(_USER_READ_ROLES),
    # No project role reads the org.
    "org.read": frozenset(
        {role for role in _USER_READ_ROLES if not role.startswith("PROJECT_")}
        | {"ORG_SETTINGS_MANAGER"}
    ),
    "org.action.read": frozenset(
        {"IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "ORG_OWNER", "ORG_OWNER_VIEWER"}
    ),
    "user.grant.read": frozenset(
        _USER_READ_ROLES | {"PROJECT_OWNER_GLOBAL", "PROJECT_OWNER_VIEWER_GLOBAL"}
    ),
}
KNOWN_ROLES = frozenset().union(*ROLES_BY_PERMISSION.values()) | {"ORG_USER_SELF_MANAGER"}


@dataclass(frozen=True)
class Caller:
    """Who calls, in which org, and where the required permission holds.

    ``project_ids`` is empty when the permission holds globally (from an instance or org
    membership); otherwise it lists the projects the permission is limited to.
    """

    user: User
    org_id: str
    permission: str
    global_permission: bool
    project_ids: frozenset[str]

    def may_touch_project(self, project_id: str) -> bool:
        return self.global_permission or project_id in self.project_ids


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header, split like ZITADEL's extractBearerToken."""
    # GetAuthorizationHeader reads "" for an absent and for an empty header alike.
    if not authorization:
        raise errors.unauthenticated("auth header missing")
    # strings.Split(header, "Bearer ") must give exactly two parts: the prefix is
    # case-sensitive and may occur only once.
    parts = authorization.split(BEARER_PREFIX)
    if len(parts) != 2:
        raise errors.unauthenticated("invalid auth header", "AUTH-toLo1")
    return parts[1]


def authorize(
    world: World, authorization: str | None, org_header: str | None, permission: str
) -> Caller:
    """Authenticate the token, select the org and check ``permission``; call under the lock."""
    token_value = bearer_token(authorization)
    token = world.tokens.get(token_value)
    user = world.users.get(token.user_id) if token else None
    if token is None or token.revoked or user is None:
        raise errors.unauthenticated("Errors.Token.Invalid", "AUTH-7fs1e")

    org_id = org_header or user.org_id
    if not world.org_exists(org_id):
        raise errors.permission_denied("Organisation doesn't exist", "AUTH-Bs7Ds")

    global_roles: set[str] = set()
    project_roles: dict[str, set[str]] = {}
    found = False
    for membership in world.memberships_of(user.id):
        if membership.scope == "instance":
            global_roles.update(membership.roles)
            found = True
        elif membership.scope == "org" and membership.scope_id == org_id:
            global_roles.update(membership.roles)
            found = True
        elif membership.scope == "project":
            project = world.projects.get(membership.scope_id)
            if project is not None and project.resource_owner == org_id:
                project_roles.setdefault(project.id, set()).update(membership.roles)
                found = True
    if not found:
        raise errors.not_found("membership not found", "AUTHZ-cdgFk")

    allowed = ROLES_BY_PERMISSION.get(permission, frozenset())
    global_permission = bool(global_roles & allowed)
    project_ids = frozenset(p for p, roles in project_roles.items() if roles & allowed)
    if not global_permission and not project_ids:
        raise errors.permission_denied("No matching permissions found", "AUTH-5mWD2")
    return Caller(user, org_id, permission, global_permission, project_ids)
