"""A plain, non-editable ``pip install .``: the wheel builds without setuptools warnings, the
mock runs on its base dependencies alone, ``zitadel-conformance`` names the extra it lacks, and
the pytest plugins leave a base install's pytest working.

The new environment gets no network: its dependencies are the base ones (and their own, found
from the installed metadata) linked in from this test run's environment, so only what
``[project] dependencies`` promises is importable there.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from mock_process import start_mock
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "zitadel-lifecycle-contract"
HINT = f"pip install '{DISTRIBUTION}[conformance]'"


def _closure(requirements: Iterable[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions that ``requirements`` need, with their extras, transitively."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(r), "") for r in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        dist = metadata.distribution(requirement.name)
        key = dist.metadata["Name"].lower()
        wanted = {""} | set(requirement.extras)
        for want in wanted:
            if (key, want) in found:
                continue
            found[(key, want)] = dist
            pending += [(Requirement(r), want) for r in dist.requires or []]
    return {name: dist for (name, _), dist in found.items()}


def _link_farm(target: Path, dists: dict[str, metadata.Distribution]) -> None:
    """``target`` holds links to the files of ``dists`` only, as a site directory would."""
    target.mkdir()
    for dist in dists.values():
        for file in dist.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            source = Path(dist.locate_file(top))
            link = target / top
            if source.exists() and not link.exists():
                link.symlink_to(source)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-v", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    build_output = result.stdout + result.stderr
    # The proto directories were data inside a package: ~45 "Package would be ignored" warnings.
    for warning in ("would be ignored", "SetuptoolsDeprecationWarning", "is deprecated"):
        assert warning not in build_output
    (built,) = out.glob("*.whl")
    return built


def _environment(base: Path, wheel: Path, extra_requirements: Iterable[str] = ()) -> Path:
    """A venv with the wheel installed and only its base dependencies (plus ``extra``)."""
    venv.create(base / "env", with_pip=False)
    python = base / "env" / "bin" / "python"
    base_requirements = [
        r for r in metadata.requires(DISTRIBUTION) or [] if "extra ==" not in r.replace("'", '"')
    ]
    _link_farm(base / "deps", _closure([*base_requirements, *extra_requirements]))
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "base-deps.pth").write_text(str(base / "deps") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return base / "env" / "bin"


@pytest.fixture(scope="module")
def base_install(tmp_path_factory, wheel) -> Path:
    return _environment(tmp_path_factory.mktemp("base"), wheel)


def _run(*command: object) -> subprocess.CompletedProcess:
    # Run from the environment's own directory: from the checkout, `python -c` and `-m` would
    # import its sources instead of the installed wheel.
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(str(command[0])).parent,
    )


def test_the_base_install_lacks_the_suite(base_install) -> None:
    probe = _run(base_install / "python", "-c", "import pytest")
    assert probe.returncode == 1 and "No module named 'pytest'" in probe.stderr
    # Not this checkout's sources: the wheel's copy.
    where = _run(base_install / "python", "-c", "import mock_server; print(mock_server.__file__)")
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout


def test_the_mock_runs_from_the_base_install(base_install, tmp_path) -> None:
    version = _run(base_install / "zitadel-mock", "--version")
    assert version.stdout == f"zitadel-mock {metadata.version(DISTRIBUTION)}\n"
    mock = start_mock("--grpc-port", "0", command=[str(base_install / "zitadel-mock")])
    try:
        response = httpx.post(
            f"{mock.url}/management/v1/orgs/me/_deactivate",
            headers={"Authorization": "Bearer admin-pat"},
            content=b"{}",
        )
        assert response.status_code == 200, response.text
        ui = httpx.get(f"{mock.url}/management/v1/openapi.json")
        assert ui.status_code == 200
    finally:
        mock.signal()
        assert mock.wait(20) == 0, mock.stderr
    assert "Traceback" not in mock.stderr


def test_the_conformance_cli_names_the_missing_extra(base_install) -> None:
    version = _run(base_install / "zitadel-conformance", "--version")
    assert version.stdout == f"zitadel-conformance {metadata.version(DISTRIBUTION)}\n"
    helped = _run(base_install / "zitadel-conformance", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: zitadel-conformance")
    run = _run(base_install / "zitadel-conformance", "http://127.0.0.1:9")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.strip().endswith(HINT)
    as_module = _run(base_install / "python", "-m", "conformance", "http://127.0.0.1:9")
    assert (as_module.returncode, as_module.stderr) == (2, run.stderr)


def test_pytest_beside_the_base_install_keeps_working(tmp_path_factory, wheel) -> None:
    """Someone's own pytest next to the mock: both pytest11 plugins load and stay inert, and
    the mock's fixtures serve a test."""
    base = tmp_path_factory.mktemp("with-pytest")
    bin_dir = _environment(base, wheel, ["pytest"])
    test_file = base / "test_uses_the_mock.py"
    test_file.write_text(
        "def test_mock(zitadel_instance):\n"
        "    with zitadel_instance.client() as client:\n"
        "        token = zitadel_instance.tokens['instance_owner']\n"
        "        response = client.post('/management/v1/orgs/me/_deactivate', content=b'{}',\n"
        "                               headers={'Authorization': f'Bearer {token}'})\n"
        "    assert response.status_code == 200\n"
    )
    plain = _run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 passed" in plain.stdout
    assert "Error" not in plain.stderr


def test_the_wheel_ships_the_license_and_the_protos(wheel) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "mock_server/grpc_front/proto/zitadel/management.proto" in names
    assert "mock_server/grpc_front/proto/google/api/http.proto" in names
    assert "mock_server/fixtures/load.py" in names
    assert wheel.name.endswith("-py3-none-any.whl")


def test_the_console_script_and_python_m_conformance_give_one_verdict(tmp_path) -> None:
    """With the extra installed (this environment) both forms run the suite, the same way."""
    script = Path(sys.executable).with_name("zitadel-conformance")
    mock = start_mock("--no-grpc")
    try:
        options = [mock.url, "--token", "admin-pat", "--examples", "2", "--allow-org-deactivation"]
        runs = [
            subprocess.run(
                [*command, *options], capture_output=True, text=True, timeout=300, cwd=tmp_path
            )
            for command in ([str(script)], [sys.executable, "-m", "conformance"])
        ]
    finally:
        mock.signal()
        mock.wait(20)
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    verdicts = [
        [line for line in r.stdout.splitlines() if line.startswith("verdict:")] for r in runs
    ]
    assert verdicts[0] == verdicts[1] and len(verdicts[0]) == 1, verdicts
