"""Side by side: the mock, Prism on the same spec, and plain Starlette (the Python limit).

Run: .venv/bin/python bench/bench_side_by_side.py [--quick] [--duration S] [--repetitions N]
     [--concurrency 1,16,64] [--targets mock,prism,starlette] [--workloads toggle,unauth,read]
     [--world-sizes 1000,10000,100000] [--generator auto|wrk|python] [--no-install]

It installs Prism (npm ``@stoplight/prism-cli``, pinned) once into a cache outside the repo
(``${XDG_CACHE_HOME:-~/.cache}/zitadel-lifecycle-contract/``), starts the three servers on free
ports of 127.0.0.1 and drives them in alternating blocks (mock, Prism, Starlette, mock, ...), so
a burst of load from elsewhere on the machine hits every target alike; each figure is the median
over the repetitions. The load comes from wrk when it is installed (``apt-get install -y wrk``),
else from the asyncio generator in this file. Three workloads:

- ``toggle``: DeactivateAction, DeactivateAction, ReactivateAction, ReactivateAction on one
  action with the instance owner's token, so the mock answers half 200 and half 400 (Prism,
  which keeps no state, answers 200 to all);
- ``unauth``: DeactivateAction without an Authorization header (401 on both);
- ``read``: GetAction with the token (Prism answers from the spec's example).

The same three go to the mock's other fronts (only it speaks them): ``web-*`` over gRPC-web
(binary protobuf, the HTTP/1.1 generator reads the gRPC status from the trailers) and
``grpc-*`` over native gRPC from h2load (``apt-get install -y nghttp2-client``), whose codes
come from the mock's journal since h2load cannot read trailers.

Server CPU per request is the utime+stime the server's process tree spent over a block (from
/proc), divided by the requests answered in it. Then start-up time to the first answer and idle
RSS for the mock and Prism, and the mock's cost against the size of its world (fixture files of
1k, 10k and 100k resources). A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi" / "management.yaml"
# The release the issue measured; pinned so that figures compare from run to run.
PRISM_VERSION = "5.16.0"
PRISM_PACKAGE = "@stoplight/prism-cli"
MANAGEMENT = "/management/v1"
# The seeded world's instance owner (mock_server.fixtures.SEED_TOKENS): IAM_OWNER, every org.
TOKEN = "admin-pat"
HOST = "127.0.0.1"
# The same three over gRPC-web (binary protobuf, as @zitadel/client/web sends it) and native
# gRPC (HTTP/2, as @zitadel/node): only the mock speaks them, so they compare its fronts.
REST_WORKLOADS = ("toggle", "unauth", "read")
WORKLOADS = (
    *REST_WORKLOADS,
    *(f"web-{name}" for name in REST_WORKLOADS),
    *(f"grpc-{name}" for name in REST_WORKLOADS),
)
SERVICE = "/zitadel.management.v1.ManagementService"
TARGETS = ("mock", "prism", "starlette")
# How long a server may take to answer its first request; a 100k-resource world loads slowly.
START_TIMEOUT = 600.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zitadel-lifecycle-contract"


# --- Prism -------------------------------------------------------------------------------------


def prism_binary(install: bool = True) -> Path | None:
    """Prism's executable in the cache, installed there with npm on first use."""
    home = cache_dir() / f"prism-cli-{PRISM_VERSION}"
    binary = home / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if not install or npm is None:
        why = "--no-install was given" if npm else "npm is not on PATH (Node 20+ brings it)"
        print(f"Prism is not installed in {home} and {why}: Prism is left out.", file=sys.stderr)
        return None
    home.mkdir(parents=True, exist_ok=True)
    print(f"installing {PRISM_PACKAGE}@{PRISM_VERSION} into {home} (once)", file=sys.stderr)
    subprocess.run(
        [npm, "install", "--prefix", str(home), "--no-audit", "--no-fund", "--save-exact"]
        + [f"{PRISM_PACKAGE}@{PRISM_VERSION}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return binary


# --- Server processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (Prism runs node, which may fork)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name sits in parentheses and may hold spaces: split after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """CPU (user + system) of the process tree so far, reaped children included."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields 14-17 of proc(5): utime, stime, cutime, cstime (here shifted by the two before).
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def _answers(port: int, path: str) -> bool:
    probe = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(probe.encode())
            return sock.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


@dataclass
class Server:
    """A started server: its process, where it answers and how long it took to."""

    name: str
    process: subprocess.Popen
    port: int
    prefix: str  # what goes before the spec's paths: Prism serves them without /management/v1
    errors: IO[bytes]
    startup_s: float = 0.0
    grpc_port: int | None = None  # the mock's port for native gRPC only

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        self.errors.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(name: str, argv: list[str], port: int, prefix: str) -> Server:
    start = time.perf_counter()
    # stderr to a file, not a pipe: nobody drains a pipe once the blocks run, and a full one
    # would stall the server.
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
    )
    server = Server(name, process, port, prefix, errors)
    deadline = start + START_TIMEOUT
    while not _answers(port, f"{prefix}/orgs/me"):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {server.stderr()}")
        if time.perf_counter() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not answer within {START_TIMEOUT:.0f} s")
        time.sleep(0.005)
    server.startup_s = time.perf_counter() - start
    return server


# Options added to the mock's command line (--mock-args): later ones win over the defaults.
MOCK_ARGS: list[str] = []


def start_mock(fixtures: Path | None = None) -> Server:
    port, grpc_port = free_port(), free_port()
    argv = [sys.executable, "-m", "mock_server", "--port", str(port)]
    argv += ["--grpc-port", str(grpc_port), "--log-level", "warning"]  # no access log, as Prism
    if fixtures is not None:
        argv += ["--fixtures", str(fixtures)]
    argv += MOCK_ARGS
    server = _start("mock", argv, port, MANAGEMENT)
    server.grpc_port = grpc_port
    return server


def start_prism(binary: Path) -> Server:
    port = free_port()
    argv = [str(binary), "mock", str(SPEC), "-p", str(port), "-h", HOST, "-v", "warn"]
    return _start("prism", argv, port, "")


def start_starlette() -> Server:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-starlette", str(port)]
    return _start("starlette", argv, port, MANAGEMENT)


def serve_starlette(port: int) -> None:
    """Plain Starlette answering fixed JSON on every path, on the mock's uvicorn settings
    (httptools, uvloop, the 5 s keep-alive of mock_server.one_port, no access log)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    details = {"sequence": "2", "changeDate": "2025-01-06T09:00:00Z", "resourceOwner": "1"}

    async def answer(request):
        return JSONResponse({"details": details})

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        http="auto",  # httptools and uvloop, which the mock runs on, whenever installed
        loop="auto",
        timeout_keep_alive=5,
        log_level="warning",
        access_log=False,
    )


# --- Workloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def wire(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {HOST}:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.method != "GET":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def grpc_web_frame(resource_id: str) -> bytes:
    """A gRPC-web data frame holding ``{id: resource_id}``: field 1, a string, is the only
    field of DeactivateActionRequest, ReactivateActionRequest and GetActionRequest."""
    value = resource_id.encode()
    message = b"\x0a" + bytes([len(value)]) + value  # ids are far shorter than 128 bytes
    return b"\x00" + len(message).to_bytes(4, "big") + message


def workload(name: str, prefix: str, action_id: str) -> list[Request]:
    """The requests of one workload, sent in this order, round and round."""
    auth = (("Authorization", f"Bearer {TOKEN}"),)
    if name.startswith("web-"):
        return _grpc_web_workload(name.removeprefix("web-"), auth, action_id)
    if name.startswith("grpc-"):
        # The same calls as gRPC-web's; the gRPC load generator sends them over HTTP/2.
        grpc = (("content-type", "application/grpc"), ("te", "trailers"))
        web = _grpc_web_workload(name.removeprefix("grpc-"), auth, action_id)
        return [
            Request(
                r.method,
                r.path,
                tuple(h for h in r.headers if h[0] == "Authorization") + grpc,
                r.body,
            )
            for r in web
        ]
    json_body = (("Content-Type", "application/json"),)
    action = f"{prefix}/actions/{action_id}"
    deactivate = Request("POST", f"{action}/_deactivate", auth + json_body, b"{}")
    reactivate = Request("POST", f"{action}/_reactivate", auth + json_body, b"{}")
    if name == "toggle":
        # Each second call finds the action already in the state asked for: 200, 400, 200, 400.
        return [deactivate, deactivate, reactivate, reactivate]
    if name == "unauth":
        return [Request("POST", deactivate.path, json_body, b"{}")]
    if name == "read":
        return [Request("GET", action, auth)]
    raise ValueError(f"unknown workload {name!r}")


def _grpc_web_workload(name: str, auth, action_id: str) -> list[Request]:
    web = (("Content-Type", "application/grpc-web+proto"), ("X-Grpc-Web", "1"))
    frame = grpc_web_frame(action_id)
    deactivate = Request("POST", f"{SERVICE}/DeactivateAction", auth + web, frame)
    reactivate = Request("POST", f"{SERVICE}/ReactivateAction", auth + web, frame)
    if name == "toggle":
        return [deactivate, deactivate, reactivate, reactivate]
    if name == "unauth":
        return [Request("POST", deactivate.path, web, frame)]
    if name == "read":
        return [Request("POST", f"{SERVICE}/GetAction", auth + web, frame)]
    raise ValueError(f"unknown workload web-{name!r}")


def speaks(target: str, workload_name: str) -> bool:
    """Whether a target serves a workload: gRPC-web and gRPC are the mock's alone."""
    return target == "mock" or workload_name in REST_WORKLOADS


def toggled_action(mock: Server) -> str:
    """An active action of the instance owner's own org, from the mock's control plane."""
    import httpx

    base = f"http://{HOST}:{mock.port}/_mock/v1"
    info = httpx.get(f"{base}/info").json()
    org = next(t["org"] for t in info["tokens"] if t["token"] == TOKEN)
    world = httpx.get(f"{base}/world").json()
    return next(a["id"] for a in world["actions"] if a["org"] == org and a["state"] == "active")


# --- Load generators ---------------------------------------------------------------------------


@dataclass
class Block:
    """What one block of load measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    cpu_us: float = 0.0  # server CPU per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def _connection(port, payloads, turn, stop_at, latencies, statuses, errors) -> None:
    loop = asyncio.get_running_loop()
    reader = writer = None
    while loop.time() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            payload = payloads[next(turn) % len(payloads)]
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", lowered)
            body = b""
            if match:
                body = await reader.readexactly(int(match.group(1)))
            elif b"transfer-encoding: chunked" in lowered:
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    body += (await reader.readexactly(size + 2))[:-2]
                await reader.readuntil(b"\r\n")
            latencies.append(time.perf_counter() - started)
            statuses[status_of(head, body)] += 1
            if b"\r\nconnection: close" in lowered:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            errors[0] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _drive(port: int, payloads: list[bytes], connections: int, duration: float):
    import itertools

    latencies: list[float] = []
    statuses: Counter = Counter()
    errors = [0]
    # One turn counter for every connection of this process: the server sees the workload's
    # order (deactivate, deactivate, reactivate, reactivate) as closely as concurrency allows.
    turn = itertools.count()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    stop_at = loop.time() + duration
    await asyncio.gather(
        *(
            _connection(port, payloads, turn, stop_at, latencies, statuses, errors)
            for _ in range(connections)
        )
    )
    return latencies, statuses, errors[0], time.perf_counter() - started


def _drive_in_process(args: tuple[int, list[bytes], int, float]):
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(_drive(*args))


def python_load(
    port: int, requests: list[Request], concurrency: int, duration: float, processes: int = 0
) -> Block:
    """Keep-alive HTTP/1.1 over raw sockets from asyncio, spread over ``processes`` (default:
    one per core, at most one per connection), so the generator is not what limits."""
    payloads = [r.wire(port) for r in requests]
    processes = processes or max(1, min(concurrency, os.cpu_count() or 1))
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    jobs = [(port, payloads, share, duration) for share in shares]
    if processes == 1:
        results = [_drive_in_process(jobs[0])]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_drive_in_process, jobs)
    latencies = sorted(t for result in results for t in result[0])
    statuses = sum((result[1] for result in results), Counter())
    return Block(
        requests=len(latencies),
        seconds=max(result[3] for result in results),
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        statuses=statuses,
        errors=sum(result[2] for result in results),
    )


GRPC_STATUS = re.compile(rb"grpc-status: ?(\d+)", re.I)


def status_of(head: bytes, body: bytes) -> int | str:
    """The HTTP status, or for gRPC-web (always HTTP 200) ``grpc N`` from its trailers."""
    found = GRPC_STATUS.search(head) or GRPC_STATUS.search(body)
    return f"grpc {int(found.group(1))}" if found else int(head[9:12])


def _lua_string(text: str | bytes) -> str:
    """A Lua string literal; bytes outside printable ASCII as decimal escapes (Lua has no
    \\u or \\x escapes in wrk's LuaJIT dialect of 5.1)."""
    data = text.encode() if isinstance(text, str) else text
    escaped = "".join(
        chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in data
    )
    return f'"{escaped}"'


def wrk_script(requests: list[Request]) -> str:
    """wrk's Lua: the workload's requests in turn per thread, status counts, one result line."""
    formats = []
    for r in requests:
        headers = ", ".join(f"[{_lua_string(n)}] = {_lua_string(v)}" for n, v in r.headers)
        body = _lua_string(r.body) if r.method != "GET" else "nil"
        formats.append(
            f"  table.insert(requests, wrk.format({_lua_string(r.method)}, "
            f"{_lua_string(r.path)}, {{{headers}}}, {body}))"
        )
    return "\n".join(
        [
            "requests = {}",
            "statuses = {}",
            "local turn = 0",
            "local threads = {}",
            "function setup(thread) table.insert(threads, thread) end",
            # Built in init, after wrk has set its Host header, which wrk.format merges in.
            "function init(args)",
            *formats,
            "end",
            "function request()",
            "  turn = turn % #requests + 1",
            "  return requests[turn]",
            "end",
            "function response(status, headers, body)",
            "  local code = headers['grpc-status'] or (body and body:match('grpc%-status:(%d+)'))",
            "  local key = code and ('grpc ' .. code) or tostring(status)",
            "  statuses[key] = (statuses[key] or 0) + 1",
            "end",
            "function done(summary, latency, requests)",
            "  local e = summary.errors",
            '  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests,',
            "    summary.duration, latency:percentile(50), latency:percentile(99),",
            "    e.connect + e.read + e.write + e.timeout))",
            "  for _, thread in ipairs(threads) do",
            '    for status, count in pairs(thread:get("statuses")) do',
            '      io.write(string.format("STATUS %s %d\\n", status, count))',
            "    end",
            "  end",
            "end",
        ]
    )


def parse_wrk_output(text: str) -> Block:
    """The figures the Lua ``done`` wrote: requests, µs, p50 µs, p99 µs, errors; statuses."""
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", text, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no result line:\n{text}")
    requests, micros, p50, p99, errors = (int(g) for g in match.groups())
    statuses: Counter = Counter()
    for status, count in re.findall(r"^STATUS (.+) (\d+)$", text, re.M):
        statuses[int(status) if status.isdigit() else status] += int(count)
    return Block(requests, micros / 1e6, p50 / 1000, p99 / 1000, statuses, errors)


def wrk_load(port: int, requests: list[Request], concurrency: int, duration: float) -> Block:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(requests))
    try:
        threads = min(concurrency, os.cpu_count() or 1)
        result = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s"]
            + ["--timeout", "10s", "-s", script.name, f"http://{HOST}:{port}"],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    return parse_wrk_output(result.stdout)


