"""Wall time of the conformance suite against a running mock: serial against pytest-xdist.

Run: .venv/bin/python bench/bench_conformance.py [--runs 3] [--examples 200] [--workers auto 2]
Each configuration runs ``zitadel-conformance`` as a user would, a few times, against one mock
this script starts on 127.0.0.1 (every worker of a parallel run works in an instance of its
own there); the figure is the median wall time, with the ratio to the serial median.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = Path(sys.executable).with_name("zitadel-conformance")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(base: str, examples: int, workers: str | None) -> float:
    argv = [str(CLI), base, "--allow-org-deactivation", "--examples", str(examples)]
    if workers is not None:
        argv += ["-n", workers]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "verdict: CONFORMS" not in done.stdout:
        sys.exit(f"{' '.join(argv)} did not conform:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--workers", nargs="+", default=["auto", "2"], help="-n values")
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", str(port), "--no-grpc"]
        + ["--log-level", "warning"],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/_mock/v1/info", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(
            f"conformance: {args.examples} examples per operation, {args.runs} runs each, "
            f"{os.cpu_count()} CPUs"
        )
        configurations: list[str | None] = [None, *args.workers]
        medians: dict[str | None, float] = {}
        for workers in configurations:
            times = [_run(base, args.examples, workers) for _ in range(args.runs)]
            medians[workers] = statistics.median(times)
            label = "serial" if workers is None else f"-n {workers}"
            ratio = medians[None] / medians[workers]
            print(
                f"  {label:<9} median {medians[workers]:6.1f} s  "
                f"(runs {', '.join(f'{t:.1f}' for t in times)})  speed-up x{ratio:.2f}"
            )
        left = httpx.get(f"{base}/_mock/v1/instances").json()["instances"]
        print(f"  instances left on the mock: {len(left) - 1} (the default one not counted)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
