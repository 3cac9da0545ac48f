"""The spec files: valid OpenAPI, and faithful to what ZITADEL generates for the eight RPCs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from rest_support import DATE_FIELD, PATHS, RPCS
from zitadel_lifecycle_openapi import CONTROL_SPEC, MANAGEMENT_SPEC

# (tag, summary, deprecated, permission, 200 description) per RPC, from facts A and I.1.
# ReactivateUser's summary is upstream's typo, which the published docs show.
EXPECTED = {
    "DeactivateAction": ("Actions", "Deactivate Action", False, "org.action.write", None),
    "ReactivateAction": ("Actions", "Reactivate Action", False, "org.action.write", None),
    "DeactivateUser": ("Users", "Deactivate User", True, "user.write", "OK"),
    "ReactivateUser": ("Users", "Deactivate User", True, "user.write", "OK"),
    "DeactivateOrg": ("Organizations", "Deactivate Organization", True, "org.write", None),
    "ReactivateOrg": ("Organizations", "Reactivate Organization", True, "org.write", None),
    "DeactivateUserGrant": ("User Grants", "Deactivate User Grant", True, "user.grant.write", None),
    "ReactivateUserGrant": ("User Grants", "Reactivate User Grant", True, "user.grant.write", None),
}
COUNTERPART = {
    rpc: rpc.replace("Deactivate", "Reactivate")
    if rpc.startswith("Deactivate")
    else rpc.replace("Reactivate", "Deactivate")
    for rpc in RPCS
}


def _load(path) -> dict[str, Any]:
    spec, _ = read_from_filename(str(path))
    return spec


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _load(MANAGEMENT_SPEC)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """``node`` with every local $ref inlined (the spec has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _resolve(spec, target)
        return {key: _resolve(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(spec, item) for item in node]
    return node


def _operation(spec: dict[str, Any], rpc: str) -> dict[str, Any]:
    return spec["paths"][PATHS[rpc]]["post"]


@pytest.mark.parametrize("path", [MANAGEMENT_SPEC, CONTROL_SPEC], ids=["management", "control"])
def test_spec_file_is_valid_openapi(path) -> None:
    spec = _load(path)
    assert spec["openapi"].startswith("3.0")
    validate(spec)


def test_the_validator_would_notice_a_broken_spec(spec) -> None:
    broken = copy.deepcopy(spec)
    del broken["paths"][PATHS["DeactivateUser"]]["post"]["responses"]
    with pytest.raises(Exception, match="responses"):
        validate(broken)


# The reads of the same resources, with their HTTP bindings (management.proto).
READ_ROUTES = {
    ("/orgs/me", "get"),
    ("/users/{id}", "get"),
    ("/users/_search", "post"),
    ("/users/{user_id}/grants/{grant_id}", "get"),
    ("/users/grants/_search", "post"),
    ("/actions/{id}", "get"),
    ("/actions/_search", "post"),
}


def test_exactly_the_eight_writes_and_seven_reads_under_the_management_base_path(spec) -> None:
    assert spec["servers"] == [{"url": "/management/v1"}]
    operations = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    }
    assert operations == {(path, "post") for path in PATHS.values()} | READ_ROUTES


@pytest.mark.parametrize("rpc", RPCS)
def test_operation_metadata_matches_zitadel(spec, rpc) -> None:
    tag, summary, deprecated, permission, ok_description = EXPECTED[rpc]
    operation = _operation(spec, rpc)
    assert operation["operationId"] == f"ManagementService_{rpc}"
    assert operation["tags"] == [tag]
    assert operation["summary"] == summary
    assert operation.get("deprecated", False) is deprecated
    assert operation["x-zitadel-rpc"] == rpc
    assert operation["x-zitadel-permission"] == permission
    responses = operation["responses"]
    assert set(responses) == {"200", "default"}
    assert responses["200"]["description"] == (ok_description or "A successful response.")
    default = _resolve(spec, responses["default"])
    assert default["description"] == "An unexpected error response."


@pytest.mark.parametrize("rpc", RPCS)
def test_every_operation_takes_the_optional_org_header_and_bearer_auth(spec, rpc) -> None:
    parameters = _resolve(spec, _operation(spec, rpc)["parameters"])
    (header,) = [p for p in parameters if p["in"] == "header"]
    assert header["name"] == "x-zitadel-orgid"
    assert header.get("required", False) is False
    assert spec["security"] == [{"bearerAuth": []}]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("rpc", RPCS)
def test_path_parameter_rules_are_protoc_gen_validate_rules(spec, rpc) -> None:
    parameters = _resolve(spec, _operation(spec, rpc)["parameters"])
    path_params = {p["name"]: p["schema"] for p in parameters if p["in"] == "path"}
    if rpc.endswith("Action"):
        # DeactivateActionRequest.id has no validation rule at all.
        assert path_params == {"id": {"type": "string"}}
    elif rpc.endswith("Org"):
        assert path_params == {}
    else:
        names = ["user_id", "grant_id"] if rpc.endswith("UserGrant") else ["id"]
        assert list(path_params) == names
        for schema in path_params.values():
            assert (schema["type"], schema["minLength"], schema["maxLength"]) == ("string", 1, 200)


@pytest.mark.parametrize("rpc", RPCS)
def test_links_lead_to_the_counterpart_with_the_same_ids(spec, rpc) -> None:
    links = _operation(spec, rpc)["responses"]["200"]["links"]
    (link,) = links.values()
    assert link["operationId"] == f"ManagementService_{COUNTERPART[rpc]}"
    expected = {
        "user_id": "$request.path.user_id",
        "grant_id": "$request.path.grant_id",
    }
    if rpc.endswith("UserGrant"):
        assert link["parameters"] == expected
    elif rpc.endswith("Org"):
        assert "parameters" not in link
    else:
        assert link["parameters"] == {"id": "$request.path.id"}


def _ok_validator(spec: dict[str, Any], rpc: str) -> OAS30Validator:
    ok = _resolve(spec, _operation(spec, rpc)["responses"]["200"])
    return OAS30Validator(ok["content"]["application/json"]["schema"])


def _details(*date_fields: str) -> dict[str, Any]:
    details = {"sequence": "7", "resourceOwner": "69629023906488334"}
    for field in date_fields:
        details[field] = "2025-03-01T10:00:00.123456Z"
    return {"details": details}


@pytest.mark.parametrize("rpc", RPCS)
def test_the_200_schema_requires_exactly_the_operations_date_field(spec, rpc) -> None:
    validator = _ok_validator(spec, rpc)
    own = DATE_FIELD[rpc]
    other = ({"creationDate", "changeDate"} - {own}).pop()
    assert validator.is_valid(_details(own))
    assert not validator.is_valid(_details(other)), "the other operations' date field"
    assert not validator.is_valid(_details(own, other)), "both date fields"
    assert not validator.is_valid(_details()), "no date field"
    without_sequence = _details(own)
    del without_sequence["details"]["sequence"]
    assert not validator.is_valid(without_sequence)


@pytest.mark.parametrize("rpc", RPCS)
def test_the_200_schema_wants_protojson_values(spec, rpc) -> None:
    validator = _ok_validator(spec, rpc)
    own = DATE_FIELD[rpc]
    body = _details(own)
    body["details"]["sequence"] = 7
    assert not validator.is_valid(body), "uint64 is a string in protojson"
    for date in ("2025-03-01T10:00:00+02:00", "2025-03-01 10:00:00Z", "2025-03-01T10:00:00.1Z"):
        body = _details(own)
        body["details"][own] = date
        assert not validator.is_valid(body), date
    for date in (
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:00:00.123Z",
        "2025-03-01T10:00:00.123456789Z",
    ):
        body = _details(own)
        body["details"][own] = date
        assert validator.is_valid(body), date


def test_the_error_envelope_is_rpc_status(spec) -> None:
    envelope = _resolve(spec, spec["components"]["schemas"]["rpcStatus"])
    assert envelope["required"] == ["code", "message"]
    assert envelope["properties"]["code"] == {"type": "integer", "format": "int32"}
    validator = OAS30Validator(envelope)
    detail = {
        "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
        "id": "COMMAND-6M0sf",
        "message": "User is not inactive",
    }
    assert validator.is_valid(
        {"code": 9, "message": "User is not inactive (COMMAND-6M0sf)", "details": [detail]}
    )
    assert validator.is_valid({"code": 16, "message": "auth header missing"})
    assert not validator.is_valid({"code": "not_found", "message": "x"}), "Connect-style code"
    assert not validator.is_valid({"code": 5, "message": "x", "details": [{"id": "x"}]})


def test_control_plane_spec_lives_outside_zitadels_paths() -> None:
    control = _load(CONTROL_SPEC)
    assert control["servers"] == [{"url": "/_mock/v1"}]
    operation_ids = {
        operation["operationId"]
        for item in control["paths"].values()
        for key, operation in item.items()
        if key != "parameters"
    }
    assert operation_ids == {
        "list_calls",
        "clear_calls",
        "create_fault",
        "list_faults",
        "clear_faults",
        "delete_fault",
        "create_instance",
        "list_instances",
        "get_instance",
        "delete_instance",
        "info",
        "export_world",
        "reset_world",
        "get_settings",
        "set_settings",
        "create_resource",
        "get_resource",
        "set_resource_state",
    }
