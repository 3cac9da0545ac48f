"""Instances: isolated worlds on one mock, chosen by the request's host as ZITADEL chooses them.

Expectations come from ZITADEL (docs/zitadel-instance-facts.md): the instance host headers and
their order (x-zitadel-instance-host, Forwarded host=, x-zitadel-forwarded host=,
x-forwarded-host, then Host / :authority), the port cut off before the lookup, the instance
interceptor running before authentication, and the text an unknown host gets. Which instance a
call reached is told by tokens: each instance's are its own, so a token is 200 only where it
was issued.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from grpc_harness import SERVICE_PATH, grpc_web_body, parse_frames, parse_trailer
from starlette.testclient import TestClient

from mock_server import cli
from mock_server.app import MockServer, create_mock
from mock_server.domain.commands import PROFILES
from mock_server.domain.instances import Instances
from mock_server.fixtures import SEED_TOKENS, seeded_world, world_factory
from mock_server.grpc_front.codec import request_class
from mock_server.messages import response_class

# Resources of the world of seed 0 (README "Try it").
MAIN_ORG = "322078799564244941"
USER = "282274986523091618"  # active human of the main org, holds no token
ACTION = "182142426217625554"  # active action of the main org
GRANT = "273772242665813777"  # active grant of USER
INACTIVE_GRANT = ("135901735825285059", "171948479133463933")  # (user, grant)
ADMIN = SEED_TOKENS.instance_owner
CONTROL = "/_mock/v1"
HEX12 = re.compile(r"^[0-9a-f]{12}$")
PRINCIPALS = {
    "instance_owner",
    "org_owner",
    "user_manager",
    "project_owner",
    "no_membership",
    "second_org_owner",
    "inactive_org_owner",
}


def unknown_instance(host: str) -> str:
    """ZITADEL's instance interceptor on a host no instance has (facts §2.2), over HTTP."""
    return (
        f"unable to set instance using origin &{{{host}  http}} (ExternalDomain is localhost): "
        "ID=QUERY-1kIjX Message=Instance not found. Make sure you got the domain right. Check "
        "out https://zitadel.com/docs/apis/introduction#domains Parent=(unable to get instance "
        f"by host: instanceHost {host}, publicHost : ID=QUERY-1kIjX Message=Errors.IAM.NotFound)"
    )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# ---- calls on each front -----------------------------------------------------------------


def rest_my_org(client: Any, headers: dict[str, str]) -> tuple[int, dict]:
    response = client.get("/management/v1/orgs/me", headers=headers)
    return response.status_code, response.json()


def grpc_web_call(
    client: Any, rpc: str, fields: dict[str, str], headers: dict[str, str]
) -> tuple[int, str, bool]:
    """(grpc-status, grpc-message, whether an ErrorDetail came along) of one gRPC-web call."""
    response = client.post(
        SERVICE_PATH + rpc,
        content=grpc_web_body(rpc, fields),
        headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1", **headers},
    )
    assert response.status_code == 200, response.text
    trailer = parse_trailer(parse_frames(response.content)[-1][1])
    message = urllib.parse.unquote(trailer.get("grpc-message", ""))
    return int(trailer["grpc-status"]), message, "grpc-status-details-bin" in trailer


def native_call(
    channel: grpc.Channel, rpc: str, fields: dict[str, str], metadata: dict[str, str]
) -> tuple[int, str, bool, Any]:
    """(code, message, whether an ErrorDetail came along, the response) of one gRPC call."""
    method = channel.unary_unary(
        SERVICE_PATH + rpc,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_class(rpc).FromString,
    )
    try:
        answer = method(request_class(rpc)(**fields), metadata=tuple(metadata.items()), timeout=10)
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        return error.code().value[0], error.details(), "grpc-status-details-bin" in trailers, None
    return 0, "", False, answer


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _server() -> MockServer:
    return create_mock(seed=0)


@pytest.fixture
def server(_server: MockServer) -> Iterator[MockServer]:
    """One mock app for the module: its default world reset and no instance left after a test."""
    yield _server
    for instance in _server.instances.all():
        if not instance.is_default:
            _server.instances.delete(instance.id)
    _server.admin.reset()


@pytest.fixture
def client(server: MockServer) -> TestClient:
    # Host "localhost": a default host, also for the strict registry.
    return TestClient(server.app, base_url="http://localhost")


