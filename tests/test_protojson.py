"""The compiled protojson writer against json_format, the reference it replaces.

Every message type the mock's protos define, filled at random (unknown enum numbers, uint64
beyond 2**53, non-ASCII text, every Timestamp and Duration precision), and every read answer
of seeded worlds, must come out as ``json_format.MessageToDict`` writes it, byte for byte
once encoded; so must the compact JSON writer against ``json.dumps``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
from collections.abc import Iterator

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from mock_server import compact_json, messages, protojson
from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.fixtures import build_world
from mock_server.grpc_front import gen
from mock_server.grpc_front.gen.zitadel import action_pb2, user_pb2

TEXTS = ("", "a", "Zoë", "日本語", 'quote " and \\ back', "line\nbreak", "\u2028", "😀")


def _message_types() -> list[Descriptor]:
    """Every message type of every generated module the mock ships."""
    found: list[Descriptor] = []
    for module_info in pkgutil.walk_packages(gen.__path__, gen.__name__ + "."):
        if module_info.name.endswith("_pb2"):
            module = importlib.import_module(module_info.name)
            found += module.DESCRIPTOR.message_types_by_name.values()
    return found


def _scalar(field: FieldDescriptor, rng: random.Random):
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        if field.type == FieldDescriptor.TYPE_BYTES:
            return rng.randbytes(rng.randint(0, 5))
        return rng.choice(TEXTS)
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return rng.random() < 0.5
    if cpp == FieldDescriptor.CPPTYPE_UINT64:
        return rng.choice([0, 1, 2**53 + 1, 2**64 - 1, rng.randrange(2**64)])
    if cpp == FieldDescriptor.CPPTYPE_INT64:
        return rng.choice([0, -1, -(2**63), 2**63 - 1, rng.randrange(-(2**63), 2**63)])
    if cpp == FieldDescriptor.CPPTYPE_UINT32:
        return rng.choice([0, 1, 2**32 - 1])
    if cpp == FieldDescriptor.CPPTYPE_INT32:
        return rng.choice([0, -1, 2**31 - 1, -(2**31)])
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        numbers = [value.number for value in field.enum_type.values]
        return rng.choice([*numbers, 99])  # 99: a number the enum does not name
    if cpp in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        return rng.choice([0.0, 1.5, -2.25, float("inf")])
    raise AssertionError(f"no value for {field.full_name}")


def _fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.seconds = rng.randint(-62135596800, 253402300799)
        message.nanos = rng.choice([0, 1_000_000, 120_000, 5, rng.randrange(10**9)])
        return
    if name == "google.protobuf.Duration":
        sign = rng.choice([1, -1])
        message.seconds = sign * rng.randint(0, 315576000000)
        message.nanos = sign * rng.choice([0, 1_000_000, 120_000, 5, rng.randrange(10**9)])
        return
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.3:
            continue
        is_message = field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE
        if is_message and (depth > 3 or field.message_type.GetOptions().map_entry):
            continue
        if field.is_repeated:
            container = getattr(message, field.name)
            for _ in range(rng.randint(0, 3)):
                if is_message:
                    _fill(container.add(), rng, depth + 1)
                else:
                    container.append(_scalar(field, rng))
        elif is_message:
            inner = getattr(message, field.name)
            inner.SetInParent()
            _fill(inner, rng, depth + 1)
        else:
            setattr(message, field.name, _scalar(field, rng))


def _same_as_json_format(message: Message) -> None:
    expected = json_format.MessageToDict(message)
    assert protojson.to_dict(message) == expected
    # Bytes: the keys in the order the printer writes them, at every level.
    reference = json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    assert protojson.dumps(message) == reference
    # With proto names, as the domain takes a request's fields.
    by_proto_name = json_format.MessageToDict(message, preserving_proto_field_name=True)
    given = protojson.to_dict(message, proto_names=True)
    assert json.dumps(given, ensure_ascii=False) == json.dumps(by_proto_name, ensure_ascii=False)


@pytest.mark.parametrize("descriptor", _message_types(), ids=lambda d: d.full_name)
def test_every_message_type_filled_at_random_reads_as_json_format_writes_it(descriptor):
    rng = random.Random(descriptor.full_name)
    for _ in range(60):
        message = GetMessageClass(descriptor)()
        _fill(message, rng)
        _same_as_json_format(message)


def test_an_empty_message_and_an_unset_nested_one_read_as_json_format_writes_them():
    for descriptor in _message_types():
        _same_as_json_format(GetMessageClass(descriptor)())
    user = user_pb2.User(id="1")
    user.human.SetInParent()  # set but empty: "human": {}
    _same_as_json_format(user)
    assert protojson.to_dict(user) == {"id": "1", "human": {}}


def test_the_kinds_left_to_json_format_still_come_out_as_it_writes_them():
    from google.protobuf import struct_pb2, wrappers_pb2

    value = struct_pb2.Struct()
    value.update({"a": [1, "x", None, True]})
    for message in (value, wrappers_pb2.StringValue(value="v"), wrappers_pb2.DoubleValue()):
        _same_as_json_format(message)


def _read_answers(seed: int) -> Iterator[Message]:
    world = build_world(seed)
    service = LifecycleService(world)
    for org_id in world.orgs:
        metadata = CallMetadata(authorization="Bearer admin-pat", org_id=org_id)
        for rpc in ("ListUsers", "ListUserGrants", "ListActions", "GetMyOrg"):
            yield messages.read_response(rpc, service.call(rpc, {}, metadata))
    for user in world.users.values():
        metadata = CallMetadata(authorization="Bearer admin-pat", org_id=user.org_id)
        view = service.call("GetUserByID", {"id": user.id}, metadata)
        yield messages.read_response("GetUserByID", view)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_read_answer_of_seeded_worlds_reads_as_json_format_writes_it(seed):
    answers = list(_read_answers(seed))
    assert len(answers) > 20
    for message in answers:
        _same_as_json_format(message)


COMPACT_VALUES = [
    {"details": {"sequence": "12", "changeDate": "2024-01-01T00:00:00Z", "resourceOwner": "1"}},
    {"code": 9, "message": 'Zoë "quoted" \u2028', "details": [{"@type": "t", "id": "X"}]},
    [1, 2.5, -0.0, 1e300, None, True, False, "😀", {"": []}],
    "plain",
    2**70,
    float("nan"),
]


@pytest.mark.parametrize("value", COMPACT_VALUES, ids=repr)
def test_compact_json_writes_what_json_dumps_writes(value):
    assert compact_json.ascii_bytes(value) == json.dumps(value, separators=(",", ":")).encode()
    assert (
        compact_json.utf8_bytes(value)
        == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_compact_json_refuses_what_json_dumps_refuses():
    with pytest.raises(TypeError):
        compact_json.ascii_bytes({"when": object()})


def test_the_mock_s_own_message_types_take_the_compiled_path():
    # Otherwise every test above would compare json_format with itself.
    fallbacks = [d.full_name for d in _message_types() if protojson.compiled(d) is False]
    assert fallbacks == []
    from google.protobuf import struct_pb2

    assert protojson.compiled(struct_pb2.Struct.DESCRIPTOR) is False


def test_a_timestamp_out_of_range_fails_as_json_format_fails():
    from google.protobuf import timestamp_pb2

    answer = action_pb2.Action(id="1")
    answer.details.change_date.CopyFrom(timestamp_pb2.Timestamp(seconds=2**62))
    with pytest.raises(json_format.SerializeToJsonError):
        json_format.MessageToDict(answer)
    with pytest.raises(json_format.SerializeToJsonError):
        protojson.to_dict(answer)
    with pytest.raises(json_format.SerializeToJsonError):
        protojson.to_dict(answer, proto_names=True)


def test_set_timestamp_is_from_datetime():
    from datetime import UTC, datetime, timedelta, timezone

    from google.protobuf import timestamp_pb2

    rng = random.Random(5)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)), None]
    for _ in range(2000):
        value = datetime(
            rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
            rng.randint(0, 59), rng.randint(0, 59), rng.randrange(10**6), tzinfo=rng.choice(zones),
        )  # fmt: skip
        expected, given = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
        try:
            expected.FromDatetime(value)
        except (ValueError, OverflowError) as refused:
            # An offset pushing year 1 or 9999 out of Timestamp's range: refused alike.
            with pytest.raises(type(refused)):
                messages.set_timestamp(given, value)
            continue
        messages.set_timestamp(given, value)
        assert (given.seconds, given.nanos) == (expected.seconds, expected.nanos), value
    edge = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # 0000-12-31 in UTC
    with pytest.raises(OverflowError):
        messages.set_timestamp(timestamp_pb2.Timestamp(), edge)


def test_a_remembered_answer_is_the_json_of_the_very_message_asked_for(monkeypatch):
    from mock_server import bounded

    monkeypatch.setattr(messages, "_json_of", bounded.BoundedMemory(8))
    rng = random.Random(3)
    seen = []
    for _ in range(40):
        action = action_pb2.Action()
        _fill(action, rng)
        # Asked twice and once more after others: always its own JSON, never a neighbour's.
        seen.append(action)
        for message in (action, rng.choice(seen)):
            assert messages.protojson(message) == protojson.dumps(message)
    assert len(messages._json_of) <= 8
    # A message over the size remembered is written, not kept.
    big = action_pb2.Action(script="x" * 5000)
    before = len(messages._json_of)
    assert messages.protojson(big) == protojson.dumps(big)
    assert len(messages._json_of) == before
    assert all(len(key[1]) <= 2048 for key in messages._json_of._entries)
