"""The official ZITADEL clients against the running mock, end to end.

@zitadel/node (native gRPC through nice-grpc), @zitadel/client/web (gRPC-web through
connect-web) and @zitadel/client/node (native gRPC through connect-node) each run the whole
scripted scenario, then every read around a deactivation of a user and of a grant; what they
decode must be what the domain answers, and the reads must show each deactivation. The
clients are pinned in tests/e2e_node/package.json; install them with
``npm ci --prefix tests/e2e_node``. Without them these tests fail, they never skip.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from grpc_harness import (
    ADMIN,
    domain_outcomes,
    lifecycle_script,
    require_node_clients,
    run_node,
    serve_mock,
)

from mock_server.fixtures import seeded_world
from mock_server.grpc_front.codec import RPC_NAMES
from mock_server.grpc_front.gen.zitadel import (
    action_pb2,
    management_pb2,
    message_pb2,
    object_pb2,
    org_pb2,
    user_pb2,
)

# client -> the front it speaks to
CLIENTS = {
    "zitadel-node": "grpc",  # @zitadel/node 3.0.28
    "client-web": "grpc-web",  # @zitadel/client 1.3.1, /web
    "client-node": "grpc",  # @zitadel/client 1.3.1, /node
    # ZITADEL serves native gRPC on its HTTP port too; so does the mock (mock_server/one_port.py)
    "zitadel-node@http-port": "grpc on the HTTP port",
}


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


# The enum numbers both generated codes hold (ActionState's API numbers are INACTIVE=1, ACTIVE=2).
USER_ACTIVE, USER_INACTIVE = 1, 2
GRANT_ACTIVE, GRANT_INACTIVE = 1, 2
ORG_ACTIVE, ACTION_ACTIVE = 1, 2


def read_scenario(world) -> list[dict[str, Any]]:
    """After the lifecycle script: each read once, around a deactivation of a user and of a
    grant, so a client shows the state change. Each entry: the node call and what to see."""
    admin = world.users[world.tokens[ADMIN].user_id]
    main = admin.resource_owner
    steps = lifecycle_script(world)
    user_id = next(s.fields["id"] for s in steps if s.rpc == "DeactivateUser")
    grant = next(s.fields for s in steps if s.rpc == "DeactivateUserGrant")
    action_id = next(s.fields["id"] for s in steps if s.rpc == "DeactivateAction")

    def call(rpc: str, request: dict[str, str], **expect: Any) -> dict[str, Any]:
        return {"call": {"rpc": rpc, "request": request, "token": ADMIN}, **expect}

    return [
        call("GetMyOrg", {}, id=main, state=ORG_ACTIVE),
        call("GetUserByID", {"id": user_id}, id=user_id, state=USER_ACTIVE),
        call("DeactivateUser", {"id": user_id}, write=user_id),
        call("GetUserByID", {"id": user_id}, id=user_id, state=USER_INACTIVE, after=True),
        call("ListUsers", {}, listed=user_id, state=USER_INACTIVE, after=True),
        call("ReactivateUser", {"id": user_id}, write=user_id),
        call("ListUsers", {}, listed=user_id, state=USER_ACTIVE, after=True),
        call("GetUserGrantByID", grant, id=grant["grant_id"], state=GRANT_ACTIVE),
        call("DeactivateUserGrant", grant, write=grant["grant_id"]),
        call("GetUserGrantByID", grant, id=grant["grant_id"], state=GRANT_INACTIVE, after=True),
        call("ListUserGrants", {}, listed=grant["grant_id"], state=GRANT_INACTIVE, after=True),
        call("ReactivateUserGrant", grant, write=grant["grant_id"]),
        call("GetAction", {"id": action_id}, id=action_id, state=ACTION_ACTIVE),
        call("ListActions", {}, listed=action_id, state=ACTION_ACTIVE),
    ]


def _check_reads(client: str, world, scenario: list[dict], results: list[dict]) -> None:
    """Each read shows the state of the step, and a read after a write the write's sequence."""
    last_write: dict[str, dict] = {}
    for number, (step, got) in enumerate(zip(scenario, results, strict=True)):
        where = f"{client}, read step {number} {step['call']['rpc']}: {got}"
        assert got["ok"], where
        if "write" in step:
            last_write[step["write"]] = got["details"]
            continue
        if "listed" in step:
            rows = {row["id"]: row for row in got["read"]["result"]}
            assert int(got["read"]["totalResult"]) == len(rows), where
            seen = rows[step["listed"]]
        else:
            seen = got["read"]
            assert seen["id"] == step["id"], where
        assert seen["state"] == step["state"], where
        if step.get("after"):
            written = last_write[seen["id"]]
            assert seen["sequence"] == written["sequence"], where
            assert seen["changeDate"] == written["changeDate"], where
    for aggregate_id, details in last_write.items():
        aggregate = world.users.get(aggregate_id) or world.user_grants[aggregate_id]
        assert int(details["sequence"]) <= aggregate.sequence


