"""Request bodies decoded the way ZITADEL's grpc-gateway decodes them.

The gateway reads the first JSON value with Go's encoding/json ``Decoder`` (an empty body is
io.EOF and accepted; trailing bytes after the first value are drained and ignored), then hands
it to protojson with DiscardUnknown. Every failure is a detail-less InvalidArgument whose
message is the decoder's own text.

The first step is a port of Go's scanner (``encoding/json/scanner.go``: the state functions,
``quoteChar``, ``maxNestingDepth``) driven like ``Decoder.readValue`` (``stream.go``), so the
texts and the end of the first value are Go's, and nesting costs no Python recursion. Python's
C decoder stays the fast path for the common case, a valid object: on that input both agree.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mock_server.domain import errors

# encoding/json: "This limits the max nesting depth to prevent stack overflow."
MAX_NESTING_DEPTH = 10000
_SPACE = b" \t\r\n"
_HEX = frozenset(b"0123456789abcdefABCDEF")
# Runs of bytes on which a Go state function returns scanContinue and stays where it is.
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]+')
_SPACE_RUN = re.compile(rb"[ \t\r\n]+")
_DIGIT_RUN = re.compile(rb"[0-9]+")


class GoSyntaxError(ValueError):
    """A *json.SyntaxError (or io.ErrUnexpectedEOF) with Go's exact text."""


def quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as a quoted character literal, via strconv.Quote."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    escapes = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
    escapes |= {0x0B: "\\v", 0x5C: "\\\\"}
    if c in escapes:
        return f"'{escapes[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if c < 0x80:
        return f"'{chr(c)}'"
    # string(byte) is the rune U+0080..U+00FF; strconv.Quote keeps it if unicode.IsPrint.
    if c <= 0xA0 or c == 0xAD:
        return f"'\\u{c:04x}'"
    return f"'{chr(c)}'"


@dataclass
class FirstValue:
    """Where the first JSON value of a body lies, and its top-level object members."""

    start: int  # first non-space byte
    end: int  # one past the value
    # (key start, key end, value start, value end) of each member when the value is an object;
    # the spans include the quotes.
    members: list[tuple[int, int, int, int]] = field(default_factory=list)


# Scanner states, one per Go state function of the same name.
(
    BEGIN_VALUE,
    BEGIN_VALUE_OR_EMPTY,
    BEGIN_STRING_OR_EMPTY,
    BEGIN_STRING,
    END_VALUE,
    END_TOP,
    IN_STRING,
    IN_STRING_ESC,
    IN_STRING_ESC_U,
    IN_STRING_ESC_U1,
    IN_STRING_ESC_U12,
    IN_STRING_ESC_U123,
    NEG,
    ONE,
    ZERO,
    DOT,
    DOT0,
    E,
    E_SIGN,
    E0,
    LITERAL,
) = range(21)
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}
_PARSE_OBJECT_KEY, _PARSE_OBJECT_VALUE, _PARSE_ARRAY_VALUE = range(3)


