"""``zitadel-conformance`` against a target without control plane: our mock behind a proxy that
hides ``/_mock``, with a resources file. State is then seen through the reads alone."""

from __future__ import annotations

import httpx
import pytest
from conformance_harness import HidingProxy, resources_file, run_suite

ARGS = ("--profile", "v4", "--allow-org-deactivation")


@pytest.fixture
def hidden(fault_server):
    with HidingProxy(fault_server.url) as proxy:
        yield proxy


def test_the_proxy_hides_the_control_plane(hidden):
    assert httpx.get(f"{hidden.url}/_mock/v1/info").status_code == 404
    reply = httpx.get(f"{hidden.url}/management/v1/orgs/me")
    assert reply.status_code == 401 and reply.json()["code"] == 16


def test_the_mock_behind_the_proxy_conforms(fault_server, hidden, tmp_path, capsys):
    fault_server.set_mode(None)
    resources = resources_file(fault_server.url, tmp_path / "resources.yaml")
    run = run_suite(hidden.url, *ARGS, *resources, "--no-skips")
    out = capsys.readouterr().out
    assert run.exit_code == 0, out
    assert "resources: resources file" in out
    assert "verdict: CONFORMS" in out
    for rpc in run.matrix.operations:
        assert run.matrix.state(rpc, "visibility") == "pass", run.matrix.render()
        assert run.matrix.state(rpc, "reads") == "pass", run.matrix.render()


def test_a_server_that_changes_nothing_does_not_conform(fault_server, hidden, tmp_path, capsys):
    resources = resources_file(fault_server.url, tmp_path / "resources.yaml")
    fault_server.set_mode("nothing_changes")
    try:
        run = run_suite(hidden.url, *ARGS, *resources, "--read-timeout", "1")
    finally:
        fault_server.set_mode(None)
    out = capsys.readouterr().out
    assert run.exit_code == 1
    assert "verdict: DOES NOT CONFORM" in out
    assert "[visibility.state]" in out
    assert "visibility" in run.failed_rules()["visibility.state"]
