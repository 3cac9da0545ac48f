"""Request bodies decoded the way ZITADEL's grpc-gateway decodes them.

The gateway reads the first JSON value with Go's encoding/json (an empty body is io.EOF and
accepted; trailing bytes after the first value are drained and ignored), then hands it to
protojson with DiscardUnknown. Every failure is a detail-less InvalidArgument whose message is
the decoder's own text; this module reproduces the common texts of both steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from mock_server.domain import errors

_JSON_WHITESPACE = " \t\r\n"


def _char(text: str, pos: int) -> str:
    ch = text[pos] if pos < len(text) else ""
    if ch == "'":
        return "'\\''"
    return repr(ch) if ch in "\n\r\t" else f"'{ch}'"


def _syntax_error(text: str, exc: json.JSONDecodeError) -> errors.ZitadelError:
    """Word Python's decoder failure as Go's encoding/json would."""
    if exc.pos >= len(text.rstrip(_JSON_WHITESPACE)) or exc.msg.startswith("Unterminated string"):
        return errors.invalid_argument("unexpected EOF")
    if exc.msg.startswith("Illegal trailing comma"):
        # Python 3.13+ points at the comma; Go complains about what follows it.
        after = exc.pos + 1
        while after < len(text) and text[after] in _JSON_WHITESPACE:
            after += 1
        what = "object key string" if text[after : after + 1] == "}" else "value"
        return errors.invalid_argument(
            f"invalid character {_char(text, after)} looking for beginning of {what}"
        )
    ch = _char(text, exc.pos)
    if exc.msg.startswith("Expecting property name"):
        return errors.invalid_argument(
            f"invalid character {ch} looking for beginning of object key string"
        )
    if exc.msg.startswith("Expecting ':'"):
        return errors.invalid_argument(f"invalid character {ch} after object key")
    if exc.msg.startswith("Expecting ',' delimiter"):
        # Python says the same for objects and arrays; find which one is open.
        opener = _innermost_open(text[: exc.pos])
        where = "object key:value pair" if opener == "{" else "array element"
        return errors.invalid_argument(f"invalid character {ch} after {where}")
    if exc.msg.startswith("Invalid control character"):
        return errors.invalid_argument(f"invalid character {ch} in string literal")
    if exc.msg.startswith("Invalid \\escape") or exc.msg.startswith("Invalid \\u"):
        return errors.invalid_argument(f"invalid character {ch} in string escape code")
    return errors.invalid_argument(f"invalid character {ch} looking for beginning of value")


def _innermost_open(prefix: str) -> str:
    depth: list[str] = []
    in_string = escaped = False
    for ch in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth.append(ch)
        elif ch in "}]" and depth:
            depth.pop()
    return depth[-1] if depth else ""


def _reject_constant(name: str) -> None:
    # Go's encoding/json knows no NaN or Infinity; Python would accept them.
    raise ValueError(name)


def _json_name(proto_name: str) -> str:
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def decode_request_body(raw: bytes, string_fields: Iterable[str]) -> dict:
    """Decode ``raw`` as the gateway would for a request message with ``string_fields``.

    Returns the JSON object (unknown fields included, the caller ignores them) or raises an
    InvalidArgument ZitadelError with the decoder's message.
    """
    # encoding/json passes invalid UTF-8 inside strings on; protojson then rejects it. Outside
    # strings it is a syntax error like any other stray byte.
    try:
        text = raw.decode("utf-8")
        invalid_utf8 = False
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        invalid_utf8 = True
    stripped = text.lstrip(_JSON_WHITESPACE)
    if not stripped:
        return {}
    offset = len(text) - len(stripped)
    try:
        value, _ = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(stripped)
    except json.JSONDecodeError as exc:
        moved = json.JSONDecodeError(exc.msg, text, exc.pos + offset)
        raise _syntax_error(text, moved) from None
    except ValueError:
        # NaN / Infinity / -Infinity: Go stops at their first letter.
        raise errors.invalid_argument(
            f"invalid character {_char(stripped, 0)} looking for beginning of value"
        ) from None
    if invalid_utf8:
        raise errors.invalid_argument("proto: syntax error: invalid UTF-8")
    if not isinstance(value, dict):
        token = json.dumps(value)[:1] if isinstance(value, list | dict) else json.dumps(value)
        raise errors.invalid_argument(f"proto: syntax error (line 1:1): unexpected token {token}")
    for field in string_fields:
        for name in {field, _json_name(field)}:
            if name in value and value[name] is not None and not isinstance(value[name], str):
                raise errors.invalid_argument(
                    f"proto: invalid value for string field {field}: {json.dumps(value[name])}"
                )
    return value
