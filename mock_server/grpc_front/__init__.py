"""gRPC and gRPC-web fronts of the mock, for the official ZITADEL clients.

Both only translate: a request becomes one :meth:`LifecycleService.call`, its Details an
ObjectDetails, its ZitadelError a gRPC status with ZITADEL's ErrorDetail. The protobuf
modules under ``gen/`` are generated from ``proto/`` by
``python -m mock_server.grpc_front.generate``.
"""

from mock_server.grpc_front.server import DEFAULT_GRPC_PORT, create_grpc_server
from mock_server.grpc_front.web import GrpcWebApp, is_grpc_web

__all__ = ["DEFAULT_GRPC_PORT", "GrpcWebApp", "create_grpc_server", "is_grpc_web"]
