"""protoc-gen-validate's string length rules, with its exact messages.

The rules themselves come from the spec (minLength/maxLength of the path parameters); this
module only words the violations as the generated Validate() methods do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mock_server.contract import FieldRule
from mock_server.domain import errors


def go_field_name(proto_name: str) -> str:
    """``user_id`` -> ``UserId``: the Go name PGV puts into its messages."""
    return "".join(part[:1].upper() + part[1:] for part in proto_name.split("_"))


def _length_rule_text(rule: FieldRule) -> str:
    if rule.min_length is not None and rule.max_length is not None:
        return (
            f"value length must be between {rule.min_length} and {rule.max_length} runes, inclusive"
        )
    if rule.min_length is not None:
        return f"value length must be at least {rule.min_length} runes"
    return f"value length must be at most {rule.max_length} runes"


def validate(message: str, rules: Iterable[FieldRule], fields: Mapping[str, str]) -> None:
    """Raise the first violation, in field order, as a detail-less InvalidArgument."""
    for rule in rules:
        if rule.min_length is None and rule.max_length is None:
            continue
        # Python's len counts code points, which is what Go's utf8.RuneCountInString counts.
        length = len(fields.get(rule.name, ""))
        too_short = rule.min_length is not None and length < rule.min_length
        too_long = rule.max_length is not None and length > rule.max_length
        if too_short or too_long:
            raise errors.invalid_argument(
                f"invalid {message}.{go_field_name(rule.name)}: {_length_rule_text(rule)}"
            )
