"""Helpers for testing the conformance suite: the fault server's process and in-process runs.

A module of its own (not conftest) so that tests and scripts import it by a unique name."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from conformance import cli, provisioning
from conformance.matrix import Matrix
from conformance.plugin import results_of

SERVER_SCRIPT = Path(__file__).resolve().parent / "conformance_fault_server.py"
# Small but real: every part of the suite runs, generated traffic included.
FAST_EXAMPLES = "6"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class FaultServer:
    url: str
    process: subprocess.Popen

    def set_mode(self, mode: str | None) -> None:
        request = urllib.request.Request(
            f"{self.url}/_fault", data=json.dumps({"mode": mode}).encode(), method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["mode"] == mode


def start_fault_server() -> FaultServer:
    """The fault server in its own process, ready to take requests."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = FaultServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.set_mode(None)
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stderr = process.stderr.read().decode()
                raise RuntimeError(f"fault server did not start: {stderr}") from None
            time.sleep(0.1)


def stop(server: FaultServer) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)


class _Results:
    matrix: Matrix | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.matrix = results_of(session.config)


@dataclass
class Run:
    exit_code: int
    matrix: Matrix

    def failed_rules(self) -> dict[str, set[str]]:
        """rule -> the columns in which it was reported."""
        found: dict[str, set[str]] = {}
        for (_, column), cell in self.matrix.cells.items():
            for rule, _ in cell.failures:
                found.setdefault(rule, set()).add(column)
        return found

    def failed_columns(self) -> set[str]:
        return {column for (_, column), cell in self.matrix.cells.items() if cell.state == "FAIL"}


def run_suite(url: str, *args: str) -> Run:
    """The suite exactly as ``zitadel-conformance`` runs it, in this process."""
    results = _Results()
    exit_code = cli.main([url, "--examples", FAST_EXAMPLES, *args], plugins=[results])
    assert results.matrix is not None, "the suite did not run"
    return Run(exit_code, results.matrix)


# -- a target without control plane -------------------------------------------------------------

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
    "content-length",
    "accept-encoding",
    "content-encoding",
}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: otherwise Nagle and delayed ACKs add ~40 ms to
    # every keep-alive exchange.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    server: _ProxyServer

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        hidden = self.path.startswith(provisioning.CONTROL_PREFIX.rsplit("/", 1)[0])
        if hidden and self.server.hide_control:
            self._answer(404, [("content-type", "text/plain")], b"404 page not found\n")
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        agent = self.headers.get("user-agent", "")
        watched = self.server.watched(self.path, self.headers.get("x-zitadel-orgid"))
        if watched:
            self.server.begin_write(self.path, agent)
        try:
            reply = self.server.client.request(
                self.command, self.server.upstream + self.path, headers=headers, content=body
            )
        finally:
            if watched:
                self.server.end_write(agent)
        self.server.record(
            Seen(
                self.command,
                self.path,
                self.headers.get("x-zitadel-instance-host"),
                agent,
                self.headers.get("authorization"),
                reply.status_code,
            )
        )
        kept = [(k, v) for k, v in reply.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        self._answer(reply.status_code, kept, reply.content)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Seen:
    """One request the proxy passed on, and the status it got."""

    method: str
    path: str
    instance: str | None  # the x-zitadel-instance-host header
    agent: str  # the User-Agent: the suite names its xdist worker there
    authorization: str | None
    status: int


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    client: httpx.Client
    hide_control: bool
    watch: set[str]  # resource ids whose writes must never overlap between callers

    def setup_log(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def watched(self, path: str, org: str | None) -> bool:
        if not path.endswith(("/_deactivate", "/_reactivate")):
            return False
        parts = set(path.split("/"))
        return bool(parts & self.watch) or ("orgs" in parts and org in self.watch)

    def begin_write(self, path: str, agent: str) -> None:
        with self.lock:
            others = sorted(a for a, n in self.in_flight.items() if n and a != agent)
            if others:
                self.overlaps.append(f"{agent} wrote {path} while {others} were writing")
            self.in_flight[agent] = self.in_flight.get(agent, 0) + 1

    def end_write(self, agent: str) -> None:
        with self.lock:
            self.in_flight[agent] -= 1


class HidingProxy:
    """A reverse proxy to ``upstream`` that answers 404 for ``/_mock/*``, as a ZITADEL would:
    the suite behind it sees a target without control plane. With ``hide_control=False`` it
    passes the control plane on too and only records.

    It records what passed (``seen``) and, for writes to the resource ids in ``watch``, every
    write that arrived while another caller (User-Agent) had one in flight (``overlaps``)."""

    def __init__(
        self, upstream: str, *, hide_control: bool = True, watch: set[str] | None = None
    ) -> None:
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.upstream = upstream.rstrip("/")
        self._server.client = httpx.Client(timeout=30)
        self._server.hide_control = hide_control
        self._server.watch = set(watch or ())
        self._server.setup_log()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def seen(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    @property
    def overlaps(self) -> list[str]:
        with self._server.lock:
            return list(self._server.overlaps)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HidingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.client.close()
        self._thread.join(timeout=10)


def resources_file(control_url: str, path: Path) -> list[str]:
    """Provision the suite's resources through the control plane at ``control_url`` and write
    them to a resources file at ``path``, as an operator of a real instance would list theirs;
    the suite arguments that use it (``--token``, ``--resources``)."""
    with httpx.Client(timeout=10) as client:
        mock = provisioning.discover_mock(control_url, client)
        assert mock is not None, f"no control plane at {control_url}"
        found = provisioning.provision_on_mock(mock, None)
    refs = {kind: found.first(kind) for kind in ("action", "user", "user_grant")}
    grant = refs["user_grant"]
    document = {
        "org": found.org,
        "other_org": found.other_org,
        "actions": [refs["action"].id],
        "users": [refs["user"].id],
        "user_grants": [{"user": grant.params["user_id"], "grant": grant.id}],
        "tokens": dict(found.tokens),
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert found.caller_token is not None
    return ["--token", found.caller_token, "--resources", str(path)]
