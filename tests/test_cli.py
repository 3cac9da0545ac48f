"""The ``zitadel-mock`` command as a frontend developer runs it: help, the start banner with URL,
tokens and resources, the options reaching the server, and clean failures."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from rest_support import free_port, main_org

from mock_server import cli
from mock_server.banner import BANNER_RESOURCE_ROWS, describe
from mock_server.fixtures import SEED_TOKENS, build_world, seeded_world

MOCK = [sys.executable, "-m", "mock_server"]
SCRIPT = Path(sys.executable).with_name("zitadel-mock")


@contextmanager
def running(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Start the mock, read its banner up to the end of the resource table, yield both."""
    port = free_port()
    process = subprocess.Popen(
        [*MOCK, "--port", str(port), "--no-grpc", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    try:
        deadline = time.monotonic() + 30
        in_resources = False
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the mock stopped: {process.communicate()[1]}"
            banner.append(line)
            if line == "Resources:":
                in_resources = True
            elif in_resources and line == "":
                break
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(url + "/management/v1/nothing", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the mock printed its banner but never served"
                time.sleep(0.05)
        yield url, banner
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # A clean shutdown on SIGTERM is exit status 0, so `kill $PID; wait $PID` passes `set -e`.
    stderr = process.stderr.read()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


def _section(banner: list[str], title: str) -> list[str]:
    start = next(i for i, line in enumerate(banner) if line.startswith(title))
    rows = []
    for line in banner[start + 1 :]:
        if not line:
            break
        rows.append(line)
    return rows


def test_help() -> None:
    result = subprocess.run([*MOCK, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: zitadel-mock")
    for option in ("--port", "--host", "--seed", "--fixtures", "--profile", "--no-control"):
        assert option in result.stdout
    assert "{v3,v4}" in result.stdout


def test_the_banner_shows_urls_tokens_and_every_resource() -> None:
    world = seeded_world(0)
    with running() as (url, banner):
        text = "\n".join(banner)
        assert banner[0] == "ZITADEL lifecycle mock, profile v4, seed 0"
        assert f"Management API  {url}/management/v1" in text
        assert f"Control plane   {url}/_mock/v1" in text
        assert "gRPC (HTTP/2)   off" in text
        # The printed URL really serves the API, with the printed tokens.
        response = httpx.post(
            f"{url}/management/v1/orgs/me/_deactivate",
            headers={"Authorization": f"Bearer {SEED_TOKENS.instance_owner}"},
            content=b"{}",
        )
        assert response.status_code == 200
        assert response.json()["details"]["resourceOwner"] == main_org(world)

    token_rows = _section(banner, "Tokens")
    for token in world.tokens.values():
        user = world.users[token.user_id]
        (row,) = [r for r in token_rows if r.split()[0] == token.value]
        assert user.id in row and user.org_id in row and user.user_name in row
    (admin_row,) = [r for r in token_rows if r.startswith("admin-pat ")]
    assert "IAM_OWNER on instance" in admin_row
    (nobody_row,) = [r for r in token_rows if r.startswith("no-membership-pat ")]
    assert nobody_row.endswith("no membership")

    resource_rows = [row.split() for row in _section(banner, "Resources:")[2:]]
    printed = {(row[0], row[1]): row[2] for row in resource_rows}
    expected = {}
    for kind, label in (
        ("orgs", "org"),
        ("users", "user"),
        ("actions", "action"),
        ("user_grants", "user_grant"),
    ):
        for aggregate in world.collection(kind).values():
            expected[(label, aggregate.id)] = aggregate.state.value
    for project in world.projects.values():
        expected[("project", project.id)] = "-"
    assert printed == expected
    assert banner[
        1
    ] == "  World           generated from seed 0 (3 orgs, 24 users, 3 projects; " + (
        "--fixtures FILE loads your own)"
    )
    assert f"  Control UI      {url}/_mock/v1/ui/" in banner


def test_options_reach_the_server(tmp_path) -> None:
    world = seeded_world(3)
    main = main_org(world)
    grant = next(
        g
        for g in world.user_grants.values()
        if g.resource_owner == main and g.state.value == "active"
    )
    with running("--seed", "3", "--profile", "v3", "--no-control") as (url, banner):
        assert banner[0] == "ZITADEL lifecycle mock, profile v3, seed 3"
        assert "  Control plane   off" in banner
        assert httpx.get(f"{url}/_mock/v1/info").status_code == 404
        response = httpx.post(
            f"{url}/management/v1/users/{grant.user_id}/grants/{grant.id}/_reactivate",
            headers={"Authorization": "Bearer admin-pat"},
            content=b"{}",
        )
        assert (response.status_code, response.json()["code"]) == (400, 9)
        assert response.json()["message"] == "User grant is not deactivated (COMMAND-1ML0v)"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "No such file"), ("orgs: [\n", "not a YAML document"), ("orgs: [1]\n", "orgs:")],
)
def test_a_bad_fixture_file_exits_2_with_a_message(tmp_path, content, fragment) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    command = [str(SCRIPT)] if SCRIPT.exists() else MOCK
    result = subprocess.run(
        [*command, "--fixtures", str(path), "--no-grpc", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("zitadel-mock: cannot load fixtures:")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["--profile", "v5"], ["--port", "eighty"], ["--seed", "x"]])
def test_bad_options_exit_2(capsys, args) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.parse_args(args)
    assert raised.value.code == 2
    assert "zitadel-mock: error:" in capsys.readouterr().err


def test_the_banner_names_the_fixtures_file(tmp_path) -> None:
    path = tmp_path / "initech.yaml"
    path.write_text(
        "orgs:\n  - {id: '1001', name: Initech}\n"
        "projects:\n  - {id: '1002', org: '1001', name: TPS}\n"
    )
    with running("--fixtures", str(path)) as (_, banner):
        assert banner[1] == f"  World           fixtures file {path} (1 orgs, 0 users, 1 projects)"
        rows = [row.split() for row in _section(banner, "Resources:")[2:]]
        assert ["project", "1002", "-", "1001", "(Initech)", "TPS"] in rows


def test_version() -> None:
    from importlib.metadata import version

    result = subprocess.run([*MOCK, "--version"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (
        0,
        f"zitadel-mock {version('zitadel-lifecycle-contract')}\n",
    )


@contextmanager
def _port_taken() -> Iterator[int]:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def test_a_busy_port_is_one_line_before_anything_else() -> None:
    with _port_taken() as port:
        result = subprocess.run(
            [*MOCK, "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 2
    assert result.stdout == ""  # no banner
    assert (
        result.stderr == f"zitadel-mock: port {port} is in use; use --port (0 picks any free one)\n"
    )


def test_a_busy_grpc_port_is_one_line_without_grpc_core_logs() -> None:
    with _port_taken() as port:
        result = subprocess.run(
            [*MOCK, "--port", "0", "--grpc-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"zitadel-mock: port {port} is in use; use --grpc-port (0 picks any free one)\n"
    )


def test_a_large_world_prints_a_screenful_of_resources_and_says_how_many_more() -> None:
    # 100,000 resources printed one per line took longer than loading them.
    doc = {
        "extend": True,
        "orgs": [{"id": str(10**17 + n), "name": f"Bulk {n}"} for n in range(250)],
    }
    world = build_world(0, doc)
    total = len(world.orgs) + len(world.users) + len(world.projects)
    total += len(world.actions) + len(world.user_grants)
    banner = describe(world, "http://127.0.0.1:1", "v4", True).splitlines()

    rows = _section(banner, "Resources:")[2:]
    listed = [row for row in rows if not row.startswith("...")]
    assert len(listed) == BANNER_RESOURCE_ROWS
    assert rows[-1] == (
        f"... and {total - BANNER_RESOURCE_ROWS:,} more resources "
        "(GET http://127.0.0.1:1/_mock/v1/world lists them all)"
    )
    quiet = describe(world, "http://127.0.0.1:1", "v4", False)
    assert quiet.splitlines()[-1].endswith("more resources (control plane off)")


def test_a_world_of_many_tokens_prints_a_screenful_of_them() -> None:
    users = [{"id": str(10**17 + n), "org": "o1", "user_name": f"u{n}"} for n in range(150)]
    doc = {
        "orgs": [{"id": "o1", "name": "One"}],
        "users": users,
        "tokens": [{"token": f"t{n}", "user": u["id"]} for n, u in enumerate(users)],
    }
    banner = describe(build_world(0, doc), "http://127.0.0.1:1", "v4", True).splitlines()
    rows = _section(banner, "Tokens")
    listed = [row for row in rows[3:] if not row.startswith("...")]
    assert len(listed) == BANNER_RESOURCE_ROWS
    assert rows[-1].startswith("... and 50 more tokens (GET")
