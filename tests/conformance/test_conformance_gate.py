"""``zitadel-conformance`` as a CI gate, run as a real process: its exit code, the verdict it
prints and every report it writes (JUnit, JSON, Markdown, HTML) agree; configuration errors are
one line naming its own flags; a run never deactivates an org it was not allowed to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from conformance_harness import FAST_EXAMPLES, HidingProxy, resources_file

from conformance import provisioning, spec
from conformance.matrix import COLUMNS, Matrix

SCRIPT = Path(sys.executable).with_name("zitadel-conformance")
OPERATIONS = list(spec.operations())


def conformance(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """The console script in a process of its own, as a CI step runs it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZITADEL_")}
    environment.pop("GITHUB_STEP_SUMMARY", None)
    environment.update(env or {})
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _verdict_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("verdict: ")]
    assert len(lines) == 1, stdout
    return lines[0].removeprefix("verdict: ")


# (name, fault mode, arguments, exit code, verdict label)
RUNS = [
    ("conforming", None, ("--allow-org-deactivation", "--examples", "2"), 0, "CONFORMS"),
    ("failing", "frozen_sequence", ("-k", "lifecycle and not org"), 1, "DOES NOT CONFORM"),
    ("no-skips with skips", None, ("--no-skips", "-k", "lifecycle"), 1, "DOES NOT CONFORM"),
    ("deselection", None, ("-k", "not_found"), 0, "PARTIAL RUN: THE SELECTED CHECKS PASS"),
    (
        "coverage required",
        None,
        ("--require-coverage", "-k", "not_found"),
        1,
        "DOES NOT CONFORM",
    ),
]


@pytest.mark.parametrize(
    ("mode", "args", "exit_code", "label"), [r[1:] for r in RUNS], ids=[r[0] for r in RUNS]
)
def test_exit_code_verdict_and_every_report_agree(
    fault_server, tmp_path, mode, args, exit_code, label
):
    fault_server.set_mode(mode)
    summary = tmp_path / "step-summary.md"
    try:
        done = conformance(
            # The API's URL, as people copy it from their console, is taken as the root.
            fault_server.url + "/management/v1",
            "--profile",
            "v4",
            "--read-timeout",
            "1",
            "--junitxml",
            "out/junit.xml",
            "--json",
            "out/report.json",
            "--html",
            "out/report.html",
            *args,
            cwd=tmp_path,
            env={"GITHUB_STEP_SUMMARY": str(summary)},
        )
    finally:
        fault_server.set_mode(None)
    out = done.stdout
    assert done.returncode == exit_code, out + done.stderr
    printed = _verdict_line(out)
    assert printed.startswith(f"{label} (exit code {exit_code})"), printed
    # Nothing of pytest's own machinery or warnings reaches the user.
    assert "Traceback" not in out + done.stderr
    assert "PytestAssertRewriteWarning" not in out + done.stderr
    assert not (tmp_path / ".hypothesis").exists()

    report = json.loads((tmp_path / "out/report.json").read_text())
    assert report["verdict"]["label"] == label
    assert report["verdict"]["exit_code"] == exit_code
    assert report["verdict"]["conforms"] == (exit_code == 0)
    assert set(report["matrix"]) == set(OPERATIONS)
    assert set(report["matrix"]["DeactivateUser"]) == set(COLUMNS)
    for failure in report["failures"]:
        assert failure["example"]["request"]["url"].startswith(fault_server.url)
        assert "status" in failure["example"]["response"]
    assert bool(report["failures"]) == (mode is not None)
    coverage = report["coverage"]["DeactivateAction"]["documented"]
    assert set(coverage) == {"200", "400 code 3", "400 code 9", "401 code 16", "403 code 7",
                             "404 code 5"}  # fmt: skip
    if "not_found" in args:
        # Only the unknown-id scenario ran: its outcome was seen, the others were not.
        assert coverage["404 code 5"] > 0 and coverage["200"] == 0
    required = "--require-coverage" in args
    assert required == any("--require-coverage" in r for r in report["verdict"]["reasons"])

    suite = ET.parse(tmp_path / "out/junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "zitadel-conformance"
    cases = list(suite.iter("testcase"))
    assert len(cases) == len(OPERATIONS) * len(COLUMNS) + 1
    assert {c.get("classname") for c in cases} == {*OPERATIONS, "zitadel-conformance"}
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failures)
    assert (len(failures) > 0) == (exit_code != 0)
    verdict_case = next(c for c in cases if c.get("name") == "verdict")
    assert (verdict_case.find("failure") is not None) == (exit_code != 0)
    for cell_state, case in _states(report, cases):
        assert (case.find("failure") is not None) == (cell_state == "FAIL")
        assert (case.find("skipped") is not None) == (cell_state in ("skip", "n/a", "-"))

    markdown = summary.read_text()
    assert label in markdown.splitlines()[0]
    assert f"exit code {exit_code}" in markdown
    html = (tmp_path / "out/report.html").read_text()
    assert f"{label} (exit code {exit_code})" in " ".join(html.split())
    if mode is not None:
        assert "[lifecycle.sequence]" in out and "[lifecycle.sequence]" in markdown


def _states(report, cases):
    for case in cases:
        if case.get("name") != "verdict":
            yield report["matrix"][case.get("classname")][case.get("name")]["state"], case


