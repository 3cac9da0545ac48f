"""The mock inside a Python process, as a user's test suite runs it: ``ZitadelMock`` started and
stopped on free ports, its attributes, new instances, the ASGI app without a socket, the pytest
fixtures of the plugin, and a generated suite under ``pytest -n 4`` taking 200 instances."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import httpx
import pytest

from mock_server import MockInstance, ZitadelMock
from mock_server.fixtures import SEED_TOKENS
from mock_server.grpc_front.codec import request_class
from mock_server.messages import response_class

USER = "282274986523091618"  # active human of the main org (seed 0)
MAIN_ORG = "322078799564244941"
ADMIN = SEED_TOKENS.instance_owner
PRINCIPAL_TOKENS = {
    "instance_owner": "admin-pat",
    "org_owner": "org-owner-pat",
    "user_manager": "user-manager-pat",
    "project_owner": "project-owner-pat",
    "no_membership": "no-membership-pat",
    "second_org_owner": "second-org-owner-pat",
    "inactive_org_owner": "inactive-org-owner-pat",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def native_my_org(target: str, metadata: dict[str, str]) -> str:
    """GetMyOrg over native gRPC: the org's id."""
    with grpc.insecure_channel(target) as channel:
        method = channel.unary_unary(
            "/zitadel.management.v1.ManagementService/GetMyOrg",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class("GetMyOrg").FromString,
        )
        return method(
            request_class("GetMyOrg")(), metadata=tuple(metadata.items()), timeout=10
        ).org.id


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# ---- start and stop --------------------------------------------------------------------------


def test_start_and_stop_fail_loudly_in_the_wrong_state_and_free_the_port():
    mock = ZitadelMock()
    with pytest.raises(RuntimeError, match="not started"):
        mock.url  # noqa: B018
    mock.start()
    try:
        port = mock.port
        assert port > 0 and not refuses(port)
        assert (
            httpx.get(f"{mock.url}/management/v1/orgs/me", headers=bearer(ADMIN)).status_code == 200
        )
        with pytest.raises(RuntimeError, match="already started"):
            mock.start()
    finally:
        mock.stop()
    mock.stop()  # a second stop is a no-op
    assert refuses(port)
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again


def test_the_running_mock(tmp_path: Path):
    with ZitadelMock() as mock:
        assert mock.url == f"http://127.0.0.1:{mock.port}"
        assert mock.grpc_target == f"127.0.0.1:{mock.port}"
        assert mock.tokens == PRINCIPAL_TOKENS
        assert mock.world.users[USER].state.value == "active"
        with mock.client(headers=bearer(ADMIN)) as client:
            response = client.post(f"/management/v1/users/{USER}/_deactivate", json={})
            assert response.status_code == 200
        with mock.world.lock:
            assert mock.world.users[USER].state.value == "inactive"
        assert native_my_org(mock.grpc_target, {"authorization": f"Bearer {ADMIN}"}) == MAIN_ORG
        mock.reset()
        assert mock.world.users[USER].state.value == "active"


def test_options_of_the_mock(tmp_path: Path):
    document = {
        "orgs": [{"id": "100000000000000001", "name": "Initech", "state": "active"}],
        "users": [
            {
                "id": "100000000000000002",
                "org": "100000000000000001",
                "user_name": "peter",
                "state": "active",
            }
        ],
        "tokens": [{"token": "peter-pat", "user": "100000000000000002"}],
    }
    path = tmp_path / "world.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    for fixtures in (document, path, str(path)):
        mock = ZitadelMock(fixtures=fixtures)
        assert list(mock.world.orgs) == ["100000000000000001"]
        assert [t.value for t in mock.world.tokens.values()] == ["peter-pat"]
    mock = ZitadelMock(seed=7, profile="v3", read_lag=1.5, grpc=False)
    assert mock.world.seed == 7 and mock.world.read_lag == 1.5
    assert mock.server.instances.default.profile.name == "v3"
    with pytest.raises(RuntimeError, match="grpc=False"):
        mock.grpc_target  # noqa: B018


# ---- instances ---------------------------------------------------------------------------


