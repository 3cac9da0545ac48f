"""Native gRPC loads nothing it does not use: the mock never imports grpcio to serve
ManagementService (its own HTTP/2 front, mock_server/grpc_front/http2.py, which loads with
the first gRPC connection); reflection and health, which grpcio's packages bring, load with
their first call. The first gRPC calls (several at once) all get answers.

Run in a fresh interpreter: this test process has grpcio loaded already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    from mock_server import ZitadelMock

    STANDARD = "mock_server.grpc_front.standard_services"
    seen = {}
    with ZitadelMock() as mock:
        seen["idle"] = "grpc" in sys.modules
        seen["idle_http2"] = "mock_server.grpc_front.http2" in sys.modules
        owner = {"Authorization": "Bearer " + mock.tokens["instance_owner"]}
        rest = mock.client(headers=owner).get("/management/v1/orgs/me")
        seen["rest"] = rest.status_code
        seen["after_rest"] = "grpc" in sys.modules
        import grpc  # the client's, as a user's test imports it
        from mock_server.grpc_front.codec import request_class
        from mock_server.messages import response_class

        answers = []

        def my_org():
            with grpc.insecure_channel(mock.grpc_target) as channel:
                method = channel.unary_unary(
                    "/zitadel.management.v1.ManagementService/GetMyOrg",
                    request_serializer=lambda message: message.SerializeToString(),
                    response_deserializer=response_class("GetMyOrg").FromString,
                )
                metadata = (("authorization", "Bearer " + mock.tokens["instance_owner"]),)
                answers.append(method(request_class("GetMyOrg")(), metadata=metadata,
                                      timeout=10).org.id)

        callers = [threading.Thread(target=my_org) for _ in range(4)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        seen["answers"] = answers
        seen["after_grpc"] = STANDARD in sys.modules
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        with grpc.insecure_channel(mock.grpc_target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            seen["health"] = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        seen["after_health"] = STANDARD in sys.modules
    print(json.dumps(seen))
    """
)


def test_native_grpc_loads_only_what_it_serves():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["idle"] is False  # no grpcio at start-up
    assert seen["idle_http2"] is False  # nor the HTTP/2 code, until a gRPC connection
    assert (seen["rest"], seen["after_rest"]) == (200, False)
    answers = seen["answers"]
    assert len(answers) == 4 and len(set(answers)) == 1 and answers[0].isdigit()
    assert seen["after_grpc"] is False  # ManagementService needs no reflection or health
    assert (seen["health"], seen["after_health"]) == (1, True)  # SERVING