def h2load_load(port: int, requests: list[Request], concurrency: int, duration: float) -> Block:
    """Native gRPC over HTTP/2 from h2load (Debian's nghttp2-client): one call in flight per
    connection, the workload's methods in turn; latencies from its per-request log. The HTTP
    statuses it sees are all 200: gRPC's own codes travel in trailers (see grpc_codes)."""
    headers, body = requests[0].headers, requests[0].body
    if any(r.headers != headers or r.body != body for r in requests):
        raise ValueError("h2load sends the same headers and body to every path")
    with tempfile.TemporaryDirectory(prefix="zitadel-bench-") as scratch:
        data, log = Path(scratch) / "body", Path(scratch) / "log"
        data.write_bytes(body)
        threads = min(concurrency, os.cpu_count() or 1)
        argv = ["h2load", "-c", str(concurrency), "-t", str(threads), "-m", "1"]
        argv += ["-D", str(max(1, round(duration))), "-d", str(data), f"--log-file={log}"]
        for name, value in headers:
            argv += ["-H", f"{name}: {value}"]
        argv += [f"http://{HOST}:{port}{r.path}" for r in requests]
        result = subprocess.run(argv, capture_output=True, text=True, check=True)
        rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    finished = re.search(r"finished in ([\d.]+)s", result.stdout)
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", result.stdout)
    if not finished or not failed:
        raise RuntimeError(f"h2load printed no summary:\n{result.stdout}{result.stderr}")
    latencies = sorted(int(row[2]) / 1e6 for row in rows)
    return Block(
        requests=len(latencies),
        seconds=float(finished.group(1)),
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        statuses=Counter(int(row[1]) for row in rows),
        errors=sum(int(n) for n in failed.groups()),
    )


