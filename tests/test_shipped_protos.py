"""The proto subset as shipped compiles on its own: with protoc's bundled well-known types and
nothing else (no googleapis checkout), as a user of the wheel would run it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import grpc_tools

import mock_server.grpc_front

PROTO_ROOT = Path(mock_server.grpc_front.__file__).resolve().parent / "proto"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _shipped() -> list[str]:
    return sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.rglob("*.proto"))


def test_the_subset_compiles_with_only_what_it_ships(tmp_path) -> None:
    protos = _shipped()
    assert "google/api/annotations.proto" in protos and "google/api/http.proto" in protos
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            f"--descriptor_set_out={tmp_path / 'set.pb'}",
            *protos,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "zitadel" / "management_pb2_grpc.py").exists()


def test_package_data_ships_every_proto() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    # Each proto directory is a package of its own, with its files as that package's data.
    package_data = config["tool"]["setuptools"]["package-data"]
    packages = set(config["tool"]["setuptools"]["packages"])
    for proto in _shipped():
        directory, name = proto.rsplit("/", 1)
        package = "mock_server.grpc_front.proto." + directory.replace("/", ".")
        assert package in packages, proto
        assert any(fnmatch(name, pattern) for pattern in package_data[package]), proto
