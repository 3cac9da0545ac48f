"""The plugin stays out of the way unless asked, reads its options, and never touches orgs it
may not change."""

import xml.etree.ElementTree as ET
from pathlib import Path

import hypothesis
import pytest
from conformance_harness import free_port, run_suite
from hypothesis import strategies as st
from schemathesis import GenerationMode

from conformance import cli, provisioning
from conformance.settings import OPTIONS, Settings, SettingsError, resolve
from conformance.target import Target, UnsafeRequest

SUITE = ["--pyargs", "conformance.suite", "-p", "no:cacheprovider", "-q"]


@pytest.fixture(autouse=True)
def no_suite_environment(monkeypatch):
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)


def test_flags_win_over_environment_over_ini(monkeypatch):
    ini = {"url": "http://ini:1", "token": "ini-token", "examples": "30", "profile": "v3"}
    monkeypatch.setenv("ZITADEL_TOKEN", "env-token")
    monkeypatch.setenv("ZITADEL_ALLOW_ORG_DEACTIVATION", "1")
    settings = resolve({"url": "http://flag:2"}, ini)
    assert settings == Settings(
        url="http://flag:2",
        token="env-token",
        profile="v3",
        examples=30,
        allow_org_deactivation=True,
    )


def test_without_a_url_there_are_no_settings_and_no_errors(monkeypatch):
    monkeypatch.setenv("ZITADEL_PROFILE", "not-a-profile")
    assert resolve({}, {}) is None
    with pytest.raises(SettingsError, match="profile"):
        resolve({"url": "http://x"}, {})
    with pytest.raises(SettingsError, match="http"):
        resolve({"url": "localhost:8080"}, {})


def test_the_suite_is_not_collected_without_a_url(capsys):
    assert pytest.main(SUITE) == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "needs a target URL" in capsys.readouterr().out


def test_other_tests_run_untouched_even_with_stray_variables(tmp_path, monkeypatch):
    (tmp_path / "test_other.py").write_text("def test_fine():\n    assert True\n")
    monkeypatch.setenv("ZITADEL_PROFILE", "not-a-profile")
    monkeypatch.setenv("ZITADEL_EXAMPLES", "many")
    assert pytest.main([str(tmp_path), "-p", "no:cacheprovider", "-q"]) == pytest.ExitCode.OK


def _unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_ini_options_activate_the_suite(tmp_path, capsys):
    ini = tmp_path / "pytest.ini"
    ini.write_text(f"[pytest]\nzitadel_url = {_unreachable()}\nzitadel_token = t\n")
    code = pytest.main(["-c", str(ini), "--rootdir", str(tmp_path), *SUITE])
    assert code == pytest.ExitCode.USAGE_ERROR
    assert "cannot reach" in capsys.readouterr().out


def test_environment_activates_the_suite(monkeypatch, capsys):
    monkeypatch.setenv("ZITADEL_URL", _unreachable())
    monkeypatch.setenv("ZITADEL_TOKEN", "t")
    assert pytest.main(SUITE) == pytest.ExitCode.USAGE_ERROR
    assert "cannot reach" in capsys.readouterr().out


def test_the_cli_needs_a_url(capsys):
    assert cli.main([]) == 2
    assert "URL" in capsys.readouterr().err


def test_the_cli_maps_its_options_to_the_plugin():
    args, extra = cli.parse_args(
        ["http://x", "--token", "t", "--resources", "r.yaml", "--examples", "40",
         "--allow-org-deactivation", "--junitxml", "out.xml", "--json", "r.json",
         "--summary", "s.md", "--html", "r.html", "--require-coverage", "-k", "auth"]
    )  # fmt: skip
    argv = cli.pytest_args(args, extra)
    for pair in (
        ("--zitadel-url", "http://x"),
        ("--zitadel-token", "t"),
        ("--zitadel-resources", "r.yaml"),
        ("--zitadel-examples", "40"),
        ("--zitadel-junit", "out.xml"),
        ("--zitadel-json", "r.json"),
        ("--zitadel-summary", "s.md"),
        ("--zitadel-html", "r.html"),
        ("-k", "auth"),
    ):
        index = argv.index(pair[0])
        assert argv[index + 1] == pair[1]
    assert "--zitadel-allow-org-deactivation" in argv
    assert "--zitadel-require-coverage" in argv