def test_new_instance(zitadel_mock: ZitadelMock):
    mock = zitadel_mock
    instance = mock.new_instance(name="inproc-1", profile="v3")
    assert isinstance(instance, MockInstance)
    try:
        assert (instance.name, instance.host) == ("inproc-1", "inproc-1.localhost")
        assert instance.url == f"http://inproc-1.localhost:{mock.port}"
        assert instance.headers == {"x-zitadel-instance-host": "inproc-1.localhost"}
        assert instance.grpc_target == mock.grpc_target
        assert instance.grpc_metadata == (("x-zitadel-instance-host", "inproc-1.localhost"),)
        assert instance.tokens.keys() == PRINCIPAL_TOKENS.keys()
        assert all(
            token.startswith(f"{PRINCIPAL_TOKENS[who]}-") for who, token in instance.tokens.items()
        )
        assert instance.world is not mock.world
        token = instance.tokens["instance_owner"]
        # Its URL as curl (and browsers) resolve it: *.localhost is loopback.
        result = subprocess.run(
            [
                "curl",
                "-sS",
                f"{instance.url}/management/v1/orgs/me",
                "-H",
                f"Authorization: Bearer {token}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert json.loads(result.stdout)["org"]["id"] == MAIN_ORG, result.stderr
        with instance.client(headers=bearer(token)) as client:
            assert (
                client.post(f"/management/v1/users/{USER}/_deactivate", json={}).status_code == 200
            )
        metadata = {**dict(instance.grpc_metadata), "authorization": f"Bearer {token}"}
        assert native_my_org(instance.grpc_target, metadata) == MAIN_ORG
        assert instance.world.users[USER].state.value == "inactive"
        assert mock.world.users[USER].state.value == "active"
        instance.reset()
        assert instance.world.users[USER].state.value == "active"
    finally:
        instance.delete()
    with mock.client(headers={**instance.headers, **bearer(token)}) as client:
        assert client.get("/management/v1/orgs/me").status_code == 401  # gone with its instance
    instance.delete()  # gone already: nothing to do
    mock.default.delete()  # the default instance stays
    assert mock.server.instances.default.world is mock.world


def test_the_fixtures_of_the_plugin(zitadel_mock: ZitadelMock, zitadel_instance: MockInstance):
    assert zitadel_instance.instance in zitadel_mock.server.instances.all()
    assert not zitadel_instance.instance.is_default
    with zitadel_instance.client(headers=bearer(zitadel_instance.tokens["instance_owner"])) as c:
        assert c.get("/management/v1/orgs/me").json()["org"]["id"] == MAIN_ORG


# ---- the ASGI app, no socket -------------------------------------------------------------


def test_the_asgi_app_serves_without_a_socket():
    mock = ZitadelMock()
    instance = mock.new_instance()

    async def calls() -> tuple[int, int, int]:
        transport = httpx.ASGITransport(app=mock.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            default = await client.get("/management/v1/orgs/me", headers=bearer(ADMIN))
            headers = {**instance.headers, **bearer(instance.tokens["instance_owner"])}
            toggled = await client.post(
                f"/management/v1/users/{USER}/_deactivate", json={}, headers=headers
            )
            foreign = await client.get(
                "/management/v1/orgs/me", headers={**instance.headers, **bearer(ADMIN)}
            )
            return default.status_code, toggled.status_code, foreign.status_code

    assert asyncio.run(calls()) == (200, 200, 401)
    assert instance.world.users[USER].state.value == "inactive"
    assert mock.world.users[USER].state.value == "active"
    with pytest.raises(RuntimeError, match="not started"):
        mock.port  # noqa: B018


def test_no_warning_reaches_the_caller(tmp_path: Path):
    """Every warning an error, in a fresh interpreter: importing, starting, calling (HTTP, gRPC,
    ASGI) and stopping the mock must stay silent."""
    script = tmp_path / "use_the_mock.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            import warnings

            import grpc
            import httpx

            from mock_server import ZitadelMock

            warnings.simplefilter("error")
            with ZitadelMock() as mock:
                instance = mock.new_instance()
                token = instance.tokens["instance_owner"]
                with instance.client(headers={{"Authorization": "Bearer " + token}}) as c:
                    answer = c.post("/management/v1/users/{USER}/_deactivate", json={{}})
                    assert answer.status_code == 200
                with grpc.insecure_channel(mock.grpc_target) as channel:
                    grpc.channel_ready_future(channel).result(timeout=10)
                instance.delete()

            async def main():
                transport = httpx.ASGITransport(app=ZitadelMock().app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                    admin = {{"Authorization": "Bearer admin-pat"}}
                    r = await c.get("/management/v1/orgs/me", headers=admin)
                    assert r.status_code == 200

            asyncio.run(main())
            print("ok")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


# ---- a user's suite under pytest -n 4 ----------------------------------------------------

GENERATED_HEAD = """
import os
from pathlib import Path

TARGETS = [  # what each test toggles: the same ids in every instance of seed 0
    ("users", "282274986523091618", "/management/v1/users/282274986523091618/_deactivate"),
    ("actions", "182142426217625554", "/management/v1/actions/182142426217625554/_deactivate"),
    ("user_grants", "273772242665813777",
     "/management/v1/users/282274986523091618/grants/273772242665813777/_deactivate"),
]


def check(zitadel_mock, instance, n):
    # Alone in this worker: the previous test's instance was deleted at its teardown.
    assert len(zitadel_mock.server.instances) == 1
    kind, rid, path = TARGETS[n % 3]
    fresh = getattr(instance.world, kind)[rid]
    start = fresh.sequence
    assert fresh.state.value == "active"  # no other test's toggle reached this instance
    token = instance.tokens["instance_owner"]
    with instance.client(headers={"Authorization": "Bearer " + token}) as c:
        answer = c.post(path, json={})
    assert answer.status_code == 200, answer.text
    assert int(answer.json()["details"]["sequence"]) == start + 1
    assert getattr(instance.world, kind)[rid].state.value == "inactive"
    assert getattr(zitadel_mock.world, kind)[rid].state.value == "active"
    out = Path(os.environ["INSTANCES_OUT"]) / f"{n}.json"
    out.write_text(instance.id + " " + instance.tokens["instance_owner"])
    if n % 50 == 0:
        instance.delete()  # the fixture's teardown copes with an instance already gone
"""


@pytest.mark.slow
def test_a_generated_suite_under_xdist_takes_200_instances(tmp_path: Path):
    tests = [
        f"def test_{n}(zitadel_mock, zitadel_instance):\n"
        f"    check(zitadel_mock, zitadel_instance, {n})\n"
        for n in range(200)
    ]
    (tmp_path / "test_generated.py").write_text(GENERATED_HEAD + "\n\n" + "\n\n".join(tests))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the rootdir: none of this repo's config
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "4",
            "-q",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            # schemathesis (a dependency) registers a plugin of its own whose import costs
            # seconds in each of the five processes; nothing here uses it.
            "-p",
            "no:schemathesis",
            "test_generated.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**_env(), "INSTANCES_OUT": str(out)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "200 passed" in output and "warning" not in output.lower(), output
    seen = [path.read_text().split() for path in out.iterdir()]
    assert len(seen) == 200
    assert len({instance_id for instance_id, _ in seen}) == 200
    assert len({token for _, token in seen}) == 200


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env
