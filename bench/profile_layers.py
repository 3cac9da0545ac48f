"""Server CPU per request, start-up and memory of the mock, for the performance note.

On a shared machine requests per second say more about the neighbours than about the mock, so
this measures what the mock itself spends: the server process's user + system CPU time
(``/proc/<pid>/stat``) divided by the requests wrk completed against it. Needs Linux and wrk
(``apt-get install -y wrk``)::

    python bench/profile_layers.py                 # the default world, every workload
    python bench/profile_layers.py --sizes 1000,10000,100000   # the world-size table too

Workloads: the toggle mix (DeactivateAction / ReactivateAction on one action with a valid token,
half 200 and half 400), the unauthenticated 401 path, a read (GetAction), the same toggle over
gRPC-web, ListActions, and the toggle over native gRPC (from a Python grpc.aio client, and from
h2load, ``apt-get install -y nghttp2-client``), on the HTTP port and on gRPC's own port.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "admin-pat"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

TOGGLE_LUA = """
local n = 0
request = function()
  n = n + 1
  local verb = (n %% 2 == 0) and "_reactivate" or "_deactivate"
  return wrk.format("POST", "/management/v1/actions/%(id)s/" .. verb,
    {["Authorization"] = "Bearer admin-pat", ["Content-Type"] = "application/json"}, "{}")
end
"""
UNAUTHENTICATED_LUA = """
request = function()
  return wrk.format("POST", "/management/v1/actions/%(id)s/_deactivate",
    {["Content-Type"] = "application/json"}, "{}")
end
"""
READ_LUA = """
request = function()
  return wrk.format("GET", "/management/v1/actions/%(id)s",
    {["Authorization"] = "Bearer admin-pat"})
end
"""
LIST_LUA = """
request = function()
  return wrk.format("POST", "/management/v1/actions/_search",
    {["Authorization"] = "Bearer admin-pat", ["Content-Type"] = "application/json"},
    '{"query": {"limit": 10}}')
