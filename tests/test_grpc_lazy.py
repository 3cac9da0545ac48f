"""Native gRPC starts at its first connection: an idle mock, or one only called over REST,
never loads grpcio or its server; the first gRPC calls (several at once) all get answers.

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

    SERVER = "mock_server.grpc_front.server"
    seen = {}
    with ZitadelMock() as mock:
        seen["idle"] = SERVER in sys.modules or "grpc" in sys.modules
        owner = {"Authorization": "Bearer " + mock.tokens["instance_owner"]}
        rest = mock.client(headers=owner).get("/management/v1/orgs/me")
        seen["rest"] = rest.status_code
        seen["after_rest"] = SERVER in sys.modules
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
        seen["after_grpc"] = SERVER in sys.modules
    print(json.dumps(seen))
    """
)


def test_grpc_server_starts_at_the_first_grpc_connection():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["idle"] is False  # neither grpcio nor our server module at start-up
    assert (seen["rest"], seen["after_rest"]) == (200, False)
    answers = seen["answers"]
    assert len(answers) == 4 and len(set(answers)) == 1 and answers[0].isdigit()
    assert seen["after_grpc"] is True
