"""The gRPC and gRPC-web fronts on their own: the protos, the wire rules, the error format."""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.parse
from pathlib import Path

import grpc
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.rpc import status_pb2
from grpc_harness import (
    SERVICE_PATH,
    call_grpc,
    grpc_web_body,
    grpc_web_headers,
    grpc_web_outcome,
    parse_frames,
    parse_trailer,
)
from starlette.testclient import TestClient

from mock_server import contract
from mock_server.app import create_app
from mock_server.domain.service import LifecycleService
from mock_server.fixtures import SEED_TOKENS, seeded_world
from mock_server.grpc_front import GrpcWebApp, create_grpc_server, generate
from mock_server.grpc_front.gen.zitadel import (
    action_pb2,
    management_pb2,
    message_pb2,
    object_pb2,
    org_pb2,
    user_pb2,
)
from mock_server.grpc_front.web import percent_encode

ADMIN = SEED_TOKENS.instance_owner
ORIGIN = "http://localhost:3000"


def _main_org(world) -> str:
    return world.users[world.tokens[ADMIN].user_id].resource_owner


def _active(world, kind: str):
    org = _main_org(world)
    return next(
        a
        for a in world.collection(kind).values()
        if a.resource_owner == org and a.state.value == "active"
    )


@pytest.fixture
def world():
    return seeded_world(0)


@pytest.fixture
def channel(world):
    server, port = create_grpc_server(LifecycleService(world), "127.0.0.1", 0)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(grace=None)


@pytest.fixture
def web(world):
    return TestClient(GrpcWebApp(LifecycleService(world)))


# ---- protos and generated code ---------------------------------------------------------------


def test_committed_modules_match_the_protos(tmp_path: Path):
    generate.descriptor_set(tmp_path / "set.binpb")
    compiled = descriptor_pb2.FileDescriptorSet.FromString((tmp_path / "set.binpb").read_bytes())
    committed = {
        module.DESCRIPTOR.name: descriptor_pb2.FileDescriptorProto.FromString(
            module.DESCRIPTOR.serialized_pb
        )
        for module in (object_pb2, message_pb2, user_pb2, org_pb2, action_pb2, management_pb2)
    }
    assert {f.name for f in compiled.file} == set(committed)
    for file in compiled.file:
        # protoc adds json_name to a descriptor set, not to the descriptors it embeds in Python.
        for message in file.message_type:
            for field in message.field:
                field.ClearField("json_name")
        assert file == committed[file.name], (
            f"{file.name} changed; run `python -m mock_server.grpc_front.generate`"
        )


def test_generation_writes_importable_relative_modules(tmp_path: Path):
    out = tmp_path / "gen"
    written = generate.generate(out)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "gen/zitadel/management_pb2_grpc.py" in names
    assert "gen/zitadel/object_pb2_grpc.py" not in names  # no service, no stub module
    sources = "".join(p.read_text() for p in written)
    assert "from zitadel import" not in sources
    assert "from . import object_pb2" in (out / "zitadel" / "management_pb2.py").read_text()
    # The fresh modules import as a package, with nothing added to sys.path.
    check = (
        "from gen.zitadel import management_pb2_grpc as m; print(m.ManagementServiceStub.__name__)"
    )
    # A separate interpreter: the committed modules already own these names in this one's pool.
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ManagementServiceStub"


def test_proto_names_zitadels_packages_and_fields():
    assert management_pb2.DESCRIPTOR.package == "zitadel.management.v1"
    assert object_pb2.DESCRIPTOR.name == "zitadel/object.proto"
    details = object_pb2.ObjectDetails.DESCRIPTOR
    assert details.full_name == "zitadel.v1.ObjectDetails"
    assert [(f.name, f.number) for f in details.fields] == [
        ("sequence", 1),
        ("creation_date", 2),
        ("change_date", 3),
        ("resource_owner", 4),
    ]
    error = message_pb2.ErrorDetail.DESCRIPTOR
    assert error.full_name == "zitadel.v1.ErrorDetail"
    assert [(f.name, f.number) for f in error.fields] == [("id", 1), ("message", 2)]


