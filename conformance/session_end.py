"""How a session that ran the suite ends: the matrix completed, the one verdict decided, the
reports written, and the header they and the terminal show (a worker sends its part of it).

Its own module so that :mod:`conformance.plugin` keeps to pytest's hooks and fixtures; the hooks
import it only once a session that ran the suite ends, and it keeps the heavier modules
(coverage, verdict, reports) inside its functions.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance import workers
from conformance.settings import flag

if TYPE_CHECKING:
    from conformance.plugin import SuiteState


def _profile(state: SuiteState) -> str:
    if state.header_parts:
        return workers.merge_header(state.header_parts)["profile"]
    if state.target is not None:
        return state.target.profile
    return (state.settings.profile if state.settings else None) or "v4"


def decide(state: SuiteState, session: pytest.Session) -> Any:
    from conformance import coverage, verdict

    assert state.matrix is not None and state.settings is not None
    if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return verdict.Verdict(
            "NO VERDICT: the run did not complete",
            int(session.exitstatus),
            [f"pytest ended with exit status {int(session.exitstatus)}"],
        )
    table = coverage.coverage(state.matrix.observed, _profile(state))
    state.coverage = table
    return verdict.decide(
        state.matrix,
        tests_failed=bool(session.testsfailed)
        or session.exitstatus == pytest.ExitCode.TESTS_FAILED,
        no_skips=state.settings.no_skips,
        restore_problems=state.restore_problems,
        coverage_gaps=coverage.gaps(table) if state.settings.require_coverage else None,
    )


def write_reports(state: SuiteState) -> list[str]:
    """Every report the settings ask for; the lines that say where they went."""
    from conformance import reports

    settings = state.settings
    assert settings is not None and state.matrix is not None
    doc = reports.document(
        state.matrix,
        state.verdict,
        target=settings.root,
        header=report_header(state),
        coverage=state.coverage,
        duration=time.monotonic() - state.started,
    )
    written = []
    if settings.json_report is not None:
        reports.write_json(settings.json_report, doc)
        written.append(f"JSON report: {settings.json_report}")
    summary = reports.write_summary(settings.summary, doc)
    if summary is not None:
        written.append(f"Markdown summary: {summary}")
    if settings.html is not None:
        reports.write_html(settings.html, doc)
        written.append(f"HTML report: {settings.html}")
    if settings.junit is not None:
        reports.write_junit(settings.junit, doc)
        written.append(f"JUnit report: {settings.junit}")
    return written


def finalize(state: SuiteState) -> None:
    assert state.matrix is not None
    hints = {}
    target = state.target
    if target is not None and not target.may_touch_org:
        for rpc in ("DeactivateOrg", "ReactivateOrg"):
            hints[(rpc, "details")] = (
                f"the org operations only answer 200 with {flag('allow_org_deactivation')}=1"
            )
    state.matrix.finalize(state.generated_ran, hints)
    if state.links_ran:
        for rpc in state.matrix.operations:
            cell = state.matrix.cell(rpc, "links")
            if cell.state == "-":
                cell.skips.append("no step of the stateful phase reached this operation")


def report_header_part(state: SuiteState) -> dict[str, Any] | None:
    """What the report header says about the target as this session saw it."""
    target = state.target
    if target is None:
        return None
    instance = target.resources.instance
    where = f"instance {instance.name}" if instance is not None else target.resources.source
    return {
        "profile": target.profile,
        "source": target.resources.source,
        "generated": target.generated_counts,
        "links_steps": sum(target.links_steps.values()),
        "links_followed": target.links_followed,
        "worker_line": f"{state.worker}: {where}" if state.worker else "",
    }


def report_header(state: SuiteState) -> str:
    settings = state.settings
    parts = state.header_parts or [p for p in [report_header_part(state)] if p]
    lines = [f"target: {settings.root if settings else '?'}"]
    if parts:
        header = workers.merge_header(parts)
        lines[0] += f"  profile: {header['profile']}  resources: {'; '.join(header['sources'])}"
        generated = header["generated"]
        if generated:
            positive = min(c["positive"] for c in generated.values())
            negative = min(c["negative"] for c in generated.values())
            lines.append(
                f"generated examples per operation: at least {positive} positive and "
                f"{negative} negative; stateful phase: {header['links_steps']} steps, "
                f"{header['links_followed']} through a link"
            )
        if state.header_parts:
            lines.append(
                f"workers: {len(state.header_parts)} ({', '.join(sorted(header['workers']))})"
            )
    lines.append(f"duration: {time.monotonic() - state.started:.1f}s")
    return "\n".join(lines)
