"""The composite GitHub Action (``action.yml``) run locally as a runner would: its ``run:``
lines with the inputs and the runner's variables substituted, against a mock this test starts.

The install step is the non-editable install a CI job gets, so this is also the test that such
an install runs without assertion-rewrite warnings and leaves no ``.hypothesis/`` behind. To stay
offline and fast, pip gets ``--no-deps`` (``PIP_NO_DEPS``) and the new environment sees this
one's packages through a ``.pth`` file; the kit itself is built and installed from the action's
path like on a runner.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import yaml
from mock_process import start_mock

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _substitute(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        raise AssertionError(f"the test does not know the expression {name}")

    return _EXPRESSION.sub(value, text)


def _run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The shell GitHub runs for `shell: bash`.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_action_installs_the_kit_and_gates_on_a_running_mock(tmp_path):
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    declared = action["inputs"]
    assert {"url", "token", "args", "junit", "json", "html"} <= set(declared)
    runner_temp, workspace = tmp_path / "runner-temp", tmp_path / "workspace"
    runner_temp.mkdir()
    workspace.mkdir()
    summary, output = tmp_path / "step-summary.md", tmp_path / "output"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZITADEL_", "VIRTUAL_ENV"))}
    env.update(
        GITHUB_ACTION_PATH=str(ROOT),
        RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(output),
        PIP_NO_DEPS="1",
        PIP_NO_INDEX="1",
        # pip's spelling of --no-build-isolation as a variable: setuptools comes from here.
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    mock = start_mock("--no-grpc")
    try:
        inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        inputs.update(
            url=mock.url,
            python=sys.executable,
            args="--allow-org-deactivation --examples 2",
        )
        install, run = action["runs"]["steps"]
        venv = runner_temp / "zitadel-conformance"
        for line in _substitute(install["run"], inputs, {}).strip().splitlines():
            done = _run(line, env, workspace)
            assert done.returncode == 0, done.stdout + done.stderr
            if " -m venv " in line:
                _see_these_packages(venv)
        installed = subprocess.run(
            [str(venv / "bin/python"), "-c", "import conformance; print(conformance.__file__)"],
            capture_output=True,
            text=True,
            cwd=workspace,
        )
        # Not this checkout: a copy in the new environment, as on a runner.
        assert str(venv) in installed.stdout, installed.stdout + installed.stderr

        step_env = {**env, **{k: _substitute(v, inputs, {}) for k, v in run["env"].items()}}
        done = _run(_substitute(run["run"], inputs, {}), step_env, workspace)
    finally:
        mock.signal()
        mock.wait(timeout=20)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"^verdict: CONFORMS.* \(exit code 0\)$", done.stdout, re.M), out
    assert output.read_text().strip() == "exit-code=0"
    assert "CONFORMS" in summary.read_text().splitlines()[0]
    for name in ("junit", "json", "html"):
        assert (workspace / inputs[name]).is_file(), name
    assert "PytestAssertRewriteWarning" not in out
    assert "warnings summary" not in out
    assert sorted(p.name for p in workspace.iterdir()) == sorted(
        inputs[name] for name in ("junit", "json", "html")
    ), "the run left more than its reports in the working directory"


def _see_these_packages(venv: Path) -> None:
    """Let the new environment import this one's dependencies (never this checkout)."""
    ours = Path(site.getsitepackages()[0])
    theirs = next((venv / "lib").glob("python3*/site-packages"))
    (theirs / "_dependencies.pth").write_text(f"{ours}\n", encoding="utf-8")
    # The setuptools a new venv of Python 3.11 brings is too old for this pyproject.toml; the
    # build then takes this environment's (a runner's pip builds in isolation, from PyPI).
    for old in [
        *theirs.glob("setuptools*"),
        *theirs.glob("_distutils_hack"),
        *theirs.glob("distutils-precedence.pth"),
    ]:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
