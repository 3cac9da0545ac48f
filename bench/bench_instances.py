"""Figures for instances: how long creating one takes and what one holds in memory.

Run: .venv/bin/python bench/bench_instances.py [--creations N] [--instances N] [--seed S]
Everything runs in this process, on the registry a started mock uses (no socket): creation is
``Instances.create`` as ``POST /_mock/v1/instances`` and ``ZitadelMock.new_instance`` call it;
the HTTP figure adds the control plane's round trip through the ASGI app.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
import warnings

# connexion's imports warn about its own dependencies; nothing a figure depends on.
warnings.simplefilter("ignore", DeprecationWarning)
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import create_mock  # noqa: E402
from mock_server.domain.instances import Instances  # noqa: E402


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def _registry(count: int) -> Instances:
    return create_mock(seed=0, max_instances=count + 1).instances


def bench_creation(creations: int, seed: int) -> None:
    instances = _registry(creations)
    instances.create(seed=seed)  # the seed's document is built once and cached: warm it
    times, cpu = [], []
    for _ in range(creations):
        start, start_cpu = time.perf_counter(), time.thread_time()
        instances.create(seed=seed)
        cpu.append(time.thread_time() - start_cpu)
        times.append(time.perf_counter() - start)
    times.sort()
    cpu.sort()
    print(
        f"create: {creations} instances of seed {seed}: median {statistics.median(times) * 1e3:.3f}"
        f" ms, p99 {_percentile(times, 0.99) * 1e3:.3f} ms, max {times[-1] * 1e3:.3f} ms (wall); "
        f"CPU of this thread: median {statistics.median(cpu) * 1e3:.3f} ms, "
        f"p99 {_percentile(cpu, 0.99) * 1e3:.3f} ms (other processes' load left out)"
    )


def bench_creation_http(creations: int) -> None:
    from starlette.testclient import TestClient

    mock = create_mock(seed=0, max_instances=creations + 1)
    client = TestClient(mock.app, base_url="http://localhost")
    client.post("/_mock/v1/instances", json={})
    times = []
    for _ in range(creations):
        start = time.perf_counter()
        response = client.post("/_mock/v1/instances", json={})
        times.append(time.perf_counter() - start)
        assert response.status_code == 201, response.text
    times.sort()
    print(
        f"create over the control plane (ASGI, the answer holds the world): {creations} "
        f"instances: median {statistics.median(times) * 1e3:.3f} ms, "
        f"p99 {_percentile(times, 0.99) * 1e3:.3f} ms"
    )


def bench_memory(count: int, seed: int) -> None:
    instances = _registry(count)
    instances.create(seed=seed)  # warm caches, so they are not counted as instances
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(count):
        instances.create(seed=seed)
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_instance = (after - before) / count
    print(
        f"memory: {count} instances of seed {seed} hold {(after - before) / 2**20:.1f} MiB = "
        f"{per_instance / 1024:.1f} KiB per instance (tracemalloc), peak {peak / 2**20:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creations", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bench_creation(args.creations, args.seed)
    bench_creation_http(min(args.creations, 200))
    bench_memory(args.instances, args.seed)


if __name__ == "__main__":
    main()
