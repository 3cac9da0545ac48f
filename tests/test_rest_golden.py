"""REST answers stay byte-identical to what the mock answered before its REST fast path.

The golden file was recorded from the code where connexion's middleware chain routed every
management request (see rest_golden.py); the fast path must not change one status, header or
byte of any answer on the corpus: every RPC on every kind of target and caller, error paths,
bad bodies, CORS, unknown routes and methods, the instance headers, faults, gRPC-web and the
control plane.
"""

from __future__ import annotations

import json

from rest_golden import GOLDEN_FILE, record


def test_every_rest_answer_matches_the_golden_file() -> None:
    expected = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    answers = record()
    assert len(answers) == len(expected)
    differences = [
        (index, want, got)
        for index, (want, got) in enumerate(zip(expected, answers, strict=True))
        if want != got
    ]
    shown = "\n".join(
        f"#{index} {want['request']} ({want['mock']}):\n  want {want}\n  got  {got}"
        for index, want, got in differences[:5]
    )
    assert not differences, f"{len(differences)} answers changed, the first ones:\n{shown}"
