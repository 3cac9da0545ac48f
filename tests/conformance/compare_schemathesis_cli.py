"""How many of the faults plain ``schemathesis run --checks all`` catches.

Not a test (it takes a few minutes): run it by hand and read the table::

    .venv/bin/python tests/conformance/compare_schemathesis_cli.py [--with-hooks]

For each fault the world is reset, the fault switched on, and ``schemathesis run`` pointed at
the spec with the instance owner's token and a fixed seed. A fault counts as caught when the run
reports a failure (code and operation) that the same run against the unbroken mock does not.
``--with-hooks`` adds this suite's response rules to schemathesis through SCHEMATHESIS_HOOKS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from conformance_fault_server import ADMIN_TOKEN, FAULTS  # noqa: E402
from conformance_harness import FaultServer, start_fault_server, stop  # noqa: E402


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)


def schemathesis_failures(server: FaultServer, hooks: bool, examples: int) -> set[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ)
        if hooks:
            env["SCHEMATHESIS_HOOKS"] = "conformance.schemathesis_hooks"
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            str(ROOT / "openapi" / "management.yaml"),
            "--url",
            f"{server.url}/management/v1",
            "--checks",
            "all",
            "-H",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--max-examples",
            str(examples),
            "--seed",
            "1",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ]
        # Run where schemathesis may leave its cache without littering the checkout.
        subprocess.run(command, env=env, cwd=tmp, capture_output=True, check=False, timeout=600)
        data = json.loads(report.read_text())
    return {
        (failure.get("title") or failure["code"], operation)
        for failure in data.get("failures", [])
        for operation in failure.get("operations", [])
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--with-hooks", action="store_true")
    parser.add_argument("--examples", type=int, default=50)
    args = parser.parse_args()
    server = start_fault_server()
    try:

        def run(mode: str | None) -> set[tuple[str, str]]:
            server.set_mode(None)
            _post(f"{server.url}/_mock/v1/reset")  # the v4 world
            server.set_mode("grant_v3_behaviour")
            _post(f"{server.url}/_mock/v1/reset")  # the v3 world
            server.set_mode(mode)
            return schemathesis_failures(server, args.with_hooks, args.examples)

        baselines = {None: run(None), "grant_v3_behaviour": run("grant_v3_behaviour")}
        print(f"baseline (unbroken v4 mock): {sorted(baselines[None])}")
        caught = 0
        for name in FAULTS:
            found = run(name)
            baseline = baselines["grant_v3_behaviour" if name == "grant_v3_behaviour" else None]
            new = sorted({title for title, _ in found - baseline})
            caught += bool(new)
            print(f"{name:24} {'CAUGHT ' if new else 'missed '} {', '.join(new)}")
        print(f"schemathesis run --checks all caught {caught} of {len(FAULTS)} faults")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
