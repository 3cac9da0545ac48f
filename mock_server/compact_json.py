"""Compact JSON (no spaces, no trailing newline) with the C encoder built once.

``json.dumps(value, separators=(",", ":"))`` builds a JSONEncoder and then its C encoder on
every call, about half the cost of writing a small answer; here each is built once, with the
settings those ``json.dumps`` calls give it, so the bytes are the same.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any


def _encoder(ensure_ascii: bool) -> Callable[[Any], str]:
    python = json.JSONEncoder(separators=(",", ":"), ensure_ascii=ensure_ascii)
    strings = "encode_basestring_ascii" if ensure_ascii else "encode_basestring"
    try:
        chunks = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
            None,  # no circular check: the values are built by the mock, never cyclic
            python.default,
            getattr(json.encoder, strings),
            None,
            ":",
            ",",
            False,
            False,
            True,
        )
    except (AttributeError, TypeError):  # an interpreter without the C encoder
        return python.encode
    return lambda value: "".join(chunks(value, 0))


_ASCII = _encoder(ensure_ascii=True)
_UNESCAPED = _encoder(ensure_ascii=False)


def ascii_bytes(value: Any) -> bytes:
    """``json.dumps(value, separators=(",", ":")).encode()``."""
    return _ASCII(value).encode()


def utf8_bytes(value: Any) -> bytes:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")``."""
    return _UNESCAPED(value).encode("utf-8")
