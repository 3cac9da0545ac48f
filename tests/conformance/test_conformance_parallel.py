"""The suite under pytest-xdist (``-n 2``): each worker in an instance of its own on our mock,
resources of a file never toggled by two workers at once, and one verdict, matrix and JUnit
report, the same as a serial run's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
import yaml
from conformance_fault_server import FAULTS
from conformance_harness import HidingProxy, Run, free_port, resources_file, run_suite

from conformance import cli, provisioning
from conformance.matrix import Matrix

ARGS = ("--profile", "v4", "--allow-org-deactivation")
WORKERS = ("-n", "2")
AGENTS = {"zitadel-conformance (gw0)", "zitadel-conformance (gw1)"}


# With the smallest budget the stateful phase reaches a link only by chance, and each worker
# walks its own share of it, so whether a links cell ran differs between runs; every other
# cell must be the same.
RANDOM_WALK = "links"


def _cells(run: Run) -> dict[tuple[str, str], tuple]:
    """Every cell's verdict and reasons (the lag figures differ from run to run)."""
    return {
        key: (cell.state, sorted(cell.failures), sorted(cell.skips), sorted(cell.errors))
        for key, cell in run.matrix.cells.items()
        if RANDOM_WALK not in key
    }


def _junit(path) -> set[tuple[str, str, str]]:
    cases = set()
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag != "system-out"), "passed")
        if RANDOM_WALK not in (case.get("name") or ""):
            cases.add((case.get("classname"), case.get("name"), outcome))
    return cases


def test_workers_each_work_in_an_instance_of_their_own(fault_server, tmp_path, capsys):
    fault_server.set_mode(None)
    # The smallest budget: the generated and stateful phases still run, for every operation.
    given = ("--token", "admin-pat", "--examples", "2")
    serial = run_suite(fault_server.url, *ARGS, *given, "--junitxml", str(tmp_path / "s.xml"))
    with HidingProxy(fault_server.url, hide_control=False) as proxy:
        parallel = run_suite(
            proxy.url, *ARGS, *given, *WORKERS, "--junitxml", str(tmp_path / "p.xml")
        )
        seen = proxy.seen
    out = capsys.readouterr().out
    assert serial.exit_code == parallel.exit_code == 0, out
    assert out.count("verdict: CONFORMS") == 2
    assert _cells(parallel) == _cells(serial)
    assert _junit(tmp_path / "p.xml") == _junit(tmp_path / "s.xml")

    created = [s for s in seen if (s.method, s.path) == ("POST", "/_mock/v1/instances")]
    assert [s.status for s in created] == [201, 201]
    api = [s for s in seen if s.path.startswith("/management/v1/")]
    instances = {agent: {s.instance for s in api if s.agent == agent} for agent in AGENTS}
    assert {s.agent for s in api} == AGENTS
    # Every API call of a worker went to its instance, and no two workers shared one.
    assert all(len(hosts) == 1 and None not in hosts for hosts in instances.values())
    assert len(set.union(*instances.values())) == 2
    # admin-pat is unknown in the new instances: each worker called as its instance's owner.
    owners = {
        agent: {s.authorization for s in api if s.agent == agent and s.status == 200}
        for agent in AGENTS
    }
    assert all(
        len(tokens) == 1 and tokens.pop().startswith("Bearer admin-pat-")
        for tokens in [set(t) for t in owners.values()]
    ), owners
    assert len(set.union(*owners.values())) == 2
    deleted = [s for s in seen if s.method == "DELETE" and s.path.startswith("/_mock/v1/instances")]
    assert [s.status for s in deleted] == [204, 204]
    names = [
        i["name"] for i in httpx.get(f"{fault_server.url}/_mock/v1/instances").json()["instances"]
    ]
    assert not [n for n in names if n.startswith("conformance-")]


@pytest.mark.parametrize("fault", ["repeat_deactivate_ok"])
def test_a_fault_one_worker_finds_fails_the_run(fault_server, fault, capsys):
    # The fault looks the resource up in the world of the instance the request selects.
    fault_server.set_mode(fault)
    try:
        run = run_suite(fault_server.url, *ARGS, *WORKERS, "-k", "lifecycle or not_found")
    finally:
        fault_server.set_mode(None)
    out = capsys.readouterr().out
    assert run.exit_code == 1
    assert "verdict: DOES NOT CONFORM" in out
    assert set(FAULTS[fault].expected) & set(run.failed_rules()), run.matrix.render()
    assert FAULTS[fault].column in run.failed_columns()
    assert run.matrix.state("DeactivateAction", "not_found") == "pass"


