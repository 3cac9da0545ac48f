"""Shared by the journal and fault tests: calls on one instance, in-process over REST and
gRPC-web (Starlette's TestClient) and over native gRPC against a running mock."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_harness import SERVICE_PATH, grpc_web_body, grpc_web_headers
from starlette.testclient import TestClient

from mock_server import ZitadelMock
from mock_server.grpc_front.codec import request_class
from mock_server.inprocess import MockInstance
from mock_server.messages import response_class


class Client:
    """TestClient calls on one instance, as its instance owner unless told otherwise."""

    def __init__(self, mock: ZitadelMock, instance: MockInstance) -> None:
        self.http = TestClient(mock.app, headers=instance.headers)
        self.token = instance.tokens["instance_owner"]
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: object = None, **headers: str):
        return self.http.post(path, json={} if body is None else body, headers=self._h(headers))

    def get(self, path: str, **headers: str):
        return self.http.get(path, headers=self._h(headers))

    def web(self, rpc: str, fields: dict[str, str]):
        """A gRPC-web call, framed by hand (grpc_harness.grpc_web_outcome decodes it)."""
        body = grpc_web_body(rpc, fields)
        return self.http.post(
            SERVICE_PATH + rpc, content=body, headers=grpc_web_headers(self.token, None)
        )

    def _h(self, headers: dict[str, str]) -> dict[str, str]:
        return {**self.auth, **{k.replace("_", "-"): v for k, v in headers.items()}}


def grpc_call(
    channel: grpc.Channel, instance: MockInstance, rpc: str, fields: dict[str, Any]
) -> Any:
    """A native gRPC call on ``instance`` as its instance owner; raises grpc.RpcError."""
    method = channel.unary_unary(
        SERVICE_PATH + rpc,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_class(rpc).FromString,
    )
    token = instance.tokens["instance_owner"]
    metadata = [("authorization", f"Bearer {token}"), *instance.grpc_metadata]
    return method(request_class(rpc)(**fields), metadata=metadata, timeout=10)
