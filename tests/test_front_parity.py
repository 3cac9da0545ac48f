"""REST, gRPC-web and native gRPC are three wires onto one domain: same answers, one world."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import grpc
import pytest
from grpc_harness import (
    SERVICE_PATH,
    Outcome,
    Step,
    call_grpc,
    domain_outcomes,
    grpc_metadata,
    grpc_web_body,
    grpc_web_headers,
    grpc_web_outcome,
    lifecycle_script,
    rest_outcome,
    rest_path,
)
from starlette.testclient import TestClient

from mock_server.app import create_mock
from mock_server.domain.world import World
from mock_server.fixtures import seeded_world
from mock_server.grpc_front import create_grpc_server

FRONTS = ("rest", "grpc-web", "grpc")


class Fronts:
    """One mock, reached over each of its three wires."""

    def __init__(self, world: World, http: TestClient, channel: grpc.Channel) -> None:
        self.world = world
        self.http = http
        self.channel = channel

    def call(self, front: str, step: Step) -> Outcome:
        if front == "grpc":
            return call_grpc(
                self.channel, step.rpc, step.fields, step.token, step.org, step.authorization
            )
        if front == "grpc-web":
            response = self.http.post(
                SERVICE_PATH + step.rpc,
                content=grpc_web_body(step.rpc, step.fields),
                headers=grpc_web_headers(step.token, step.org, step.authorization),
            )
            return grpc_web_outcome(
                step.rpc, response.status_code, response.headers["content-type"], response.content
            )
        response = self.http.post(
            rest_path(step.rpc, step.fields),
            json={},
            headers=dict(grpc_metadata(step.token, step.org, step.authorization)),
        )
        return rest_outcome(response.status_code, response.json())


@pytest.fixture
def fronts() -> Iterator[Fronts]:
    world = seeded_world(0)
    mock = create_mock(world)
    server, port = create_grpc_server(mock.service, "127.0.0.1", 0)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Fronts(world, TestClient(mock.app), channel)
    server.stop(grace=None)


def _without_date(outcome: Outcome) -> Outcome:
    return dataclasses.replace(outcome, date=None)


def _check_dates(world: World, steps: list[Step], outcomes: list[Outcome]) -> None:
    events = {(e.aggregate_id, e.sequence): e for e in world.events}
    for step, outcome in zip(steps, outcomes, strict=True):
        if outcome.ok:
            assert outcome.date == events[(step.aggregate, outcome.sequence)].created_at, step


@pytest.mark.parametrize("front", FRONTS)
def test_each_front_answers_the_scenario_as_the_domain_does(fronts, front):
    steps = lifecycle_script(fronts.world)
    expected = domain_outcomes(seeded_world(0), steps)
    got = [fronts.call(front, step) for step in steps]
    for step, want, outcome in zip(steps, expected, got, strict=True):
        assert _without_date(outcome) == _without_date(want), (front, step)
    _check_dates(fronts.world, steps, got)


def test_fronts_share_one_world(fronts):
    """Round-robin over the wires: each step sees the state the previous wire left."""
    steps = lifecycle_script(fronts.world)
    expected = domain_outcomes(seeded_world(0), steps)
    used = [FRONTS[number % len(FRONTS)] for number in range(len(steps))]
    got = [fronts.call(front, step) for front, step in zip(used, steps, strict=True)]
    for front, step, want, outcome in zip(used, steps, expected, got, strict=True):
        assert _without_date(outcome) == _without_date(want), (front, step)
    _check_dates(fronts.world, steps, got)
    # The first aggregate was written over REST, then refused over gRPC-web because REST had
    # deactivated it, then reactivated over gRPC with the next sequence.
    assert used[:3] == ["rest", "grpc-web", "grpc"]
    assert got[0].ok and got[1].code == 9 and got[2].sequence == got[0].sequence + 1
