"""Steering part of the generated traffic to the provisioned resources and orgs.

Without it nearly every generated request would address an unknown id or org, and the rules on
successful responses would never be exercised. The hooks act on single parameter locations, so
values that the stateful phase takes from links still win.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance import spec
from conformance.safety import Safety

# How much of the generated traffic is steered to the provisioned resources and orgs; the rest
# keeps schemathesis' own values (unknown ids, odd header values).
KNOWN_ID_WEIGHT = 2


class Steering:
    def __init__(self, safety: Safety, operations: dict[str, spec.Operation]) -> None:
        self.safety = safety
        self.resources = safety.resources
        self.operations = operations

    def operation_of_api(self, api_operation: Any) -> spec.Operation:
        return next(o for o in self.operations.values() if o.label == api_operation.label)

    def install(self, schema: Any) -> None:
        """Register the steering hooks on ``schema`` (they apply to everything it generates)."""
        steering = self

        def flatmap_path_parameters(context: Any, params: dict[str, Any]) -> Any:
            operation = steering.operation_of_api(context.operation)
            if not operation.path_params:
                return st.just(params)
            params = dict(params or {})
            choices: list[dict[str, str] | None] = [None]
            for ref in steering.resources.of_kind(operation.kind):
                choices += [dict(ref.params)] * KNOWN_ID_WEIGHT
                if ref.kind == "user_grant":
                    # ZITADEL ignores user_id; only the grant id and the org select.
                    choices.append({"grant_id": ref.params["grant_id"]})
            return st.sampled_from(choices).map(lambda c: params if c is None else {**params, **c})

        def flatmap_headers(context: Any, headers: dict[str, Any] | None) -> Any:
            operation = steering.operation_of_api(context.operation)
            headers = dict(headers or {})
            if operation.kind == "org":
                choices = ["unknown", "generated"]
                if steering.safety.may_touch_org:
                    choices += ["own"] * KNOWN_ID_WEIGHT
            else:
                choices = ["generated", "absent", "own", "own", "other"]
            return st.tuples(st.sampled_from(choices), st.integers(0, 10**17 - 1)).map(
                lambda pick: steering.steer_header(operation, headers, *pick)
            )

        schema.hooks.register_hook_with_name(flatmap_path_parameters, "flatmap_path_parameters")
        schema.hooks.register_hook_with_name(flatmap_headers, "flatmap_headers")

    def steer_header(
        self, operation: spec.Operation, headers: dict[str, Any], choice: str, number: int
    ) -> dict[str, Any]:
        generated = next((v for k, v in headers.items() if k.lower() == spec.ORG_HEADER), None)
        headers = {k: v for k, v in headers.items() if k.lower() != spec.ORG_HEADER}
        unknown = str(900_000_000_000_000_000 + number)
        safety = self.safety
        if operation.kind == "org":
            value = str(generated).strip() if generated is not None else ""
            if choice == "own" and safety.may_touch_org:
                headers[spec.ORG_HEADER] = safety.org
            elif choice == "generated" and value and value not in safety.protected_orgs():
                headers[spec.ORG_HEADER] = generated
            else:
                headers[spec.ORG_HEADER] = unknown
            return headers
        if choice == "generated" and generated is not None:
            headers[spec.ORG_HEADER] = generated
        elif choice == "own" and self.resources.org:
            headers[spec.ORG_HEADER] = self.resources.org
        elif choice == "other" and self.resources.other_org:
            headers[spec.ORG_HEADER] = self.resources.other_org
        return headers
