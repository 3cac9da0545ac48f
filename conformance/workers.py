"""The suite under pytest-xdist (``-n auto``): what a worker sends back, and what workers share.

Each worker is a pytest session of its own: it opens the target for itself (on our mock, in an
instance of its own) and fills a matrix with the tests it ran. At its end it puts that matrix
and what the report header needs into ``config.workeroutput``; the controller, which runs no
test, merges them as each worker goes down (``pytest_testnodedown``) and renders the result,
so the verdict, matrix and exit code are those of a serial run.

A resources file names the same resources to every worker. The tests that may change them (the
ones using ``zitadel_restore``) then take :class:`SharedLock` for their whole run, restore
included, so no two workers ever toggle them at once; the others (unknown ids) still run side by
side. The lock is a file lock, which holds for the workers of one machine (``-n``); workers on
other machines (``--tx ssh=...``) would each take their own.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OUTPUT_KEY = "zitadel_conformance"


def worker_id(config: pytest.Config) -> str | None:
    """``gw0``, ``gw1``, ... in an xdist worker; ``None`` in a serial run or the controller."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("workerid") if workerinput else None


def is_controller(config: pytest.Config) -> bool:
    """This session hands the tests to xdist workers and runs none itself."""
    return worker_id(config) is None and config.pluginmanager.has_plugin("dsession")


def lock_path(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"zitadel-conformance-{run_id}.lock"


class SharedLock:
    """One lock for the workers of one test run; reentrant within a worker."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: nothing to share with (a serial run)
        self._depth = 0
        self._file: Any = None

    @classmethod
    def for_config(cls, config: pytest.Config) -> SharedLock:
        workerinput = getattr(config, "workerinput", None)
        run_id = workerinput.get("testrunuid") if workerinput else None
        return cls(lock_path(run_id) if run_id else None)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        import fcntl  # POSIX; xdist workers of one machine share the file

        if self._depth == 0:
            self._file = open(self.path, "a+b")  # noqa: SIM115 (closed in finally)
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._file.close()
                self._file = None


def merge_header(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The report header of several workers' sessions, as one session's would read."""
    merged: dict[str, Any] = {
        "profile": None,
        "sources": [],
        "generated": {},
        "links_steps": 0,
        "links_followed": 0,
        "workers": [],
    }
    for part in parts:
        merged["profile"] = merged["profile"] or part.get("profile")
        if part.get("source") and part["source"] not in merged["sources"]:
            merged["sources"].append(part["source"])
        for rpc, counts in part.get("generated", {}).items():
            total = merged["generated"].setdefault(rpc, {"positive": 0, "negative": 0})
            for mode, count in counts.items():
                total[mode] = total.get(mode, 0) + count
        merged["links_steps"] += part.get("links_steps", 0)
        merged["links_followed"] += part.get("links_followed", 0)
        merged["workers"].append(part.get("worker_line", ""))
    return merged
