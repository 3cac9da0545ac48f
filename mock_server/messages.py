"""The reads' requests and answers as ZITADEL's protobuf messages, for every front.

The REST gateway and both gRPC fronts speak the same messages: gRPC sends their bytes, the
gateway their protojson. So a read's view is turned into its response message here, once, and
a request message into the mapping the domain's queries take (proto field names, enums by name,
64-bit integers as strings). The field-by-field choices are those of ZITADEL's converters
(internal/api/grpc/{user,org,action,object}); see docs/zitadel-read-facts.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from mock_server import bounded
from mock_server import protojson as protojson_writer
from mock_server.domain import errors
from mock_server.domain.queries import (
    ACTION_STATES,
    GRANT_STATES,
    USER_TYPES,
    Page,
    UserGrantView,
    UserView,
    user_state_name,
)
from mock_server.domain.world import Action, Aggregate, Org
from mock_server.grpc_front.gen.zitadel import (
    action_pb2,
    management_pb2,
    object_pb2,
    org_pb2,
    user_pb2,
)

_SERVICE = management_pb2.DESCRIPTOR.services_by_name["ManagementService"]
# protojson's RecursionLimit is 10,000 nested messages; Python's stack holds far fewer, so the
# mock refuses a request nested deeper than protobuf's own default, with protojson's words.
PROTOJSON_DEPTH = 100
# internal/query/action.go: a timeout of 0, or of the maximum and more, reads as the maximum.
MAX_ACTION_TIMEOUT = timedelta(seconds=20)


def request_class(rpc_name: str) -> type[Message]:
    return GetMessageClass(_SERVICE.methods_by_name[rpc_name].input_type)


def response_class(rpc_name: str) -> type[Message]:
    return GetMessageClass(_SERVICE.methods_by_name[rpc_name].output_type)


def request_fields(message: Message) -> dict[str, Any]:
    """A request message as the mapping the domain takes; unset fields are absent."""
    return protojson_writer.to_dict(message, proto_names=True)


def _require_objects(descriptor: Descriptor, body: Any, where: str) -> None:
    """Each message-typed value is a JSON object (or null), as protojson demands.

    Python's json_format walks any iterable as a message, so it takes ``"query": []`` or
    ``"query": "x"`` for an empty ListQuery where protojson stops at the token.
    """
    if not isinstance(body, dict):
        return  # json_format words every other mismatch itself
    for key, value in body.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is not None and field.enum_type is not None:
            _require_enum(field, value, f"{where}.{key}")
        if field is None or field.message_type is None or value is None:
            continue
        if field.message_type.full_name.startswith("google.protobuf."):
            continue  # well-known types have JSON forms of their own
        items = value if field.is_repeated and isinstance(value, list) else [value]
        for item in items:
            if item is not None and not isinstance(item, dict):
                token = json.dumps(item)[:1]
                raise errors.invalid_argument(
                    f"proto: syntax error ({where}.{key}): unexpected token {token}"
                )
            _require_objects(field.message_type, item, f"{where}.{key}")


def _require_enum(field: Any, value: Any, where: str) -> None:
    """An enum is a name or an integral number; json_format would also take 2.5 or true."""
    values = value if field.is_repeated and isinstance(value, list) else [value]
    for item in values:
        if item is None or isinstance(item, str):
            continue
        if isinstance(item, bool) or not isinstance(item, int):
            raise errors.invalid_argument(
                f"proto: invalid value for enum field {field.json_name}: {json.dumps(item)}"
            )


def parse_json_request(rpc_name: str, body: dict[str, Any]) -> Message:
    """protojson's second step of the gateway's decoding, with DiscardUnknown."""
    message = request_class(rpc_name)()
    _require_objects(message.DESCRIPTOR, body, message.DESCRIPTOR.name)
    try:
        json_format.ParseDict(
            body, message, ignore_unknown_fields=True, max_recursion_depth=PROTOJSON_DEPTH
        )
    except json_format.ParseError as exc:
        if "too deep" in str(exc):
            raise errors.invalid_argument(TOO_DEEP) from None
        # protojson words its failures its own (deliberately unstable) way, "proto: ...".
        raise errors.invalid_argument(f"proto: {exc}") from None
    return message


TOO_DEEP = "proto: exceeded max recursion depth"


def field_names(rpc_name: str) -> frozenset[str]:
    """The JSON and proto names of a request's top-level fields."""
    fields = request_class(rpc_name).DESCRIPTOR.fields
    return frozenset(name for f in fields for name in (f.name, f.json_name))


