"""protojson's JSON of a message (``json_format.MessageToDict``), compiled once per message type.

Used for the gateway's answers and for the request fields the domain takes (proto names).

``json_format``'s printer decides every field's kind anew on each call, through a chain of
descriptor lookups that made up a quarter of a REST read. :func:`to_dict` decides once per
message type what each field becomes and then only walks ``ListFields()`` (the set fields, in
field-number order, exactly what the printer walks). It knows the kinds the mock's answers
have: strings, booleans, integers, enums, nested messages, repeated fields, Timestamp and
Duration. A message type with any other kind (floats, bytes, maps, extensions, the other
well-known types, enums with JSON name options) is left to ``json_format`` whole, so the result
is ``json_format.MessageToDict(message)`` for every message (tests/test_protojson.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from mock_server.bounded import BoundedMemory
from mock_server.compact_json import utf8_bytes

_Encode = Callable[[Message], Any]

_INT64 = frozenset({FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64})
_INT32 = frozenset({FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32})
# The well-known types whose JSON is a string their own method writes, as the printer calls it.
_AS_STRING = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})


def to_dict(message: Message, *, proto_names: bool = False) -> Any:
    """``json_format.MessageToDict(message, preserving_proto_field_name=proto_names)``."""
    try:
        return _encoder(message.DESCRIPTOR, proto_names)(message)
    except ValueError:  # a Timestamp or Duration out of range: json_format's own error
        return json_format.MessageToDict(message, preserving_proto_field_name=proto_names)


def dumps(message: Message) -> bytes:
    """The gateway's JSON of ``message``: compact, UTF-8 (not ASCII-escaped)."""
    return utf8_bytes(to_dict(message))


def compiled(descriptor: Descriptor) -> bool:
    """Whether messages of ``descriptor`` are written here rather than by json_format."""
    return _encoder(descriptor, False) is not _printed(False)


@functools.cache
def _printed(proto_names: bool) -> _Encode:
    return functools.partial(json_format.MessageToDict, preserving_proto_field_name=proto_names)


@functools.cache
def _encoder(descriptor: Descriptor, proto_names: bool) -> _Encode:
    if descriptor.full_name in _AS_STRING:
        return _remembered_strings()
    plan = _plan(descriptor, proto_names)
    if plan is None:
        return _printed(proto_names)

    def encode(message: Message) -> dict[str, Any]:
        js: dict[str, Any] = {}
        for field, value in message.ListFields():
            name, convert, repeated = plan[field.number]
            js[name] = [convert(item) for item in value] if repeated else convert(value)
        return js

    return encode


_REMEMBERED_STRINGS = 8192


def _remembered_strings() -> Callable[[Any], str]:
    # ToJsonString is pure Python (a range check, datetime arithmetic): the same dates and
    # timeouts are read again and again, so their strings are remembered, one memory per type.
    strings: BoundedMemory[str] = BoundedMemory(_REMEMBERED_STRINGS)

    def to_string(message: Any) -> str:
        key = (message.seconds, message.nanos)
        text = strings.get(key)
        if text is None:
            text = message.ToJsonString()
            strings.put(key, text)
        return text

    return to_string


def _plan(
    descriptor: Descriptor, proto_names: bool
) -> dict[int, tuple[str, Callable[[Any], Any], bool]] | None:
    """Each field's JSON name, converter and whether it repeats; None when the printer's own
    rules are needed somewhere in the message."""
    if descriptor.full_name.startswith("google.protobuf."):
        return None  # wrappers, Any, Struct, Value, FieldMask, Empty: the printer's cases
    if descriptor.extension_ranges:
        return None  # an extension is written by its full name
    plan = {}
    for field in descriptor.fields:
        convert = _converter(field, proto_names)
        if convert is None:
            return None
        name = field.name if proto_names else field.json_name
        plan[field.number] = (name, convert, field.is_repeated)
    return plan


def _converter(field: FieldDescriptor, proto_names: bool) -> Callable[[Any], Any] | None:
    cpp_type = field.cpp_type
    if cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        message_type = field.message_type
        if message_type.GetOptions().map_entry:
            return None
        if message_type.full_name.startswith("google.protobuf.") and (
            message_type.full_name not in _AS_STRING
        ):
            return None
        return lambda value: _encoder(message_type, proto_names)(value)
    if cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        return _enum_converter(field.enum_type)
    if cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return None if field.type == FieldDescriptor.TYPE_BYTES else str
    if cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return bool
    if cpp_type in _INT64:
        return str
    if cpp_type in _INT32:
        return _same
    return None  # floats and doubles: infinities, NaN and the shortest float repr


def _enum_converter(enum: EnumDescriptor) -> Callable[[Any], Any] | None:
    if enum.full_name == "google.protobuf.NullValue" or enum.is_closed:
        return None  # null, and the error a closed enum's unknown number raises
    if any(value.GetOptions().ListFields() for value in enum.values):
        return None  # a value option may rename it in JSON
    names = {number: value.name for number, value in enum.values_by_number.items()}
    # An open enum's unknown number is written as the number.
    return lambda number: names.get(number, number)


def _same(value: Any) -> Any:
    return value