@pytest.mark.parametrize("client", CLIENTS)
def test_official_client_runs_the_scenario(client):
    require_node_clients()
    steps = lifecycle_script(seeded_world(0))
    expected = domain_outcomes(seeded_world(0), steps)
    world = seeded_world(0)
    reads = read_scenario(world)
    with serve_mock(world) as running:
        if CLIENTS[client] == "grpc":
            url = f"http://{running.grpc_target}"
        else:
            url = running.http_url
        program = client.split("@")[0]
        plan = [s.node_call() for s in steps] + [r["call"] for r in reads]
        results = run_node("drive.mjs", program, url, stdin=plan)
    assert len(results) == len(plan)
    results, read_results = results[: len(steps)], results[len(steps) :]
    events = {(e.aggregate_id, e.sequence): e for e in world.events}

    succeeded = {step.rpc for step, got in zip(steps, results, strict=True) if got["ok"]}
    succeeded |= {r["call"]["rpc"] for r, got in zip(reads, read_results, strict=True) if got["ok"]}
    assert succeeded == set(RPC_NAMES), "every RPC of the service succeeds once"
    _check_reads(client, world, reads, read_results)
    for number, (step, want, got) in enumerate(zip(steps, expected, results, strict=True)):
        where = f"{client}, step {number} {step.rpc}: {got}"
        assert got["ok"] == want.ok, where
        if want.ok:
            details = got["details"]
            assert int(details["sequence"]) == want.sequence, where
            assert details["resourceOwner"] == want.resource_owner, where
            other = "changeDate" if want.date_field == "creationDate" else "creationDate"
            assert details[other] is None, f"{where}: only {want.date_field} is set"
            event = events[(step.aggregate, want.sequence)]
            assert event.resource_owner == want.resource_owner
            # JavaScript dates hold milliseconds, rounded either way by the two runtimes.
            delta = abs(_instant(details[want.date_field]) - event.created_at.astimezone(UTC))
            assert delta.total_seconds() < 0.001, where
            if details["nanos"] is not None:  # Connect keeps the Timestamp itself
                assert details["nanos"] == event.created_at.microsecond * 1000, where
        else:
            assert (got["code"], got["message"]) == (want.code, want.message), where
            assert [(d["id"], d["message"]) for d in got["errorDetails"]] == list(
                want.error_details
            ), where
            assert all(d["type"] == "zitadel.v1.ErrorDetail" for d in got["errorDetails"]), where


def test_clients_see_one_world_across_fronts():
    """gRPC-web and native gRPC write to the same world: sequences continue across them."""
    require_node_clients()
    world = seeded_world(0)
    steps = lifecycle_script(world)
    deactivate, reactivate = steps[0], steps[2]  # DeactivateAction / ReactivateAction
    start = world.actions[deactivate.fields["id"]].sequence
    with serve_mock(world) as running:
        first = run_node(
            "drive.mjs", "client-web", running.http_url, stdin=[deactivate.node_call()]
        )
        second = run_node(
            "drive.mjs",
            "zitadel-node",
            f"http://{running.grpc_target}",
            stdin=[deactivate.node_call(), reactivate.node_call()],
        )
    assert first[0]["ok"] and int(first[0]["details"]["sequence"]) == start + 1
    assert (second[0]["ok"], second[0]["code"]) == (False, 9)  # already inactive via gRPC-web
    assert second[1]["ok"] and int(second[1]["details"]["sequence"]) == start + 2


def _fields(message: descriptor_pb2.DescriptorProto) -> list[tuple]:
    return [(f.name, f.number, f.type, f.label, f.type_name) for f in message.field]


def test_protos_match_the_descriptors_the_official_clients_ship():
    """Our proto subset against @zitadel/proto's embedded descriptors of ZITADEL's files."""
    ours = {
        module.DESCRIPTOR.name: descriptor_pb2.FileDescriptorProto.FromString(
            module.DESCRIPTOR.serialized_pb
        )
        for module in (object_pb2, message_pb2, user_pb2, org_pb2, action_pb2, management_pb2)
    }
    shipped = run_node("descriptors.mjs", *ours)
    assert set(shipped) == set(ours)
    for name, our_file in ours.items():
        real = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(shipped[name]))
        assert (our_file.package, our_file.syntax) == (real.package, real.syntax), name
        real_messages = {m.name: m for m in real.message_type}
        for message in our_file.message_type:
            assert message.name in real_messages, f"{name}: ZITADEL has no {message.name}"
            assert _fields(message) == _fields(real_messages[message.name]), message.name
        real_services = {s.name: s for s in real.service}
        for service in our_file.service:
            real_methods = {m.name: m for m in real_services[service.name].method}
            for method in service.method:
                real_method = real_methods[method.name]
                assert (method.input_type, method.output_type) == (
                    real_method.input_type,
                    real_method.output_type,
                ), method.name
                assert (
                    method.options.Extensions[annotations_pb2.http]
                    == real_method.options.Extensions[annotations_pb2.http]
                ), method.name
    served = {m.name for m in ours["zitadel/management.proto"].service[0].method}
    assert served == set(RPC_NAMES) and len(served) == 15
