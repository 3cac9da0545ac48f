"""The REST answers of the mock over its whole fidelity surface, as a corpus of raw ASGI requests.

``tests/golden/rest_answers.json`` holds what the mock answered to this corpus before the REST
fast path (``mock_server/rest/dispatch.py``) took the management operations away from
connexion's middleware chain; ``test_rest_golden.py`` asserts the mock still answers the same,
byte for byte (status, every header but the order, body). Regenerate it, only when an answer
is meant to change, with::

    python tests/rest_golden.py

Requests go to the ASGI app directly, with the path decoded as uvicorn decodes it, so
percent-escapes, raw bytes and odd methods reach the app as a real server hands them over.
Dates and durations change from run to run and are replaced by placeholders; everything else
(ids, sequences, tokens of the seeded world) follows from the seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOLDEN_FILE = Path(__file__).parent / "golden" / "rest_answers.json"
BASE = "/management/v1"
DATE = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
DURATION = re.compile(rb'"(duration_ms|durationMs)":[0-9.e+-]+')
# Bodies longer than this (Swagger UI's assets, the spec) are compared by their digest.
LONG_BODY = 4096
ADMIN = "admin-pat"
ORG_OWNER = "org-owner-pat"
USER_MANAGER = "user-manager-pat"
PROJECT_OWNER = "project-owner-pat"
NO_MEMBERSHIP = "no-membership-pat"
SECOND_ORG_OWNER = "second-org-owner-pat"
INACTIVE_ORG_OWNER = "inactive-org-owner-pat"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # raw, as on the request line (percent-escapes kept)
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    host: str = "localhost:8080"

    def label(self) -> str:
        names = ",".join(sorted({name.lower() for name, _ in self.headers}))
        return f"{self.method} {self.path} [{names}] {len(self.body)}B @{self.host}"


@dataclass
class Corpus:
    """Named mocks and the ordered requests sent to each (the order matters: state moves)."""

    steps: list[tuple[str, Request]] = field(default_factory=list)

    def add(self, mock: str, request: Request) -> None:
        self.steps.append((mock, request))


def _scope(request: Request) -> dict[str, Any]:
    raw_path, _, query = request.path.encode("latin-1").partition(b"?")
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = urllib.parse.unquote(path)  # as uvicorn's httptools protocol does
    headers = [(b"host", request.host.encode("latin-1"))]
    headers += [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in request.headers]
    if request.body and not any(n == b"content-length" for n, _ in headers):
        headers.append((b"content-length", str(len(request.body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "extensions": {},
    }


async def _send(app: Callable, request: Request) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(_scope(request), receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": list(start.get("headers", [])), "body": body}


def normalise(answer: dict[str, Any]) -> dict[str, Any]:
    body = DURATION.sub(rb'"\1":0', DATE.sub(b"<date>", answer["body"]))
    headers = []
    for name, value in answer["headers"]:
        name, value = name.decode("latin-1").lower(), value.decode("latin-1")
        if name == "content-length":
            value = "<length>" if DATE.search(answer["body"]) else value
        headers.append([name, DATE.sub(b"<date>", value.encode("latin-1")).decode("latin-1")])
    text: str
    if len(body) > LONG_BODY:
        text = f"sha256:{hashlib.sha256(body).hexdigest()} ({len(body)} bytes)"
    else:
        text = body.decode("utf-8", "backslashreplace")
    return {"status": answer["status"], "headers": sorted(headers), "body": text}


def mocks() -> dict[str, Any]:
    """The mocks of the corpus: each kind of configuration whose answers differ."""
    from mock_server.app import create_mock

    return {
        "default": create_mock(seed=0),
        "v3": create_mock(seed=0, profile="v3"),
        "strict": create_mock(seed=0, strict_instances=True),
        "guarded": create_mock(seed=0, control_token="s3cret"),
        "no-control": create_mock(seed=0, control=False),
        "faulty": create_mock(
            seed=0,
            faults=[
                {"rpc": "DeactivateUser", "code": "UNAVAILABLE"},
                {"rpc": "GetAction", "code": 7},
            ],
        ),
    }


def _auth(token: str | None, org: str | None = None, **extra: str) -> tuple:
    headers = []
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    if org is not None:
        headers.append(("x-zitadel-orgid", org))
    headers += [(name.replace("_", "-"), value) for name, value in extra.items()]
    return tuple(headers)


def _json(token: str | None = ADMIN, org: str | None = None, **extra: str) -> tuple:
    return (*_auth(token, org, **extra), ("Content-Type", "application/json"))


def _world_refs(world: Any) -> dict[str, Any]:
    """Seeded resources by role: the org-owner's org and some of its users, actions, grants."""
    owner = world.tokens[ORG_OWNER].user_id
    main = next(m.scope_id for m in world.memberships_of(owner) if m.scope == "org")
    second = next(m.scope_id for m in world.memberships_of(world.tokens[SECOND_ORG_OWNER].user_id))
    users = [u for u in world.users.values() if u.resource_owner == main]
    actions = [a for a in world.actions.values() if a.resource_owner == main]
    grants = [g for g in world.user_grants.values() if g.resource_owner == main]
    return {
        "main": main,
        "second": second,
        "users": users,
        "actions": actions,
        "grants": grants,
        "second_actions": [a for a in world.actions.values() if a.resource_owner == second],
    }


