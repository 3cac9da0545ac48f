"""The collector in the mock's own process (``zitadel-mock``): what is built to last is frozen.

A full collection walks every tracked object, so what start-up built (modules, the spec, the
world) and what is built later on first use and kept for good (connexion's app, gRPC
reflection and health) would make every full pass under load take tens of milliseconds: the
tail of the latency. Frozen, the passes walk only what requests create. Only in the mock's own
process: in a user's process (the in-process mock, the ASGI app under their tests) a freeze
would keep their objects for good too, so nothing is frozen unless :func:`freeze_start_up` ran.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_freezing = False


def freeze_start_up() -> None:
    """Freeze what start-up built, and from now on what :func:`built_to_last` announces."""
    global _freezing
    with _lock:
        gc.collect()
        gc.freeze()
        _freezing = True


def built_to_last() -> None:
    """Something built on first use that lives as long as the process is ready: freeze it
    (with whatever else is alive now), after a collection so no garbage is kept."""
    with _lock:
        if _freezing:
            gc.collect()
            gc.freeze()
