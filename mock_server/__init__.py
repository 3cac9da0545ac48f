"""A stateful mock of ZITADEL's Management API v1 lifecycle endpoints and their reads.

``from mock_server import ZitadelMock`` runs it inside a Python process; ``zitadel-mock`` runs it
from the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.inprocess import MockInstance, ZitadelMock

__all__ = ["MockInstance", "ZitadelMock"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so importing the package (the CLI, the pytest plugin) stays light.
    if name in __all__:
        from mock_server import inprocess

        return getattr(inprocess, name)
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
