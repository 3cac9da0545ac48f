"""Shared by the gRPC tests: a running mock (native gRPC and HTTP) and small wire clients.

The clients here are deliberately independent of the fronts' own code paths where it matters:
gRPC-web frames and trailers are parsed by hand, native gRPC goes through grpcio's client.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import uvicorn
from google.rpc import status_pb2

from mock_server import contract, status
from mock_server.app import MockServer, create_mock
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.domain.world import World
from mock_server.fixtures import SEED_TOKENS
from mock_server.grpc_front import create_grpc_server
from mock_server.grpc_front.codec import request_class
from mock_server.grpc_front.gen.zitadel import message_pb2
from mock_server.grpc_front.server import GrpcFront
from mock_server.messages import response_class
from mock_server.one_port import OnePortProtocol

E2E_NODE_DIR = Path(__file__).resolve().parent / "e2e_node"
SERVICE_PATH = "/zitadel.management.v1.ManagementService/"
NPM_INSTALL = "npm ci --prefix tests/e2e_node"


@dataclass(frozen=True)
class Outcome:
    """What a front answered, in one shape for every wire."""

    code: int
    message: str = ""
    error_details: tuple[tuple[str, str], ...] = ()  # (id, message) of each ErrorDetail
    sequence: int | None = None
    date_field: str | None = None  # the one date field that was set
    date: datetime | None = None  # aware, UTC
    resource_owner: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class RunningMock:
    mock: MockServer
    grpc_port: int
    http_port: int
    extras: dict = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.mock.world

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@contextmanager
def serve_mock(world: World) -> Iterator[RunningMock]:
    """The mock's HTTP app under uvicorn and a gRPC server of its own, on free loopback ports;
    the HTTP port serves native gRPC too, as the CLI's does (mock_server/one_port.py)."""
    mock = create_mock(world)
    grpc_server, grpc_port = create_grpc_server(mock.service, "127.0.0.1", 0)
    grpc_server.start()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    protocol = OnePortProtocol.configured(GrpcFront(mock.service), read_timeout=None)
    config = uvicorn.Config(mock.app, log_level="warning", lifespan="off", http=protocol)
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not http.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield RunningMock(mock, grpc_port, sock.getsockname()[1])
    finally:
        http.should_exit = True
        thread.join(timeout=10)
        sock.close()
        grpc_server.stop(grace=None)


# ---- native gRPC, through grpcio's client -------------------------------------------------


def grpc_metadata(token: str | None, org: str | None, authorization: str | None = None):
    metadata = []
    if authorization is not None:
        metadata.append(("authorization", authorization))
    elif token is not None:
        metadata.append(("authorization", f"Bearer {token}"))
    if org:
        metadata.append(("x-zitadel-orgid", org))
    return metadata


def call_grpc(
    channel: grpc.Channel,
    rpc: str,
    fields: dict[str, str],
    token: str | None,
    org: str | None = None,
    authorization: str | None = None,
) -> Outcome:
    method = channel.unary_unary(
        SERVICE_PATH + rpc,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_class(rpc).FromString,
    )
    try:
        response = method(
            request_class(rpc)(**fields),
            metadata=grpc_metadata(token, org, authorization),
            timeout=10,
        )
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        raw = trailers.get("grpc-status-details-bin")
        details = () if raw is None else _error_details(status_pb2.Status.FromString(raw))
        return Outcome(error.code().value[0], error.details(), details)
    return _success(response.details)


# ---- gRPC-web, framed by hand --------------------------------------------------------------


def grpc_web_body(rpc: str, fields: dict[str, str]) -> bytes:
    payload = request_class(rpc)(**fields).SerializeToString()
    return struct.pack(">BI", 0, len(payload)) + payload


def parse_frames(body: bytes) -> list[tuple[int, bytes]]:
    frames = []
    while body:
        flag, length = struct.unpack(">BI", body[:5])
        frames.append((flag, body[5 : 5 + length]))
        assert len(frames[-1][1]) == length, "truncated frame in the response"
        body = body[5 + length :]
    return frames


def parse_trailer(payload: bytes) -> dict[str, str]:
    text = payload.decode("ascii")
    assert text.endswith("\r\n"), text
    return dict(line.split(":", 1) for line in text[:-2].split("\r\n"))


