"""protoc-gen-validate's rules of the read requests: the ``queries`` of the three list RPCs.

The generated Validate() methods check a request before the query layer sees it, and word the
first violation with the nested "caused by" chain of the embedded messages. The rules are
upstream's .proto declarations, not the spec's, so they live here apart from what the reads answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.domain import errors
from mock_server.domain.validation import go_field_name

MAX_TEXT_QUERY_LENGTH = 200


class _Rules:
    """PGV's Validate(): the first violation, with the nested "caused by" chain it words."""

    def __init__(self, message: str) -> None:
        self.message = message

    def fail(self, field: str, reason: str) -> errors.ZitadelError:
        return errors.invalid_argument(f"invalid {self.message}.{field}: {reason}")


def _nested(outer: _Rules, field: str, inner: errors.ZitadelError) -> errors.ZitadelError:
    return outer.fail(field, f"embedded message failed validation | caused by: {inner.text}")


def _check_text(message: str, field: str, value: Any, limit: int | None = MAX_TEXT_QUERY_LENGTH):
    if limit is not None and len(str(value or "")) > limit:
        raise _Rules(message).fail(field, f"value length must be at most {limit} runes")


def _check_enum(message: str, field: str, value: Any) -> None:
    # Enums arrive by name; a number without a name is an undefined value.
    if value is not None and not isinstance(value, str):
        raise _Rules(message).fail(field, "value must be one of the defined enum values")


# The query messages of each oneof: (message name, text field, its max length or None,
# has a method, enum field) as upstream's .proto files declare their rules.
_TextRule = tuple[str, str | None, int | None, bool, str | None]
_USER_QUERIES: dict[str, _TextRule] = {
    "user_name_query": ("UserNameQuery", "user_name", 200, True, None),
    "first_name_query": ("FirstNameQuery", "first_name", 200, True, None),
    "last_name_query": ("LastNameQuery", "last_name", 200, True, None),
    "nick_name_query": ("NickNameQuery", "nick_name", 200, True, None),
    "display_name_query": ("DisplayNameQuery", "display_name", 200, True, None),
    "email_query": ("EmailQuery", "email_address", 200, True, None),
    "state_query": ("StateQuery", None, None, False, "state"),
    "type_query": ("TypeQuery", None, None, False, "type"),
    "login_name_query": ("LoginNameQuery", "login_name", 200, True, None),
    "in_user_ids_query": ("InUserIDQuery", None, None, False, None),
    "or_query": ("OrQuery", None, None, False, None),
    "and_query": ("AndQuery", None, None, False, None),
    "not_query": ("NotQuery", None, None, False, None),
    "in_user_emails_query": ("InUserEmailsQuery", None, None, False, None),
}
_ACTION_QUERIES: dict[str, _TextRule] = {
    "action_id_query": ("ActionIDQuery", "id", 200, False, None),
    "action_name_query": ("ActionNameQuery", "name", 200, True, None),
    "action_state_query": ("ActionStateQuery", None, None, False, "state"),
}
_GRANT_QUERIES: dict[str, _TextRule] = {
    "project_id_query": ("UserGrantProjectIDQuery", "project_id", 200, False, None),
    "user_id_query": ("UserGrantUserIDQuery", "user_id", 200, False, None),
    "with_granted_query": ("UserGrantWithGrantedQuery", None, None, False, None),
    "role_key_query": ("UserGrantRoleKeyQuery", "role_key", 200, True, None),
    "project_grant_id_query": (
        "UserGrantProjectGrantIDQuery",
        "project_grant_id",
        200,
        False,
        None,
    ),
    "user_name_query": ("UserGrantUserNameQuery", "user_name", 200, True, None),
    "first_name_query": ("UserGrantFirstNameQuery", "first_name", 200, True, None),
    "last_name_query": ("UserGrantLastNameQuery", "last_name", 200, True, None),
    "email_query": ("UserGrantEmailQuery", "email", 200, True, None),
    "org_name_query": ("UserGrantOrgNameQuery", "org_name", 200, True, None),
    "org_domain_query": ("UserGrantOrgDomainQuery", "org_domain", 200, True, None),
    "project_name_query": ("UserGrantProjectNameQuery", "project_name", 200, True, None),
    # UserGrantDisplayNameQuery has no length rule, UserGrantUserTypeQuery no defined_only.
    "display_name_query": ("UserGrantDisplayNameQuery", "display_name", None, True, None),
    "user_type_query": ("UserGrantUserTypeQuery", None, None, False, None),
}


def _check_query(oneof_message: str, table: dict[str, _TextRule], query: Mapping[str, Any]):
    """One entry of a ``queries`` list: its oneof is required and its message's rules hold."""
    rules = _Rules(oneof_message)
    chosen = [key for key in table if key in query]
    if not chosen:
        raise rules.fail("Query", "value is required")
    key = chosen[0]
    message, text_field, limit, has_method, enum_field = table[key]
    inner = query[key] or {}
    try:
        if text_field is not None:
            _check_text(message, go_field_name(text_field), inner.get(text_field), limit)
        if has_method:
            _check_enum(message, "Method", inner.get("method"))
        if enum_field is not None:
            _check_enum(message, go_field_name(enum_field), inner.get(enum_field))
        if key in ("or_query", "and_query"):
            for index, sub in enumerate(inner.get("queries") or []):
                try:
                    _check_query(oneof_message, table, sub)
                except errors.ZitadelError as exc:
                    raise _nested(_Rules(message), f"Queries[{index}]", exc) from None
        if key == "not_query":
            try:
                _check_query(oneof_message, table, inner.get("query") or {})
            except errors.ZitadelError as exc:
                raise _nested(_Rules(message), "Query", exc) from None
    except errors.ZitadelError as exc:
        raise _nested(rules, go_field_name(key), exc) from None


# Each list request: the message of its ``queries`` oneof and that oneof's rules.
_LIST_REQUESTS: dict[str, tuple[str, dict[str, _TextRule]]] = {
    "ListUsersRequest": ("SearchQuery", _USER_QUERIES),
    "ListActionsRequest": ("ActionQuery", _ACTION_QUERIES),
    "ListUserGrantRequest": ("UserGrantQuery", _GRANT_QUERIES),
}


def checked_queries(request_message: str, request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``queries`` of a list request, once PGV's rules of the request hold."""
    oneof_message, table = _LIST_REQUESTS[request_message]
    queries = list(request.get("queries") or [])
    for index, query in enumerate(queries):
        try:
            _check_query(oneof_message, table, query)
        except errors.ZitadelError as exc:
            raise _nested(_Rules(request_message), f"Queries[{index}]", exc) from None
    return queries
