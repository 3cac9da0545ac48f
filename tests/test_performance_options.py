"""What the mock does for speed and must not lose: the access log only on request, and a
collector that no longer walks what start-up built."""

from __future__ import annotations

import gc
import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

from mock_process import MANAGEMENT

from mock_server import serving
from mock_server.cli import parse_args


def _get_info(url: str) -> None:
    with urllib.request.urlopen(f"{url}/_mock/v1/info", timeout=10) as response:
        assert response.status == 200


def _served_log(*args: str) -> str:
    """Everything the mock printed at log level info around one request."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", "--no-grpc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            found = MANAGEMENT.match(line.rstrip("\n"))
            if found:
                break
        else:
            raise AssertionError("the mock printed no banner")
        _get_info(f"http://{found.group(1)}")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    return out


def test_no_access_log_by_default_and_one_line_per_request_with_the_option() -> None:
    request_line = '"GET /_mock/v1/info HTTP/1.1" 200'
    assert request_line not in _served_log()
    assert request_line in _served_log("--access-log")


def test_the_access_log_option_is_off_unless_given() -> None:
    assert parse_args([]).access_log is False
    assert parse_args(["--access-log"]).access_log is True


def test_serving_freezes_what_start_up_built(monkeypatch) -> None:
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    seen: dict[str, object] = {}

    class Recorder(serving.MockServer):
        async def serve(self, sockets=None) -> None:  # type: ignore[override]
            seen["access_log"] = self.config.access_log
            seen["frozen"] = bool(frozen)

    monkeypatch.setattr(serving, "MockServer", Recorder)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(
            target=serving.serve,
            args=(lambda scope, receive, send: None, sock),
            kwargs={"grpc_front": None},
        )
        thread.start()
        thread.join(20)
    assert seen == {"access_log": False, "frozen": True}


def test_a_json_fixture_file_reads_as_the_same_world_as_its_yaml_twin(tmp_path) -> None:
    from mock_server import fixtures

    doc = fixtures.seed_document(0)
    as_json = tmp_path / "world.json"
    as_json.write_text(json.dumps(doc, default=str), encoding="utf-8")
    as_yaml = tmp_path / "world.yaml"
    as_yaml.write_text(fixtures.dump_yaml(doc), encoding="utf-8")
    from_json = fixtures.export_document(fixtures.build_world(0, as_json))
    from_yaml = fixtures.export_document(fixtures.build_world(0, as_yaml))
    assert from_json == from_yaml
    assert len(from_json["actions"]) == len(doc["actions"]) > 0


def test_a_yaml_flow_mapping_that_is_no_json_still_loads(tmp_path) -> None:
    from mock_server import fixtures

    path = tmp_path / "flow.yaml"
    path.write_text("{orgs: [{id: '1', name: Flow}]}\n", encoding="utf-8")
    world = fixtures.build_world(0, path)
    assert [org.name for org in world.orgs.values()] == ["Flow"]


_START_UP = """
import asyncio, json, sys
import mock_server.cli
from mock_server import contract
from mock_server.app import create_mock

spec_reads = []
read = contract.load_spec
contract.load_spec = lambda *args: spec_reads.append(args) or read(*args)
mock_server.cli.parse_args(["--port", "0"])
mock = create_mock(seed=0)
at_start = sorted(
    {name.split(".")[0] for name in sys.modules} & {"connexion", "schemathesis", "faker"}
) + sorted({"importlib.metadata"} & set(sys.modules))
reads_at_start = len(spec_reads)

async def info():
    sent = []
    scope = {"type": "http", "method": "GET", "path": "/_mock/v1/info", "raw_path": b"",
             "query_string": b"", "headers": [(b"host", b"localhost")], "root_path": "",
             "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    await mock.app(scope, receive, send)
    return sent[0]["status"]

status = asyncio.run(info())
print(json.dumps({"at_start": at_start, "spec_reads": reads_at_start, "status": status,
                  "connexion_after": "connexion" in sys.modules,
                  "schemathesis_after": "schemathesis" in sys.modules}))
"""


def test_start_up_leaves_connexion_for_the_first_request_that_needs_it() -> None:
    # A fresh interpreter: what start-up imports, then what the first control call does. The
    # spec is parsed once before (the base path and the RPC table share it) and the version,
    # the installed distribution's metadata, is read only for --version.
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", _START_UP],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == {
        "at_start": [],
        "spec_reads": 1,
        "status": 200,
        "connexion_after": True,
        "schemathesis_after": False,
    }


def test_a_lazy_app_that_cannot_be_built_answers_the_envelope() -> None:
    import asyncio

    from mock_server.app import LazyApp

    def broken():
        raise RuntimeError("cannot build")

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(LazyApp(broken)({"type": "http", "path": "/x"}, receive, send))
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"]) == {"code": 13, "message": "Internal"}


def test_what_is_built_on_first_use_is_frozen_in_the_mock_s_own_process_only(monkeypatch):
    from mock_server import app, heap

    frozen: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append("frozen"))
    monkeypatch.setattr(heap, "_freezing", False)
    # In a user's process (the in-process mock, the ASGI app): nothing is frozen.
    assert app.LazyApp(lambda: "built").app == "built"
    assert frozen == []
    # In zitadel-mock's process, after start-up froze: connexion's app when it is first built.
    heap.freeze_start_up()
    assert frozen == ["frozen"]
    lazy = app.LazyApp(lambda: "built")
    assert frozen == ["frozen"]
    assert lazy.app == "built" and lazy.app == "built"
    assert frozen == ["frozen", "frozen"]  # once, when it was built