def test_workers_never_toggle_the_resources_of_a_file_at_once(fault_server, tmp_path, capsys):
    fault_server.set_mode(None)
    path = tmp_path / "resources.yaml"
    resources = resources_file(fault_server.url, path)
    listed = yaml.safe_load(path.read_text())
    watch = {listed["org"], *listed["actions"], *listed["users"]}
    watch |= {g["grant"] for g in listed["user_grants"]}
    with HidingProxy(fault_server.url, watch=watch) as proxy:
        # The scenarios that toggle the resources (generated traffic takes the same lock).
        scenarios = "lifecycle or isolation or reads or no_authorization or not_found"
        run = run_suite(proxy.url, *ARGS, *resources, *WORKERS, "--no-skips", "-k", scenarios)
        seen = proxy.seen
        overlaps = proxy.overlaps
    out = capsys.readouterr().out
    assert run.exit_code == 0, out
    assert "verdict: PARTIAL RUN: THE SELECTED CHECKS PASS" in out
    writes = [s for s in seen if s.path.endswith(("/_deactivate", "/_reactivate"))]
    # Both workers toggled the listed resources, one after the other.
    assert {s.agent for s in writes if set(s.path.split("/")) & watch} == AGENTS
    assert overlaps == []


def test_a_target_that_cannot_be_reached_stops_before_the_workers_start(capsys):
    code = cli.main([f"http://127.0.0.1:{free_port()}", "--token", "t", *WORKERS])
    assert code == pytest.ExitCode.USAGE_ERROR
    # The console script checks before pytest starts, so the message is one line on stderr.
    assert "cannot reach" in capsys.readouterr().err


def test_merged_matrices_are_the_matrix_of_one_session():
    operations = ["DeactivateAction", "ReactivateAction"]
    one, first, second = Matrix(operations), Matrix(operations), Matrix(operations)
    for matrix in (one, first):
        matrix.passed("DeactivateAction", "details")
        matrix.skipped("DeactivateAction", "lifecycle", "no resources")
        matrix.lag("DeactivateAction", 0.01)
    for matrix in (one, second):
        matrix.passed("DeactivateAction", "details")
        matrix.passed("DeactivateAction", "lifecycle")
        matrix.failed("ReactivateAction", "details", "details.sequence", "got 7")
        matrix.skipped("DeactivateAction", "lifecycle", "no resources")
        matrix.notes.append("a note")
    merged = Matrix(operations)
    merged.merge(first.to_dict())
    merged.merge(second.to_dict())
    assert merged.render() == one.render()
    assert merged.state("DeactivateAction", "lifecycle") == "pass*"
    assert merged.cell("DeactivateAction", "details").evaluations == 2


def _instance(tokens: dict[str, str], users: dict[str, str]) -> provisioning.MockInstance:
    return provisioning.MockInstance(
        id="1",
        name="w1",
        headers={"x-zitadel-instance-host": "w1.localhost"},
        tokens=tokens,
        all_tokens=[{"token": t, "user": users[t]} for t in tokens.values()],
        parent=None,  # type: ignore[arg-type]
    )


def test_a_given_token_maps_to_the_same_principal_in_a_workers_instance():
    parent = provisioning.MockControl(
        "http://x",
        {
            "tokens": [
                {"token": "admin-pat", "user": "u1"},
                {"token": "org-owner-pat", "user": "u2"},
            ]
        },
        httpx.Client(),
    )
    tokens = {"instance_owner": "admin-pat-0a1b2c3d4e5f", "org_owner": "org-owner-pat-0a1b2c3d4e5f"}
    users = {"admin-pat-0a1b2c3d4e5f": "u1", "org-owner-pat-0a1b2c3d4e5f": "u2"}
    instance = _instance(tokens, users)
    assert provisioning.equivalent_token(parent, instance, "org-owner-pat") == (
        "org-owner-pat-0a1b2c3d4e5f",
        None,
    )
    # A token of another instance of the same seed names its principal too.
    assert provisioning.equivalent_token(parent, instance, "org-owner-pat-ffffffffffff")[0] == (
        "org-owner-pat-0a1b2c3d4e5f"
    )
    token, note = provisioning.equivalent_token(parent, instance, "someone-elses-pat")
    assert token == "admin-pat-0a1b2c3d4e5f"
    assert note is not None and "instance owner" in note
