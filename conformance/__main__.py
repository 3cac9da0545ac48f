"""``python -m conformance`` and the ``zitadel-conformance`` console script.

It answers ``--version`` and ``--help`` itself and checks that the ``conformance`` extra is
installed before handing over to :mod:`conformance.cli`, so a plain ``pip install .`` (the mock
alone) gets one line saying what to install instead of an ImportError.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

from zitadel_lifecycle_openapi import DISTRIBUTION, package_version

# What the suite imports beyond the mock's own dependencies (the "conformance" extra).
EXTRA_MODULES = ("pytest", "schemathesis", "hypothesis", "xdist")
INSTALL_HINT = f"pip install '{DISTRIBUTION}[conformance]'"


def missing_modules() -> list[str]:
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:
        print(f"zitadel-conformance {package_version()}")
        return 0
    from conformance import cli

    missing = missing_modules()
    if missing and not {"-h", "--help"} & set(args):
        print(
            f"zitadel-conformance: the suite needs {', '.join(missing)}; {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    if missing:
        cli.parse_args(args)  # prints the help and exits 0
    return cli.main(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
