"""The seven reads of the lifecycle resources, as ZITADEL's v1 query layer answers them.

Each query takes the authorized :class:`Caller` and the request message as a mapping (proto field
names, enums by name, 64-bit integers as strings: the protojson shape every front produces) and
returns a view for the fronts to encode. Like ZITADEL's projections, a query sees the world as it
was :attr:`World.read_lag` seconds ago. The ids and English texts are those of
internal/query/{user,org,action,user_grant}.go, internal/api/grpc/management and en.yaml; see
docs/zitadel-read-facts.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mock_server.domain import errors
from mock_server.domain.auth import Caller
from mock_server.domain.read_requests import checked_queries
from mock_server.domain.world import (
    Action,
    ActionState,
    Aggregate,
    GrantState,
    Org,
    Project,
    User,
    UserGrant,
    UserState,
    World,
    now,
)

# internal/config/systemdefaults: V1QueryLimit uses MaxQueryLimit also when no limit is sent.
MAX_QUERY_LIMIT = 1000


@dataclass(frozen=True)
class UserView:
    user: User
    login_names: tuple[str, ...]
    preferred_login_name: str


@dataclass(frozen=True)
class UserGrantView:
    """A grant joined with what ZITADEL's user_grants query joins: user, project and both orgs."""

    grant: UserGrant
    user: User | None
    user_login_name: str
    project: Project | None
    org: Org | None  # the org owning the grant
    user_org: Org | None  # the user's org (grantedOrg* on the wire)


@dataclass(frozen=True)
class Page:
    """One page of a list: ZITADEL's ListDetails plus the result."""

    result: tuple[Any, ...]
    total: int
    view_timestamp: datetime


Query = Callable[[World, Caller, Mapping[str, Any]], Any]


# --- what the projections show ---------------------------------------------------------------


def _visible(world: World, aggregate: Aggregate | None) -> Any:
    """``aggregate`` as the projections show it now, or None before they know of it."""
    if aggregate is None:
        return None
    if world.read_lag <= 0:
        return aggregate
    return world.as_of(aggregate, now() - timedelta(seconds=world.read_lag))


def login_names(world: World, user: User) -> tuple[tuple[str, ...], str]:
    """The login names and the preferred one, as ZITADEL's login_names view forms them under
    the default domain policy: with userLoginMustBeDomain false, the bare user name."""
    return (user.user_name,), user.user_name


def _user_view(world: World, user: User) -> UserView:
    names, preferred = login_names(world, user)
    return UserView(user, names, preferred)


# --- matching -----------------------------------------------------------------------------


def _text_matches(value: str, wanted: str, method: str | None) -> bool:
    """zitadel.v1.TextQueryMethod, as internal/query's TextComparison turns it into SQL."""
    method = (method or "TEXT_QUERY_METHOD_EQUALS").removeprefix("TEXT_QUERY_METHOD_")
    if method.endswith("_IGNORE_CASE"):
        value, wanted = value.casefold(), wanted.casefold()
        method = method.removesuffix("_IGNORE_CASE")
    if method == "EQUALS":
        return value == wanted
    if method == "STARTS_WITH":
        return value.startswith(wanted)
    if method == "CONTAINS":
        return wanted in value
    return value.endswith(wanted)  # ENDS_WITH


def _paging(request: Mapping[str, Any]) -> tuple[int, int, bool]:
    query = request.get("query") or {}
    offset = int(query.get("offset") or 0)
    limit = int(query.get("limit") or 0)
    if limit > MAX_QUERY_LIMIT:
        raise errors.invalid_argument("Limit exceeded", "QUERY-4M0fs")
    return offset, limit or MAX_QUERY_LIMIT, bool(query.get("asc", False))


def _page(items: list[Any], offset: int, limit: int) -> Page:
    result = tuple(items[offset : offset + limit])
    # The count is COUNT(*) OVER () read from the rows: a page past the end has no row to
    # read it from, so the total is 0 there (docs/zitadel-read-facts.md §8).
    return Page(result, len(items) if result else 0, now())


# --- users --------------------------------------------------------------------------------

_USER_STATES = {
    UserState.ACTIVE: "USER_STATE_ACTIVE",
    UserState.INACTIVE: "USER_STATE_INACTIVE",
    UserState.DELETED: "USER_STATE_DELETED",
    UserState.LOCKED: "USER_STATE_LOCKED",
    UserState.INITIAL: "USER_STATE_INITIAL",
}
USER_TYPES = {"human": "TYPE_HUMAN", "machine": "TYPE_MACHINE"}


def user_state_name(state: UserState) -> str:
    return _USER_STATES[state]