def test_proto_service_and_http_bindings_match_the_spec():
    service = management_pb2.DESCRIPTOR.services_by_name["ManagementService"]
    assert set(service.methods_by_name) == set(contract.rpcs())
    for method in service.methods:
        rpc = contract.rpcs()[method.name]
        options = descriptor_pb2.MethodOptions.FromString(method.GetOptions().SerializeToString())
        rule = options.Extensions[annotations_pb2.http]
        assert (rpc.method, getattr(rule, rpc.method.lower()), rule.body) == (
            rpc.method,
            rpc.path,
            "*" if rpc.has_body else "",
        ), method.name
        assert method.input_type.name == rpc.request_message
        path_fields = [f.name for f in method.input_type.fields if f.name in rule.get + rule.post]
        assert path_fields == [r.name for r in rpc.path_fields], method.name
        if rpc.is_read:
            continue
        assert method.output_type.name == f"{method.name}Response"
        assert [f.name for f in method.input_type.fields] == [r.name for r in rpc.path_fields]
        (details,) = method.output_type.fields
        assert (details.name, details.number) == ("details", 1)
        assert details.message_type is object_pb2.ObjectDetails.DESCRIPTOR


# ---- native gRPC -----------------------------------------------------------------------------


def test_native_success_fills_the_spec_date_field(channel, world):
    action, user = _active(world, "actions"), _active(world, "users")
    done = call_grpc(channel, "DeactivateAction", {"id": action.id}, ADMIN)
    assert (done.code, done.date_field, done.sequence) == (0, "creationDate", action.sequence)
    assert done.resource_owner == action.resource_owner
    assert done.date == action.change_date
    done = call_grpc(channel, "DeactivateUser", {"id": user.id}, ADMIN)
    assert (done.date_field, done.sequence) == ("changeDate", user.sequence)


def test_native_error_carries_zitadels_status_details(channel, world):
    action = _active(world, "actions")
    call_grpc(channel, "DeactivateAction", {"id": action.id}, ADMIN)
    again = call_grpc(channel, "DeactivateAction", {"id": action.id}, ADMIN)
    assert (again.code, again.message) == (9, "Action is not active (COMMAND-Dgj92)")
    assert again.error_details == (("COMMAND-Dgj92", "Action is not active"),)


