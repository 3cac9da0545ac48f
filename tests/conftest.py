"""Fixtures of the REST tests: a seeded mock reached through its ASGI app, reset per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import hypothesis
import pytest

# Under CI (CI=true and the like) Hypothesis loads its "ci" profile, which derandomizes: the
# conformance suite's stateful phase then sends about 60 % more requests per run and the fault
# corpus, thirty suites in this process, takes twice as long. These tests draw afresh on every
# run, as on a developer's machine, and keep the profile's other settings (no deadline, no
# database); the suite's own behaviour under CI is left as Hypothesis makes it.
hypothesis.settings.register_profile(
    "repository-tests", hypothesis.settings(hypothesis.settings.default, derandomize=False)
)
hypothesis.settings.load_profile("repository-tests")

# Its assert helpers then explain their failures like test code does.
pytest.register_assert_rewrite("rest_support")

from rest_support import Api, free_port  # noqa: E402

if TYPE_CHECKING:
    from mock_server.app import MockServer


# mock_server.app is imported inside the fixtures: importing it imports Starlette's TestClient,
# whose warning the filter below must already be in place for.
def pytest_configure(config: pytest.Config) -> None:
    # Warnings about the future of third-party libraries (Starlette's TestClient on httpx,
    # connexion on jsonschema's RefResolver), not about anything these tests check.
    for message in (
        "Using `httpx` with `starlette.testclient` is deprecated",
        "jsonschema.RefResolver is deprecated",
        "jsonschema.exceptions.RefResolutionError is deprecated",
    ):
        config.addinivalue_line("filterwarnings", f"ignore:{message}")


# The modules `make check` leaves out (`-m "not slow"`): end-to-end runs of real clients, of
# the README's examples, of the CLI and of the conformance suite, the fault corpus, the fuzzers,
# signals to real processes, a fresh install, a browser. Listed here, by file, so a new test in
# one of them is slow without remembering a marker; single slow tests elsewhere carry
# @pytest.mark.slow.
SLOW_MODULES = {
    "test_grpc_e2e_node.py",
    "test_readme.py",
    "test_serving.py",
    # The CLI as real processes, every scenario on three fronts, the fuzzers.
    "test_cli.py",
    "test_front_parity.py",
    "test_fuzz.py",
    "test_schemathesis_run.py",
    "test_packaging.py",
    "test_conformance_checks.py",
    "test_conformance_faults.py",
    "test_conformance_parallel.py",
    "test_conformance_plugin.py",
    "test_conformance_read_checks.py",
    "test_conformance_without_control_plane.py",
    # The gate as a real CLI: every report, the action's lines in a fresh venv, a browser.
    "test_conformance_action.py",
    "test_conformance_gate.py",
    # The benchmark's harness and the performance options drive real servers and processes.
    "test_bench_harness.py",
    "test_performance_options.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def _shared_api(profile: str) -> Api:
    from mock_server.app import create_mock

    return Api(create_mock(seed=0, profile=profile))


@pytest.fixture(scope="session")
def _api_v4() -> Api:
    return _shared_api("v4")


@pytest.fixture(scope="session")
def _api_v3() -> Api:
    return _shared_api("v3")


@pytest.fixture
def api(_api_v4: Api) -> Iterator[Api]:
    """The default mock (seed 0, profile v4, control plane on), back at its start world.

    One app serves every test and the control plane's reset restores its world, which is much
    faster than building the app each time; test_control_plane.py checks that reset is complete.
    """
    _api_v4.mock.admin.reset()
    yield _api_v4


@pytest.fixture
def api_v3(_api_v3: Api) -> Iterator[Api]:
    _api_v3.mock.admin.reset()
    yield _api_v3


@dataclass
class LiveServer:
    mock: MockServer
    url: str


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """A seeded mock served by uvicorn on a free port, in a thread of this process."""
    import uvicorn

    from mock_server.app import create_mock

    mock = create_mock(seed=0)
    port = free_port()
    config = uvicorn.Config(mock.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield LiveServer(mock, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live_api(live_server: LiveServer) -> Iterator[Api]:
    """The live server's mock, back at its start world, called over real HTTP."""
    live_server.mock.admin.reset()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield Api(live_server.mock, client)