def _user_matches(view: UserView, query: Mapping[str, Any]) -> bool:
    user = view.user
    key, inner = next(iter(query.items()))
    inner = inner or {}
    texts = {
        "user_name_query": (user.user_name, "user_name"),
        "first_name_query": (user.first_name, "first_name"),
        "last_name_query": (user.last_name, "last_name"),
        "nick_name_query": (user.nick_name, "nick_name"),
        "display_name_query": (user.display_name, "display_name"),
        "email_query": (user.email, "email_address"),
    }
    if key in texts:
        value, field = texts[key]
        return _text_matches(value, str(inner.get(field, "")), inner.get("method"))
    if key == "login_name_query":
        wanted = str(inner.get("login_name", ""))
        return any(_text_matches(n, wanted, inner.get("method")) for n in view.login_names)
    if key == "state_query":
        return _USER_STATES[user.state] == (inner.get("state") or "USER_STATE_UNSPECIFIED")
    if key == "type_query":
        return USER_TYPES.get(user.kind) == (inner.get("type") or "TYPE_UNSPECIFIED")
    if key == "in_user_ids_query":
        return user.id in set(inner.get("user_ids") or [])
    if key == "in_user_emails_query":
        return user.email in set(inner.get("user_emails") or [])
    if key == "or_query":
        return any(_user_matches(view, q) for q in inner.get("queries") or [])
    if key == "and_query":
        return all(_user_matches(view, q) for q in inner.get("queries") or [])
    return not _user_matches(view, inner.get("query") or {})  # not_query


# management/user_converter.go UserFieldNameToSortingColumn; UNSPECIFIED sorts by id.
_USER_SORT_KEYS: dict[str, Callable[[User], Any]] = {
    "USER_FIELD_NAME_USER_NAME": lambda u: u.user_name,
    "USER_FIELD_NAME_FIRST_NAME": lambda u: u.first_name,
    "USER_FIELD_NAME_LAST_NAME": lambda u: u.last_name,
    "USER_FIELD_NAME_NICK_NAME": lambda u: u.nick_name,
    "USER_FIELD_NAME_DISPLAY_NAME": lambda u: u.display_name,
    "USER_FIELD_NAME_EMAIL": lambda u: u.email,
    "USER_FIELD_NAME_STATE": lambda u: list(_USER_STATES).index(u.state),
    "USER_FIELD_NAME_TYPE": lambda u: u.kind,
    "USER_FIELD_NAME_CREATION_DATE": lambda u: u.creation_date,
}


def _owned_by(world: World, aggregates: Iterable[Any], org_id: str, gone: Any) -> Iterator[Any]:
    """The org's objects as the projections show them; a removed one has left its projection."""
    for aggregate in aggregates:
        if aggregate.resource_owner != org_id:
            continue
        seen = _visible(world, aggregate)
        if seen is not None and seen.state is not gone:
            yield seen


def get_user_by_id(world: World, caller: Caller, request: Mapping[str, Any]) -> UserView:
    user = _visible(world, world.users.get(str(request.get("id", ""))))
    # A removed user has left the projection: the query itself finds nothing.
    if user is None or user.state is UserState.DELETED:
        raise errors.not_found("User could not be found", "QUERY-Dfbg2")
    # management/user.go checks the owner after the query.
    if user.resource_owner != caller.org_id:
        raise errors.not_found("User could not be found", "MANAG-fpo4B")
    return _user_view(world, user)


def list_users(world: World, caller: Caller, request: Mapping[str, Any]) -> Page:
    queries = checked_queries("ListUsersRequest", request)
    offset, limit, asc = _paging(request)
    views = [
        view
        for view in (
            _user_view(world, u)
            for u in _owned_by(world, world.users.values(), caller.org_id, UserState.DELETED)
        )
        if all(_user_matches(view, q) for q in queries)
    ]
    column = request.get("sorting_column") or "USER_FIELD_NAME_UNSPECIFIED"
    key = _USER_SORT_KEYS.get(column, lambda u: u.id)
    # SearchRequest.toQuery: ORDER BY the column, DESC unless asc; ids break ties.
    views.sort(key=lambda v: (key(v.user), v.user.id), reverse=not asc)
    return _page(views, offset, limit)


# --- the org ------------------------------------------------------------------------------


def get_my_org(world: World, caller: Caller, request: Mapping[str, Any]) -> Org:
    # OrgByID does not filter by state: a deactivated org is returned as it is.
    org = _visible(world, world.orgs.get(caller.org_id))
    if org is None or org.state.value == "removed":
        raise errors.not_found("Organisation not found", "QUERY-iTTGJ")
    return org


# --- actions ------------------------------------------------------------------------------

ACTION_STATES = {
    ActionState.INACTIVE: "ACTION_STATE_INACTIVE",
    ActionState.ACTIVE: "ACTION_STATE_ACTIVE",
}


def _action_matches(action: Action, query: Mapping[str, Any]) -> bool:
    key, inner = next(iter(query.items()))
    inner = inner or {}
    if key == "action_id_query":
        return action.id == str(inner.get("id", ""))
    if key == "action_name_query":
        return _text_matches(action.name, str(inner.get("name", "")), inner.get("method"))
    return ACTION_STATES.get(action.state) == (inner.get("state") or "ACTION_STATE_UNSPECIFIED")