def grpc_web_outcome(rpc: str, status_code: int, content_type: str, body: bytes) -> Outcome:
    """Decode a gRPC-web answer, checking the framing rules on the way."""
    assert status_code == 200, (status_code, body)
    if content_type.startswith("application/grpc-web-text"):
        body = base64.b64decode(body)
    frames = parse_frames(body)
    assert frames and frames[-1][0] == 0x80, f"the answer must end with a trailer: {frames}"
    assert all(flag == 0 for flag, _ in frames[:-1])
    trailer = parse_trailer(frames[-1][1])
    code = int(trailer["grpc-status"])
    if code == 0:
        assert len(frames) == 2, "a success carries one data frame"
        return _success(response_class(rpc).FromString(frames[0][1]).details)
    assert len(frames) == 1, "an error carries no data frame"
    message = urllib.parse.unquote(trailer["grpc-message"])
    raw = trailer.get("grpc-status-details-bin")
    details: tuple[tuple[str, str], ...] = ()
    if raw is not None:
        rpc_status = status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
        assert (rpc_status.code, rpc_status.message) == (code, message)
        details = _error_details(rpc_status)
    return Outcome(code, message, details)


def grpc_web_headers(token: str | None, org: str | None, authorization: str | None = None):
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
    headers.update(grpc_metadata(token, org, authorization))
    return headers


# ---- REST, as the gateway answers ---------------------------------------------------------


def rest_path(rpc: str, fields: dict[str, str]) -> str:
    path = contract.rpcs()[rpc].path
    for name, value in fields.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    return contract.base_path(contract.load_spec()) + path


def rest_outcome(status_code: int, body: dict) -> Outcome:
    if status_code == 200:
        details = body["details"]
        (date_field,) = {"creationDate", "changeDate"} & details.keys()
        return Outcome(
            0,
            sequence=int(details["sequence"]),
            date_field=date_field,
            date=datetime.fromisoformat(details[date_field]),
            resource_owner=details["resourceOwner"],
        )
    return Outcome(
        body["code"],
        body["message"],
        tuple((d["id"], d["message"]) for d in body.get("details", [])),
    )


# ---- shared ----------------------------------------------------------------------------------


def _error_details(rpc_status: status_pb2.Status) -> tuple[tuple[str, str], ...]:
    found = []
    for packed in rpc_status.details:
        detail = message_pb2.ErrorDetail()
        assert packed.Unpack(detail), packed.type_url
        found.append((detail.id, detail.message))
    return tuple(found)


def _success(details) -> Outcome:
    set_dates = [name for name in ("creation_date", "change_date") if details.HasField(name)]
    assert len(set_dates) == 1, f"exactly one date field is set: {details}"
    camel = "creationDate" if set_dates[0] == "creation_date" else "changeDate"
    return Outcome(
        0,
        sequence=details.sequence,
        date_field=camel,
        date=getattr(details, set_dates[0]).ToDatetime(tzinfo=UTC),
        resource_owner=details.resource_owner,
    )


# ---- Node ------------------------------------------------------------------------------------


