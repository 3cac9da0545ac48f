"""The pytest plugin (entry point ``pytest11``) that runs the conformance suite.

Inert unless a target URL is configured: without one the suite's own test modules are not even
collected, and nothing here touches other tests. Then::

    pytest --pyargs conformance.suite --zitadel-url http://localhost:8080 --zitadel-token T

Under pytest-xdist (``-n auto``) every worker opens the target for itself and sends its matrix
to the controller, which merges and renders them (:mod:`conformance.workers`).

Imports stay light at module level: pytest loads this plugin in every run of this environment.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance import workers
from conformance.settings import OPTIONS, Settings, SettingsError, flag, resolve

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
        self.worker = workers.worker_id(config)
        self.lock = workers.SharedLock.for_config(config)
        self.touched = False  # a test that may change resources ran in this session
        self.header_parts: list[dict[str, Any]] = []  # the workers' (on the controller)
        self.lock_files: set[Path] = set()
        self.verdict: Any = None  # conformance.verdict.Verdict, once the run is decided
        self.coverage: dict[str, dict[str, Any]] = {}
        self.reports_written: list[str] = []

    def open(self, session: pytest.Session) -> Target:
        from conformance.target import TargetError, open_target

        if self.target is None:
            assert self.error is not None or self.settings is not None
            try:
                if self.error:
                    raise TargetError(self.error)
                assert self.settings is not None
                self.target = open_target(self.settings, self.matrix, self.worker)
            except TargetError as exc:
                self.stop(session, f"zitadel conformance: {exc}")
        return self.target

    def stop(self, session: pytest.Session, message: str) -> None:
        """A configuration the suite cannot work with ends the run at once, with one message
        instead of the same error on every test."""
        if self.worker is None:
            pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)
        # pytest.exit in an xdist worker crashes the controller; stopping is the worker's way.
        session.shouldstop = message
        pytest.fail(message, pytrace=False)

    def may_share_resources(self) -> bool:
        """Workers of this run may get the same resources (a resources file)."""
        target = self.target
        return self.worker is not None and target is not None and target.resources.shared


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
    target = state.open(request.session)
    yield target
    if state.may_share_resources():
        # Another worker may be in the middle of a scenario on the same resources: restore
        # under the lock, and only if this worker changed anything.
        if state.touched:
            with state.lock.held():
                state.restore_problems += target.restore()
    else:
        state.restore_problems += target.restore()
    state.restore_problems += target.close()


@pytest.fixture
def zitadel_restore(request: pytest.FixtureRequest, zitadel_target: Any) -> Any:
    """Puts every resource the suite may change back to active after the test.

    Under xdist with resources every worker shares (a resources file), the test and its
    restore run under the workers' lock.
    """
    state = _state(request.config)
    state.touched = True
    lock = state.lock.held() if state.may_share_resources() else contextlib.nullcontext()
    with lock:
        yield
        problems = zitadel_target.restore()
    if problems:
        state.restore_problems += problems
        pytest.fail("could not restore: " + "; ".join(problems), pytrace=False)


def _operations_of(item: pytest.Item) -> list[str]:
    from conformance import spec

    params = getattr(getattr(item, "callspec", None), "params", {})
    if "rpc" in params:
        return [params["rpc"]]
    if "kind" in params:
        return [o.rpc for o in spec.kinds()[params["kind"]]]
    return list(spec.operations())


def _summary(
    excinfo: Any, violations: list[Any] | None = None
) -> tuple[str, str, dict[str, Any] | None]:
    """The rule a failed test is reported under, its one-line summary and its exchange."""
    exc = excinfo.value
    if violations is None:
        violations = getattr(exc, "violations", None)
    if violations:
        own = [v for v in violations if "." in v.rule and v.rule.split(".")[0] in _SCENARIOS]
        first = (own or violations)[0]
        return first.rule, first.message.strip().splitlines()[0], first.example()
    rule = getattr(exc, "rule", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return rule or type(exc).__name__, text, None


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
        rule, summary, example = _summary(call.excinfo, violations)
        for rpc in operations:
            if column in _TRAFFIC:
                if not recorded:
                    state.matrix.errored(rpc, "5xx" if column == "generated" else column, summary)
            else:
                state.matrix.failed(rpc, column, rule, summary, example)
    return report


def pytest_sessionstart(session: pytest.Session) -> None:
    state = _state(session.config)
    if not state.configured or not workers.is_controller(session.config):
        return
    if not _names_the_suite(session.config):
        return
    # Workers cannot end the run with a usage error; what can be checked here is, once.
    from conformance.target import TargetError, preflight

    try:
        if state.error:
            raise TargetError(state.error)
        assert state.settings is not None
        preflight(state.settings)
    except TargetError as exc:
        pytest.exit(f"zitadel conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


def _names_the_suite(config: pytest.Config) -> bool:
    """The run's arguments include the suite (the controller collects nothing to tell)."""
    import importlib.util

    for arg in config.args:
        name = arg.split("::", 1)[0]
        path = Path(name)
        if config.option.pyargs and not path.exists():
            try:
                found = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                found = None
            if found is None or found.origin is None:
                continue
            path = Path(found.origin).parent
        path = path.resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents or path in SUITE_DIR.parents:
            return True
    return False


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """The controller: merge what a worker recorded as it goes down."""
    state = _state(node.config)
    output = getattr(node, "workeroutput", None) or {}
    run_id = getattr(node, "workerinput", {}).get("testrunuid")
    if run_id:
        state.lock_files.add(workers.lock_path(run_id))
    data = output.get(workers.OUTPUT_KEY)
    if data is None or state.matrix is None:
        if error is not None and state.matrix is not None:
            state.matrix.notes.append(f"worker {node.gateway.id} went down: {error}")
        return
    state.matrix.merge(data["matrix"])
    state.ran.update(data["ran"])
    state.generated_ran.update(data["generated_ran"])
    state.links_ran = state.links_ran or data["links_ran"]
    state.restore_problems += data["restore_problems"]
    if data["header"]:
        state.header_parts.append(data["header"])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    for path in state.lock_files:
        path.unlink(missing_ok=True)
    if state.matrix is None or not state.ran:
        return
    from conformance import session_end

    if state.worker is not None:
        # The controller finalizes: a cell one worker saw nothing for may be another's pass.
        session.config.workeroutput[workers.OUTPUT_KEY] = {  # type: ignore[attr-defined]
            "matrix": state.matrix.to_dict(),
            "ran": sorted(state.ran),
            "generated_ran": sorted(state.generated_ran),
            "links_ran": state.links_ran,
            "restore_problems": state.restore_problems,
            "header": session_end.report_header_part(state),
        }
        return
    session_end.finalize(state)
    if state.restore_problems:
        state.matrix.notes.append(
            "the suite could not restore: " + "; ".join(sorted(set(state.restore_problems)))
        )
    state.verdict = session_end.decide(state, session)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = state.verdict.exit_code
    state.reports_written = session_end.write_reports(state)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if state.worker is not None:
        return
    if state.matrix is None or not state.ran:
        if state.ignored:
            terminalreporter.write_line(
                f"zitadel conformance: the suite did not run; it needs a target URL ({flag('url')})"
            )
        return
    from conformance import session_end

    terminalreporter.write_sep("=", "ZITADEL lifecycle conformance")
    terminalreporter.write_line(session_end.report_header(state))
    terminalreporter.write_line("")
    for line in state.matrix.render().splitlines():
        terminalreporter.write_line(line)
    unseen = {
        rpc: [outcome for outcome, count in row["documented"].items() if not count]
        for rpc, row in state.coverage.items()
    }
    unseen = {rpc: outcomes for rpc, outcomes in unseen.items() if outcomes}
    if unseen:
        terminalreporter.write_line("")
        terminalreporter.write_line("documented outcomes never seen (--require-coverage fails):")
        for rpc, outcomes in unseen.items():
            terminalreporter.write_line(f"  {rpc}: {', '.join(outcomes)}")
    terminalreporter.write_line("")
    for line in state.reports_written:
        terminalreporter.write_line(line)
    verdict = state.verdict
    if verdict is None:
        return
    terminalreporter.write_line(f"verdict: {verdict.label} (exit code {verdict.exit_code})")
    for reason in verdict.reasons:
        terminalreporter.write_line(f"  {reason}")
