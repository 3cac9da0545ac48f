"""gRPC and gRPC-web fronts of the mock, for the official ZITADEL clients.

Both only translate: a request becomes one :meth:`LifecycleService.call`, its Details an
ObjectDetails, its ZitadelError a gRPC status with ZITADEL's ErrorDetail. The protobuf
modules under ``gen/`` are generated from ``proto/`` by
``python -m mock_server.grpc_front.generate``.
"""

from __future__ import annotations

from typing import Any

from mock_server.grpc_front.address import DEFAULT_GRPC_PORT
from mock_server.grpc_front.web import GrpcWebApp, is_grpc_web

__all__ = ["DEFAULT_GRPC_PORT", "GrpcWebApp", "create_grpc_server", "is_grpc_web"]


def __getattr__(name: str) -> Any:
    # The native gRPC server (HTTP/2, its methods) loads with its first use: gRPC-web and a
    # --no-grpc mock do without it.
    if name == "create_grpc_server":
        from mock_server.grpc_front.server import create_grpc_server

        return create_grpc_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
