"""``schemathesis run`` with every check and every phase, stateful included, against the mock
started as its users start it: the spec and the mock must agree on everything schemathesis
knows how to ask."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rest_support import free_port
from zitadel_lifecycle_openapi import MANAGEMENT_SPEC

from mock_server import contract

TESTS_DIR = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def mock_process() -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_server",
            "--port",
            str(port),
            "--no-grpc",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/_mock/v1/info", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the mock did not start: {process.communicate()[1]}")
            time.sleep(0.1)
    yield url, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def _sequences(url: str) -> dict[str, int]:
    world = httpx.get(f"{url}/_mock/v1/world").json()
    return {
        entry["id"]: entry["sequence"]
        for kind in ("orgs", "users", "actions", "user_grants")
        for entry in world[kind]
    }


def _operation_ids(read: bool) -> list[str]:
    args = []
    for rpc in contract.rpcs().values():
        if rpc.is_read is read:
            args += ["--include-operation-id", rpc.operation_id]
    return args


def _run(url: str, tmp_path: Path, phases: str, operations: list[str]) -> str:
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "run",
        str(MANAGEMENT_SPEC),
        "--url",
        f"{url}/management/v1",
        "-H",
        "Authorization: Bearer admin-pat",
        "--checks",
        "all",
        # Replaced by narrower versions in st_mock_hooks.py, which explains why: ZITADEL answers
        # state preconditions with 400 and sends no Allow header with its 405.
        "--exclude-checks",
        "positive_data_acceptance,unsupported_method",
        "--phases",
        phases,
        *operations,
        "--max-examples",
        "30",
        # A fixed seed and one worker keep the run reproducible; the hooks already steer it to
        # real resources.
        "--seed",
        "42",
        "--workers",
        "1",
        "--generation-database",
        "none",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "st_mock_hooks",
        "ZITADEL_MOCK_URL": url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
    }
    # tmp_path as the working directory: nothing schemathesis writes lands in the repository.
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    summary = output[output.find("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    print(summary)
    assert result.returncode == 0, output
    assert "No issues found" in output, output
    for phase in phases.split(","):
        assert f"✅ {phase.title()}" in output, f"phase {phase} did not run and pass:\n{output}"
    return output


def test_schemathesis_run_finds_no_failure(mock_process, tmp_path) -> None:
    url, process = mock_process
    before = _sequences(url)
    _run(url, tmp_path, "examples,coverage,fuzzing,stateful", _operation_ids(read=False))

    # The run reached the commands, not only the 404 of made-up ids.
    after = _sequences(url)
    changed = {resource for resource, sequence in after.items() if sequence != before[resource]}
    world = httpx.get(f"{url}/_mock/v1/world").json()
    kinds_changed = {
        kind
        for kind in ("orgs", "users", "actions", "user_grants")
        if changed & {entry["id"] for entry in world[kind]}
    }
    assert kinds_changed == {"orgs", "users", "actions", "user_grants"}, kinds_changed

    # Whatever schemathesis sent, the mock never hit an unhandled error (it would log one).
    assert process.poll() is None, "the mock died"
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr, stderr
    assert "unhandled error" not in stderr, stderr


def test_schemathesis_run_on_the_reads_finds_no_failure(mock_process, tmp_path) -> None:
    """The reads, with every check. The coverage phase is left out: on the recursive query
    schemas of the lists it draws thousands of cases, minutes of run for little more."""
    url, process = mock_process
    output = _run(url, tmp_path, "examples,fuzzing", _operation_ids(read=True))
    assert "Selected: 7/15" in output, output
    assert process.poll() is None, "the mock died"
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr, stderr
    assert "unhandled error" not in stderr, stderr
