"""The README's first-run promises, checked fast: the make targets and extras it names exist,
and the one-line errors it quotes are what the mock prints."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

from mock_server.fixtures import FixtureError, build_world

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
START = README.split("## Start\n", 1)[1].split("\n## ", 1)[0]


def test_the_make_targets_of_start_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^make (\w+)", START, re.M)
    assert targets == ["mock", "check", "test", "conformance"]
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_the_extras_of_start_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = re.findall(r"pip install (?:-e )?'\.\[(\w+)\]'", START)
    assert named == ["conformance", "test"]
    assert set(named) <= set(extras)
    assert "zitadel-lifecycle-contract[conformance]" in extras["test"]


def test_the_busy_port_line_is_what_the_mock_prints() -> None:
    (quoted,) = re.findall(r"`(zitadel-mock: port 8080 is in use[^`]*)`", START)
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mock_server", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr == quoted.replace("8080", str(port)) + "\n"


def test_the_fixture_error_quoted_is_what_the_loader_says(tmp_path, monkeypatch) -> None:
    (quoted,) = re.findall(r"`(world\.yaml:3: [^`]*)`", README)
    (tmp_path / "world.yaml").write_text('orgs:\n  - {id: "1"}\nuser:\n  - {id: "2", org: "1"}\n')
    monkeypatch.chdir(tmp_path)
    try:
        build_world(0, "world.yaml")
    except FixtureError as exc:
        assert str(exc) == quoted
    else:
        raise AssertionError("the misspelt section loaded")