def _rpc_path(rpc: Any, **values: str) -> str:
    path = rpc.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return BASE + path


def _targets(rpc: Any, refs: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Path values of each kind of target: the resource in every state the seed has, one
    unknown, one of another org."""
    if rpc.path_fields == ():
        yield "org", {}
        return
    names = [f.name for f in rpc.path_fields]
    if "grant_id" in names:
        for grant in refs["grants"][:6]:
            yield f"grant-{grant.state.value}", {"user_id": grant.user_id, "grant_id": grant.id}
        yield "grant-unknown", {"user_id": refs["users"][0].id, "grant_id": "123456789"}
        yield "grant-other-user", {"user_id": "1", "grant_id": refs["grants"][0].id}
        return
    kind = "actions" if "Action" in rpc.name else "users"
    seen: set[str] = set()
    for resource in refs[kind]:
        state = resource.state.value
        if state not in seen:
            seen.add(state)
            yield f"{kind}-{state}", {"id": resource.id}
    yield f"{kind}-unknown", {"id": "123456789"}
    if kind == "actions" and refs["second_actions"]:
        yield "actions-other-org", {"id": refs["second_actions"][0].id}


def management_requests(rpcs: dict[str, Any], refs: dict[str, Any]) -> Iterator[Request]:
    """Every RPC on every kind of target, caller, header and body."""
    main = refs["main"]
    callers = [
        (ADMIN, None),
        (ADMIN, main),
        (ORG_OWNER, None),
        (USER_MANAGER, None),
        (PROJECT_OWNER, None),
        (NO_MEMBERSHIP, None),
        (SECOND_ORG_OWNER, None),
        (INACTIVE_ORG_OWNER, None),
        (ORG_OWNER, refs["second"]),
        (ORG_OWNER, "999"),
        ("unknown-token", None),
        (None, None),
    ]
    for rpc in rpcs.values():
        body = b"{}" if rpc.has_body else b""
        for _, values in _targets(rpc, refs):
            path = _rpc_path(rpc, **values)
            for token, org in callers:
                yield Request(rpc.method, path, _json(token, org), body)
            # Twice more as the admin: the second call of a toggle meets the new state.
            yield Request(rpc.method, path, _json(ADMIN, main), body)
            yield Request(rpc.method, path, _json(ADMIN, main), body)
        path = _rpc_path(rpc, **{f.name: "x" * 201 for f in rpc.path_fields})
        yield Request(rpc.method, path, _json(ADMIN, main), body)
        yield Request(rpc.method, path, _json(None), body)
        for value in ("%20", "%2F", "a%2Fb", "%E2%82%AC", "%ff", "..", "%00", "1%3F2"):
            path = _rpc_path(rpc, **{f.name: value for f in rpc.path_fields})
            yield Request(rpc.method, path, _json(ADMIN, main), body)
        path = next(_rpc_path(rpc, **v) for _, v in _targets(rpc, refs))
        yield from _header_variants(rpc, path)
        if rpc.has_body:
            yield from _body_variants(rpc, path)
        else:
            yield Request("GET", path, _json(ADMIN, main), b"{not json")
            yield Request("GET", path + "?foo=bar&id=1", _json(ADMIN, main))
        other = "GET" if rpc.method == "POST" else "POST"
        for method in (other, "PUT", "DELETE", "PATCH", "HEAD", "BREW", "OPTIONS"):
            yield Request(method, path, _json(ADMIN, main), b"{}")
        yield Request(rpc.method, path + "/", _json(ADMIN, main), body)
        yield Request(rpc.method, path.upper(), _json(ADMIN, main), body)
        yield Request(rpc.method, path + "?x=1", _json(ADMIN, main), body)


def _header_variants(rpc: Any, path: str) -> Iterator[Request]:
    body = b"{}" if rpc.has_body else b""
    method = rpc.method
    for auth in (
        "Bearer",
        "Bearer ",
        "bearer admin-pat",
        "BEARER admin-pat",
        "Basic YWRtaW46cGF0",
        "admin-pat",
        "Bearer admin-pat extra",
        "Bearer  admin-pat",
    ):
        yield Request(method, path, (("Authorization", auth),), body)
    yield Request(method, path, (("authorization", "Bearer admin-pat"), ("X-ZITADEL-ORGID", "")))
    yield Request(
        method,
        path,
        (("Authorization", "Bearer admin-pat"), ("x-zitadel-orgid", "1"), ("x-zitadel-orgid", "2")),
        body,
    )
    origin = ("Origin", "https://app.example.com")
    yield Request(method, path, (*_json(ADMIN), origin), body)
    yield Request(method, path, (*_json(None), origin), body)
    yield Request(method, path, (origin,), body)
    for preflight in (
        (origin, ("Access-Control-Request-Method", method)),
        (
            origin,
            ("Access-Control-Request-Method", method.lower()),
            ("Access-Control-Request-Headers", "authorization, content-type, x-zitadel-orgid"),
        ),
        (origin, ("Access-Control-Request-Method", "TRACE")),
        (
            origin,
            ("Access-Control-Request-Method", method),
            ("Access-Control-Request-Headers", "x-custom"),
        ),
        (("Access-Control-Request-Method", method),),
    ):
        yield Request("OPTIONS", path, preflight)
    yield Request("OPTIONS", path, (origin,))
    for host in ("other.localhost:8080", "unknown.example.com", "localhost"):
        yield Request(method, path, _json(ADMIN), body, host=host)
    for name in ("x-zitadel-forwarded", "forwarded", "x-forwarded-host", "x-zitadel-instance-host"):
        value = "host=a.localhost" if name.endswith("forwarded") else "a.localhost"
        yield Request(method, path, (*_json(ADMIN), (name, value)), body)
    yield Request(method, path, (*_json(ADMIN), ("x-zitadel-userid", "1")), body)


def _body_variants(rpc: Any, path: str) -> Iterator[Request]:
    bodies = [
        b"",
        b"{",
        b"null",
        b"[]",
        b'"text"',
        b"12",
        b'{"id": 5}',
        b'{"id": "other"}',
        b'{"unknown": 1}',
        b'{"query": {"limit": 2}}',
        b'{"query": {"limit": "2", "offset": "1", "asc": true}}',
        b'{"query": {"limit": -1}}',
        b'{"query": {"limit": "x"}}',
        b'{"queries": []}',
        b'{"queries": [{"userNameQuery": {"userName": "a", "method": '
        b'"TEXT_QUERY_METHOD_CONTAINS"}}]}',
        b'{"queries": [{"stateQuery": {"state": "USER_STATE_ACTIVE"}}]}',
        b'{"queries": [{"typeQuery": {"type": "TYPE_MACHINE"}}]}',
        b'{"queries": [{"actionNameQuery": {"name": "a"}}]}',
        b'{"queries": [{"bogus": {}}]}',
        b'{"sortingColumn": "USER_FIELD_NAME_USER_NAME"}',
        b'{"sortingColumn": 3}',
        b"{} {}",
        b"{}garbage",
        b'{"a":' * 40 + b"1" + b"}" * 40,
        b'{"query":' * 70 + b"{}" + b"}" * 70,
        b"\xff\xfe",
        b'{"id": "\xe2\x82"}',
        b"   {}   ",
        b'{"id": "1", "id": "2"}',
    ]
    for body in bodies:
        yield Request(rpc.method, path, _json(ADMIN), body)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/json; charset=latin-1",
        "application/grpc",
        "",
    ):
        headers = (*_auth(ADMIN), ("Content-Type", content_type))
        yield Request(rpc.method, path, headers, b'{"a":1}')
    yield Request(rpc.method, path, _auth(ADMIN), b"{}")
    yield Request(rpc.method, path, (*_json(ADMIN), ("Content-Encoding", "gzip")), b"{}")


def other_requests() -> Iterator[tuple[str, Request]]:
    """Unknown routes, the gateway's prefix, Swagger UI, gRPC-web and the control plane."""
    for path in (
        "/",
        "/ui",
        "/ui/",
        BASE,
        BASE + "/",
        BASE + "/ui",
        BASE + "/ui/",
        BASE + "/openapi.json",
        BASE + "/openapi.yaml",
        BASE + "/nothing",
        BASE + "/users",
        BASE + "/users/1/grants",
        BASE + "/orgs",
        "/management/v2/users",
        "/oauth/v2/token",
        "/favicon.ico",
        "/zitadel.management.v1.ManagementService/GetMyOrg",
        "/_mock",
        # Paths two routes could claim, and ones next to the routes.
        BASE + "/users/_search",
        BASE + "/users/grants/_search",
        BASE + "/users/grants",
        BASE + "/actions/_search",
        BASE + "/actions/_search/_deactivate",
        BASE + "/users/_search/_reactivate",
        BASE + "/users/1/grants/_search",
        BASE + "/orgs/me/_deactivate",
        BASE + "/orgs/you/_deactivate",
        BASE + "/orgs/me/",
        BASE + "//orgs/me",
        BASE + "/users/1/_deactivate/",
        BASE + "/users/1/_deactivate/x",
        BASE + "/users/1/grants/2/_deactivate",
        "/management/v1x/orgs/me",
        "/management/orgs/me",
    ):
        for method in ("GET", "POST", "OPTIONS"):
            yield "default", Request(method, path, _auth(ADMIN))
        yield "default", Request("GET", path, (("Origin", "https://a.example"),))
    grpc_web = (("Content-Type", "application/grpc-web+proto"), *_auth(ADMIN))
    for rpc in ("GetMyOrg", "DeactivateOrg", "Nope"):
        path = f"/zitadel.management.v1.ManagementService/{rpc}"
        yield "default", Request("POST", path, grpc_web, b"\x00\x00\x00\x00\x00")
        yield "default", Request("POST", path, grpc_web, b"\x00\x00\x00")
        yield "default", Request("POST", path, (*grpc_web, ("Origin", "https://a.example")), b"")
    control = "/_mock/v1"
    for path in (
        "/info",
        "/settings",
        "/journal",
        "/journal?rpc=DeactivateAction",
        "/journal?outcome=bogus",
        "/faults",
        "/instances",
        "/instances/nope",
        "/users",
        "/nothing",
        "",
        "/",
    ):
        for mock in ("default", "guarded", "no-control"):
            yield mock, Request("GET", control + path)
        yield "guarded", Request("GET", control + path, (("Authorization", "Bearer s3cret"),))
    for body, content_type in (
        (b'{"code": "UNAVAILABLE", "rpc": "GetMyOrg", "times": 1}', "application/json"),
        (b'{"code": "NOPE"}', "application/json"),
        (b"{", "application/json"),
        (b"{}", "text/plain"),
        (b'{"name": "x"}', "application/x-www-form-urlencoded"),
    ):
        yield (
            "default",
            Request("POST", control + "/faults", (("Content-Type", content_type),), body),
        )
    yield "default", Request("GET", BASE + "/orgs/me", _auth(ADMIN))
    yield "default", Request("GET", BASE + "/orgs/me", _auth(ADMIN))
    yield "default", Request("DELETE", control + "/faults")
    yield (
        "default",
        Request(
            "PUT",
            control + "/settings",
            (("Content-Type", "application/json"),),
            b'{"readLagMs": 0}',
        ),
    )
    yield (
        "default",
        Request(
            "POST",
            control + "/instances",
            (("Content-Type", "application/json"),),
            b'{"host": "b.localhost"}',
        ),
    )
    yield "default", Request("GET", BASE + "/orgs/me", _auth(ADMIN), host="b.localhost")
    yield (
        "default",
        Request(
            "POST", BASE + "/orgs/me/_deactivate", _json(ADMIN), b"{}", host="b.localhost:8080"
        ),
    )
    yield "default", Request("GET", control + "/instances")
    yield "default", Request("DELETE", control + "/instances/b.localhost")
    yield "default", Request("GET", control + "/journal")
    yield "default", Request("DELETE", control + "/journal")
    yield "default", Request("POST", control + "/reset")
    yield "default", Request("GET", BASE + "/orgs/me", (("Origin", "https://a.example"),))


def corpus() -> tuple[dict[str, Any], list[tuple[str, Request]]]:
    from mock_server import contract

    built = mocks()
    refs = _world_refs(built["default"].world)
    steps: list[tuple[str, Request]] = []
    rpcs = contract.rpcs()
    for request in management_requests(rpcs, refs):
        steps.append(("default", request))
    steps.extend(other_requests())
    # The other configurations on a sample: every RPC once as the admin and unauthenticated.
    for mock in ("v3", "strict", "guarded", "no-control", "faulty"):
        for rpc in rpcs.values():
            values = next(v for _, v in _targets(rpc, refs))
            path = _rpc_path(rpc, **values)
            body = b"{}" if rpc.has_body else b""
            for headers in (_json(ADMIN, refs["main"]), _json(None), _json("unknown-token")):
                steps.append((mock, Request(rpc.method, path, headers, body)))
                steps.append((mock, Request(rpc.method, path, headers, body, host="x.localhost")))
    return built, steps


def record() -> list[dict[str, Any]]:
    # The mock logs its own 500s in full (the spec's openapi.json is one today): not news here.
    logging.disable(logging.CRITICAL)
    try:
        return _record()
    finally:
        logging.disable(logging.NOTSET)


def _record() -> list[dict[str, Any]]:
    built, steps = corpus()

    async def run() -> list[dict[str, Any]]:
        answers = []
        for mock, request in steps:
            answer = normalise(await _send(built[mock].app, request))
            answers.append({"mock": mock, "request": request.label(), **answer})
        return answers

    return asyncio.run(run())


def main() -> int:
    answers = record()
    GOLDEN_FILE.parent.mkdir(exist_ok=True)
    # One answer a line, so a change shows as the lines of the answers it changed.
    lines = ",\n".join(json.dumps(answer, ensure_ascii=False) for answer in answers)
    GOLDEN_FILE.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"{len(answers)} answers written to {GOLDEN_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
