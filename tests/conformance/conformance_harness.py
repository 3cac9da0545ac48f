"""Helpers for testing the conformance suite: the fault server's process and in-process runs.

A module of its own (not conftest) so that tests and scripts import it by a unique name."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import cli
from conformance.matrix import Matrix
from conformance.plugin import results_of

SERVER_SCRIPT = Path(__file__).resolve().parent / "conformance_fault_server.py"
# Small but real: every part of the suite runs, generated traffic included.
FAST_EXAMPLES = "6"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class FaultServer:
    url: str
    process: subprocess.Popen

    def set_mode(self, mode: str | None) -> None:
        request = urllib.request.Request(
            f"{self.url}/_fault", data=json.dumps({"mode": mode}).encode(), method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["mode"] == mode


def start_fault_server() -> FaultServer:
    """The fault server in its own process, ready to take requests."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = FaultServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.set_mode(None)
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stderr = process.stderr.read().decode()
                raise RuntimeError(f"fault server did not start: {stderr}") from None
            time.sleep(0.1)


def stop(server: FaultServer) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)


class _Results:
    matrix: Matrix | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.matrix = results_of(session.config)


@dataclass
class Run:
    exit_code: int
    matrix: Matrix

    def failed_rules(self) -> dict[str, set[str]]:
        """rule -> the columns in which it was reported."""
        found: dict[str, set[str]] = {}
        for (_, column), cell in self.matrix.cells.items():
            for rule, _ in cell.failures:
                found.setdefault(rule, set()).add(column)
        return found

    def failed_columns(self) -> set[str]:
        return {column for (_, column), cell in self.matrix.cells.items() if cell.state == "FAIL"}


def run_suite(url: str, *args: str) -> Run:
    """The suite exactly as ``zitadel-conformance`` runs it, in this process."""
    results = _Results()
    exit_code = cli.main([url, "--examples", FAST_EXAMPLES, *args], plugins=[results])
    assert results.matrix is not None, "the suite did not run"
    return Run(exit_code, results.matrix)
