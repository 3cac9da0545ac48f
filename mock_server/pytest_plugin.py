"""pytest fixtures of the mock, active in any test run that has the package installed.

``zitadel_mock`` is one mock per test session (so one per pytest-xdist worker, whose
sessions are separate processes); ``zitadel_instance`` is a fresh isolated instance of it per
test, deleted afterwards, so tests share nothing however they are spread. Nothing is imported
or started until a test asks for one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mock_server.inprocess import MockInstance, ZitadelMock


@pytest.fixture(scope="session")
def zitadel_mock() -> Iterator[ZitadelMock]:
    """A running mock (seed 0, profile v4) on free ports, for the whole session."""
    from mock_server.inprocess import ZitadelMock

    with ZitadelMock() as mock:
        yield mock


@pytest.fixture
def zitadel_instance(zitadel_mock: ZitadelMock) -> Iterator[MockInstance]:
    """A new instance of the session's mock: its own world and tokens, gone after the test."""
    instance = zitadel_mock.new_instance()
    yield instance
    instance.delete()