def get_action(world: World, caller: Caller, request: Mapping[str, Any]) -> Action:
    # GetActionByID filters on id, the ctx org and owner_removed: all three are "not found".
    action = _visible(world, world.actions.get(str(request.get("id", ""))))
    if (
        action is None
        or action.resource_owner != caller.org_id
        or action.state is ActionState.REMOVED
    ):
        raise errors.not_found("Action not found", "QUERY-GEfnb")
    return action


def list_actions(world: World, caller: Caller, request: Mapping[str, Any]) -> Page:
    queries = checked_queries("ListActionsRequest", request)
    offset, limit, _asc = _paging(request)
    # The sorting column is dropped on the way to SearchActions, so neither it nor asc orders
    # anything: the rows come in the projection's own order, which is the order of creation.
    actions = [
        a
        for a in _owned_by(world, world.actions.values(), caller.org_id, ActionState.REMOVED)
        if all(_action_matches(a, q) for q in queries)
    ]
    return _page(actions, offset, limit)


# --- user grants --------------------------------------------------------------------------

GRANT_STATES = {
    GrantState.ACTIVE: "USER_GRANT_STATE_ACTIVE",
    GrantState.INACTIVE: "USER_GRANT_STATE_INACTIVE",
}


def _grant_view(world: World, grant: UserGrant) -> UserGrantView:
    user = world.users.get(grant.user_id)
    project = world.projects.get(grant.project_id)
    preferred = login_names(world, user)[1] if user is not None else ""
    return UserGrantView(
        grant=grant,
        user=user,
        user_login_name=preferred,
        project=project,
        org=world.orgs.get(grant.resource_owner),
        user_org=world.orgs.get(user.resource_owner) if user is not None else None,
    )


def _grant_matches(view: UserGrantView, query: Mapping[str, Any]) -> bool:
    key, inner = next(iter(query.items()))
    inner = inner or {}
    grant, user = view.grant, view.user
    if key == "with_granted_query":
        return True  # widens the owner filter instead, see list_user_grants
    if key == "project_id_query":
        return grant.project_id == str(inner.get("project_id", ""))
    if key == "user_id_query":
        return grant.user_id == str(inner.get("user_id", ""))
    if key == "project_grant_id_query":
        return grant.project_grant_id == str(inner.get("project_grant_id", ""))
    if key == "role_key_query":
        # NewUserGrantRoleQuery(q.RoleKey): the method is ignored, the role must be held.
        return str(inner.get("role_key", "")) in grant.roles
    if key == "user_type_query":
        wanted = inner.get("type") or "TYPE_UNSPECIFIED"
        return user is not None and USER_TYPES.get(user.kind) == wanted
    texts = {
        "user_name_query": (user.user_name if user else "", "user_name"),
        "first_name_query": (user.first_name if user else "", "first_name"),
        "last_name_query": (user.last_name if user else "", "last_name"),
        "email_query": (user.email if user else "", "email"),
        "display_name_query": (user.display_name if user else "", "display_name"),
        "org_name_query": (view.org.name if view.org else "", "org_name"),
        "org_domain_query": (view.org.primary_domain if view.org else "", "org_domain"),
        "project_name_query": (view.project.name if view.project else "", "project_name"),
    }
    value, field = texts[key]
    return _text_matches(value, str(inner.get(field, "")), inner.get("method"))


def _grant_visible(world: World, grant: UserGrant | None) -> UserGrant | None:
    seen = _visible(world, grant)
    if seen is None or seen.state is GrantState.REMOVED:
        return None
    return seen


def get_user_grant_by_id(world: World, caller: Caller, request: Mapping[str, Any]) -> UserGrantView:
    # The user_id of the request is ignored: the grant id and the ctx org select.
    grant = _grant_visible(world, world.user_grants.get(str(request.get("grant_id", ""))))
    if grant is None or grant.resource_owner != caller.org_id:
        raise errors.not_found("User grant not found", "QUERY-wIPkA")
    return _grant_view(world, grant)


def list_user_grants(world: World, caller: Caller, request: Mapping[str, Any]) -> Page:
    queries = checked_queries("ListUserGrantRequest", request)
    offset, limit, _asc = _paging(request)
    # Without a withGrantedQuery only the ctx org's own grants; with one (whatever its bool)
    # also the grants on projects the org owns (NewUserGrantWithGrantedQuery).
    with_granted = any("with_granted_query" in q for q in queries)
    views = []
    for grant in world.user_grants.values():
        grant = _grant_visible(world, grant)
        if grant is None:
            continue
        view = _grant_view(world, grant)
        owned = grant.resource_owner == caller.org_id
        on_own_project = view.project is not None and view.project.resource_owner == caller.org_id
        if not (owned or (with_granted and on_own_project)):
            continue
        if all(_grant_matches(view, q) for q in queries):
            views.append(view)
    return _page(views, offset, limit)


QUERIES: dict[str, Query] = {
    "GetMyOrg": get_my_org,
    "GetUserByID": get_user_by_id,
    "ListUsers": list_users,
    "GetUserGrantByID": get_user_grant_by_id,
    "ListUserGrants": list_user_grants,
    "GetAction": get_action,
    "ListActions": list_actions,
}
