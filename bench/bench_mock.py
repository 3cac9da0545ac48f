"""Figures for the mock: domain throughput, HTTP latency and throughput, world size in memory.

Run: .venv/bin/python bench/bench_mock.py [--requests N] [--concurrency C]
Traffic goes only to a mock this script starts on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc

import httpx

from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.fixtures import SEED_TOKENS, load_document, seed_document, seeded_world

ADMIN = CallMetadata(f"Bearer {SEED_TOKENS.instance_owner}")


def _active_action(world) -> str:
    return next(a.id for a in world.actions.values() if a.state.value == "active")


def bench_domain(calls: int) -> None:
    world = seeded_world(0)
    service = LifecycleService(world)
    action = _active_action(world)
    names = ["DeactivateAction", "ReactivateAction"]
    start = time.perf_counter()
    for i in range(calls):
        service.call(names[i % 2], {"id": action}, ADMIN)
    elapsed = time.perf_counter() - start
    print(f"domain: {calls} transitions in {elapsed:.3f} s = {calls / elapsed:,.0f} calls/s")


def bench_world_size(copies: int) -> None:
    doc = seed_document(0)
    big: dict[str, list] = {k: [] for k in doc}
    # Fresh ids per copy so the resources are distinct.
    for n in range(copies):
        part = seed_document(n + 1)
        for kind, entries in part.items():
            big[kind].extend(entries)
    big["tokens"] = [t for i, t in enumerate(big["tokens"]) if i < len(doc["tokens"])]
    resources = sum(len(big[k]) for k in ("orgs", "users", "projects", "actions", "user_grants"))
    tracemalloc.start()
    start = time.perf_counter()
    world = load_document(big)  # held, so the figure is what a live world costs
    elapsed = time.perf_counter() - start
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del world
    print(
        f"world: {resources} resources loaded in {elapsed:.2f} s, "
        f"{current / 2**20:.1f} MiB held ({current / resources:,.0f} B per resource), "
        f"peak {peak / 2**20:.1f} MiB"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_http(requests: int, concurrency: int) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", str(port), "--log-level", "warning"],
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
        action = httpx.get(f"{base}/_mock/v1/world").json()["actions"][0]["id"]
        headers = {"Authorization": f"Bearer {SEED_TOKENS.instance_owner}"}
        paths = [
            f"/management/v1/actions/{action}/_deactivate",
            f"/management/v1/actions/{action}/_reactivate",
        ]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        per_worker = requests // concurrency

        def worker(offset: int) -> None:
            with httpx.Client(base_url=base, headers=headers) as client:
                for i in range(per_worker):
                    t0 = time.perf_counter()
                    response = client.post(paths[(i + offset) % 2], json={})
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(
            f"http: {len(latencies)} requests, concurrency {concurrency}, {elapsed:.2f} s = "
            f"{len(latencies) / elapsed:,.0f} req/s; p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--domain-calls", type=int, default=50_000)
    parser.add_argument("--world-copies", type=int, default=200)
    args = parser.parse_args()
    bench_domain(args.domain_calls)
    bench_world_size(args.world_copies)
    bench_http(args.requests, 1)
    bench_http(args.requests, args.concurrency)


if __name__ == "__main__":
    main()
