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


def _run_pytest_example(tmp_path, example: str) -> tuple[int, str]:
    """A README test file run by pytest as a user would, in a directory of its own."""
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
    return result.returncode, result.stdout + result.stderr


def test_readme_pytest_example_passes_as_pasted(tmp_path):
    returncode, output = _run_pytest_example(tmp_path, _python_examples()[0])
    assert returncode == 0 and "1 passed" in output, output
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


# ---- "Test controls: the journal and injected faults" ---------------------------------------

CONTROLS = "Test controls: the journal and injected faults"


def _controls_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", _section(CONTROLS), re.S)


def test_readme_controls_start_command_sets_the_faults_it_describes():
    from mock_server.app import create_mock
    from mock_server.cli import parse_args

    (line,) = [line for line in _controls_blocks("sh")[0].splitlines() if line.strip()]
    program, *argv = shlex.split(line)
    assert program == "zitadel-mock"
    args = parse_args(argv)
    faults = create_mock(faults=[args.latency, *args.fail]).instances.default.faults.to_json()
    assert [(f["rpc"], f["latency_ms"], f["code_name"], f["fraction"]) for f in faults] == [
        ("*", [100, 300], None, None),
        ("DeactivateUser", None, "UNAVAILABLE", 0.1),
    ]


def test_readme_controls_curl_examples_work_as_pasted(fresh_mock_url):
    lines = [line for line in _controls_blocks("sh")[1].splitlines() if line.startswith("curl ")]
    answers = []
    for line in lines:
        argv = shlex.split(line.replace("http://localhost:8080", fresh_mock_url))
        result = subprocess.run(
            [*argv, "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30
        )
        body, _, status = result.stdout.rpartition("\n")
        answers.append((result.returncode, int(status), json.loads(body) if body else None))
    codes = [(returncode, status) for returncode, status, _ in answers]
    # curl exits 52 on the dropped connection: "Empty reply from server"
    assert (
        codes
        == [(0, 201), (0, 503), (0, 201), (0, 201), (0, 200), (52, 0)]
        + [(0, 200)] * 3
        + [(0, 204)] * 2
    ), answers
    bodies = [body for _, _, body in answers]
    assert bodies[1]["details"][0]["id"] == "MOCK-1"
    assert bodies[1]["message"] == "try again later (MOCK-1)"
    failed = bodies[6]["calls"]
    assert [(c["rpc"], c["code"], c["injected"]) for c in failed] == [
        ("DeactivateUser", 14, True),
        ("ListUsers", 14, True),
    ]
    assert failed[0]["delay_ms"] == 0 and bodies[6]["calls"][1]["fault"] == "3"
    assert [c["rpc"] for c in bodies[7]["calls"]] == ["DeactivateUser"]
    assert [f["rpc"] for f in bodies[8]["faults"]] == ["GetMyOrg"]  # the drop was used up
    # The JSON shown is a journal record: the same fields, and these values.
    (shown,) = _controls_blocks("json")
    shown = json.loads(shown)
    assert shown.keys() == failed[0].keys()
    for key in ("rpc", "caller", "token", "org", "fields", "code", "error_id", "message"):
        assert shown[key] == failed[0][key], key
    # The user stayed active and the world holds no faults and no calls now.
    status, body = _run_curl(
        "curl http://localhost:8080/management/v1/users/282274986523091618 "
        "-H 'Authorization: Bearer admin-pat'",
        fresh_mock_url,
    )
    assert (status, body["user"]["state"]) == (200, "USER_STATE_ACTIVE")
    status, body = _run_curl("curl http://localhost:8080/_mock/v1/journal", fresh_mock_url)
    assert [c["rpc"] for c in body["calls"]] == ["GetUserByID"]


def test_readme_controls_pytest_example_passes_as_pasted(tmp_path):
    (example,) = _controls_blocks("python")
    returncode, output = _run_pytest_example(tmp_path, example)
    assert returncode == 0 and "2 passed" in output, output


def test_readme_controls_failure_message_is_what_the_assertion_says():
    from starlette.testclient import TestClient

    from mock_server import ZitadelMock

    shown = re.search(r"says:\n\n```\n(.*?)```", _section(CONTROLS), re.S).group(1)
    mock = ZitadelMock()
    instance = mock.new_instance()
    token = instance.tokens["instance_owner"]
    client = TestClient(mock.app, headers={**instance.headers, "Authorization": f"Bearer {token}"})
    with instance.inject("DeactivateUser", code="unavailable", times=1):
        for _ in range(2):
            client.post("/management/v1/users/282274986523091618/_deactivate", json={})
    with pytest.raises(AssertionError) as failure:
        instance.assert_called("DeactivateUser", times=3)
    assert f"AssertionError: {failure.value}\n" == shown


def test_readme_conformance_command_works_as_pasted(fresh_mock_url, tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Start", 1)[1].split("\n## ", 1)[0]
    lines = [
        line
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
        for line in block.splitlines()
        if line.startswith(".venv/bin/zitadel-conformance ")
    ]
    assert len(lines) == 1, "the Start section shows how to run the conformance suite"
    assert "make conformance URL=" in section
    argv = shlex.split(lines[0].replace("http://127.0.0.1:8080", fresh_mock_url))
    # .venv/bin is this interpreter's directory in a checkout set up as the README says.
    argv[0] = str(Path(sys.executable).with_name("zitadel-conformance"))
    done = subprocess.run(
        [*argv, "--examples", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: CONFORMS" in done.stdout
    assert "<table" in (tmp_path / "report.html").read_text(encoding="utf-8")
