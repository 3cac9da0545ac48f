"""The gateway's body decoder against Go's encoding/json Decoder and protojson, as a table.

Every expected text is what Go writes: encoding/json's scanner (``scanner.go``: the state
functions' contexts, ``quoteChar``, ``maxNestingDepth`` = 10000) driven by ``Decoder.readValue``
(``stream.go``: a value cut short by the end of the body is ``io.ErrUnexpectedEOF``), then
protojson's "(line L:C)" errors on the value it read.
"""

from __future__ import annotations

import pytest

from mock_server.domain.errors import Code, ZitadelError
from mock_server.rest.json_body import TooDeep, decode_request_body, quote_char, read_first_value

FIELDS = ["id", "user_id"]

GO_DECODER_ERRORS = [
    # The body ends inside a value: Decoder.readValue turns io.EOF into io.ErrUnexpectedEOF.
    (b"{", "unexpected EOF"),
    (b'{"id":"a"', "unexpected EOF"),
    (b"nul", "unexpected EOF"),
    (b"tru", "unexpected EOF"),
    (b"-", "unexpected EOF"),
    (b'{"id":"\\u00', "unexpected EOF"),
    (b"1.", "unexpected EOF"),
    (b"1e+", "unexpected EOF"),
    (b"[1,", "unexpected EOF"),
    # Broken literals: stateT, stateTru, stateFals, stateNul and friends.
    (b'{"id":tru}', "invalid character '}' in literal true (expecting 'e')"),
    (b'{"id":fals}', "invalid character '}' in literal false (expecting 'e')"),
    (b"tx", "invalid character 'x' in literal true (expecting 'r')"),
    (b"nulx", "invalid character 'x' in literal null (expecting 'l')"),
    # Numbers: stateNeg, stateDot, stateE.
    (b'{"id":1.}', "invalid character '}' after decimal point in numeric literal"),
    (b"-x", "invalid character 'x' in numeric literal"),
    (b"1ex", "invalid character 'x' in exponent of numeric literal"),
    # Structure: stateBeginValue, stateBeginString, stateEndValue.
    (b'{"id":}', "invalid character '}' looking for beginning of value"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
    (b"{'id':'1'}", "invalid character '\\'' looking for beginning of object key string"),
    (b'{"id":"1",}', "invalid character '}' looking for beginning of object key string"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 2}', "invalid character '2' after object key:value pair"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b"[01]", "invalid character '1' after array element"),
    # Strings: stateInString, stateInStringEsc, stateInStringEscU.
    (b'"a\nb"', "invalid character '\\n' in string literal"),
    (b'"\\x"', "invalid character 'x' in string escape code"),
    (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    # Go knows no NaN; quoteChar quotes a byte as the rune of its value.
    (b"NaN", "invalid character 'N' looking for beginning of value"),
    (b'{"a":Infinity}', "invalid character 'I' looking for beginning of value"),
    (b"\xff", "invalid character '\u00ff' looking for beginning of value"),
    (b"\x80", "invalid character '\\u0080' looking for beginning of value"),
    (b"\x00", "invalid character '\\x00' looking for beginning of value"),
    (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
    # maxNestingDepth: the 10001st open bracket is refused.
    (b"[" * 10001, "invalid character '[' exceeded max depth"),
    (b'{"a":' * 10001, "invalid character '{' exceeded max depth"),
    # protojson on the value encoding/json read.
    (b"1x", "proto: syntax error (line 1:1): unexpected token 1"),
    (b" \n null", "proto: syntax error (line 2:2): unexpected token null"),
    (b"[" * 1000 + b"]" * 1000, "proto: syntax error (line 1:1): unexpected token ["),
    (b"[" * 10000 + b"]" * 10000, "proto: syntax error (line 1:1): unexpected token ["),
    (b'{"id":5}', "proto: (line 1:7): invalid value for string field id: 5"),
    (b'{"id": {"a": 1}}', "proto: (line 1:8): invalid value for string field id: {"),
    (b'{"userId":true}', "proto: (line 1:11): invalid value for string field userId: true"),
    (b'{"id":"a","id":"b"}', 'proto: (line 1:11): duplicate field "id"'),
    (b'{"user_id":"a","userId":"b"}', 'proto: (line 1:16): duplicate field "userId"'),
]


@pytest.mark.parametrize(("body", "message"), GO_DECODER_ERRORS, ids=lambda v: ascii(v)[:40])
def test_go_decoder_texts(body, message) -> None:
    with pytest.raises(ZitadelError) as raised:
        decode_request_body(body, FIELDS)
    assert raised.value.code is Code.INVALID_ARGUMENT
    assert raised.value.error_id is None
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("body", "decoded"),
    [
        (b"", {}),
        (b" \r\n\t", {}),
        (b"{}garbage", {}),
        (b'{"id":"x"} {"id":5}', {"id": "x"}),
        (b'{"id":null}', {"id": None}),
        # 5,000 levels are nothing to Go (limit 10,000); deeper than Python decodes, the
        # member stays as an empty TooDeep marker, which protojson's step then discards (an
        # unknown field) or refuses (a known one, see test_read_body_depth.py).
        (b'{"deep":' + b"[" * 5000 + b"]" * 5000 + b',"id":"x"}', {"deep": {}, "id": "x"}),
        (b'{"padding":"' + b"a" * (1 << 20) + b'"}', {"padding": "a" * (1 << 20)}),
    ],
    ids=lambda v: ascii(v)[:30],
)
def test_bodies_go_accepts(body, decoded) -> None:
    assert decode_request_body(body, FIELDS) == decoded


def test_the_first_value_ends_where_go_stops_reading() -> None:
    assert (read_first_value(b"  [1] x").start, read_first_value(b"  [1] x").end) == (2, 5)
    assert read_first_value(b"12 ").end == 2
    assert read_first_value(b"12").end == 2
    assert read_first_value(b"\t\n") is None


@pytest.mark.parametrize(
    ("byte", "quoted"),
    [(0x27, "'\\''"), (0x22, "'\"'"), (0x5C, "'\\\\'"), (0x09, "'\\t'"), (0x7F, "'\\x7f'")]
    + [(0xA0, "'\\u00a0'"), (0xAD, "'\\u00ad'"), (0xE9, "'\u00e9'"), (0x41, "'A'")],
)
def test_quote_char_is_gos(byte, quoted) -> None:
    assert quote_char(byte) == quoted


def test_a_member_too_deep_for_python_is_marked_not_dropped() -> None:
    decoded = decode_request_body(b'{"deep":' + b"[" * 5000 + b"]" * 5000 + b"}", FIELDS)
    assert isinstance(decoded["deep"], TooDeep)