end
"""
# DeactivateActionRequest{id} / ReactivateActionRequest{id}: field 1, a string.
GRPC_WEB_LUA = """
local n = 0
local function frame(id)
  local message = string.char(0x0a, #id) .. id
  return string.char(0, 0, 0, 0, #message) .. message
end
request = function()
  n = n + 1
  local verb = (n %% 2 == 0) and "ReactivateAction" or "DeactivateAction"
  return wrk.format("POST", "/zitadel.management.v1.ManagementService/" .. verb,
    {["Authorization"] = "Bearer admin-pat", ["Content-Type"] = "application/grpc-web+proto"},
    frame("%(id)s"))
end
"""
WORKLOADS = {
    "toggle": TOGGLE_LUA,
    "401": UNAUTHENTICATED_LUA,
    "GetAction": READ_LUA,
    "ListActions": LIST_LUA,
    "grpc-web toggle": GRPC_WEB_LUA,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def start_mock(port: int, extra: list[str]) -> tuple[subprocess.Popen, float]:
    """The mock as ``zitadel-mock`` starts it, and the seconds to its first answer (its CPU
    seconds by then are ``cpu_seconds(process.pid)``, steadier on a busy machine)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", str(port), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # A management call, as a client's first one; its 401 is an answer too.
    url = f"http://127.0.0.1:{port}/management/v1/orgs/me"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return process, time.perf_counter() - started
        except urllib.error.HTTPError:
            return process, time.perf_counter() - started
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the mock exited") from None
            if time.perf_counter() - started > 120:
                raise RuntimeError("the mock did not answer") from None
            time.sleep(0.005)


def action_id(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/management/v1/actions/_search",
        data=b'{"query": {"limit": 1}}',
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return re.search(rb'"id":"(\d+)"', response.read()).group(1).decode()


def run_wrk(port: int, script: str, connections: int, seconds: float) -> tuple[int, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = _output_of(
        [
            "wrk",
            f"-c{connections}",
            "-t1",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            handle.name,
            f"http://127.0.0.1:{port}",
        ],
        handle.name,
    )
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return requests, p99.group(1) if p99 else "?"


def measure(port: int, pid: int, script: str, connections: int, seconds: float) -> dict:
    run_wrk(port, script, connections, 1)  # warm-up
    before = cpu_seconds(pid)
    requests, p99 = run_wrk(port, script, connections, seconds)
    spent = cpu_seconds(pid) - before
    return {"us": spent / max(requests, 1) * 1e6, "rps": requests / seconds, "p99": p99}


GRPC_CLIENT = """
import asyncio, sys, time
import grpc
from mock_server.grpc_front.gen.zitadel import management_pb2 as pb, management_pb2_grpc as rpc

async def main(target, action, connections, seconds):
    done = 0
    metadata = (("authorization", "Bearer admin-pat"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = rpc.ManagementServiceStub(channel)
        deadline = time.monotonic() + seconds
        async def worker(n):
            nonlocal done
            while time.monotonic() < deadline:
                n += 1
                call = stub.ReactivateAction if n % 2 else stub.DeactivateAction
                request = (pb.ReactivateActionRequest if n % 2 else pb.DeactivateActionRequest)
                try:
                    await call(request(id=action), metadata=metadata)
                except grpc.aio.AioRpcError:
                    pass
                done += 1
        await asyncio.gather(*(worker(i) for i in range(connections)))
    print(done)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""


def measure_grpc(port: int, pid: int, action: str, connections: int, seconds: float) -> dict:
    """The toggle over native gRPC (HTTP/2 on the mock's port), from a grpc.aio client."""

    def run(duration: float) -> int:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                GRPC_CLIENT,
                f"127.0.0.1:{port}",
                action,
                str(connections),
                str(duration),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split()[-1])

    return _cpu_per_call(pid, run, seconds)


def _cpu_per_call(pid: int, run, seconds: float) -> dict:
    """``run(duration)`` returns the calls it completed: a warm-up, then the measured block."""
    run(1)
    before = cpu_seconds(pid)
    requests = run(seconds)
    spent = cpu_seconds(pid) - before
    return {"us": spent / max(requests, 1) * 1e6, "rps": requests / seconds, "p99": "-"}


def _output_of(argv: list[str], scratch: str) -> str:
    """A load generator's report; ``scratch`` (its script or body file) is removed after."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(scratch)


def run_h2load(port: int, action: str, connections: int, seconds: float) -> int:
    """The toggle over native gRPC from h2load (``apt-get install -y nghttp2-client``): one
    HTTP/2 connection per ``connections``, one call in flight on each, Deactivate and
    Reactivate in turn. A C client: unlike the Python one above it is not the bottleneck."""
    # DeactivateActionRequest / ReactivateActionRequest {id: action} (field 1, a string) in
    # a gRPC frame: no flag, the length, the message.
    message = b"\x0a" + bytes([len(action)]) + action.encode()  # ids: one-byte lengths
    with tempfile.NamedTemporaryFile("wb", delete=False) as handle:
        handle.write(b"\x00" + len(message).to_bytes(4, "big") + message)
    path = "/zitadel.management.v1.ManagementService/%sAction"
    out = _output_of(
        [
            "h2load",
            *("-c", str(connections), "-t", str(min(connections, os.cpu_count() or 1))),
            *("-m", "1", "-D", str(int(seconds)), "-d", handle.name),
            *("-H", "content-type: application/grpc", "-H", "te: trailers"),
            *("-H", f"authorization: Bearer {TOKEN}"),
            *(f"http://127.0.0.1:{port}{path % verb}" for verb in ("Deactivate", "Reactivate")),
        ],
        handle.name,
    )
    return int(re.search(r"(\d+) succeeded", out).group(1))


def measure_h2load(port: int, pid: int, action: str, connections: int, seconds: float) -> dict:
    def run(duration: float) -> int:
        return run_h2load(port, action, connections, duration)

    return _cpu_per_call(pid, run, seconds)


def world_fixture(resources: int, directory: str, form: str = "json") -> str:
    """A fixture file (JSON or YAML) of the seeded world plus ``resources`` actions in its
    first org."""
    from mock_server import fixtures

    doc = fixtures.seed_document(0)
    doc = {key: value for key, value in doc.items() if key != "extend"}
    org = doc["orgs"][0]["id"]
    doc["actions"] = list(doc.get("actions", []))
    for index in range(resources):
        doc["actions"].append(
            {
                "id": str(900000000000000000 + index),
                "org": org,
                "name": f"bulk-{index}",
                "script": "function bulk(ctx, api) {}",
                "state": "active",
            }
        )
    path = os.path.join(directory, f"world-{resources}.{form}")
    with open(path, "w", encoding="utf-8") as handle:
        if form == "json":
            json.dump(doc, handle, default=str)
        else:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            yaml.dump(doc, handle, Dumper=dumper, sort_keys=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", default="16")
    parser.add_argument(
        "--workloads",
        default=",".join(
            [*WORKLOADS, "grpc toggle", "grpc own-port toggle", "h2load grpc toggle"]
            + ["h2load grpc own-port toggle"]
        ),
    )
    parser.add_argument("--sizes", default="", help="world sizes for the world-size table")
    parser.add_argument("--fixture-format", choices=("json", "yaml"), default="json")
    parser.add_argument("--mock-args", default="", help="extra zitadel-mock options")
    args = parser.parse_args()
    extra = args.mock_args.split()
    port = free_port()
    grpc_port = free_port()
    process, startup = start_mock(port, ["--grpc-port", str(grpc_port), *extra])
    try:
        time.sleep(1)
        spent = cpu_seconds(process.pid)
        print(
            f"start-up to first answer {startup:.2f} s ({spent:.2f} s CPU), "
            f"RSS idle {rss_mb(process.pid):.0f} MB"
        )
        target = action_id(port)
        for connections in (int(c) for c in args.connections.split(",")):
            for name in args.workloads.split(","):
                # Native gRPC on the HTTP port (handed to the gRPC front), or on gRPC's own port.
                on = grpc_port if "own-port" in name else port
                if name.startswith("grpc "):
                    result = measure_grpc(on, process.pid, target, connections, args.seconds)
                elif name.startswith("h2load "):
                    result = measure_h2load(on, process.pid, target, connections, args.seconds)
                else:
                    script = WORKLOADS[name] % {"id": target}
                    result = measure(port, process.pid, script, connections, args.seconds)
                print(
                    f"c{connections:<3} {name:<28} {result['us']:7.0f} us/request "
                    f"{result['rps']:7.0f} rps  p99 {result['p99']}"
                )
    finally:
        process.terminate()
        process.wait()
    if args.sizes:
        with tempfile.TemporaryDirectory() as directory:
            for size in (int(s) for s in args.sizes.split(",")):
                path = world_fixture(size, directory, args.fixture_format)
                port = free_port()
                before = None
                process, startup = start_mock(port, ["--no-grpc", *extra, "--fixtures", path])
                try:
                    spent = cpu_seconds(process.pid)
                    time.sleep(0.5)
                    before = rss_mb(process.pid)
                    result = measure(
                        port, process.pid, TOGGLE_LUA % {"id": action_id(port)}, 16, args.seconds
                    )
                finally:
                    process.terminate()
                    process.wait()
                print(
                    f"world {size:>7} actions ({args.fixture_format}): start-up {startup:5.2f} s "
                    f"({spent:.2f} s CPU), "
                    f"RSS {before:5.0f} MB, "
                    f"toggle {result['us']:4.0f} us/request"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