def clear_journal(mock: Server) -> None:
    import httpx

    httpx.delete(f"http://{HOST}:{mock.port}/_mock/v1/journal").raise_for_status()


def grpc_codes(mock: Server) -> Counter:
    """The gRPC codes of the native gRPC calls in the mock's journal (its latest calls, up to
    --journal-size): h2load cannot read trailers, the mock's own record can."""
    import httpx

    calls = httpx.get(
        f"http://{HOST}:{mock.port}/_mock/v1/journal", params={"transport": "grpc"}
    ).json()["calls"]
    return Counter(f"grpc {call['code']}" for call in calls)


def load_generator(choice: str) -> tuple[str, Callable[..., Block]]:
    if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
        return "wrk", wrk_load
    if choice == "auto":
        print(
            "wrk is not installed (apt-get install -y wrk): load comes from the Python "
            "generator, which itself takes CPU the servers then lack.",
            file=sys.stderr,
        )
    return "python", python_load


def measure(
    server: Server, load: Callable[..., Block], requests, concurrency, duration, port=None
) -> Block:
    cpu_before = cpu_seconds(server.pid)
    block = load(port or server.port, requests, concurrency, duration)
    cpu_used = cpu_seconds(server.pid) - cpu_before
    block.cpu_us = cpu_used / block.requests * 1e6 if block.requests else 0.0
    return block