# --- answers ------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
_MIN_TIMESTAMP_SECONDS = -62_135_596_800
_MAX_TIMESTAMP_SECONDS = 253_402_300_799


def set_timestamp(timestamp: Any, value: datetime) -> None:
    """``timestamp.FromDatetime(value)`` (a naive value is UTC), without its pure-Python
    struct_time round trip; a date outside Timestamp's range fails as FromDatetime fails."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    if not _MIN_TIMESTAMP_SECONDS <= seconds <= _MAX_TIMESTAMP_SECONDS:
        timestamp.FromDatetime(value)  # raises its own error, as before
    timestamp.seconds = seconds
    timestamp.nanos = delta.microseconds * 1000


def _view_details(aggregate: Aggregate) -> object_pb2.ObjectDetails:
    """ToViewDetailsPb: sequence, both dates (when set) and the owner."""
    details = object_pb2.ObjectDetails(
        sequence=aggregate.sequence, resource_owner=aggregate.resource_owner
    )
    if aggregate.creation_date is not None:
        set_timestamp(details.creation_date, aggregate.creation_date)
    if aggregate.change_date is not None:
        set_timestamp(details.change_date, aggregate.change_date)
    return details


def _change_details(aggregate: Aggregate) -> object_pb2.ObjectDetails:
    """ChangeToDetailsPb, which the action reads use: no creation date."""
    details = object_pb2.ObjectDetails(
        sequence=aggregate.sequence, resource_owner=aggregate.resource_owner
    )
    if aggregate.change_date is not None:
        set_timestamp(details.change_date, aggregate.change_date)
    return details


def user_message(view: UserView) -> user_pb2.User:
    user = view.user
    message = user_pb2.User(
        id=user.id,
        details=_view_details(user),
        state=user_state_name(user.state),
        user_name=user.user_name,
        login_names=view.login_names,
        preferred_login_name=view.preferred_login_name,
    )
    if user.kind == "machine":
        message.machine.name = user.machine_name
        message.machine.description = user.description
        message.machine.has_secret = user.has_secret
        message.machine.access_token_type = f"ACCESS_TOKEN_TYPE_{user.access_token_type.upper()}"
        message.machine.SetInParent()
        return message
    human = message.human
    # HumanToPb always sets the three messages: a user without a phone reads "phone": {}.
    human.profile.SetInParent()
    human.email.SetInParent()
    human.phone.SetInParent()
    profile = human.profile
    profile.first_name = user.first_name
    profile.last_name = user.last_name
    profile.nick_name = user.nick_name
    profile.display_name = user.display_name
    # language.Tag.String() of an unset language is "und".
    profile.preferred_language = user.preferred_language or "und"
    profile.gender = f"GENDER_{user.gender.upper()}"
    human.email.email = user.email
    human.email.is_email_verified = user.email_verified
    human.phone.phone = user.phone
    human.phone.is_phone_verified = user.phone_verified
    if user.password_changed is not None:
        set_timestamp(human.password_changed, user.password_changed)
    return message


def org_message(org: Org) -> org_pb2.Org:
    return org_pb2.Org(
        id=org.id,
        details=_view_details(org),
        state=f"ORG_STATE_{org.state.name}",
        name=org.name,
        primary_domain=org.primary_domain,
    )


def action_message(action: Action) -> action_pb2.Action:
    timeout = timedelta(seconds=action.timeout_seconds)
    if not timedelta(0) < timeout < MAX_ACTION_TIMEOUT:
        timeout = MAX_ACTION_TIMEOUT
    message = action_pb2.Action(
        id=action.id,
        details=_change_details(action),
        state=ACTION_STATES.get(action.state, "ACTION_STATE_UNSPECIFIED"),
        name=action.name,
        script=action.script,
        allowed_to_fail=action.allowed_to_fail,
    )
    message.timeout.FromTimedelta(timeout)
    return message


def user_grant_message(view: UserGrantView) -> user_pb2.UserGrant:
    grant, user = view.grant, view.user
    message = user_pb2.UserGrant(
        id=grant.id,
        details=_view_details(grant),
        role_keys=grant.roles,
        state=GRANT_STATES.get(grant.state, "USER_GRANT_STATE_UNSPECIFIED"),
        user_id=grant.user_id,
        # The org owning the grant; grantedOrg* is the user's org.
        org_id=grant.resource_owner,
        project_id=grant.project_id,
        project_grant_id=grant.project_grant_id,
        preferred_login_name=view.user_login_name,
    )
    if user is not None:
        message.user_name = user.user_name
        message.first_name = user.first_name
        message.last_name = user.last_name
        message.email = user.email
        message.display_name = user.display_name
        message.user_type = USER_TYPES.get(user.kind, "TYPE_UNSPECIFIED")
    if view.org is not None:
        message.org_name = view.org.name
        message.org_domain = view.org.primary_domain
    if view.project is not None:
        message.project_name = view.project.name
    if view.user_org is not None:
        message.granted_org_id = view.user_org.id
        message.granted_org_name = view.user_org.name
        message.granted_org_domain = view.user_org.primary_domain
    return message


def _list_details(page: Page) -> object_pb2.ListDetails:
    # ToListDetails: the processed sequence is never filled on current releases.
    details = object_pb2.ListDetails(total_result=page.total)
    set_timestamp(details.view_timestamp, page.view_timestamp)
    return details


def _list(convert: Callable[[Any], Message]) -> Callable[[str, Page], Message]:
    def answer(rpc_name: str, page: Page) -> Message:
        return response_class(rpc_name)(
            details=_list_details(page), result=[convert(item) for item in page.result]
        )

    return answer


_ANSWERS: dict[str, Callable[[str, Any], Message]] = {
    "GetMyOrg": lambda rpc, org: response_class(rpc)(org=org_message(org)),
    "GetUserByID": lambda rpc, view: response_class(rpc)(user=user_message(view)),
    "ListUsers": _list(user_message),
    "GetUserGrantByID": lambda rpc, view: response_class(rpc)(user_grant=user_grant_message(view)),
    "ListUserGrants": _list(user_grant_message),
    "GetAction": lambda rpc, action: response_class(rpc)(action=action_message(action)),
    "ListActions": _list(action_message),
}


def read_response(rpc_name: str, view: Any) -> Message:
    """The response message of a read, from the view its query returned."""
    return _ANSWERS[rpc_name](rpc_name, view)


# A read answers the same resource again and again (a UI polling it), and a message's bytes
# decide its JSON: so the JSON is remembered by them, for messages of at most this many bytes.
_REMEMBERED_MESSAGE_BYTES = 2048
_json_of: bounded.BoundedMemory[bytes] = bounded.BoundedMemory(1024)


def protojson(message: Message) -> bytes:
    """The gateway's JSON of a message: protojson's names and zero-value omission, compact."""
    raw = message.SerializeToString()
    if len(raw) > _REMEMBERED_MESSAGE_BYTES:
        return protojson_writer.dumps(message)
    key = (message.DESCRIPTOR.full_name, raw)
    written = _json_of.get(key)
    if written is None:
        written = protojson_writer.dumps(message)
        _json_of.put(key, written)
    return written
