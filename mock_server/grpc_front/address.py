"""Where native gRPC listens, without importing grpcio (which a ``--no-grpc`` mock never needs:
it is a fifth of the mock's memory)."""

from __future__ import annotations

DEFAULT_GRPC_PORT = 50051


def grpc_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{port}"