def measure_grpc(mock: Server, requests, concurrency, duration, own_port: bool) -> Block:
    clear_journal(mock)  # the warm-up's calls, or the block before
    port = mock.grpc_port if own_port else mock.port
    block = measure(mock, h2load_load, requests, concurrency, duration, port)
    http = block.statuses
    block.statuses = grpc_codes(mock)
    if set(http) != {200}:  # a failure below gRPC, e.g. a refused stream: show it too
        block.statuses.update(http)
    return block


# --- Fixture files of a given size -------------------------------------------------------------


def write_fixture(path: Path, resources: int) -> dict[str, int]:
    """A fixture file that extends the seeded world by ``resources`` resources.

    Per org of ten resources: the org, four users (one in three inactive), a project, two
    actions and two user grants; every user has an org membership and every org's first user a
    token, so the memberships grow with the world as they do in a real instance. A ``.json``
    path gets JSON (which is YAML, and what a world this size should be written as: it reads at
    C speed), anything else YAML in flow style.
    """
    orgs = max(1, resources // 10)
    ids = iter(range(900_000_000_000_000_000, 999_999_999_999_999_999))
    doc: dict = {"extend": True}
    doc.update(
        {k: [] for k in ("orgs", "users", "projects", "actions", "user_grants", "memberships")}
    )
    doc["tokens"] = []
    user_index = 0
    for n in range(orgs):
        org = str(next(ids))
        doc["orgs"].append({"id": org, "name": f"Bench Org {n}", "state": "active"})
        users = []
        for _ in range(4):
            user = str(next(ids))
            users.append(user)
            state = "inactive" if user_index % 3 == 2 else "active"
            doc["users"].append(
                {
                    "id": user,
                    "org": org,
                    "user_name": f"bench-{user_index}",
                    "first_name": "Bench",
                    "last_name": f"User{user_index}",
                    "state": state,
                }
            )
            doc["memberships"].append(
                {"user": user, "scope": "org", "id": org, "roles": ["ORG_USER_MANAGER"]}
            )
            user_index += 1
        project = str(next(ids))
        doc["projects"].append({"id": project, "org": org, "name": f"bench-{n}"})
        for k in range(2):
            doc["actions"].append(
                {
                    "id": str(next(ids)),
                    "org": org,
                    "name": f"bench-{n}-{k}",
                    "script": "function bench(ctx, api) {}",
                    "state": "active",
                }
            )
            doc["user_grants"].append(
                {
                    "id": str(next(ids)),
                    "org": org,
                    "user": users[k],
                    "project": project,
                    "roles": ["reader"],
                    "state": "active",
                }
            )
        doc["tokens"].append({"token": f"bench-{n}-pat", "user": users[0]})
    with path.open("w", encoding="utf-8") as out:
        if path.suffix == ".json":
            json.dump(doc, out)
        else:
            yaml.dump(doc, out, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), width=200)
    return {k: len(v) for k, v in doc.items() if isinstance(v, list)}


