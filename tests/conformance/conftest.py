"""Fixtures for testing the conformance suite."""

import pytest
from conformance_harness import start_fault_server, stop


@pytest.fixture(scope="session")
def fault_server():
    server = start_fault_server()
    yield server
    stop(server)