def read_first_value(data: bytes, max_depth: int = MAX_NESTING_DEPTH) -> FirstValue | None:
    """Go's ``Decoder.readValue`` over a whole body.

    Returns the first value's span, or ``None`` for io.EOF (nothing but white space). Raises
    :class:`GoSyntaxError` with Go's text: ``unexpected EOF`` when the body ends inside a value,
    ``invalid character ...`` otherwise.
    """
    stack: list[int] = []
    state = BEGIN_VALUE
    literal = b""  # the rest of true/false/null still expected
    word = ""
    i, n = 0, len(data)
    start = -1
    members: list[tuple[int, int, int, int]] = []
    key_start = key_end = value_start = -1

    def fail(c: int, context: str) -> GoSyntaxError:
        return GoSyntaxError(f"invalid character {quote_char(c)} {context}")

    while True:
        if i >= n:
            # io.EOF: Go steps one invented space; a value that ends there is complete.
            if state in (ONE, ZERO, DOT0, E0) and not stack:
                return FirstValue(start, n, members)
            if state == END_VALUE and not stack:
                return FirstValue(start, n, members)
            if start < 0:
                return None
            raise GoSyntaxError("unexpected EOF")
        c = data[i]
        if state in (BEGIN_VALUE, BEGIN_VALUE_OR_EMPTY, BEGIN_STRING_OR_EMPTY, BEGIN_STRING):
            if c in _SPACE:
                i = _SPACE_RUN.match(data, i).end()
                continue
            if start < 0:
                start = i
            if state == BEGIN_VALUE_OR_EMPTY and c == 0x5D:  # ]
                state = END_VALUE
                continue
            if state == BEGIN_STRING_OR_EMPTY and c == 0x7D:  # }
                stack[-1] = _PARSE_OBJECT_VALUE
                state = END_VALUE
                continue
            if state in (BEGIN_STRING_OR_EMPTY, BEGIN_STRING):
                if c != 0x22:
                    raise fail(c, "looking for beginning of object key string")
                if len(stack) == 1:
                    key_start = i
                state = IN_STRING
                i += 1
                continue
            # stateBeginValue
            if len(stack) == 1 and stack[0] != _PARSE_ARRAY_VALUE:
                value_start = i
            if c == 0x7B or c == 0x5B:  # { [
                stack.append(_PARSE_OBJECT_KEY if c == 0x7B else _PARSE_ARRAY_VALUE)
                if len(stack) > max_depth:
                    raise fail(c, "exceeded max depth")
                state = BEGIN_STRING_OR_EMPTY if c == 0x7B else BEGIN_VALUE_OR_EMPTY
            elif c == 0x22:
                state = IN_STRING
            elif c == 0x2D:  # -
                state = NEG
            elif c == 0x30:
                state = ZERO
            elif 0x31 <= c <= 0x39:
                state = ONE
            elif c in _LITERALS:
                word = _LITERALS[c].decode()
                literal = _LITERALS[c][1:]
                state = LITERAL
            else:
                raise fail(c, "looking for beginning of value")
            i += 1
            continue
        if state == LITERAL:  # stateT, stateTr, stateTru, stateF, ...: one letter at a time
            if c != literal[0]:
                raise fail(c, f"in literal {word} (expecting '{chr(literal[0])}')")
            literal = literal[1:]
            i += 1
            if not literal:
                state = END_VALUE
            continue
        if state == IN_STRING:
            if c == 0x22:
                state = END_VALUE
                i += 1
                if len(stack) == 1 and stack[0] == _PARSE_OBJECT_KEY and key_start >= 0:
                    key_end = i
            elif c == 0x5C:
                state = IN_STRING_ESC
                i += 1
            elif c < 0x20:
                raise fail(c, "in string literal")
            else:
                i = _STRING_RUN.match(data, i).end()
            continue
        if state == IN_STRING_ESC:
            if c in b'bfnrt\\/"':
                state = IN_STRING
            elif c == 0x75:  # u
                state = IN_STRING_ESC_U
            else:
                raise fail(c, "in string escape code")
            i += 1
            continue
        if IN_STRING_ESC_U <= state <= IN_STRING_ESC_U123:
            if c not in _HEX:
                raise fail(c, "in \\u hexadecimal character escape")
            state = IN_STRING if state == IN_STRING_ESC_U123 else state + 1
            i += 1
            continue
        if state == NEG:
            if c == 0x30:
                state = ZERO
            elif 0x31 <= c <= 0x39:
                state = ONE
            else:
                raise fail(c, "in numeric literal")
            i += 1
            continue
        if state in (ONE, DOT0, E0) and 0x30 <= c <= 0x39:
            i = _DIGIT_RUN.match(data, i).end()
            continue
        if state in (ONE, ZERO):
            if c == 0x2E:  # .
                state = DOT
                i += 1
                continue
            if c in b"eE":
                state = E
                i += 1
                continue
            state = END_VALUE  # state0 falls through to stateEndValue on this byte
            continue
        if state == DOT:
            if not 0x30 <= c <= 0x39:
                raise fail(c, "after decimal point in numeric literal")
            state = DOT0
            i += 1
            continue
        if state == DOT0:
            if c in b"eE":
                state = E
                i += 1
                continue
            state = END_VALUE
            continue
        if state in (E, E_SIGN):
            if state == E and c in b"+-":
                state = E_SIGN
                i += 1
                continue
            if not 0x30 <= c <= 0x39:
                raise fail(c, "in exponent of numeric literal")
            state = E0
            i += 1
            continue
        if state == E0:
            state = END_VALUE
            continue
        # stateEndValue, on byte c, after a value that ended just before it.
        if not stack:
            # stateEndTop: the top-level value ended before this byte (scanEnd).
            return FirstValue(start, i, members)
        if len(stack) == 1 and value_start >= 0 and stack[0] == _PARSE_OBJECT_VALUE:
            members.append((key_start, key_end, value_start, i))
            value_start = -1
        if c in _SPACE:
            i = _SPACE_RUN.match(data, i).end()
            continue
        top = stack[-1]
        if top == _PARSE_OBJECT_KEY:
            if c != 0x3A:  # :
                raise fail(c, "after object key")
            stack[-1] = _PARSE_OBJECT_VALUE
            state = BEGIN_VALUE
        elif top == _PARSE_OBJECT_VALUE:
            if c == 0x2C:
                stack[-1] = _PARSE_OBJECT_KEY
                state = BEGIN_STRING
            elif c == 0x7D:
                stack.pop()
            else:
                raise fail(c, "after object key:value pair")
        else:
            if c == 0x2C:
                state = BEGIN_VALUE
            elif c == 0x5D:
                stack.pop()
            else:
                raise fail(c, "after array element")
        i += 1
        if c in b"}]" and not stack:
            # Decoder.readValue: scanEndObject/scanEndArray at depth 0 ends the value here.
            return FirstValue(start, i, members)


