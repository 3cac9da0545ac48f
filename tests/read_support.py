"""Shared by the read tests: calling the seven reads over REST and knowing the seeded world.

The expectations (paths, JSON keys, enum names, error ids and texts) are written down from
ZITADEL's converters and query layer as docs/zitadel-read-facts.md records them, not read from
the spec or the mock's encoders, so drift on either side shows.
"""

from __future__ import annotations

from typing import Any

import httpx
from rest_support import BASE, Api

from mock_server.fixtures import SEED_TOKENS

ADMIN = SEED_TOKENS.instance_owner

# internal/api/grpc/management, the routes of management.proto (facts §11).
USERS_SEARCH = f"{BASE}/users/_search"
ACTIONS_SEARCH = f"{BASE}/actions/_search"
GRANTS_SEARCH = f"{BASE}/users/grants/_search"
MY_ORG = f"{BASE}/orgs/me"

# en.yaml texts with the ids of the query layer and the management handlers.
USER_NOT_FOUND = ("User could not be found (QUERY-Dfbg2)", "QUERY-Dfbg2")
USER_OF_OTHER_ORG = ("User could not be found (MANAG-fpo4B)", "MANAG-fpo4B")
ACTION_NOT_FOUND = ("Action not found (QUERY-GEfnb)", "QUERY-GEfnb")
GRANT_NOT_FOUND = ("User grant not found (QUERY-wIPkA)", "QUERY-wIPkA")
LIMIT_EXCEEDED = ("Limit exceeded (QUERY-4M0fs)", "QUERY-4M0fs")
NO_PERMISSION = ("No matching permissions found (AUTH-5mWD2)", "AUTH-5mWD2")
NO_MEMBERSHIP = ("membership not found (AUTHZ-cdgFk)", "AUTHZ-cdgFk")


def headers(token: str | None = ADMIN, org: str | None = None) -> dict[str, str]:
    sent = {}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if org is not None:
        sent["x-zitadel-orgid"] = org
    return sent


def get_user(api: Api, user_id: str, **who: Any) -> httpx.Response:
    return api.client.get(f"{BASE}/users/{user_id}", headers=headers(**who))


def get_action(api: Api, action_id: str, **who: Any) -> httpx.Response:
    return api.client.get(f"{BASE}/actions/{action_id}", headers=headers(**who))


def get_grant(api: Api, user_id: str, grant_id: str, **who: Any) -> httpx.Response:
    return api.client.get(f"{BASE}/users/{user_id}/grants/{grant_id}", headers=headers(**who))


def get_my_org(api: Api, **who: Any) -> httpx.Response:
    return api.client.get(MY_ORG, headers=headers(**who))


def search(api: Api, path: str, body: Any = None, **who: Any) -> httpx.Response:
    content = b"{}" if body is None else body if isinstance(body, bytes) else None
    if content is not None:
        return api.client.post(path, content=content, headers=headers(**who))
    return api.client.post(path, json=body, headers=headers(**who))


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    """The result of a list answer; protojson omits an empty repeated field."""
    return ok(response).get("result", [])


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in listed(response)]


def text_query(key: str, field: str, value: str, method: str | None = None) -> dict:
    inner: dict[str, Any] = {field: value}
    if method is not None:
        inner["method"] = method
    return {key: inner}


def create(api: Api, kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A resource made through the control plane's Python side (recorded as events)."""
    return api.mock.admin.create(kind, entry)


def add_caller(api: Api, token: str, scope: str, scope_id: str, roles: list[str]) -> str:
    """A fresh user of the main org with one membership and a token; returns the user id."""
    from rest_support import main_org

    user = create(api, "users", {"org": main_org(api.world), "user_name": f"caller-{token}"})
    create(api, "memberships", {"user": user["id"], "scope": scope, "id": scope_id, "roles": roles})
    create(api, "tokens", {"token": token, "user": user["id"]})
    return user["id"]
