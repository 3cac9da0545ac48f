"""The pytest plugin (entry point ``pytest11``) that runs the conformance suite.

Inert unless a target URL is configured: without one the suite's own test modules are not even
collected, and nothing here touches other tests. Then::

    pytest --pyargs conformance.suite --zitadel-url http://localhost:8080 --zitadel-token T

Imports stay light at module level: pytest loads this plugin in every run of this environment.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.settings import OPTIONS, Settings, SettingsError, resolve

if TYPE_CHECKING:
    from conformance.matrix import Matrix
    from conformance.target import Target

SUITE_DIR = Path(__file__).resolve().parent / "suite"
MARKER = "zitadel_check"
# Columns whose cells the suite's test outcomes fill (the others fill themselves per response).
_TRAFFIC = ("generated", "links")


class SuiteState:
    def __init__(self, config: pytest.Config) -> None:
        flags = {o.name: config.getoption(f"zitadel_{o.name}") for o in OPTIONS}
        ini = {o.name: config.getini(o.ini) for o in OPTIONS}
        self.error: str | None = None
        self.settings: Settings | None = None
        try:
            self.settings = resolve(flags, ini)
        except SettingsError as exc:
            # Raised only when the suite runs, so a stray variable cannot break other tests.
            self.error = str(exc)
            self.settings = None
            self.configured = True
        else:
            self.configured = self.settings is not None
        self.ignored = False
        self.matrix: Matrix | None = None
        self.target: Target | None = None
        self.ran: set[str] = set()
        self.generated_ran: set[str] = set()
        self.links_ran = False
        self.restore_problems: list[str] = []
        self.started = time.monotonic()

    def open(self) -> Target:
        from conformance.target import TargetError, open_target

        # A configuration the suite cannot work with ends the run at once, with one message
        # instead of the same error on every test.
        if self.error:
            pytest.exit(
                f"zitadel conformance: {self.error}", returncode=pytest.ExitCode.USAGE_ERROR
            )
        if self.target is None:
            assert self.settings is not None
            try:
                self.target = open_target(self.settings, self.matrix)
            except TargetError as exc:
                pytest.exit(f"zitadel conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        return self.target


_STATE = pytest.StashKey[SuiteState]()


def _state(config: pytest.Config) -> SuiteState:
    return config.stash[_STATE]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zitadel-conformance", "ZITADEL lifecycle conformance suite")
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}, ini {option.ini}]"
        dest = f"zitadel_{option.name}"
        if option.is_flag:
            group.addoption(
                option.flag, action="store_true", default=False, dest=dest, help=help_text
            )
            parser.addini(option.ini, help=option.help, type="bool", default=False)
        else:
            group.addoption(
                option.flag, default=None, dest=dest, metavar=option.metavar, help=help_text
            )
            parser.addini(option.ini, help=option.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(column): the conformance matrix column a suite test fills"
    )
    state = SuiteState(config)
    config.stash[_STATE] = state
    if state.settings is not None:
        from conformance import matrix, spec

        state.matrix = matrix.Matrix(list(spec.operations()))
        for rpc, operation in spec.operations().items():
            if operation.kind == "org":
                state.matrix.not_applicable(
                    rpc,
                    "not_found",
                    "the org operations take no id; an unknown org in x-zitadel-orgid is the "
                    "auth scenario 'unknown org' (403 code 7)",
                )
                state.matrix.not_applicable(
                    rpc, "isolation", "the org operations act on the org x-zitadel-orgid names"
                )


def results_of(config: pytest.Config) -> Matrix | None:
    """The matrix of a session that ran the suite (for tools that run it in-process)."""
    return config.stash[_STATE].matrix if _STATE in config.stash else None


def _in_suite(path: Path) -> bool:
    try:
        path.resolve().relative_to(SUITE_DIR)
    except ValueError:
        return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    state = _state(config)
    if not state.configured and _in_suite(collection_path):
        state.ignored = True
        return True
    return None


@pytest.fixture(scope="session")
def zitadel_target(request: pytest.FixtureRequest) -> Any:
    """The target under test (:class:`conformance.target.Target`), provisioned and restored."""
    state = _state(request.config)
    target = state.open()
    yield target
    state.restore_problems += target.restore()


@pytest.fixture
def zitadel_restore(request: pytest.FixtureRequest, zitadel_target: Any) -> Any:
    """Puts every resource the suite may change back to active after the test."""
    yield
    problems = zitadel_target.restore()
    if problems:
        _state(request.config).restore_problems += problems
        pytest.fail("could not restore: " + "; ".join(problems), pytrace=False)


def _operations_of(item: pytest.Item) -> list[str]:
    from conformance import spec

    params = getattr(getattr(item, "callspec", None), "params", {})
    if "rpc" in params:
        return [params["rpc"]]
    if "kind" in params:
        return [o.rpc for o in spec.kinds()[params["kind"]]]
    return list(spec.operations())


def _summary(excinfo: Any, violations: list[Any] | None = None) -> tuple[str, str]:
    exc = excinfo.value
    if violations is None:
        violations = getattr(exc, "violations", None)
    if violations:
        own = [v for v in violations if "." in v.rule and v.rule.split(".")[0] in _SCENARIOS]
        first = (own or violations)[0]
        return first.rule, first.message.strip().splitlines()[0]
    rule = getattr(exc, "rule", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return rule or type(exc).__name__, text


_SCENARIOS = ("auth", "not_found", "lifecycle", "isolation", "reads")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    state = _state(item.config)
    marker = item.get_closest_marker(MARKER)
    if marker is None or state.matrix is None:
        return report
    # The first column is the test's own; the others (e.g. visibility) are filled by the
    # target as it checks, and share only the test's skips.
    column, *secondary = marker.args
    operations = _operations_of(item)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        state.ran.update(operations)
        if column == "generated":
            state.generated_ran.update(operations)
        if column == "links":
            state.links_ran = True
    if report.when == "call" and report.passed and column not in _TRAFFIC:
        for rpc in operations:
            state.matrix.passed(rpc, column)
    elif report.skipped and report.when in ("setup", "call"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        for rpc in operations:
            target_column = "5xx" if column == "generated" else column
            for name in (target_column, *secondary):
                state.matrix.skipped(rpc, name, reason)
    elif report.failed and call.excinfo is not None:
        from conformance.matrix import column_of

        violations = getattr(call.excinfo.value, "violations", None)
        recorded = violations is not None
        if violations is not None and secondary:
            # Broken only in a secondary column (recorded there): the test's own checks held.
            violations = [v for v in violations if column_of(v.rule) not in secondary]
            if not violations:
                for rpc in operations:
                    state.matrix.passed(rpc, column)
                return report
        rule, summary = _summary(call.excinfo, violations)
        for rpc in operations:
            if column in _TRAFFIC:
                if not recorded:
                    state.matrix.errored(rpc, "5xx" if column == "generated" else column, summary)
            else:
                state.matrix.failed(rpc, column, rule, summary)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state.matrix is None or not state.ran:
        return
    _finalize(state)
    if state.restore_problems:
        state.matrix.notes.append(
            "the suite could not restore: " + "; ".join(sorted(set(state.restore_problems)))
        )
    settings = state.settings
    failing = state.restore_problems or (
        settings is not None and settings.no_skips and state.matrix.skipped_any
    )
    if failing and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _finalize(state: SuiteState) -> None:
    assert state.matrix is not None
    hints = {}
    target = state.target
    if target is not None and not target.may_touch_org:
        for rpc in ("DeactivateOrg", "ReactivateOrg"):
            hints[(rpc, "details")] = (
                "the org operations only answer 200 with --zitadel-allow-org-deactivation"
            )
    state.matrix.finalize(state.generated_ran, hints)
    if state.links_ran:
        for rpc in state.matrix.operations:
            cell = state.matrix.cell(rpc, "links")
            if cell.state == "-":
                cell.skips.append("no step of the stateful phase reached this operation")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if state.matrix is None or not state.ran:
        if state.ignored:
            terminalreporter.write_line(
                "zitadel conformance: the suite did not run; it needs a target URL "
                "(--zitadel-url or ZITADEL_URL)"
            )
        return
    terminalreporter.write_sep("=", "ZITADEL lifecycle conformance")
    terminalreporter.write_line(_header(state))
    terminalreporter.write_line("")
    for line in state.matrix.render().splitlines():
        terminalreporter.write_line(line)
    verdict = "CONFORMS" if not state.matrix.failed_any and exitstatus == 0 else "DOES NOT CONFORM"
    if verdict == "CONFORMS" and state.matrix.skipped_any:
        verdict += " (with skipped checks, see above)"
    terminalreporter.write_line("")
    terminalreporter.write_line(f"verdict: {verdict}")


def _header(state: SuiteState) -> str:
    settings = state.settings
    target = state.target
    lines = [f"target: {settings.root if settings else '?'}"]
    if target is not None:
        lines[0] += f"  profile: {target.profile}  resources: {target.resources.source}"
        generated = target.generated_counts
        if generated:
            positive = min(c["positive"] for c in generated.values())
            negative = min(c["negative"] for c in generated.values())
            lines.append(
                f"generated examples per operation: at least {positive} positive and "
                f"{negative} negative; stateful phase: {sum(target.links_steps.values())} steps, "
                f"{target.links_followed} through a link"
            )
    lines.append(f"duration: {time.monotonic() - state.started:.1f}s")
    return "\n".join(lines)