def test_native_status_details_are_a_google_rpc_status(channel, world):
    method = channel.unary_unary(SERVICE_PATH + "ReactivateUserGrant")
    request = management_pb2.ReactivateUserGrantRequest(user_id="u", grant_id="nope")
    with pytest.raises(grpc.RpcError) as raised:
        method(request.SerializeToString(), metadata=[("authorization", f"Bearer {ADMIN}")])
    trailers = dict(raised.value.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert (status.code, status.message) == (5, "User grant not found (COMMAND-Lp0gs)")
    (packed,) = status.details
    assert packed.type_url == "type.googleapis.com/zitadel.v1.ErrorDetail"


def test_native_errors_without_id_have_no_details(channel):
    missing = call_grpc(channel, "ReactivateOrg", {}, None)
    assert (missing.code, missing.message, missing.error_details) == (
        16,
        "auth header missing",
        (),
    )
    too_long = call_grpc(channel, "DeactivateUser", {"id": "x" * 201}, ADMIN)
    assert too_long.code == 3 and too_long.error_details == ()
    assert too_long.message.startswith("invalid DeactivateUserRequest.Id: value length")


def test_native_reaches_the_empty_id_errors_rest_cannot(channel):
    # The REST path always carries an id; over gRPC an unset field reaches the command.
    empty = call_grpc(channel, "DeactivateAction", {}, ADMIN)
    assert (empty.code, empty.message) == (3, "ID missing (COMMAND-DAhk5)")


def test_native_reads_the_org_header(channel, world):
    second = world.users[world.tokens[SEED_TOKENS.second_org_owner].user_id].resource_owner
    done = call_grpc(channel, "DeactivateOrg", {}, ADMIN, org=second)
    assert (done.code, done.resource_owner) == (0, second)
    unknown = call_grpc(channel, "DeactivateOrg", {}, ADMIN, org="999")
    assert (unknown.code, unknown.message) == (7, "Organisation doesn't exist (AUTH-Bs7Ds)")


def test_native_other_management_methods_are_unimplemented(channel):
    method = channel.unary_unary(SERVICE_PATH + "ListProjects")
    with pytest.raises(grpc.RpcError) as raised:
        method(b"\x0a\x00", metadata=[("authorization", f"Bearer {ADMIN}")])
    assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert raised.value.details() == (
        "unknown method ListProjects for service zitadel.management.v1.ManagementService"
    )


def test_native_busy_port_fails_loudly(world):
    server, port = create_grpc_server(LifecycleService(world), "127.0.0.1", 0)
    try:
        with pytest.raises(RuntimeError):
            create_grpc_server(LifecycleService(world), "127.0.0.1", port)
    finally:
        server.stop(grace=None)


# ---- gRPC-web --------------------------------------------------------------------------------


def _post(web, rpc: str, body: bytes, content_type: str = "application/grpc-web+proto", **extra):
    headers = {**grpc_web_headers(ADMIN, None), "content-type": content_type, **extra}
    return web.post(SERVICE_PATH + rpc, content=body, headers=headers)


def _trailer(response) -> dict[str, str]:
    body = response.content
    if response.headers["content-type"].startswith("application/grpc-web-text"):
        body = base64.b64decode(body)
    frames = parse_frames(body)
    assert frames[-1][0] == 0x80
    return parse_trailer(frames[-1][1])


@pytest.mark.parametrize(
    ("content_type", "answered"),
    [
        ("application/grpc-web", "application/grpc-web"),
        ("application/grpc-web+proto", "application/grpc-web+proto"),
        ("Application/GRPC-Web+proto; charset=utf-8", "application/grpc-web+proto"),
    ],
)
def test_web_success_is_a_data_frame_then_trailers(web, world, content_type, answered):
    action = _active(world, "actions")
    body = grpc_web_body("DeactivateAction", {"id": action.id})
    response = _post(web, "DeactivateAction", body, content_type)
    assert response.status_code == 200
    assert response.headers["content-type"] == answered
    frames = parse_frames(response.content)
    assert [flag for flag, _ in frames] == [0x00, 0x80]
    assert frames[1][1] == b"grpc-status:0\r\ngrpc-message:\r\n"
    details = management_pb2.DeactivateActionResponse.FromString(frames[0][1]).details
    assert (details.sequence, details.resource_owner) == (action.sequence, action.resource_owner)
    assert details.HasField("creation_date") and not details.HasField("change_date")


def test_web_text_is_base64_both_ways(web, world):
    user = _active(world, "users")
    body = base64.b64encode(grpc_web_body("DeactivateUser", {"id": user.id}))
    response = _post(web, "DeactivateUser", body, "application/grpc-web-text")
    assert response.headers["content-type"] == "application/grpc-web-text"
    outcome = grpc_web_outcome(
        "DeactivateUser", response.status_code, response.headers["content-type"], response.content
    )
    assert (outcome.code, outcome.sequence, outcome.date_field) == (0, user.sequence, "changeDate")


def test_web_text_accepts_separately_padded_chunks(web, world):
    user = _active(world, "users")
    framed = grpc_web_body("DeactivateUser", {"id": user.id})
    body = base64.b64encode(framed[:5]) + base64.b64encode(framed[5:])
    response = _post(web, "DeactivateUser", body, "application/grpc-web-text+proto")
    assert _trailer(response)["grpc-status"] == "0"


def test_web_error_is_a_trailer_with_status_details(web):
    body = grpc_web_body("ReactivateUserGrant", {"user_id": "u", "grant_id": "nope"})
    response = _post(web, "ReactivateUserGrant", body)
    assert response.status_code == 200
    frames = parse_frames(response.content)
    assert [flag for flag, _ in frames] == [0x80]
    trailer = parse_trailer(frames[0][1])
    assert trailer["grpc-status"] == "5"
    assert urllib.parse.unquote(trailer["grpc-message"]) == "User grant not found (COMMAND-Lp0gs)"
    raw = trailer["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    detail = message_pb2.ErrorDetail()
    assert status.details[0].Unpack(detail)
    assert (detail.id, detail.message) == ("COMMAND-Lp0gs", "User grant not found")


def test_web_error_without_id_has_no_details(web):
    response = web.post(
        SERVICE_PATH + "ReactivateOrg",
        content=grpc_web_body("ReactivateOrg", {}),
        headers=grpc_web_headers(None, None),
    )
    trailer = _trailer(response)
    assert trailer == {"grpc-status": "16", "grpc-message": "auth header missing"}


def test_grpc_message_is_percent_encoded():
    assert percent_encode("Organisation doesn't exist (AUTH-Bs7Ds)") == (
        "Organisation doesn't exist (AUTH-Bs7Ds)"
    )
    assert percent_encode("100% grün\r\n") == "100%25 gr%C3%BCn%0D%0A"
    assert urllib.parse.unquote(percent_encode("100% grün\r\n")) == "100% grün\r\n"


@pytest.mark.parametrize(
    ("body", "content_type", "extra", "code", "message"),
    [
        pytest.param(
            b"",
            "application/grpc-web",
            {},
            13,
            "request body holds no complete frame",
            id="empty-body",
        ),
        pytest.param(
            b"\x00\x00\x00",
            "application/grpc-web",
            {},
            13,
            "request body holds no complete frame",
            id="short-header",
        ),
        pytest.param(
            b"\x00\x00\x00\x00\x09ab",
            "application/grpc-web",
            {},
            13,
            "frame announces 9 bytes",
            id="short-payload",
        ),
        pytest.param(
            b"\x00\x00\x00\x00\x02\xff\xff",
            "application/grpc-web",
            {},
            13,
            "grpc: error unmarshalling request",
            id="not-the-message",
        ),
        pytest.param(
            b"\x01\x00\x00\x00\x00",
            "application/grpc-web",
            {},
            13,
            "grpc: compressed flag set with identity or empty encoding",
            id="compressed-identity",
        ),
        pytest.param(
            b"\x01\x00\x00\x00\x00",
            "application/grpc-web",
            {"grpc-encoding": "gzip"},
            12,
            'grpc: Decompressor is not installed for grpc-encoding "gzip"',
            id="compressed-gzip",
        ),
        pytest.param(
            b"\x80\x00\x00\x00\x00",
            "application/grpc-web",
            {},
            13,
            "unexpected payload format 128",
            id="trailer-from-client",
        ),
        pytest.param(
            b"\x00" * 10, "application/grpc-web", {}, 13, "one message frame", id="two-frames"
        ),
        pytest.param(
            b"\x00\xff\xff\xff\xff",
            "application/grpc-web",
            {},
            8,
            "grpc: received message larger than max (4294967295 vs. 4194304)",
            id="oversize",
        ),
        pytest.param(
            b"!!!",
            "application/grpc-web-text",
            {},
            3,
            "grpc-web-text: body is not base64",
            id="bad-base64",
        ),
        pytest.param(
            b"\x00\x00\x00\x00\x00",
            "application/grpc-web+json",
            {},
            13,
            "no codec registered for content-subtype json",
            id="json-codec",
        ),
    ],
)
def test_web_bad_frames_get_a_grpc_status(web, body, content_type, extra, code, message):
    response = _post(web, "DeactivateOrg", body, content_type, **extra)
    assert response.status_code == 200
    trailer = _trailer(response)
    assert trailer["grpc-status"] == str(code)
    assert message in urllib.parse.unquote(trailer["grpc-message"])
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/zitadel.management.v1.ManagementService/ListProjects",
            "unknown method ListProjects for",
        ),
        ("/zitadel.admin.v1.AdminService/Healthz", "unknown service zitadel.admin.v1.AdminService"),
        ("/nonsense", "malformed method name"),
    ],
)
def test_web_unknown_methods_are_unimplemented(web, path, message):
    response = web.post(
        path, content=b"\x00\x00\x00\x00\x00", headers=grpc_web_headers(ADMIN, None)
    )
    trailer = _trailer(response)
    assert trailer["grpc-status"] == "12"
    assert urllib.parse.unquote(trailer["grpc-message"]).startswith(message)


