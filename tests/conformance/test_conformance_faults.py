"""The suite against deliberately broken servers: each fault fails it with the right check."""

from __future__ import annotations

import pytest
from conformance_fault_server import FAULTS
from conformance_harness import HidingProxy, resources_file, run_suite

# Faults are injected into the v4 mock; the profile is fixed so that no fault can hide behind
# the suite adopting the mock's own profile.
COMMON = ("--profile", "v4", "--allow-org-deactivation")
# A transition the reads never show fails once this has passed; the mock's reads follow its
# writes at once, so a short wait loses nothing and keeps the failing runs short.
READ_TIMEOUT = ("--read-timeout", "1")


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_fails_the_suite_with_its_rule(fault_server, fault, tmp_path):
    expected = FAULTS[fault]
    fault_server.set_mode(fault)
    try:
        if expected.without_control:
            # Seen through the reads alone: no control plane, resources from a file.
            resources = resources_file(fault_server.url, tmp_path / "resources.yaml")
            with HidingProxy(fault_server.url) as proxy:
                run = run_suite(proxy.url, *COMMON, *READ_TIMEOUT, *resources, *expected.suite_args)
        else:
            run = run_suite(fault_server.url, *COMMON, *READ_TIMEOUT, *expected.suite_args)
    finally:
        fault_server.set_mode(None)
    found = run.failed_rules()
    assert run.exit_code == 1, f"{fault}: the suite passed\n{run.matrix.render()}"
    assert set(expected.expected) & set(found), (
        f"{fault}: expected one of {expected.expected}, the suite reported {sorted(found)}\n"
        + run.matrix.render()
    )
    assert expected.column in run.failed_columns(), run.matrix.render()
    blamed = {rule for rule, columns in found.items() if expected.column in columns}
    assert not blamed & set(expected.not_blamed), run.matrix.render()
    if expected.described_as is not None:
        summaries = [s for cell in run.matrix.cells.values() for _, s in cell.failures]
        assert any(expected.described_as in s for s in summaries), run.matrix.render()


@pytest.mark.parametrize("profile", ["v4", "v3"])
def test_the_correct_mock_passes(fault_server, profile):
    # grant_v3_behaviour serves the v3 mock; without a fault the v4 one answers.
    fault_server.set_mode(None if profile == "v4" else "grant_v3_behaviour")
    try:
        run = run_suite(
            fault_server.url, "--profile", profile, "--allow-org-deactivation", "--no-skips"
        )
    finally:
        fault_server.set_mode(None)
    assert run.exit_code == 0, run.matrix.render()
    states = {cell.state for cell in run.matrix.cells.values()}
    assert states <= {"pass", "n/a"}, run.matrix.render()
    # Every transition was read back, and how long that took is a figure of the report.
    assert all(run.matrix.max_lag(rpc) is not None for rpc in run.matrix.operations)
