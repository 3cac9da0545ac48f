"""The run's one verdict and its exit code: every report (terminal, JUnit, JSON, Markdown, HTML)
and the process's exit status come from :func:`decide`, so they cannot disagree.

Exit codes of ``zitadel-conformance``:

0  the target conforms in every check that ran (the verdict says when checks were skipped or
   deselected)
1  it does not conform: a check failed, the suite could not restore a resource, or a gap that
   ``--no-skips`` (a skipped check) / ``--require-coverage`` turns into a failure; checks
   deselected with ``-k`` make the verdict PARTIAL, never a plain CONFORMS
2  the command line is wrong (unknown value, no URL) or the run was interrupted
3  internal error of pytest or a plugin
4  the configuration cannot work: target unreachable, no token, a bad resources file, a locked
   control plane
5  the selection (``-k``) left no check to run
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.matrix import Matrix

CONFORMS = "CONFORMS"
CONFORMS_WITH_SKIPS = "CONFORMS, WITH SKIPPED CHECKS"
PARTIAL = "PARTIAL RUN: THE SELECTED CHECKS PASS"
DOES_NOT_CONFORM = "DOES NOT CONFORM"

EXIT_CONFORMS = 0
EXIT_DOES_NOT_CONFORM = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_CONFIGURATION = 4
EXIT_NOTHING_SELECTED = 5

EXIT_CODES = {
    EXIT_CONFORMS: "the target conforms in every check that ran (the verdict says when checks "
    "were skipped, and reads PARTIAL when -k deselected some)",
    EXIT_DOES_NOT_CONFORM: "it does not conform: a check failed, a resource could not be "
    "restored, or a gap that --no-skips / --require-coverage makes a failure",
    EXIT_USAGE: "the command line is wrong (no URL, a bad value) or the run was interrupted",
    EXIT_INTERNAL: "internal error of pytest or a plugin",
    EXIT_CONFIGURATION: "the configuration cannot work: target unreachable, no token, a bad "
    "resources file, a locked control plane",
    EXIT_NOTHING_SELECTED: "the selection (-k) left no check to run",
}


@dataclass(frozen=True)
class Verdict:
    label: str
    exit_code: int
    reasons: list[str] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return self.exit_code == EXIT_CONFORMS


def decide(
    results: Matrix,
    *,
    tests_failed: bool,
    no_skips: bool,
    restore_problems: list[str],
    coverage_gaps: list[str] | None,
) -> Verdict:
    """``coverage_gaps`` is ``None`` unless coverage is required."""
    failing = [
        (rpc, column) for (rpc, column), cell in results.cells.items()
        if cell.state in ("FAIL", "ERROR")
    ]  # fmt: skip
    skipped = results.skipped_cells
    not_run = results.not_run
    reasons = []
    if failing:
        reasons.append(f"{len(failing)} checks failed")
    elif tests_failed:
        reasons.append("a test of the suite failed outside the matrix")
    if restore_problems:
        reasons.append("the suite could not restore: " + "; ".join(sorted(set(restore_problems))))
    if coverage_gaps:
        reasons.append(
            f"--require-coverage: {len(coverage_gaps)} documented outcomes never seen ("
            + ", ".join(coverage_gaps[:5])
            + (", ..." if len(coverage_gaps) > 5 else "")
            + ")"
        )
    gaps = []
    if skipped:
        gaps.append(f"{len(skipped)} checks skipped")
    if not_run:
        gaps.append(f"{len(not_run)} checks not run (deselected)")
    if no_skips and skipped:
        # Deselection is the user's own choice (-k) and reads PARTIAL; a skip is the suite's.
        reasons.append(f"--no-skips: {len(skipped)} checks skipped")
    if reasons:
        return Verdict(DOES_NOT_CONFORM, EXIT_DOES_NOT_CONFORM, reasons)
    if not_run:
        return Verdict(PARTIAL, EXIT_CONFORMS, gaps)
    if skipped:
        return Verdict(CONFORMS_WITH_SKIPS, EXIT_CONFORMS, gaps)
    return Verdict(CONFORMS, EXIT_CONFORMS, [])
