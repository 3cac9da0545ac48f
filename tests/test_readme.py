"""The README's promises, checked as a newcomer would: its curl examples, pasted against a
freshly started mock, succeed."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _commands(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, f"the {heading} section has a sh block"
    return [line for line in block.group(1).splitlines() if line.startswith("curl ")]


def _try_it_commands() -> list[str]:
    return _commands("Try it")


def _start_mock():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_mock/v1/info", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the mock did not start within 30 s")
    return url, process


@pytest.fixture(scope="module")
def mock_url():
    url, process = _start_mock()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def fresh_mock_url():
    url, process = _start_mock()
    yield url
    process.terminate()
    process.wait(timeout=10)


def _run_curl(command: str, url: str) -> tuple[int, dict]:
    argv = shlex.split(command.replace("http://localhost:8080", url))
    result = subprocess.run(
        [*argv, "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_readme_has_a_curl_example_per_operation():
    paths = " ".join(_try_it_commands())
    for suffix in [
        "actions/182142426217625554/_deactivate",
        "actions/382054629503414923/_reactivate",
        "/_deactivate",
        "orgs/me/_deactivate",
        "orgs/me/_reactivate",
    ]:
        assert suffix in paths
    assert len(_try_it_commands()) == 8


def test_readme_curl_examples_work_as_pasted(mock_url):
    for command in _try_it_commands():
        status, body = _run_curl(command, mock_url)
        assert status == 200, (command, body)
        details = body["details"]
        assert details["sequence"].isdigit()
        assert details["resourceOwner"]


def test_readme_error_example_is_what_a_second_call_returns(mock_url):
    first = _try_it_commands()[0]
    _run_curl(first, mock_url)  # the action may or may not still be active; now it is not
    status, body = _run_curl(first, mock_url)
    readme = README.read_text(encoding="utf-8")
    shown = json.loads(re.search(r"```json\n(.*?)```", readme, re.S).group(1))
    assert (status, body) == (400, shown)


def test_readme_frontend_reads_work_as_pasted(fresh_mock_url):
    """The frontend section's reads, in order, against a mock started for them alone."""
    commands = _commands("For a frontend")
    answers = [_run_curl(command, fresh_mock_url) for command in commands]
    assert [status for status, _ in answers] == [200] * len(commands), answers
    bodies = [body for _, body in answers]
    assert bodies[0]["org"]["state"] == "ORG_STATE_ACTIVE"
    listed = bodies[1]["result"]
    assert listed and {u["state"] for u in listed} == {"USER_STATE_INACTIVE"}
    names = [u["userName"] for u in listed]
    assert names == sorted(names)
    user = bodies[2]["user"]
    assert user["state"] == "USER_STATE_ACTIVE" and "human" in user
    assert {g["userId"] for g in bodies[3]["result"]} == {user["id"]}
    assert bodies[4]["userGrant"]["userId"] == user["id"]
    assert bodies[5]["result"] and bodies[6]["action"]["id"] == "182142426217625554"
    # The toggle shows in the next read.
    after = bodies[8]["user"]
    assert after["state"] == "USER_STATE_INACTIVE"
    assert int(after["details"]["sequence"]) > int(user["details"]["sequence"])


def test_readme_settings_example_sets_the_read_lag(fresh_mock_url):
    (command,) = [line for line in _block_after("The same setting") if line.startswith("curl ")]
    status, body = _run_curl(command, fresh_mock_url)
    assert (status, body) == (200, {"read_lag_ms": 1500})


def _block_after(marker: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text.split(marker, 1)[1], re.S)
    assert block, f"a sh block follows {marker!r}"
    return block.group(1).splitlines()


# ---- "Use it in your own tests" -----------------------------------------------------------

OWN_TESTS = "Use it in your own tests"


def _section(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _section(OWN_TESTS), re.S)


def test_readme_own_tests_section_has_a_pytest_and_an_httpx_example():
    examples = _python_examples()
    assert len(examples) == 2
    pytest_example, httpx_example = examples
    assert "zitadel_instance" in pytest_example and pytest_example.startswith("# test_")
    assert "httpx.ASGITransport(app=mock.app)" in httpx_example
    assert "from mock_server import ZitadelMock" in httpx_example


def test_readme_pytest_example_passes_as_pasted(tmp_path):
    example = _python_examples()[0]
    name = example.splitlines()[0].removeprefix("# ").strip()
    (tmp_path / name).write_text(example)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of this repository's settings
    result = subprocess.run(
        # schemathesis's own plugin only costs start-up time here
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:schemathesis", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "1 passed" in output, output
    assert "warning" not in output.lower(), output


def test_readme_httpx_example_runs_as_pasted(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_python_examples()[1])
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    url, status, sequence = result.stdout.split()
    assert url.startswith("http://127.0.0.1:") and status == "200" and sequence.isdigit()


def test_readme_instance_curl_examples_work_as_pasted(fresh_mock_url):
    """The block runs as one shell script, as pasted, with only the port changed; each curl
    reports its status after its body."""
    port = fresh_mock_url.rsplit(":", 1)[1]
    block = re.search(r"```sh\n(.*?)```", _section(OWN_TESTS), re.S).group(1)
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("curl -X POST http://localhost:8080/_mock/v1/instances")
    assert any("http://ci-42.localhost:8080/management/v1/" in line for line in lines)
    script = "\n".join(
        f"{line} -sS -w '\\n@@%{{http_code}}@@\\n'" if line.startswith("curl ") else line
        for line in block.replace(":8080", f":{port}").splitlines()
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answers = re.findall(r"(.*?)\n@@(\d{3})@@\n", result.stdout, re.S)
    statuses = [int(status) for _, status in answers]
    assert statuses == [201, 200, 200, 200, 204, 200, 204], answers
    bodies = [json.loads(body) if body.strip() else None for body, _ in answers]
    created = bodies[0]
    assert created["name"] == "ci-42" and created["base_url"] == f"http://ci-42.localhost:{port}"
    assert created["tokens"]["instance_owner"].startswith("admin-pat-")
    assert bodies[2]["user"]["state"] == "USER_STATE_INACTIVE"  # on ci-42's own host
    assert bodies[3]["user"]["state"] == "USER_STATE_INACTIVE"  # the same, by header
    assert [i["name"] for i in bodies[5]["instances"]] == ["default", "ci-42"]
    # ci-42 was reset, the default instance never touched: the user is active in both
    status, body = _run_curl(
        "curl http://localhost:8080/management/v1/users/282274986523091618 "
        "-H 'Authorization: Bearer admin-pat'",
        fresh_mock_url,
    )
    assert (status, body["user"]["state"]) == (200, "USER_STATE_ACTIVE")
    status, body = _run_curl("curl http://localhost:8080/_mock/v1/instances", fresh_mock_url)
    assert [i["name"] for i in body["instances"]] == ["default"]