def test_the_html_report_renders_its_matrix_in_a_browser(fault_server, tmp_path):
    fault_server.set_mode("frozen_sequence")
    try:
        done = conformance(
            fault_server.url,
            "--examples",
            FAST_EXAMPLES,
            "-k",
            "lifecycle and not org",
            "--html",
            "report.html",
            cwd=tmp_path,
        )
    finally:
        fault_server.set_mode(None)
    assert done.returncode == 1, done.stdout + done.stderr
    page = (tmp_path / "report.html").read_text()
    # Self-contained: nothing is fetched from anywhere.
    markup = page.split('id="report-data"')[0] + page.split("</script>")[-2]
    for fetching in ("<link", "src=", "href=", "@import", "url("):
        assert fetching not in markup
    dom = _headless_dom(tmp_path / "report.html", tmp_path / "chromium")
    cells = len(OPERATIONS) * len(COLUMNS)
    # The script draws the matrix from the embedded data and counts what it drew.
    assert f'data-rendered="{cells}"' in dom, dom[:2000]
    assert dom.count("data-cell=") == cells
    assert 'data-cell="DeactivateUser/lifecycle" data-state="FAIL"' in dom or (
        'data-state="FAIL" data-cell="DeactivateUser/lifecycle"' in dom
    )
    assert "<summary>" in dom and "[lifecycle.sequence]" in dom
    # The coverage table: the lifecycle scenario answered 200s, the auth scenarios never ran.
    assert "<td>DeactivateUser</td><td>200</td>" in dom
    assert '<td>DeactivateUser</td><td>401 code 16</td><td data-state="skip">never</td>' in dom


def _headless_dom(page: Path, profile: Path) -> str:
    # Not on a fresh machine: `make setup` installs it (Debian package chromium). A missing
    # browser fails the test: the report's rendering would go unchecked.
    browser = shutil.which("chromium")
    assert browser, "headless Chromium is needed: make setup installs it (apt-get chromium)"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_documents_the_exit_codes(tmp_path):
    done = conformance("--help", cwd=tmp_path)
    assert done.returncode == 0
    for code in ("0", "1", "2", "4"):
        assert f"\n  {code}  " in done.stdout, done.stdout
    assert "--json" in done.stdout and "--summary" in done.stdout and "--html" in done.stdout


def test_a_configuration_error_is_one_line_with_this_commands_flags(fault_server, tmp_path):
    with HidingProxy(fault_server.url) as proxy:
        done = conformance(proxy.url, cwd=tmp_path)
    assert done.returncode == 4
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "zitadel-conformance: a token is needed (--token or ZITADEL_TOKEN); only our mock with "
        "its control plane can provision a caller"
    ]
    unreachable = conformance("http://127.0.0.1:9", cwd=tmp_path)
    assert unreachable.returncode == 4
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "cannot reach http://127.0.0.1:9" in unreachable.stderr
    assert "_pytest" not in unreachable.stderr + unreachable.stdout


def test_skip_reasons_name_this_commands_flags(fault_server, tmp_path):
    done = conformance(fault_server.url, "-k", "lifecycle and org", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "--allow-org-deactivation or ZITADEL_ALLOW_ORG_DEACTIVATION" in done.stdout
    assert "--zitadel-" not in done.stdout


def test_without_the_flag_no_org_is_ever_deactivated(fault_server, tmp_path):
    # A server that acts on the caller's own org whatever x-zitadel-orgid says: any
    # DeactivateOrg would hit it, so none may leave the suite.
    fault_server.set_mode("org_ops_ignore_header")
    try:
        with HidingProxy(fault_server.url, hide_control=False) as proxy:
            done = conformance(proxy.url, "--examples", FAST_EXAMPLES, cwd=tmp_path)
            seen = proxy.seen
    finally:
        fault_server.set_mode(None)
    # The server is caught (an unknown org is not refused) without the suite touching an org.
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[auth.unknown_org]" in done.stdout
    writes = [s.path for s in seen if s.path.startswith("/management/v1/orgs/me/")]
    assert writes and all(path.endswith("/_reactivate") for path in writes), writes
    assert "DeactivateOrg is never sent without --allow-org-deactivation" in done.stdout


def test_a_resource_found_in_a_state_the_suite_did_not_leave_is_reported(fault_server, tmp_path):
    resources = resources_file(fault_server.url, tmp_path / "resources.yaml")
    user = provisioning.load_file(tmp_path / "resources.yaml").first("user")
    with httpx.Client(timeout=10) as client:
        mock = provisioning.discover_mock(fault_server.url, client)
        mock.set_state(user, "inactive")
    with HidingProxy(fault_server.url) as proxy:
        done = conformance(
            proxy.url, *resources, "-k", "test_lifecycle and user and not grant", cwd=tmp_path
        )
    assert done.returncode == 0, done.stdout
    assert (
        f"note: lifecycle: found user {user.id} inactive at the start, a state this suite did "
        "not leave it in; it was made active again"
    ) in done.stdout


def test_failures_that_differ_only_by_generated_values_are_one_line():
    matrix = Matrix(OPERATIONS)
    for number in range(163):
        matrix.failed(
            "DeactivateUser", "status", "status.mapping", f"id '{9000 + number}': code {number}"
        )
    matrix.failed("DeactivateUser", "status", "status.success", "a success answered 201")
    cell = matrix.cell("DeactivateUser", "status")
    assert len(cell.failures) == 2
    rendered = matrix.render()
    assert "[status.mapping] id '9000': code 0 (163 times, e.g. this one)" in rendered
    assert rendered.count("status.mapping") == 1
    merged = Matrix(OPERATIONS)
    merged.merge(matrix.to_dict())
    merged.merge(matrix.to_dict())
    assert merged.count_of("DeactivateUser", "status", "status.mapping", "id '1': code 2") == 326