def create(client: TestClient, **body: Any) -> dict:
    response = client.post(f"{CONTROL}/instances", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# ---- isolation ------------------------------------------------------------------------------


def test_two_instances_toggled_concurrently_on_three_fronts_stay_apart(zitadel_mock):
    """Both instances come from seed 0, so every id is the same in both; each toggles the same
    user, action and grant from three threads at once (REST, gRPC-web, native gRPC). Shared
    state would show as a failed toggle, a foreign sequence or a foreign event."""
    a, b = zitadel_mock.new_instance(), zitadel_mock.new_instance()
    rounds = {a.id: 12, b.id: 5}
    default_events = len(zitadel_mock.world.events)
    start = {i.id: len(i.world.events) for i in (a, b)}
    seq0 = {
        kind: getattr(zitadel_mock.world, kind)[rid].sequence
        for kind, rid in (("users", USER), ("actions", ACTION), ("user_grants", GRANT))
    }
    barrier = threading.Barrier(6)
    failures: list[Any] = []

    def rest(instance) -> None:
        with instance.client(headers=bearer(instance.tokens["instance_owner"])) as http:
            barrier.wait()
            for verb in ["_deactivate", "_reactivate"] * rounds[instance.id] + ["_deactivate"]:
                response = http.post(f"/management/v1/users/{USER}/{verb}", json={})
                if response.status_code != 200:
                    failures.append(("rest", instance.name, verb, response.text))

    def grpc_web(instance) -> None:
        headers = {**instance.headers, **bearer(instance.tokens["instance_owner"])}
        with instance.client() as http:
            barrier.wait()
            for verb in ["Deactivate", "Reactivate"] * rounds[instance.id] + ["Deactivate"]:
                code, message, _ = grpc_web_call(http, f"{verb}Action", {"id": ACTION}, headers)
                if code:
                    failures.append(("grpc-web", instance.name, verb, message))

    def native(instance) -> None:
        metadata = {**instance.headers, **bearer(instance.tokens["instance_owner"])}
        fields = {"user_id": USER, "grant_id": GRANT}
        with grpc.insecure_channel(instance.grpc_target) as channel:
            barrier.wait()
            for verb in ["Deactivate", "Reactivate"] * rounds[instance.id] + ["Deactivate"]:
                code, message, _, _ = native_call(channel, f"{verb}UserGrant", fields, metadata)
                if code:
                    failures.append(("grpc", instance.name, verb, message))

    threads = [
        threading.Thread(target=f, args=(i,)) for i in (a, b) for f in (rest, grpc_web, native)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not failures
        for instance in (a, b):
            world, n = instance.world, rounds[instance.id]
            with world.lock:
                for kind, rid in (("users", USER), ("actions", ACTION), ("user_grants", GRANT)):
                    aggregate = getattr(world, kind)[rid]
                    assert aggregate.sequence == seq0[kind] + 2 * n + 1, (instance.name, kind)
                    assert aggregate.state.value == "inactive"
                new = list(world.events)[start[instance.id] :]
            # The journal holds this instance's own events and no other's.
            assert Counter(e.aggregate_id for e in new) == {
                USER: 2 * n + 1,
                ACTION: 2 * n + 1,
                GRANT: 2 * n + 1,
            }
        # The default instance, same ids again, saw none of it.
        assert len(zitadel_mock.world.events) == default_events
        assert zitadel_mock.world.users[USER].state.value == "active"
        assert zitadel_mock.world.users[USER].sequence == seq0["users"]
        # Each instance's tokens are unknown to the other, on every front.
        with a.client() as http, grpc.insecure_channel(a.grpc_target) as channel:
            foreign = bearer(b.tokens["instance_owner"])
            assert rest_my_org(http, foreign)[0] == 401
            assert grpc_web_call(http, "GetMyOrg", {}, {**a.headers, **foreign})[0] == 16
            assert native_call(channel, "GetMyOrg", {}, {**a.headers, **foreign})[0] == 16
    finally:
        a.delete()
        b.delete()


def test_tokens_are_per_instance_even_from_one_seed(client, server):
    default_info = client.get(f"{CONTROL}/info").json()
    assert {t["token"] for t in default_info["tokens"]} >= {ADMIN, SEED_TOKENS.org_owner}
    first, second = create(client, name="first"), create(client, name="second", seed=0)
    assert first["tokens"].keys() == second["tokens"].keys() == PRINCIPALS
    for principal, token in first["tokens"].items():
        seed_token, _, suffix = token.rpartition("-")
        assert seed_token == getattr(SEED_TOKENS, principal) and HEX12.match(suffix)
    assert set(first["tokens"].values()).isdisjoint(second["tokens"].values())
    hosts = {"default": {}, **{i["name"]: i["headers"] for i in (first, second)}}
    owners = {"default": ADMIN, "first": first["tokens"]["instance_owner"]}
    owners["second"] = second["tokens"]["instance_owner"]
    for where, headers in hosts.items():
        for whose, token in owners.items():
            status, _ = rest_my_org(client, {**headers, **bearer(token)})
            assert status == (200 if where == whose else 401), (where, whose)
    # The default instance keeps the documented tokens.
    assert server.instances.default.world.tokens[ADMIN].value == ADMIN


# ---- host resolution ------------------------------------------------------------------------

SELECTS_CI = [
    {"host": "ci.localhost"},
    {"host": "ci.localhost:8080"},
    {"x-zitadel-instance-host": "ci.localhost"},
    {"X-Zitadel-Instance-Host": "ci.localhost:443"},
    {"forwarded": 'for=192.0.2.1;proto=https;host="ci.localhost:8443", host=other.localhost'},
    {"x-zitadel-forwarded": "proto=http;host=ci.localhost"},
    {"x-forwarded-host": "ci.localhost:8080"},
    # The order: instance host header, Forwarded, x-zitadel-forwarded, x-forwarded-host, Host.
    {"x-zitadel-instance-host": "ci.localhost", "forwarded": "host=other.localhost"},
    {"forwarded": "host=ci.localhost", "x-zitadel-forwarded": "host=other.localhost"},
    {"x-zitadel-forwarded": "host=ci.localhost", "x-forwarded-host": "other.localhost"},
    {"x-forwarded-host": "ci.localhost", "host": "other.localhost"},
    {"forwarded": "proto=https", "x-forwarded-host": "ci.localhost"},  # no host= in it
]
SELECTS_DEFAULT = [
    {"host": "unknown.example"},
    {"host": "ci.localhost.example"},
    {"host": "CI.localhost"},  # the domain is compared as sent
    {"x-forwarded-for": "ci.localhost"},  # a client address, not a host
    {"x-zitadel-instance-host": "other.localhost", "host": "ci.localhost"},
]


@pytest.mark.parametrize("headers", SELECTS_CI, ids=lambda h: "+".join(h))
def test_rest_and_grpc_web_pick_the_instance_from_the_host(client, headers):
    ci = create(client, name="ci")
    for token, expected in ((ci["tokens"]["instance_owner"], (200, 0)), (ADMIN, (401, 16))):
        call = {**headers, **bearer(token)}
        assert rest_my_org(client, call)[0] == expected[0], (headers, token)
        assert grpc_web_call(client, "GetMyOrg", {}, call)[0] == expected[1], (headers, token)


@pytest.mark.parametrize("headers", SELECTS_DEFAULT, ids=lambda h: "+".join(h))
def test_hosts_that_name_no_instance_reach_the_default_one(client, headers):
    ci = create(client, name="ci")
    for token, expected in ((ADMIN, (200, 0)), (ci["tokens"]["instance_owner"], (401, 16))):
        call = {**headers, **bearer(token)}
        assert rest_my_org(client, call)[0] == expected[0], (headers, token)
        assert grpc_web_call(client, "GetMyOrg", {}, call)[0] == expected[1], (headers, token)


def test_native_grpc_picks_the_instance_from_its_metadata(zitadel_mock):
    ci = zitadel_mock.new_instance()
    own = bearer(ci.tokens["instance_owner"])
    with grpc.insecure_channel(zitadel_mock.grpc_target) as channel:
        for host in (ci.host, f"{ci.host}:50051"):
            code, _, _, answer = native_call(
                channel, "GetMyOrg", {}, {"x-zitadel-instance-host": host, **own}
            )
            assert code == 0 and answer.org.id == MAIN_ORG
            assert (
                native_call(
                    channel, "GetMyOrg", {}, {"x-zitadel-instance-host": host, **bearer(ADMIN)}
                )[0]
                == 16
            )
        # Without it (or with a host no instance has) the call reaches the default instance.
        for metadata in ({}, {"x-zitadel-instance-host": "unknown.example"}):
            assert native_call(channel, "GetMyOrg", {}, {**metadata, **bearer(ADMIN)})[0] == 0
            assert native_call(channel, "GetMyOrg", {}, {**metadata, **own})[0] == 16
    ci.delete()


# ---- strict instances ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_client() -> TestClient:
    return TestClient(create_mock(seed=0, strict_instances=True).app, base_url="http://localhost")


@pytest.mark.parametrize("host", ["unknown.example", "unknown.example:8080", "ci.localhost"])
@pytest.mark.parametrize(
    "auth", [{}, bearer("not-a-token"), bearer(ADMIN)], ids=["no-token", "bad-token", "admin"]
)
def test_strict_answers_an_unknown_host_as_zitadel_before_authentication(strict_client, host, auth):
    response = strict_client.get("/management/v1/orgs/me", headers={"host": host, **auth})
    # A plain status.Error: code 5 and the message, no ErrorDetail.
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": unknown_instance(host)}
    code, message, has_details = grpc_web_call(
        strict_client, "GetMyOrg", {}, {"host": host, **auth}
    )
    assert (code, message, has_details) == (5, unknown_instance(host), False)


def test_strict_still_serves_the_default_hosts_and_the_instances(strict_client):
    for host in ("localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:8080", "[::1]:8080"):
        assert rest_my_org(strict_client, {"host": host, **bearer(ADMIN)})[0] == 200, host
    ci = create(strict_client, name="strict-ci")
    assert (
        rest_my_org(strict_client, {**ci["headers"], **bearer(ci["tokens"]["instance_owner"])})[0]
        == 200
    )
    # The control plane of an unknown host is that same unknown instance.
    response = strict_client.get(f"{CONTROL}/settings", headers={"host": "unknown.example"})
    assert (response.status_code, response.json()["code"]) == (404, 5)
    assert strict_client.delete(f"{CONTROL}/instances/strict-ci").status_code == 204
    assert rest_my_org(strict_client, {"host": ci["host"], **bearer(ADMIN)})[0] == 404


def test_strict_native_grpc():
    from mock_server import ZitadelMock

    with ZitadelMock(strict_instances=True) as mock, grpc.insecure_channel(mock.grpc_target) as ch:
        host = "unknown.example"
        answer = native_call(ch, "GetMyOrg", {}, {"x-zitadel-instance-host": host})
        assert answer[:3] == (5, unknown_instance(host), False)
        # No header: the dial target (:authority, 127.0.0.1:<port>) is a default host.
        assert native_call(ch, "GetMyOrg", {}, bearer(ADMIN))[0] == 0
        ci = mock.new_instance()
        own = {**dict(ci.grpc_metadata), **bearer(ci.tokens["instance_owner"])}
        assert native_call(ch, "GetMyOrg", {}, own)[0] == 0
        # As ZITADEL's r.Host fallback: a dial target's :authority names the instance.
        options = [("grpc.default_authority", "unknown.example:8080")]
        with grpc.insecure_channel(mock.grpc_target, options=options) as unknown:
            answer = native_call(unknown, "GetMyOrg", {}, bearer(ADMIN))
            assert answer[:3] == (5, unknown_instance("unknown.example:8080"), False)
        options = [("grpc.default_authority", f"{ci.host}:8080")]
        with grpc.insecure_channel(mock.grpc_target, options=options) as by_authority:
            answer = native_call(by_authority, "GetMyOrg", {}, bearer(ci.tokens["instance_owner"]))
            assert answer[0] == 0
            # A header still wins over the dial target.
            assert (
                native_call(by_authority, "GetMyOrg", {}, {"x-zitadel-instance-host": host})[0] == 5
            )


@pytest.mark.slow  # a real process
def test_cli_passes_the_instance_options():
    from mock_process import start_mock

    args = cli.parse_args([])
    assert (args.strict_instances, args.max_instances, args.instance_idle_timeout) == (
        False,
        1000,
        1800.0,
    )
    args = cli.parse_args(["--instance-idle-timeout", "90"])
    assert args.instance_idle_timeout == 90.0
    mock = start_mock("--strict-instances", "--max-instances", "1", "--no-grpc")
    try:
        with httpx.Client(base_url=mock.url, timeout=10) as http:
            response = http.get("/management/v1/orgs/me", headers={"host": "unknown.example"})
            assert (response.status_code, response.json()["code"]) == (404, 5)
            assert http.post(f"{CONTROL}/instances", json={}).status_code == 201
            response = http.post(f"{CONTROL}/instances", json={})
            assert (response.status_code, response.json()["code"]) == (429, 8)
    finally:
        mock.signal()
        assert mock.wait(timeout=20) == 0


# ---- limits, idle time-out, delete ---------------------------------------------------------


def test_the_instance_cap_is_a_clear_error_and_a_delete_frees_a_place():
    client = TestClient(create_mock(seed=0, max_instances=2).app, base_url="http://localhost")
    first, _ = create(client), create(client)
    response = client.post(f"{CONTROL}/instances", json={})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == 8
    assert "maximum of 2 instances" in body["message"] and "--max-instances" in body["message"]
    assert client.delete(f"{CONTROL}/instances/{first['id']}").status_code == 204
    create(client)


def _registry(clock, **options) -> Instances:
    return Instances(
        seeded_world(0),
        PROFILES["v4"],
        lambda: seeded_world(0),
        world_factory,
        clock=clock,
        **options,
    )


def test_idle_instances_are_dropped_and_used_ones_kept():
    now = [1000.0]
    registry = _registry(lambda: now[0], idle_timeout=60)
    idle, used = registry.create(name="idle"), registry.create(name="used")
    now[0] += 50
    assert registry.resolve("used.localhost:8080") is used
    assert registry.get("idle") is idle
    now[0] += 20  # idle: 70 s unused; used: 20 s
    assert registry.resolve("localhost") is registry.default  # a lookup also sweeps
    assert registry.resolve("idle.localhost") is registry.default
    assert registry.resolve("used.localhost") is used
    assert [i.name for i in registry.all()] == ["default", "used"]
    with pytest.raises(Exception, match="not found"):
        registry.get("idle")
    now[0] += 3600  # the default instance is never dropped
    assert registry.evict_idle() == [used]
    assert registry.resolve("localhost") is registry.default


def test_idle_instances_make_room_under_the_cap():
    now = [0.0]
    registry = _registry(lambda: now[0], idle_timeout=60, max_instances=1, strict=True)
    registry.create(name="old")
    with pytest.raises(Exception, match="maximum of 1 instances"):
        registry.create()
    now[0] += 61
    registry.create(name="new")
    with pytest.raises(Exception, match="Instance not found") as raised:
        registry.resolve("old.localhost")
    assert raised.value.code == 5


def test_delete_by_id_or_name_and_the_default_one_stays(client, server):
    by_id, by_name = create(client, name="by-id"), create(client, name="by-name")
    assert client.delete(f"{CONTROL}/instances/{by_id['id']}").status_code == 204
    assert client.delete(f"{CONTROL}/instances/by-name").status_code == 204
    for gone in (by_id, by_name):
        response = client.get(f"{CONTROL}/instances/{gone['id']}")
        assert (response.status_code, response.json()["code"]) == (404, 5)
        assert client.delete(f"{CONTROL}/instances/{gone['name']}").status_code == 404
        # Its host reaches the default instance again; its tokens are gone with it.
        own = bearer(gone["tokens"]["instance_owner"])
        assert rest_my_org(client, {**gone["headers"], **own})[0] == 401
    default_id = server.instances.default.id
    for key in ("default", default_id):
        response = client.delete(f"{CONTROL}/instances/{key}")
        assert (response.status_code, response.json()["code"]) == (400, 3)
    listed = client.get(f"{CONTROL}/instances").json()["instances"]
    assert [(i["id"], i["name"], i["default"]) for i in listed] == [(default_id, "default", True)]


# ---- the control plane acts on the instance the host selects -------------------------------


def test_each_control_plane_call_acts_on_the_instance_of_its_host(client, server):
    ci = create(client, name="ci")
    on_ci, on_default = ci["headers"], {}

    def state(headers: dict[str, str]) -> str:
        return client.get(f"{CONTROL}/users/{USER}", headers=headers).json()["state"]

    # set state
    response = client.put(f"{CONTROL}/users/{USER}/state", json={"state": "locked"}, headers=on_ci)
    assert response.status_code == 200
    assert (state(on_ci), state(on_default)) == ("locked", "active")
    # create a resource
    org = {"id": "100000000000000001", "name": "Initech", "state": "active"}
    assert client.post(f"{CONTROL}/orgs", json=org, headers=on_ci).status_code == 201
    assert client.get(f"{CONTROL}/orgs/{org['id']}", headers=on_ci).status_code == 200
    assert client.get(f"{CONTROL}/orgs/{org['id']}", headers=on_default).status_code == 404
    # settings
    response = client.put(f"{CONTROL}/settings", json={"read_lag_ms": 1500}, headers=on_ci)
    assert response.json() == {"read_lag_ms": 1500}
    assert client.get(f"{CONTROL}/settings", headers=on_default).json() == {"read_lag_ms": 0}
    assert client.get(f"{CONTROL}/settings", headers=on_ci).json() == {"read_lag_ms": 1500}
    # world export and info: the instance's own tokens
    exported = client.get(f"{CONTROL}/world", headers=on_ci).json()
    assert {t["token"] for t in exported["tokens"]} == {t["token"] for t in ci["all_tokens"]}
    assert org["id"] in {o["id"] for o in exported["orgs"]}
    assert ADMIN in {t["token"] for t in client.get(f"{CONTROL}/world").json()["tokens"]}
    info = client.get(f"{CONTROL}/info", headers=on_ci).json()
    assert ci["tokens"]["instance_owner"] in {t["token"] for t in info["tokens"]}
    assert ADMIN not in {t["token"] for t in info["tokens"]}
    # reset: the instance back to its start, the default one keeps its change
    response = client.put(f"{CONTROL}/users/{USER}/state", json={"state": "inactive"})
    assert response.status_code == 200
    assert client.post(f"{CONTROL}/reset", headers=on_ci).status_code == 204
    assert (state(on_ci), state(on_default)) == ("active", "inactive")
    assert client.get(f"{CONTROL}/orgs/{org['id']}", headers=on_ci).status_code == 404
    assert client.get(f"{CONTROL}/settings", headers=on_ci).json() == {"read_lag_ms": 0}
    # the instance keeps its tokens and its id through a reset
    assert rest_my_org(client, {**on_ci, **bearer(ci["tokens"]["instance_owner"])})[0] == 200
    again = client.get(f"{CONTROL}/instances/ci").json()
    assert again["id"] == ci["id"] and again["world"]["instance"]["id"] == ci["id"]


def test_created_instance_describes_itself(client, server):
    ci = create(client, name="ci-42")
    assert ci["name"] == "ci-42" and ci["host"] == "ci-42.localhost"
    assert ci["base_url"] == "http://ci-42.localhost:80"  # TestClient's port
    assert ci["headers"] == {"x-zitadel-instance-host": "ci-42.localhost"}
    assert ci["grpc_target"] == "localhost:80"
    assert (ci["profile"], ci["read_lag_ms"], ci["default"]) == ("v4", 0, False)
    assert ci["id"] != server.instances.default.id
    assert {t["token"] for t in ci["all_tokens"]} >= set(ci["tokens"].values())
    assert USER in {u["id"] for u in ci["world"]["users"]}
    unnamed = [create(client), create(client)]  # one seed, two instances: each its own id
    assert len({ci["id"], *(i["id"] for i in unnamed)}) == 3
    assert [i["name"] for i in unnamed] == [f"i{i['id']}" for i in unnamed]
    listed = client.get(f"{CONTROL}/instances").json()["instances"]
    assert [i["name"] for i in listed] == ["default", "ci-42", *(i["name"] for i in unnamed)]
    assert "world" not in listed[1]


# ---- instances of other kinds --------------------------------------------------------------

INITECH = {
    "orgs": [{"id": "100000000000000001", "name": "Initech", "state": "active"}],
    "users": [
        {
            "id": "100000000000000002",
            "org": "100000000000000001",
            "user_name": "peter",
            "state": "active",
        },
        {
            "id": "100000000000000003",
            "org": "100000000000000001",
            "user_name": "milton",
            "state": "inactive",
        },
    ],
    "memberships": [
        {
            "user": "100000000000000002",
            "scope": "org",
            "id": "100000000000000001",
            "roles": ["ORG_OWNER"],
        }
    ],
    "tokens": [{"token": "peter-pat", "user": "100000000000000002"}],
}


def test_an_instance_from_a_fixtures_document(client):
    initech = create(client, name="initech", fixtures=INITECH)
    assert [o["id"] for o in initech["world"]["orgs"]] == ["100000000000000001"]
    assert [t["token"] for t in initech["all_tokens"]] == ["peter-pat"]  # kept as written
    status, body = rest_my_org(client, {**initech["headers"], **bearer("peter-pat")})
    assert (status, body["org"]["name"]) == (200, "Initech")
    response = client.post(
        "/management/v1/users/100000000000000003/_reactivate",
        json={},
        headers={**initech["headers"], **bearer("peter-pat")},
    )
    assert response.status_code == 200
    # peter-pat lives in that instance alone
    assert rest_my_org(client, bearer("peter-pat"))[0] == 401
    extended = create(client, name="extended", fixtures={**INITECH, "extend": True})
    orgs = {o["id"] for o in extended["world"]["orgs"]}
    assert {"100000000000000001", MAIN_ORG} <= orgs
    assert "peter-pat" in {t["token"] for t in extended["all_tokens"]}
    assert extended["tokens"]["instance_owner"].startswith(f"{ADMIN}-")
    own = bearer(extended["tokens"]["instance_owner"])
    assert rest_my_org(client, {**extended["headers"], **own})[1]["org"]["id"] == MAIN_ORG


def test_an_instance_with_profile_v3(client):
    v3 = create(client, name="old", profile="v3")
    assert v3["profile"] == "v3"
    user, grant = INACTIVE_GRANT
    path = f"/management/v1/users/{user}/grants/{grant}/_deactivate"
    response = client.post(
        path, json={}, headers={**v3["headers"], **bearer(v3["tokens"]["instance_owner"])}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "User grant is not active (COMMAND-1S9gx)"
    assert client.post(path, json={}, headers=bearer(ADMIN)).status_code == 200  # default: v4


def test_an_instance_with_a_read_lag(client):
    lagging = create(client, name="lagging", read_lag_ms=600_000)
    assert lagging["read_lag_ms"] == 600_000
    for headers in (lagging["headers"], {}):
        token = lagging["tokens"]["instance_owner"] if headers else ADMIN
        call = {**headers, **bearer(token)}
        assert (
            client.post(
                f"/management/v1/users/{USER}/_deactivate", json={}, headers=call
            ).status_code
            == 200
        )
        state = client.get(f"/management/v1/users/{USER}", headers=call).json()["user"]["state"]
        # Ten minutes of lag: the read still shows the user active; the default has none.
        assert state == ("USER_STATE_ACTIVE" if headers else "USER_STATE_INACTIVE")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "JSON object"),
        ("ci", "JSON object"),
        ({"nmae": "ci"}, "unknown fields ['nmae']"),
        ({"seed": "1"}, "seed must be a whole number"),
        ({"seed": True}, "seed must be a whole number"),
        ({"profile": "v5"}, "profile must be one of v4, v3"),
        ({"name": "CI_42"}, "not a DNS label"),
        ({"name": "-ci"}, "not a DNS label"),
        ({"name": "x" * 64}, "not a DNS label"),
        ({"name": 42}, "not a DNS label"),
        ({"read_lag_ms": -1}, "read_lag_ms must be a whole number"),
        ({"read_lag_ms": 1.5}, "read_lag_ms must be a whole number"),
        ({"read_lag_ms": 600_001}, "read_lag_ms must be a whole number"),
        ({"fixtures": []}, "fixture document"),
        ({"fixtures": {"users": [{"id": "1", "org": "404", "user_name": "x"}]}}, "fixtures:"),
    ],
)
def test_bad_create_bodies_are_400_envelopes(client, server, body, words):
    response = client.post(f"{CONTROL}/instances", json=body)
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["code"] == 3 and words in envelope["message"], envelope
    assert len(server.instances) == 0


def test_a_taken_name_is_409(client):
    create(client, name="ci")
    for name in ("ci", "default"):
        response = client.post(f"{CONTROL}/instances", json={"name": name})
        assert (response.status_code, response.json()["code"]) == (409, 6), name


def test_create_takes_json_only(client):
    response = client.post(
        f"{CONTROL}/instances", content=b"{}", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