def test_web_unexpected_failure_is_internal_without_traceback(world, monkeypatch):
    service = LifecycleService(world)

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom in the domain")

    monkeypatch.setattr(service, "call", explode)
    web = TestClient(GrpcWebApp(service))
    response = _post(web, "DeactivateOrg", grpc_web_body("DeactivateOrg", {}))
    trailer = _trailer(response)
    assert trailer["grpc-status"] == "13"
    assert "boom" not in response.text and "Traceback" not in response.text


def test_web_takes_post_and_grpc_web_only(web):
    assert web.get(SERVICE_PATH + "DeactivateOrg").status_code == 405
    response = web.post(
        SERVICE_PATH + "DeactivateOrg", content=b"{}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 415


# ---- wired into the mock's HTTP app ----------------------------------------------------------


def test_http_app_routes_grpc_web_and_keeps_rest(world):
    client = TestClient(create_app(world))
    action = _active(world, "actions")
    response = client.post(
        SERVICE_PATH + "DeactivateAction",
        content=grpc_web_body("DeactivateAction", {"id": action.id}),
        headers={**grpc_web_headers(ADMIN, None), "origin": ORIGIN},
    )
    outcome = grpc_web_outcome(
        "DeactivateAction", response.status_code, response.headers["content-type"], response.content
    )
    assert (outcome.code, outcome.sequence) == (0, action.sequence)
    # Browsers read the trailers only when CORS exposes them.
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Grpc-Status-Details-Bin" in response.headers["access-control-expose-headers"]
    rest = client.post(
        f"/management/v1/actions/{action.id}/_reactivate",
        json={},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert rest.status_code == 200
    assert int(rest.json()["details"]["sequence"]) == outcome.sequence + 1


def test_http_app_preflight_for_grpc_web_is_cors(world):
    client = TestClient(create_app(world))
    response = client.options(
        SERVICE_PATH + "DeactivateOrg",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-grpc-web,authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
