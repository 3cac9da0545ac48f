"""The side-by-side benchmark's pieces work: its load generator sends what the workload says
and counts the answers right, its fixture files load into the mock, its CPU figures cover a
server's child processes. Nothing here times anything (figures are for ``make bench``), and
no Prism or npm is needed."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_side_by_side.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_side_by_side", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def mock():
    server = bench.start_mock()
    yield server
    server.stop()


def test_the_toggle_mix_answers_half_200_and_half_400(mock):
    action = bench.toggled_action(mock)
    requests = bench.workload("toggle", mock.prefix, action)
    block = bench.measure(mock, bench.python_load, requests, 1, 1.0)
    assert block.errors == 0
    assert set(block.statuses) == {200, 400}
    # One connection sends deactivate, deactivate, reactivate, reactivate in turn: every
    # second call finds the action in the state it asks for (at most the first cycle differs).
    assert abs(block.statuses[200] - block.statuses[400]) <= 2
    assert block.requests == sum(block.statuses.values()) > 20
    assert 0 < block.p50_ms <= block.p99_ms
    assert block.cpu_us > 0  # the mock spent CPU on the block, read from /proc


def test_the_unauthenticated_path_over_several_processes_is_all_401(mock):
    requests = bench.workload("unauth", mock.prefix, bench.toggled_action(mock))
    assert all(not any(n == "Authorization" for n, _ in r.headers) for r in requests)
    block = bench.python_load(mock.port, requests, 4, 0.5, processes=2)
    assert block.errors == 0
    assert block.statuses == {401: block.requests}
    assert block.requests > 4


def test_the_read_is_get_action(mock):
    action = bench.toggled_action(mock)
    (read,) = bench.workload("read", mock.prefix, action)
    assert (read.method, read.path) == ("GET", f"/management/v1/actions/{action}")
    block = bench.python_load(mock.port, [read], 2, 0.5, processes=1)
    assert block.statuses == {200: block.requests}


def test_grpc_web_statuses_are_read_from_the_trailers(mock):
    requests = bench.workload("web-toggle", mock.prefix, bench.toggled_action(mock))
    assert [r.path.rsplit("/", 1)[1] for r in requests] == [
        "DeactivateAction",
        "DeactivateAction",
        "ReactivateAction",
        "ReactivateAction",
    ]
    block = bench.python_load(mock.port, requests, 1, 0.5)
    # Every answer is HTTP 200; OK and FAILED_PRECONDITION (9) alternate in its trailers.
    assert set(block.statuses) == {"grpc 0", "grpc 9"}
    assert abs(block.statuses["grpc 0"] - block.statuses["grpc 9"]) <= 2
    unauth = bench.workload("web-unauth", mock.prefix, "1")
    assert bench.python_load(mock.port, unauth, 1, 0.3).statuses.keys() == {"grpc 16"}


def test_prism_is_sent_the_paths_without_the_server_prefix():
    paths = [r.path for r in bench.workload("toggle", "", "7")]
    assert paths == ["/actions/7/_deactivate"] * 2 + ["/actions/7/_reactivate"] * 2


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_a_generated_fixture_file_loads_into_the_mock(tmp_path, suffix):
    fixture = tmp_path / f"world.{suffix}"
    counts = bench.write_fixture(fixture, 1000)
    resources = sum(counts[k] for k in ("orgs", "users", "projects", "actions", "user_grants"))
    assert resources == 1000 and counts["memberships"] == counts["users"]
    server = bench.start_mock(fixture)
    try:
        world = httpx.get(f"http://127.0.0.1:{server.port}/_mock/v1/world").json()
        # extend: true keeps the seeded world, and the bench's resources are all there.
        assert len(world["orgs"]) == counts["orgs"] + 3
        assert {t["token"] for t in world["tokens"]} >= {bench.TOKEN, "bench-0-pat"}
        requests = bench.workload("toggle", server.prefix, bench.toggled_action(server))
        block = bench.python_load(server.port, requests, 1, 0.5)
        assert set(block.statuses) == {200, 400}
    finally:
        server.stop()


def test_the_in_process_figure_toggles_through_the_whole_app(tmp_path):
    fixture = tmp_path / "world.json"
    bench.write_fixture(fixture, 1000)
    # In its own process, as the world-size table runs it, for the default world and a file.
    assert bench._in_process_toggle_us(None) > 0
    assert bench._in_process_toggle_us(fixture) > 0


def test_the_in_process_figure_refuses_to_measure_failing_calls(monkeypatch):
    from mock_server.domain import errors, service

    def refuse(*_args):
        raise errors.unauthenticated("Errors.Token.Invalid", "AUTH-7fs1e")

    monkeypatch.setattr(service, "authorize", refuse)
    with pytest.raises(RuntimeError, match="401"):
        bench.in_process_toggle_us(None, calls=8, rounds=1)


def test_plain_starlette_answers_every_path_with_fixed_json():
    server = bench.start_starlette()
    try:
        answer = httpx.post(f"http://127.0.0.1:{server.port}/management/v1/anything", json={})
        assert answer.status_code == 200 and "details" in answer.json()
        block = bench.python_load(server.port, bench.workload("read", server.prefix, "1"), 2, 0.5)
        assert block.statuses == {200: block.requests} and block.requests > 2
    finally:
        server.stop()


def test_cpu_of_a_server_counts_its_children():
    # An idle parent whose child spins: the figure Prism's node tree would give.
    spin = "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end: pass"
    wait_for_child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}])"
    parent = subprocess.Popen([sys.executable, "-c", wait_for_child])
    try:
        deadline = time.monotonic() + 15
        while len(tree := bench.process_tree(parent.pid)) < 2 or bench.cpu_seconds(tree[1]) < 0.3:
            assert time.monotonic() < deadline, "the child never spun for 0.3 s of CPU"
            time.sleep(0.1)
        assert len(tree) == 2 and tree[0] == parent.pid
        # The parent itself only waits: the figure is the child's CPU, on the machine's load.
        child = bench.cpu_seconds(tree[1])
        assert bench.cpu_seconds(parent.pid) >= child >= 0.3
        assert bench.rss_bytes(parent.pid) > bench.rss_bytes(tree[1]) > 0
    finally:
        for pid in reversed(bench.process_tree(parent.pid)):
            os.kill(pid, signal.SIGTERM)
        parent.wait(timeout=10)


def test_wrk_results_are_read_from_the_lua_summary():
    script = bench.wrk_script(bench.workload("toggle", "/management/v1", "7"))
    formats = [line for line in script.splitlines() if "wrk.format(" in line]
    assert [("_deactivate" in f, "Bearer admin-pat" in f) for f in formats] == [
        (True, True),
        (True, True),
        (False, True),
        (False, True),
    ]
    output = "Running 5s test\nBENCH 12000 5000000 1200 4800 3\nSTATUS 200 6001\nSTATUS 400 5999\n"
    block = bench.parse_wrk_output(output)
    assert (block.requests, block.seconds, block.rps) == (12000, 5.0, 2400.0)
    assert (block.p50_ms, block.p99_ms, block.errors) == (1.2, 4.8, 3)
    assert block.statuses == {200: 6001, 400: 5999}
    # The gRPC-web frame starts with zero bytes: Lua gets them as decimal escapes.
    assert bench._lua_string(b'\x00a"\\') == '"\\000a\\034\\092"'
    with pytest.raises(RuntimeError, match="no result line"):
        bench.parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused")


def test_the_readme_bench_commands_parse():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Benchmark\n", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in section.splitlines() if line.startswith("make bench ARGS=")]
    assert len(commands) == 3
    for command in commands:
        (assignment,) = [word for word in shlex.split(command) if word.startswith("ARGS=")]
        args = bench.parse_args(shlex.split(assignment.removeprefix("ARGS=")))
        assert args.duration > 0 and args.repetitions >= 1 and args.workloads
    quick = bench.parse_args(["--quick"])
    assert (quick.duration, quick.repetitions, quick.world_sizes) == (1.0, 1, [1000])


def test_the_performance_note_s_bench_commands_parse():
    note = (Path(__file__).resolve().parents[1] / "docs" / "performance.md").read_text("utf-8")
    found = re.findall(r"python bench/bench_side_by_side\.py([^`\n]*)", note)
    assert len(found) >= 3
    for arguments in found:
        args = bench.parse_args(shlex.split(arguments))
        assert args.duration is None or args.duration > 0
