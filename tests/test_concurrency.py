"""Concurrent toggles on one aggregate: no lost transition, no repeated sequence, no 500.

ZITADEL's event store gives each transition its own sequence; the mock must too, whether the
calls arrive as parallel HTTP requests or as threads calling the domain directly.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx
from rest_support import find, main_org, parse_date, rest_path

from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.domain.world import EVENT_LOG_LIMIT, Org, World
from mock_server.fixtures import SEED_TOKENS, seeded_world

THREADS = 8


@dataclass(frozen=True)
class Outcome:
    rpc: str
    ok: bool
    sequence: int | None = None
    date: datetime | None = None


def _run_threads(worker: Callable[[int, threading.Barrier], list[Outcome]]) -> list[Outcome]:
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, index, barrier) for index in range(THREADS)]
        return [outcome for future in futures for outcome in future.result()]


def _assert_consistent(
    outcomes: list[Outcome], start: int, aggregate, deactivate: str, reactivate: str
) -> None:
    successes = sorted((o for o in outcomes if o.ok), key=lambda o: o.sequence)
    sequences = [o.sequence for o in successes]
    assert successes, "some transitions succeed"
    assert len(successes) < len(outcomes), "some calls find the state already switched"
    assert len(set(sequences)) == len(sequences), "a sequence was handed out twice"
    assert sequences == list(range(start + 1, start + 1 + len(successes))), "a gap or a repeat"
    # Ordered by sequence, the successes alternate, starting from the initial (active) state.
    expected = [deactivate if i % 2 == 0 else reactivate for i in range(len(successes))]
    assert [o.rpc for o in successes] == expected
    dates = [o.date for o in successes]
    assert dates == sorted(dates), "dates go backwards along the sequence"
    assert aggregate.sequence == start + len(successes)
    assert aggregate.state.value == ("inactive" if len(successes) % 2 else "active")


def test_parallel_http_toggles_on_one_action(live_api) -> None:
    org = main_org(live_api.world)
    action = find(live_api.world, "actions", org=org, state="active")
    start = action.sequence
    base_url = str(live_api.client.base_url)
    headers = {"Authorization": f"Bearer {SEED_TOKENS.instance_owner}"}
    refused = {
        "DeactivateAction": "Action is not active (COMMAND-Dgj92)",
        "ReactivateAction": "Action is not inactive (COMMAND-J53zh)",
    }

    def worker(index: int, barrier: threading.Barrier) -> list[Outcome]:
        choose = random.Random(index)
        outcomes = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            barrier.wait()
            for _ in range(25):
                rpc = choose.choice(list(refused))
                response = client.post(rest_path(rpc, id=action.id), content=b"{}")
                body = response.json()
                if response.status_code == 200:
                    details = body["details"]
                    assert details["resourceOwner"] == org
                    date = parse_date(details["creationDate"])
                    outcomes.append(Outcome(rpc, True, int(details["sequence"]), date))
                else:
                    assert (response.status_code, body["code"]) == (400, 9), body
                    assert body["message"] == refused[rpc]
                    outcomes.append(Outcome(rpc, False))
        return outcomes

    outcomes = _run_threads(worker)
    assert len(outcomes) == THREADS * 25
    _assert_consistent(outcomes, start, action, "DeactivateAction", "ReactivateAction")


def test_threads_toggling_through_the_domain_directly() -> None:
    world = seeded_world(0)
    service = LifecycleService(world)
    org = main_org(world)
    user = find(world, "users", org=org, state="active")
    start = user.sequence
    metadata = CallMetadata(authorization=f"Bearer {SEED_TOKENS.instance_owner}")

    def worker(index: int, barrier: threading.Barrier) -> list[Outcome]:
        choose = random.Random(1000 + index)
        outcomes = []
        barrier.wait()
        for _ in range(300):
            rpc = choose.choice(["DeactivateUser", "ReactivateUser"])
            try:
                details = service.call(rpc, {"id": user.id}, metadata)
            except ZitadelError as error:
                assert error.error_id in {"COMMAND-5M0sf", "COMMAND-6M0sf"}, error
                outcomes.append(Outcome(rpc, False))
            else:
                assert details.resource_owner == org
                outcomes.append(Outcome(rpc, True, details.sequence, details.event_date))
        return outcomes

    outcomes = _run_threads(worker)
    _assert_consistent(outcomes, start, user, "DeactivateUser", "ReactivateUser")
    assert len([e for e in world.events if e.aggregate_id == user.id]) == user.sequence


def test_parallel_idempotent_grant_deactivations_push_one_event(live_api) -> None:
    org = main_org(live_api.world)
    grant = find(live_api.world, "user_grants", org=org, state="active")
    start = grant.sequence
    base_url = str(live_api.client.base_url)
    path = rest_path("DeactivateUserGrant", user_id=grant.user_id, grant_id=grant.id)
    headers = {"Authorization": f"Bearer {SEED_TOKENS.instance_owner}"}

    def worker(index: int, barrier: threading.Barrier) -> list[Outcome]:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            barrier.wait()
            responses = [client.post(path, content=b"{}") for _ in range(5)]
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        return [
            Outcome("DeactivateUserGrant", True, int(r.json()["details"]["sequence"]))
            for r in responses
        ]

    outcomes = _run_threads(worker)
    # v4: the first call deactivates, every other one answers with that same event's details.
    assert {o.sequence for o in outcomes} == {start + 1}
    assert grant.sequence == start + 1
    assert grant.state.value == "inactive"


def test_parallel_toggles_on_different_aggregates_do_not_interfere() -> None:
    world = seeded_world(0)
    service = LifecycleService(world)
    org = main_org(world)
    actions = [a for a in world.actions.values() if a.resource_owner == org][:2]
    starts = {a.id: a.sequence for a in actions}
    states = {a.id: a.state.value for a in actions}
    metadata = CallMetadata(authorization=f"Bearer {SEED_TOKENS.instance_owner}")
    flips = {a.id: 0 for a in actions}
    lock = threading.Lock()

    def worker(index: int, barrier: threading.Barrier) -> list[Outcome]:
        action = actions[index % len(actions)]
        barrier.wait()
        for step in range(200):
            rpc = "DeactivateAction" if (step + index) % 2 else "ReactivateAction"
            try:
                service.call(rpc, {"id": action.id}, metadata)
            except ZitadelError:
                continue
            with lock:
                flips[action.id] += 1
        return []

    _run_threads(worker)
    for action in actions:
        assert action.sequence == starts[action.id] + flips[action.id]
        flipped = flips[action.id] % 2 == 1
        other = "inactive" if states[action.id] == "active" else "active"
        assert action.state.value == (other if flipped else states[action.id])


def test_the_event_log_is_bounded_while_sequences_keep_counting() -> None:
    world = World()
    org = Org(id="1", resource_owner="1", name="Loop")
    for _ in range(EVENT_LOG_LIMIT + 500):
        world.push(org, "org.deactivated")
    assert len(world.events) == EVENT_LOG_LIMIT
    assert org.sequence == EVENT_LOG_LIMIT + 500
    assert world.events[-1].sequence == org.sequence


def test_the_event_log_reads_while_another_thread_pushes() -> None:
    world = World()
    org = Org(id="1", resource_owner="1", name="Loop")
    done = threading.Event()

    def push() -> None:
        while not done.is_set():
            with world.lock:
                world.push(org, "org.deactivated")

    pusher = threading.Thread(target=push)
    pusher.start()
    try:
        seen = [len(world.events) for _ in range(300)]  # a snapshot each, never a torn copy
    finally:
        done.set()
        pusher.join()
    assert seen == sorted(seen) and seen[-1] > 0