# --- Tables ------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]], widths: list[int] | None = None) -> str:
    """A Markdown table; with ``widths`` the columns keep those widths, so rows printed one by
    one as their figures come in still line up under the header."""
    if widths is None:
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(row) for row in rows]
    )


def table_row(row: list[str], widths: list[int], header: list[str]) -> str:
    return table(header, [row], widths).splitlines()[-1]


def _statuses(counts: Counter) -> str:
    total = sum(counts.values()) or 1
    return " ".join(f"{s}:{c / total:.0%}" for s, c in sorted(counts.items(), key=str))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def median_block(blocks: list[Block]) -> Block:
    return (
        Block(
            requests=round(statistics.median(b.requests for b in blocks)),
            seconds=statistics.median(b.seconds for b in blocks),
            p50_ms=statistics.median(b.p50_ms for b in blocks),
            p99_ms=statistics.median(b.p99_ms for b in blocks),
            statuses=sum((b.statuses for b in blocks), Counter()),
            errors=sum(b.errors for b in blocks),
            cpu_us=statistics.median(b.cpu_us for b in blocks),
        )
        if blocks
        else Block(0, 0.0, 0.0, 0.0)
    )


# --- The runs ----------------------------------------------------------------------------------


def run_block(name, server, action_id, concurrency, duration, load, args) -> Block:
    requests = workload(name, server.prefix, action_id)
    if name.startswith("grpc-"):
        return measure_grpc(server, requests, concurrency, duration, args.grpc_own_port)
    return measure(server, load, requests, concurrency, duration)