def require_node_clients() -> str:
    """The node binary, once the pinned clients are installed; fails (never skips) otherwise."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the end-to-end tests need Node 20 or later")
    missing = [
        package
        for package in ("@zitadel/node", "@zitadel/client", "@zitadel/proto", "nice-grpc")
        if not (E2E_NODE_DIR / "node_modules" / package / "package.json").is_file()
    ]
    if missing:
        pytest.fail(
            f"the official clients are not installed ({', '.join(missing)} missing); "
            f"run `{NPM_INSTALL}` from the repository root first"
        )
    return node


def run_node(script: str, *args: str, stdin: Any = None, timeout: float = 60) -> Any:
    node = require_node_clients()
    completed = subprocess.run(
        [node, script, *args],
        cwd=E2E_NODE_DIR,
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, (
        f"node {script} {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr}"
    )
    return json.loads(completed.stdout)


# ---- one scripted scenario, shared by the end-to-end and parity tests -----------------------

ADMIN = SEED_TOKENS.instance_owner


@dataclass(frozen=True)
class Step:
    rpc: str
    fields: dict[str, str]
    token: str | None = ADMIN
    org: str | None = None
    authorization: str | None = None
    expect_code: int = 0
    expect_id: str | None = None  # the ZITADEL error id, None for detail-less statuses
    aggregate: str | None = None  # for a success: the aggregate whose event it reports

    def node_call(self) -> dict[str, Any]:
        call: dict[str, Any] = {"rpc": self.rpc, "request": self.fields, "token": self.token}
        if self.org is not None:
            call["org"] = self.org
        if self.authorization is not None:
            call["authorization"] = self.authorization
        return call


def lifecycle_script(world: World) -> list[Step]:
    """All eight RPCs succeeding, then failing on state, on unknown ids, on auth and on
    validation; resources are picked from a seeded world so no step depends on a wire."""
    admin_user = world.users[world.tokens[SEED_TOKENS.instance_owner].user_id]
    main = admin_user.resource_owner
    second = world.users[world.tokens[SEED_TOKENS.second_org_owner].user_id].resource_owner
    callers = {t.user_id for t in world.tokens.values()} | {m.user_id for m in world.memberships}
    action = next(
        a for a in world.actions.values() if a.resource_owner == main and a.state.value == "active"
    )
    user = next(
        u
        for u in world.users.values()
        if u.resource_owner == main
        and u.state.value == "active"
        and u.kind == "human"
        and u.id not in callers
    )
    grant = next(
        g
        for g in world.user_grants.values()
        if g.resource_owner == main and g.state.value == "active"
    )
    grant_fields = {"user_id": grant.user_id, "grant_id": grant.id}
    return [
        Step("DeactivateAction", {"id": action.id}, aggregate=action.id),
        Step("DeactivateAction", {"id": action.id}, expect_code=9, expect_id="COMMAND-Dgj92"),
        Step("ReactivateAction", {"id": action.id}, aggregate=action.id),
        Step("ReactivateAction", {"id": action.id}, expect_code=9, expect_id="COMMAND-J53zh"),
        Step("DeactivateUser", {"id": user.id}, aggregate=user.id),
        Step("DeactivateUser", {"id": user.id}, expect_code=9, expect_id="COMMAND-5M0sf"),
        Step("ReactivateUser", {"id": user.id}, aggregate=user.id),
        Step("ReactivateUser", {"id": user.id}, expect_code=9, expect_id="COMMAND-6M0sf"),
        Step("DeactivateOrg", {}, org=second, aggregate=second),
        Step("DeactivateOrg", {}, org=second, expect_code=9, expect_id="EVENT-Dbs2g"),
        Step("ReactivateOrg", {}, org=second, aggregate=second),
        Step("ReactivateOrg", {}, org=second, expect_code=9, expect_id="EVENT-bfnrh"),
        Step("DeactivateUserGrant", grant_fields, aggregate=grant.id),
        Step("ReactivateUserGrant", grant_fields, aggregate=grant.id),
        Step("DeactivateUser", {"id": "404404404"}, expect_code=5, expect_id="COMMAND-3M9ds"),
        Step("DeactivateAction", {"id": "404404404"}, expect_code=5, expect_id="COMMAND-NRmhu"),
        Step(
            "ReactivateUserGrant",
            {"user_id": grant.user_id, "grant_id": "404404404"},
            expect_code=5,
            expect_id="COMMAND-Lp0gs",
        ),
        Step("ReactivateOrg", {}, token=None, expect_code=16),
        Step(
            "DeactivateUser",
            {"id": user.id},
            token="not-a-token",
            expect_code=16,
            expect_id="AUTH-7fs1e",
        ),
        Step(
            "ReactivateUser",
            {"id": user.id},
            authorization="Basic YWRtaW4=",
            expect_code=16,
            expect_id="AUTH-toLo1",
        ),
        Step(
            "DeactivateUserGrant",
            grant_fields,
            token=SEED_TOKENS.no_membership,
            expect_code=5,
            expect_id="AUTHZ-cdgFk",
        ),
        Step("DeactivateOrg", {}, org="404404404", expect_code=7, expect_id="AUTH-Bs7Ds"),
        Step("DeactivateUser", {"id": "x" * 201}, expect_code=3),
    ]


def domain_outcomes(world: World, steps: list[Step]) -> list[Outcome]:
    """The scenario straight through the domain: the oracle every front must reproduce."""
    service = LifecycleService(world)
    outcomes = []
    for step in steps:
        authorization = step.authorization
        if authorization is None and step.token is not None:
            authorization = f"Bearer {step.token}"
        try:
            details = service.call(step.rpc, step.fields, CallMetadata(authorization, step.org))
        except ZitadelError as error:
            pairs = tuple((d["id"], d["message"]) for d in status.error_details(error))
            outcomes.append(Outcome(int(error.code), error.message, pairs))
        else:
            outcomes.append(
                Outcome(
                    0,
                    sequence=details.sequence,
                    date_field=contract.rpcs()[step.rpc].date_field,
                    date=details.event_date,
                    resource_owner=details.resource_owner,
                )
            )
    for step, outcome in zip(steps, outcomes, strict=True):
        # The script states what ZITADEL answers; a domain change that breaks it shows here.
        assert outcome.code == step.expect_code, (step, outcome)
        assert [i for i, _ in outcome.error_details] == ([step.expect_id] if step.expect_id else [])
    return outcomes
