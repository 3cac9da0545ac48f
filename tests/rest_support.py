"""Shared by the REST tests: calling the mock's ASGI app, asserting ZITADEL's answers, and finding
seeded resources by what they are rather than by id.

The expectations here (paths, date fields, envelope shape) are written down from ZITADEL's
behaviour, not read from the spec or the mock, so a test can catch both drifting.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from mock_server.fixtures import SEED_TOKENS

if TYPE_CHECKING:
    from mock_server.app import MockServer
    from mock_server.domain.world import Aggregate, World

BASE = "/management/v1"
ERROR_DETAIL_TYPE = "type.googleapis.com/zitadel.v1.ErrorDetail"
# protojson: RFC 3339, UTC "Z", 0, 3, 6 or 9 fractional digits.
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
VALIDATION_TEXT = "value length must be between 1 and 200 runes, inclusive"

PATHS = {
    "DeactivateAction": "/actions/{id}/_deactivate",
    "ReactivateAction": "/actions/{id}/_reactivate",
    "DeactivateUser": "/users/{id}/_deactivate",
    "ReactivateUser": "/users/{id}/_reactivate",
    "DeactivateOrg": "/orgs/me/_deactivate",
    "ReactivateOrg": "/orgs/me/_reactivate",
    "DeactivateUserGrant": "/users/{user_id}/grants/{grant_id}/_deactivate",
    "ReactivateUserGrant": "/users/{user_id}/grants/{grant_id}/_reactivate",
}
RPCS = tuple(PATHS)
# AddToDetailsPb for actions, DomainToChangeDetailsPb for the rest (facts C.6, I.5).
DATE_FIELD = {rpc: "creationDate" if rpc.endswith("Action") else "changeDate" for rpc in RPCS}
KIND_OF_RPC = {
    "DeactivateAction": "actions",
    "ReactivateAction": "actions",
    "DeactivateUser": "users",
    "ReactivateUser": "users",
    "DeactivateOrg": "orgs",
    "ReactivateOrg": "orgs",
    "DeactivateUserGrant": "user_grants",
    "ReactivateUserGrant": "user_grants",
}


def rest_path(rpc: str, *, id: str = "", user_id: str = "", grant_id: str = "") -> str:
    return BASE + PATHS[rpc].format(id=id, user_id=user_id, grant_id=grant_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    """One mock with ZITADEL-shaped calls: through Starlette's TestClient by default, or through
    any httpx client, e.g. one talking to a real server.

    The TestClient (like httpx's ASGITransport) percent-decodes the path twice, so requests whose
    ids carry percent-escapes must go to a real server to mean anything.
    """

    def __init__(self, mock: MockServer, client: httpx.Client | None = None) -> None:
        if client is None:
            # Imported here, after conftest has filtered Starlette's warning about httpx.
            from starlette.testclient import TestClient

            client = TestClient(mock.app)
        self.mock = mock
        self.client = client

    @property
    def world(self) -> World:
        return self.mock.world

    def call(
        self,
        rpc: str,
        *,
        id: str = "",
        user_id: str = "",
        grant_id: str = "",
        token: str | None = SEED_TOKENS.instance_owner,
        org: str | None = None,
        body: bytes | None = b"{}",
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent: dict[str, str] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if org is not None:
            sent["x-zitadel-orgid"] = org
        if content_type is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        return self.client.post(
            rest_path(rpc, id=id, user_id=user_id, grant_id=grant_id),
            content=body,
            headers=sent,
        )

    def on(self, rpc: str, aggregate: Aggregate, **options: Any) -> httpx.Response:
        """Call ``rpc`` on a resource; grants put their own user into the (ignored) user_id."""
        if rpc.endswith("UserGrant"):
            return self.call(rpc, user_id=aggregate.user_id, grant_id=aggregate.id, **options)
        if rpc.endswith("Org"):
            return self.call(rpc, org=options.pop("org", aggregate.id), **options)
        return self.call(rpc, id=aggregate.id, **options)


def assert_json_error_response(response: httpx.Response) -> dict[str, Any]:
    """Any failure: an application/json google.rpc.Status, never problem+json, HTML or a trace."""
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) <= {"code", "message", "details"}, body
    assert isinstance(body["code"], int) and isinstance(body["message"], str), body
    assert "Traceback" not in response.text
    return body


def assert_error(
    response: httpx.Response, http_status: int, code: int, message: str, error_id: str | None
) -> None:
    """The exact envelope: with an error id, one ErrorDetail; without one, no details at all."""
    body = assert_json_error_response(response)
    assert (response.status_code, body["code"], body["message"]) == (http_status, code, message)
    if error_id is None:
        assert "details" not in body, body
        return
    suffix = f" ({error_id})"
    assert message.endswith(suffix)
    assert body["details"] == [
        {"@type": ERROR_DETAIL_TYPE, "id": error_id, "message": message[: -len(suffix)]}
    ]


def assert_validation_error(response: httpx.Response, message: str) -> None:
    assert_error(response, 400, 3, message, None)


def assert_details(
    response: httpx.Response, rpc: str, resource_owner: str, sequence: int | None = None
) -> dict[str, Any]:
    """A success: exactly sequence, the RPC's one date field and resourceOwner."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"details"}, body
    details = body["details"]
    date_field = DATE_FIELD[rpc]
    assert set(details) == {"sequence", date_field, "resourceOwner"}, details
    assert isinstance(details["sequence"], str) and details["sequence"].isdigit(), details
    assert details["sequence"] == str(int(details["sequence"])), "no leading zeros"
    assert RFC3339_UTC.match(details[date_field]), details
    assert details["resourceOwner"] == resource_owner
    if sequence is not None:
        assert int(details["sequence"]) == sequence, details
    return details


def parse_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- the seeded world ---------------------------------------------------------------------------


def user_of_token(world: World, token: str) -> str:
    return world.tokens[token].user_id


def org_of_token(world: World, token: str) -> str:
    return world.users[user_of_token(world, token)].org_id


def main_org(world: World) -> str:
    """The first org: the one of admin-pat, org-owner-pat, user-manager-pat, project-owner-pat."""
    return org_of_token(world, SEED_TOKENS.instance_owner)


def second_org(world: World) -> str:
    return org_of_token(world, SEED_TOKENS.second_org_owner)


def inactive_org(world: World) -> str:
    return org_of_token(world, SEED_TOKENS.inactive_org_owner)


def project_of_project_owner(world: World) -> str:
    user_id = user_of_token(world, SEED_TOKENS.project_owner)
    (membership,) = [m for m in world.memberships if m.user_id == user_id]
    assert membership.scope == "project"
    return membership.scope_id


def find(world: World, kind: str, *, org: str, state: str, project: str | None = None) -> Any:
    """The first resource of ``kind`` in ``org`` with ``state``.

    Users that own a token are never picked, so deactivating what this returns cannot knock out
    a caller of the test.
    """
    callers = {t.user_id for t in world.tokens.values()}
    for aggregate in world.collection(kind).values():
        if aggregate.resource_owner != org or aggregate.state.value != state:
            continue
        if kind == "users" and aggregate.id in callers:
            continue
        if project is not None and aggregate.project_id != project:
            continue
        return aggregate
    raise LookupError(f"no {state} {kind} in org {org} (project {project})")


def find_other_project_grant(world: World, state: str) -> Any:
    """A grant of the main org on a project the project owner has no rights on."""
    own = project_of_project_owner(world)
    org = main_org(world)
    for grant in world.user_grants.values():
        if grant.resource_owner == org and grant.project_id != own and grant.state.value == state:
            return grant
    raise LookupError(f"no {state} grant outside the project owner's project")


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
