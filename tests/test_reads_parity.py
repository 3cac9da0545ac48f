"""The reads over REST, gRPC-web and native gRPC: one world, the same protobuf answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from read_support import ADMIN, ReadFronts
from starlette.testclient import TestClient

from mock_server.app import create_mock
from mock_server.fixtures import SEED_TOKENS, seeded_world
from mock_server.grpc_front import create_grpc_server
from mock_server.grpc_front.gen.zitadel import object_pb2


@pytest.fixture(scope="module")
def fronts() -> Iterator[tuple[ReadFronts, Any]]:
    world = seeded_world(0)
    mock = create_mock(world)
    server, port = create_grpc_server(mock.service, "127.0.0.1", 0)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield ReadFronts(TestClient(mock.app), channel), world
    server.stop(grace=None)


def _calls(world) -> list[tuple[str, dict[str, Any], str | None, str | None]]:
    main = world.users[world.tokens[ADMIN].user_id].resource_owner
    second = world.users[world.tokens[SEED_TOKENS.second_org_owner].user_id].resource_owner
    user = next(u for u in world.users.values() if u.resource_owner == main and u.nick_name)
    machine = next(u for u in world.users.values() if u.kind == "machine" and u.has_secret)
    action = next(a for a in world.actions.values() if a.resource_owner == main)
    grant = next(g for g in world.user_grants.values() if g.resource_owner == main)
    foreign = next(u for u in world.users.values() if u.resource_owner == second)
    return [
        ("GetUserByID", {"id": user.id}, ADMIN, None),
        ("GetUserByID", {"id": machine.id}, ADMIN, machine.resource_owner),
        ("GetUserByID", {"id": foreign.id}, ADMIN, None),
        ("GetUserByID", {"id": "404"}, ADMIN, None),
        ("GetUserByID", {"id": "1" * 201}, ADMIN, None),
        ("ListUsers", {}, ADMIN, None),
        ("ListUsers", {"query": {"offset": "3", "limit": 4, "asc": True}}, ADMIN, None),
        ("ListUsers", {"sortingColumn": "USER_FIELD_NAME_EMAIL"}, ADMIN, second),
        (
            "ListUsers",
            {"queries": [{"orQuery": {"queries": [
                {"stateQuery": {"state": "USER_STATE_LOCKED"}},
                {"userNameQuery": {"userName": "SAB", "method": "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE"}},  # noqa: E501
            ]}}]},
            ADMIN,
            None,
        ),  # fmt: skip
        ("ListUsers", {"queries": [{}]}, ADMIN, None),
        ("ListUsers", {"query": {"limit": 1001}}, ADMIN, None),
        ("ListUsers", {"query": {"offset": "999"}}, ADMIN, None),
        ("GetMyOrg", {}, ADMIN, None),
        ("GetMyOrg", {}, SEED_TOKENS.inactive_org_owner, None),
        ("GetMyOrg", {}, SEED_TOKENS.project_owner, None),
        ("GetAction", {"id": action.id}, ADMIN, None),
        ("GetAction", {"id": "404"}, ADMIN, None),
        ("GetAction", {"id": action.id}, SEED_TOKENS.user_manager, None),
        ("ListActions", {}, ADMIN, second),
        ("ListActions", {"queries": [{"actionStateQuery": {"state": "ACTION_STATE_INACTIVE"}}]}, ADMIN, None),  # noqa: E501
        ("GetUserGrantByID", {"userId": "x", "grantId": grant.id}, ADMIN, None),
        ("GetUserGrantByID", {"userId": "x", "grantId": "404"}, ADMIN, None),
        ("ListUserGrants", {}, SEED_TOKENS.project_owner, None),
        ("ListUserGrants", {"queries": [{"withGrantedQuery": {}}, {"roleKeyQuery": {"roleKey": "admin"}}]}, ADMIN, None),  # noqa: E501
        ("ListUserGrants", {}, SEED_TOKENS.no_membership, None),
        ("ListUserGrants", {}, "not-a-token", None),
    ]  # fmt: skip


def _comparable(answer: Any) -> Any:
    """An answer with the view timestamp (the time of each read) cleared."""
    if isinstance(answer, Message):
        copy = type(answer)()
        copy.CopyFrom(answer)
        if isinstance(getattr(copy, "details", None), object_pb2.ListDetails):
            assert copy.details.HasField("view_timestamp")
            copy.details.ClearField("view_timestamp")
        return copy
    return answer


def test_each_read_answers_the_same_on_every_front(fronts):
    reader, world = fronts
    for rpc, request, token, org in _calls(world):
        answers = {f: reader.read(f, rpc, request, token, org) for f in ReadFronts.FRONTS}
        rest = _comparable(answers["rest"])
        for front in ("grpc-web", "grpc"):
            assert _comparable(answers[front]) == rest, (front, rpc, request, answers)


def test_the_scenario_covers_successes_and_each_kind_of_error(fronts):
    reader, world = fronts
    answers = [reader.read("grpc", *call) for call in _calls(world)]
    codes = {a[0] if isinstance(a, tuple) else 0 for a in answers}
    assert codes == {0, 3, 5, 7, 16}
    # Non-trivial successes: a user with every kind of field, a non-empty list.
    user = answers[0].user
    assert user.human.profile.nick_name and user.details.sequence >= 1
    assert len(answers[5].result) > 5 and answers[5].details.total_result == len(answers[5].result)