@functools.cache
def _json_name(proto_name: str) -> str:
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _position(data: bytes, pos: int) -> str:
    """protojson's "(line L:C)": 1-based line, column counted in runes."""
    line = data.count(b"\n", 0, pos) + 1
    line_start = data.rfind(b"\n", 0, pos) + 1
    column = len(data[line_start:pos].decode("utf-8", errors="replace")) + 1
    return f"(line {line}:{column})"


def _protojson_error(data: bytes, pos: int, text: str) -> errors.ZitadelError:
    return errors.invalid_argument(f"proto: {_position(data, pos)}: {text}")


def _token(data: bytes, start: int, end: int) -> str:
    """The raw text of the JSON token at ``start`` (protojson's Token.RawString)."""
    if data[start] in b"{[":
        return chr(data[start])
    return data[start:end].decode("utf-8", errors="replace")


def _slow_decode(raw: bytes, string_fields: list[str]) -> dict:
    try:
        first = read_first_value(raw)
    except GoSyntaxError as exc:
        raise errors.invalid_argument(str(exc)) from None
    if first is None:
        return {}
    value = raw[first.start : first.end]
    # protojson reads the value's strings as UTF-8, including those of skipped fields.
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_argument("proto: syntax error: invalid UTF-8") from None
    if raw[first.start] != 0x7B:
        token = _token(raw, first.start, first.end)
        raise errors.invalid_argument(
            f"proto: syntax error {_position(raw, first.start)}: unexpected token {token}"
        )
    names = {name: field for field in string_fields for name in (field, _json_name(field))}
    result: dict = {}
    seen: set[str] = set()
    for key_start, key_end, value_start, value_end in first.members:
        key = json.loads(raw[key_start:key_end])
        field_name = names.get(key)
        if field_name is not None:
            if field_name in seen:
                raise _protojson_error(
                    raw, key_start, f"duplicate field {raw[key_start:key_end].decode()}"
                )
            seen.add(field_name)
            if raw[value_start] not in b'"n':
                raise _protojson_error(
                    raw,
                    value_start,
                    f"invalid value for string field {_json_name(field_name)}: "
                    f"{_token(raw, value_start, value_end)}",
                )
        try:
            result[key] = json.loads(raw[value_start:value_end])
        except RecursionError:
            # Deeper than Python decodes: an unknown field is discarded as protojson would;
            # a known one must not silently vanish, so the caller is told (TooDeep).
            result[key] = TooDeep()
    return result


class TooDeep(dict):
    """Stands for a member nested deeper than Python can decode; reads as ``{}``."""


def decode_request_body(raw: bytes, string_fields: Iterable[str]) -> dict:
    """Decode ``raw`` as the gateway would for a request message with ``string_fields``.

    Returns the JSON object (unknown fields included, the caller ignores them) or raises an
    InvalidArgument ZitadelError with the decoder's message.
    """
    if raw == b"{}":
        return {}  # what a client sends to every lifecycle RPC
    fields = list(string_fields)
    # Fast path: a valid UTF-8 body whose first value Python decodes to an object is one Go
    # decodes to the same object (same grammar, white space and string rules for objects).
    # Everything else (errors, other values, deep nesting, NaN) takes the port of Go's scanner.
    try:
        text = raw.decode("utf-8")
        stripped = text.lstrip(" \t\r\n")
        value, _ = _DECODER.raw_decode(stripped)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _slow_decode(raw, fields)
    if not isinstance(value, dict):
        return _slow_decode(raw, fields)
    for field_name in fields:
        names = (field_name, _json_name(field_name))
        present = [name for name in set(names) if name in value]
        if len(present) > 1 or any(raw.count(f'"{name}"'.encode()) > 1 for name in present):
            return _slow_decode(raw, fields)  # a possible duplicate: let the scanner judge
        for name in present:
            if value[name] is not None and not isinstance(value[name], str):
                return _slow_decode(raw, fields)
    return value


def _no_constants(name: str) -> None:
    # Go's encoding/json knows no NaN or Infinity; Python would accept them.
    raise ValueError(name)


_DECODER = json.JSONDecoder(parse_constant=_no_constants)