def run_side_by_side(servers: dict[str, Server], action_id: str, load, args) -> None:
    grpc = any(w.startswith("grpc-") for w in args.workloads)
    print(
        f"\n## Throughput: alternating {args.duration:g} s blocks, median of "
        f"{args.repetitions}, load from {args.generator_name}"
        f"{', native gRPC from h2load' if grpc else ''}\n"
    )
    header = ["workload", "c", "server", "rps", "p50 ms", "p99 ms", "CPU µs/req", "statuses"]
    widths = [11, 3, 9, 7, 6, 6, 10, 16]
    results: dict[tuple[str, int], dict[str, Block]] = {}
    print(table(header, [], widths), flush=True)
    for name in args.workloads:
        targets = {t: server for t, server in servers.items() if speaks(t, name)}
        for concurrency in args.concurrency:
            blocks: dict[str, list[Block]] = {target: [] for target in targets}
            for server in targets.values():  # warm-up, not counted
                run_block(name, server, action_id, concurrency, args.warmup, load, args)
            for _ in range(args.repetitions):
                for target, server in targets.items():
                    blocks[target].append(
                        run_block(name, server, action_id, concurrency, args.duration, load, args)
                    )
            medians = results[name, concurrency] = {t: median_block(b) for t, b in blocks.items()}
            for target, block in medians.items():
                errors = f" errors:{block.errors}" if block.errors else ""
                row = [name, str(concurrency), target, f"{block.rps:,.0f}"]
                row += [f"{block.p50_ms:.2f}", f"{block.p99_ms:.2f}", f"{block.cpu_us:,.0f}"]
                row.append(_statuses(block.statuses) + errors)
                print(table_row(row, widths, header), flush=True)
    print_ratios(results)


def print_ratios(results: dict[tuple[str, int], dict[str, Block]]) -> None:
    """Per REST workload and concurrency: the mock against Prism, against the Starlette limit,
    and the mock's gRPC-web and gRPC fronts against its REST front."""
    rows = []
    for (name, concurrency), medians in results.items():
        mock = medians.get("mock")
        if name not in REST_WORKLOADS or mock is None:
            continue
        prism, plain = medians.get("prism"), medians.get("starlette")
        web = results.get((f"web-{name}", concurrency), {}).get("mock")
        grpc = results.get((f"grpc-{name}", concurrency), {}).get("mock")
        rows.append(
            [
                name,
                str(concurrency),
                _ratio(mock.rps, prism.rps) if prism else "-",
                _ratio(mock.rps, plain.rps) if plain else "-",
                _ratio(mock.cpu_us, plain.cpu_us) if plain else "-",
                _ratio(web.rps, mock.rps) if web else "-",
                _ratio(web.cpu_us, mock.cpu_us) if web else "-",
                _ratio(grpc.rps, mock.rps) if grpc else "-",
                _ratio(grpc.cpu_us, mock.cpu_us) if grpc else "-",
            ]
        )
    if rows:
        print("\n## Ratios\n")
        header = ["workload", "c", "mock/Prism rps", "mock/Starlette rps", "mock/Starlette CPU"]
        header += ["gRPC-web/REST rps", "gRPC-web/REST CPU", "gRPC/REST rps", "gRPC/REST CPU"]
        print(table(header, rows), flush=True)


def compile_bytecode() -> None:
    """The project's bytecode, as pip leaves it on install and Python writes it on a first
    import: a start that reads no bytecode compiles every module of the mock first (~0.2 s
    here), which says nothing about the mock, and a machine with PYTHONDONTWRITEBYTECODE set
    (as in many containers) never caches it for a source checkout."""
    import compileall

    for package in ("mock_server", "openapi"):
        compileall.compile_dir(REPO / package, quiet=1)


def run_startup(start_fns: dict[str, Callable[[], Server]], runs: int) -> None:
    print(f"\n## Start-up to the first answer and idle RSS (median of {runs})\n")
    print("(the mock's bytecode compiled first, as an install leaves it)\n")
    compile_bytecode()
    rows = []
    for name, start in start_fns.items():
        times, rss = [], []
        for _ in range(runs):
            server = start()
            try:
                time.sleep(1.0)  # idle: let start-up's threads and timers settle
                times.append(server.startup_s)
                rss.append(rss_bytes(server.pid))
            finally:
                server.stop()
        rows.append(
            [name, f"{statistics.median(times):.2f}", f"{statistics.median(rss) / 2**20:.1f}"]
        )
    print(table(["server", "start-up s", "idle RSS MB"], rows), flush=True)


