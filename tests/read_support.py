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


# --- the three fronts, answering reads as protobuf messages -------------------------------


class ReadFronts:
    """One mock over REST, gRPC-web and native gRPC; every read answer parsed into its
    protobuf message, so the wires compare modulo encoding.

    ``read`` returns the response message, or ``(code, message, error ids)`` for an error.
    """

    FRONTS = ("rest", "grpc-web", "grpc")

    def __init__(self, http: Any, channel: Any) -> None:
        self.http = http
        self.channel = channel

    def read(
        self, front: str, rpc: str, request: dict[str, Any], token: str | None = ADMIN,
        org: str | None = None,
    ) -> Any:  # fmt: skip
        import grpc
        from google.protobuf import json_format
        from google.rpc import status_pb2
        from grpc_harness import (
            SERVICE_PATH,
            grpc_metadata,
            grpc_web_headers,
            parse_frames,
            parse_trailer,
        )

        from mock_server import contract
        from mock_server.grpc_front.gen.zitadel import message_pb2
        from mock_server.messages import request_class, response_class

        message = json_format.ParseDict(request, request_class(rpc)())
        answer = response_class(rpc)

        def error_ids(status: status_pb2.Status) -> tuple[str, ...]:
            found = []
            for packed in status.details:
                detail = message_pb2.ErrorDetail()
                assert packed.Unpack(detail)
                found.append(detail.id)
            return tuple(found)

        if front == "grpc":
            method = self.channel.unary_unary(
                SERVICE_PATH + rpc,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=answer.FromString,
            )
            try:
                return method(message, metadata=grpc_metadata(token, org), timeout=10)
            except grpc.RpcError as error:
                raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
                status = status_pb2.Status.FromString(raw) if raw else status_pb2.Status()
                return (error.code().value[0], error.details(), error_ids(status))
        if front == "grpc-web":
            payload = message.SerializeToString()
            response = self.http.post(
                SERVICE_PATH + rpc,
                content=b"\x00" + len(payload).to_bytes(4, "big") + payload,
                headers=grpc_web_headers(token, org),
            )
            frames = parse_frames(response.content)
            trailer = parse_trailer(frames[-1][1])
            code = int(trailer["grpc-status"])
            if code == 0:
                return answer.FromString(frames[0][1])
            import base64
            import urllib.parse

            raw = trailer.get("grpc-status-details-bin")
            status = (
                status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
                if raw
                else status_pb2.Status()
            )
            return (code, urllib.parse.unquote(trailer["grpc-message"]), error_ids(status))
        spec = contract.rpcs()[rpc]
        path = BASE + spec.path
        body = json_format.MessageToDict(message)
        for rule in spec.path_fields:
            path = path.replace("{" + rule.name + "}", getattr(message, rule.name))
        sent = headers(token, org)
        if spec.method == "GET":
            response = self.http.get(path, headers=sent)
        else:
            response = self.http.post(path, json=body, headers=sent)
        if response.status_code != 200:
            error = response.json()
            return (
                error["code"],
                error["message"],
                tuple(d["id"] for d in error.get("details", [])),
            )
        # Strict parsing: a key the message does not have fails here.
        return json_format.Parse(response.content, answer())