def test_junit_report_and_matrix_of_a_partial_run(fault_server, tmp_path):
    report = tmp_path / "junit.xml"
    run = run_suite(fault_server.url, "-k", "not_found", "--junitxml", str(report))
    assert run.exit_code == 0
    cases = ET.parse(report).getroot().iter("testcase")
    # One case per matrix cell: a deselected cell is a skipped case, not a missing one.
    outcomes = {
        (case.get("classname"), case.get("name")): [child.tag for child in case] for case in cases
    }
    assert outcomes[("DeactivateAction", "not_found")] == []
    assert outcomes[("DeactivateAction", "lifecycle")] == ["skipped"]
    assert run.matrix.state("DeactivateAction", "not_found") == "pass"
    assert run.matrix.state("DeactivateAction", "lifecycle") == "-"


def test_no_skips_turns_a_skip_into_a_failure(fault_server):
    run = run_suite(fault_server.url, "-k", "lifecycle and org", "--no-skips")
    assert run.matrix.state("DeactivateOrg", "lifecycle") == "skip"
    assert run.exit_code == 1


def test_resources_file_errors_are_named(tmp_path):
    path = tmp_path / "resources.yaml"
    path.write_text("org: '1'\nactionz: ['2']\n")
    with pytest.raises(provisioning.ResourcesError, match="actionz"):
        provisioning.load_file(path)
    path.write_text("actions: ['2']\n")
    with pytest.raises(provisioning.ResourcesError, match="'org'"):
        provisioning.load_file(path)
    path.write_text(
        "org: '1'\nother_org: '9'\nactions: '2'\nusers: ['3']\n"
        "user_grants: [{user: '3', grant: '4'}]\ntokens: {no_membership: nm}\n"
    )
    loaded = provisioning.load_file(path)
    assert [(r.kind, r.id, r.params) for r in loaded.refs] == [
        ("action", "2", {"id": "2"}),
        ("user", "3", {"id": "3"}),
        ("user_grant", "4", {"user_id": "3", "grant_id": "4"}),
        ("org", "1", {}),
    ]
    assert loaded.other_org == "9" and loaded.tokens == {"no_membership": "nm"}


def _offline_target(allow_org: bool) -> Target:
    resources = provisioning.Resources(
        source="test",
        org="100",
        other_org="200",
        refs=[provisioning.Ref("org", "100", "100")],
        caller_org="300",
    )
    settings = Settings(url=_unreachable(), token="t", allow_org_deactivation=allow_org)
    return Target(settings, resources)


@pytest.mark.parametrize("allow_org", [False, True])
def test_generated_org_calls_never_address_an_org_the_suite_may_not_change(allow_org):
    target = _offline_target(allow_org)
    allowed_known = {"100"} if allow_org else set()
    for rpc in ("DeactivateOrg", "ReactivateOrg"):
        operation = target.api_operation(rpc)
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @hypothesis.settings(max_examples=150, database=None, deadline=None)
        @hypothesis.given(case=strategy)
        def org_header_is_safe(case):
            sent = case.as_transport_kwargs(base_url=target.base_url)["headers"]
            org = str(sent.get("x-zitadel-orgid", "")).strip()
            assert org, "an org call without x-zitadel-orgid acts on the caller's own org"
            assert org in allowed_known or org not in target.protected_orgs()

        org_header_is_safe()


def test_the_last_guard_refuses_an_org_call_without_a_safe_header():
    target = _offline_target(allow_org=False)
    operation = target.api_operation("DeactivateOrg")
    for headers in (
        {},
        {"x-zitadel-orgid": ""},
        {"x-zitadel-orgid": "100"},
        {"X-Zitadel-OrgId": "300"},
    ):
        case = operation.Case(headers=headers, body={}, media_type="application/json")
        with pytest.raises(UnsafeRequest):
            target.send(case)


def test_no_absolute_paths_in_the_shipped_files():
    root = Path(__file__).resolve().parents[2]
    for path in [*(root / "conformance").rglob("*.py"), root / "conformance" / "README.md"]:
        assert str(root) not in path.read_text(encoding="utf-8"), path