def in_process_toggle_us(
    fixture: Path | None, calls: int = 1000, rounds: int = 15, freeze: bool = False
) -> float:
    """Best of ``rounds``: µs of CPU per toggle through the whole ASGI app of a mock on this
    world, called in this process without sockets (no server, kernel or load generator on
    the machine's two cores: the figure that shows whether cost grows with the world).
    ``freeze`` freezes the built mock as ``zitadel-mock`` does (mock_server.heap), for a
    process of its own."""
    from mock_server import heap
    from mock_server.app import create_mock

    mock = create_mock(fixtures=str(fixture) if fixture else None)
    if freeze:
        heap.freeze_start_up()
    world = mock.service.world
    owner = world.users[world.tokens[TOKEN].user_id].org_id
    action = next(a for a in world.actions.values() if a.resource_owner == owner)
    path = f"/management/v1/actions/{action.id}"
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {TOKEN}".encode()),
        (b"content-type", b"application/json"),
    ]
    scopes = [
        {"type": "http", "method": "POST", "path": f"{path}/{verb}", "raw_path": b"",
         "query_string": b"", "headers": headers, "http_version": "1.1", "scheme": "http",
         "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "root_path": ""}
        for verb in ("_deactivate", "_deactivate", "_reactivate", "_reactivate")
    ]  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    statuses: Counter = Counter()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] += 1

    async def run(n: int) -> None:
        for i in range(n):
            await mock.app(scopes[i % 4], receive, send)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run(calls // 4))  # warm: every path matched once
        if set(statuses) != {200, 400}:  # a figure of failing calls would measure nothing
            raise RuntimeError(f"the toggle mix answered {dict(statuses)}")
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            loop.run_until_complete(run(calls))
            best = min(best, (time.process_time() - started) / calls * 1e6)
    finally:
        loop.close()
    return best


def _in_process_toggle_us(fixture: Path | None) -> float:
    # In a process of its own: a large world must not stay in this one.
    argv = [sys.executable, str(Path(__file__).resolve())]
    argv += ["--in-process-toggle", str(fixture or "")]
    return float(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def run_world_sizes(sizes: list[int], load, args) -> None:
    concurrency = 16 if 16 in args.concurrency else args.concurrency[-1]
    print(
        f"\n## The mock against the size of its world (toggle mix, c={concurrency}, "
        f"median of {args.repetitions} blocks of {args.duration:g} s, "
        f"{args.fixture_format.upper()} fixture files)\n"
    )
    header = ["resources", "fixture MB", "start-up s", "idle RSS MB", "B/resource"]
    header += ["toggle rps", "CPU µs/req", "vs default", "in-process µs", "vs default"]
    widths = [9, 10, 10, 11, 10, 10, 10, 10, 13, 10]
    print(table(header, [], widths), flush=True)
    baseline_rss = baseline_cpu = baseline_in_process = 0.0
    with tempfile.TemporaryDirectory(prefix="zitadel-bench-") as scratch:
        for size in [0, *sizes]:
            fixture = None
            size_mb = "-"
            if size:
                fixture = Path(scratch) / f"world-{size}.{args.fixture_format}"
                write_fixture(fixture, size)
                size_mb = f"{fixture.stat().st_size / 2**20:.1f}"
            server = start_mock(fixture)
            try:
                time.sleep(1.0)
                rss = rss_bytes(server.pid)
                action_id = toggled_action(server)
                requests = workload("toggle", server.prefix, action_id)
                load(server.port, requests, concurrency, args.warmup)
                block = median_block(
                    [
                        measure(server, load, requests, concurrency, args.duration)
                        for _ in range(args.repetitions)
                    ]
                )
            finally:
                server.stop()
            in_process = _in_process_toggle_us(fixture)
            if not size:
                baseline_rss, baseline_cpu, baseline_in_process = rss, block.cpu_us, in_process
            per_resource = f"{(rss - baseline_rss) / size:,.0f}" if size else "-"
            row = [f"{size:,}" if size else "default", size_mb, f"{server.startup_s:.2f}"]
            row += [f"{rss / 2**20:.1f}", per_resource, f"{block.rps:,.0f}"]
            row += [f"{block.cpu_us:,.0f}", _ratio(block.cpu_us, baseline_cpu) if size else "1.00"]
            row += [f"{in_process:.1f}"]
            row += [_ratio(in_process, baseline_in_process) if size else "1.00"]
            print(table_row(row, widths, header), flush=True)


@contextlib.contextmanager
def started(servers: dict[str, Callable[[], Server]]) -> Iterator[dict[str, Server]]:
    running: dict[str, Server] = {}
    try:
        for name, start in servers.items():
            running[name] = start()
        yield running
    finally:
        for server in running.values():
            server.stop()


def _list(kind: Callable[[str], object], allowed: tuple[str, ...] | None = None):
    def parse(text: str) -> list:
        values = [kind(part) for part in text.split(",") if part.strip()]
        if allowed is not None and not set(values) <= set(allowed):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return values

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s blocks, once: a smoke run")
    parser.add_argument("--duration", type=float, help="seconds per block (default 5)")
    parser.add_argument("--repetitions", type=int, help="blocks per figure, median (default 3)")
    parser.add_argument("--warmup", type=float, help="seconds of unmeasured load first")
    parser.add_argument(
        "--concurrency", type=_list(int), default=[1, 16, 64], help="connections (default 1,16,64)"
    )
    parser.add_argument(
        "--targets",
        type=_list(str, TARGETS),
        default=list(TARGETS),
        help=f"servers to drive (default {','.join(TARGETS)})",
    )
    parser.add_argument(
        "--workloads",
        type=_list(str, WORKLOADS),
        default=list(WORKLOADS),
        help=f"'' skips the throughput tables (default all: {','.join(WORKLOADS)})",
    )
    parser.add_argument(
        "--world-sizes",
        type=_list(int),
        help="fixture sizes in resources; 0 skips the table (default 1000,10000,100000)",
    )
    parser.add_argument(
        "--startup-runs", type=int, help="starts per server, 0 skips the table (default 3)"
    )
    parser.add_argument(
        "--fixture-format",
        choices=["json", "yaml"],
        default="json",
        help="how the world-size table's fixture files are written (default json: a large "
        "world reads at C speed as JSON; yaml shows libyaml's cost)",
    )
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--mock-args",
        default="",
        metavar="ARGS",
        help="more options for the mock, e.g. '--log-level info' for its access log",
    )
    parser.add_argument(
        "--grpc-own-port",
        action="store_true",
        help="send native gRPC to the mock's --grpc-port instead of its HTTP port",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="leave Prism out unless already in the cache"
    )
    parser.add_argument("--serve-starlette", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--in-process-toggle", metavar="FIXTURE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (1.0 if quick else 5.0)
    args.repetitions = args.repetitions or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if quick else 1.0)
    if args.startup_runs is None:
        args.startup_runs = 1 if quick else 3
    if args.world_sizes is None:
        args.world_sizes = [1000] if quick else [1000, 10_000, 100_000]
    args.world_sizes = [size for size in args.world_sizes if size > 0]
    return args


_TITLES = {"mock": "mock", "prism": f"Prism {PRISM_VERSION}", "starlette": "plain Starlette"}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.in_process_toggle is not None:
        fixture = Path(args.in_process_toggle) if args.in_process_toggle else None
        print(f"{in_process_toggle_us(fixture, freeze=True):.2f}")
        return 0
    if args.serve_starlette:
        serve_starlette(args.serve_starlette)
        return 0
    # The servers run in sessions of their own (a Ctrl-C reaches only this process): SIGTERM
    # then unwinds like Ctrl-C, through the blocks that stop them.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    MOCK_ARGS[:] = shlex.split(args.mock_args)
    args.generator_name, load = load_generator(args.generator)
    if not shutil.which("h2load") and any(w.startswith("grpc-") for w in args.workloads):
        print(
            "h2load is not installed (apt-get install -y nghttp2-client): native gRPC is left out.",
            file=sys.stderr,
        )
        args.workloads = [w for w in args.workloads if not w.startswith("grpc-")]
    if args.generator_name == "wrk":
        args.duration = max(1.0, float(round(args.duration)))  # wrk counts whole seconds
    starts: dict[str, Callable[[], Server]] = {}
    for target in args.targets:
        if target == "mock":
            starts["mock"] = start_mock
        elif target == "prism":
            binary = prism_binary(install=not args.no_install)
            if binary is not None:
                starts["prism"] = lambda binary=binary: start_prism(binary)
        else:
            starts["starlette"] = start_starlette
    print(
        f"# Side by side: {', '.join(_TITLES[t] for t in starts)} "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})"
    )
    # The action the toggle and read workloads use: any running mock of the default world
    # names the same one (the seed is fixed), so one is asked before the blocks begin.
    if args.workloads:
        with started({"mock": start_mock}) as probe:
            action_id = toggled_action(probe["mock"])
        with started(starts) as servers:
            run_side_by_side(servers, action_id, load, args)
    if args.startup_runs:
        run_startup({n: s for n, s in starts.items() if n != "starlette"}, args.startup_runs)
    if args.world_sizes and "mock" in starts:
        run_world_sizes(args.world_sizes, load, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
