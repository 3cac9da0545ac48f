"""``zitadel-mock`` starts native gRPC on the HTTP port and on its own port, on one world, and
says where."""

from __future__ import annotations

import asyncio
import re

import grpc
import pytest
from grpc_harness import ADMIN, call_grpc

from mock_server import cli, serving
from mock_server.domain.service import LifecycleService
from mock_server.fixtures import seeded_world
from mock_server.grpc_front import create_grpc_server

BANNER_GRPC = re.compile(r"^  gRPC own port\s+(\S+)$", re.MULTILINE)
BANNER_ONE_PORT = re.compile(r"^  gRPC \(HTTP/2\)\s+(\S+)$", re.MULTILINE)


@pytest.fixture
def busy_port():
    """A port another gRPC server holds for the whole test."""
    server, port = create_grpc_server(LifecycleService(seeded_world(0)), "127.0.0.1", 0)
    yield port
    server.stop(grace=None)


async def _with_grpc(fronts, while_serving, seen):
    """The gRPC fronts on a loop of their own, as serve() runs them, while the test calls."""
    for front in fronts:
        await front.open()
    try:
        return await asyncio.to_thread(while_serving, seen["banner"])
    finally:
        for front in fronts:
            await front.stop(None)


def _run(monkeypatch, capsys, argv, while_serving=None):
    """Run the CLI with serving.serve replaced: the gRPC server is up while it 'serves'."""
    seen = {"err": ""}

    def fake_serve(app, sock, **options):
        early = capsys.readouterr()
        seen["banner"], seen["err"] = early.out, early.err
        seen["options"] = options
        if while_serving is not None:
            fronts = [options["grpc_front"]] if options["grpc_front"] is not None else []
            seen["result"] = asyncio.run(_with_grpc(fronts, while_serving, seen))

    monkeypatch.setattr(serving, "serve", fake_serve)
    code = cli.main(["--port", "0", "--log-level", "warning", *argv])
    return code, seen, seen["err"] + capsys.readouterr().err


def test_grpc_serves_the_same_world_while_http_runs(monkeypatch, capsys):
    def reactivate_active_org(banner: str):
        (target,) = BANNER_GRPC.findall(banner)
        with grpc.insecure_channel(target) as channel:
            return call_grpc(channel, "ReactivateOrg", {}, ADMIN)

    code, seen, _ = _run(monkeypatch, capsys, ["--grpc-port", "0"], reactivate_active_org)
    assert code == 0
    outcome = seen["result"]
    assert (outcome.code, outcome.message) == (9, "Organisation is already active (EVENT-bfnrh)")
    assert "  gRPC-web        http://127.0.0.1:" in seen["banner"]
    (one_port,) = BANNER_ONE_PORT.findall(seen["banner"])
    assert f"http://{one_port}" in seen["banner"]  # the HTTP port itself


def test_no_grpc_starts_none(monkeypatch, capsys):
    def refuse(*_args, **_kwargs):
        raise AssertionError("--no-grpc must not create a gRPC server")

    monkeypatch.setattr("mock_server.grpc_front.server.GrpcFront.__init__", refuse)
    code, seen, _ = _run(monkeypatch, capsys, ["--no-grpc"])
    assert code == 0
    assert BANNER_GRPC.findall(seen["banner"]) == ["off"]
    assert BANNER_ONE_PORT.findall(seen["banner"]) == ["off"]
    assert seen["options"]["grpc_front"] is None


def test_explicit_busy_grpc_port_is_an_error(monkeypatch, capsys, busy_port):
    code, seen, err = _run(monkeypatch, capsys, ["--grpc-port", str(busy_port)])
    assert code == 2
    assert "banner" not in seen
    # One line, before the fixtures load; grpcio is never asked, so no C-core log line.
    assert (
        err == f"zitadel-mock: port {busy_port} is in use; use --grpc-port (0 picks any free one)\n"
    )


def test_busy_default_grpc_port_leaves_http_running(monkeypatch, capsys, busy_port):
    monkeypatch.setattr(cli, "DEFAULT_GRPC_PORT", busy_port)
    code, seen, err = _run(monkeypatch, capsys, [])
    assert code == 0
    assert BANNER_GRPC.findall(seen["banner"]) == ["off"]
    assert f"port {busy_port} is busy" in err
    assert BANNER_ONE_PORT.findall(seen["banner"]) != ["off"]  # still on the HTTP port
