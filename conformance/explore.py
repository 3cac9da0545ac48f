"""Exploring: generated traffic per operation and schemathesis' stateful phase over the links.

Both send through the target (so every request passes the safety guard) and check every answer
with its verifier; failures are collected per rule and raised once at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hypothesis
import hypothesis.errors
from schemathesis import GenerationMode
from schemathesis.core.transport import Response as StResponse

from conformance.verify import FailureLog

if TYPE_CHECKING:
    from conformance.target import Target


class Explorer:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.generated_counts: dict[str, dict[str, int]] = {}
        self.links_steps: dict[str, int] = {}
        self.links_followed = 0

    def run_generated(self, rpc: str) -> None:
        """Positive and negative generated traffic against one operation."""
        __tracebackhide__ = True
        api_operation = self.target.api_operation(rpc)
        examples = self.target.settings.examples
        negative = examples // 2
        budget = {GenerationMode.POSITIVE: examples - negative, GenerationMode.NEGATIVE: negative}
        log = FailureLog()
        self.generated_counts[rpc] = {"positive": 0, "negative": 0}
        for mode, count in budget.items():
            self._explore(rpc, api_operation.as_strategy(generation_mode=mode), count, mode, log)
        counts = self.generated_counts[rpc]
        log.raise_if_any(
            f"{rpc}: generated traffic broke {len(log.violations)} rule(s) "
            f"({counts['positive']} positive, {counts['negative']} negative examples)"
        )

    def _explore(
        self, rpc: str, strategy: Any, examples: int, mode: GenerationMode, log: FailureLog
    ) -> None:
        counts = self.generated_counts[rpc]
        target = self.target

        # Shrinking replays requests against a server whose state the first run changed, so it
        # would chase states rather than inputs: every failure is kept as it was found.
        @hypothesis.settings(
            max_examples=examples,
            phases=[hypothesis.Phase.generate],
            database=None,
            deadline=None,  # each request is bounded by REQUEST_TIMEOUT instead
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def explore(case: Any) -> None:
            response = target.send(case)
            counts[mode.value] += 1
            log.add(target.verify(case, response))

        explore()

    def run_links(self) -> None:
        """Schemathesis' stateful phase, following the spec's links between the operations."""
        __tracebackhide__ = True
        target = self.target
        explorer = self
        log = FailureLog()
        base = self._state_machine_with_all_roots()

        class Workflow(base):  # type: ignore[misc, valid-type]
            def step(self, input: Any) -> Any:
                if input.transition is not None:
                    explorer.links_followed += 1
                return super().step(input)

            def call(self, case: Any, **kwargs: Any) -> StResponse:
                return target.send(case)

            def validate_response(
                self, response: Any, case: Any, *args: Any, **kwargs: Any
            ) -> None:
                rpc = target.operation_of(case).rpc
                explorer.links_steps[rpc] = explorer.links_steps.get(rpc, 0) + 1
                log.add(target.verify(case, response, column="links"))

            def teardown(self) -> None:
                # Every scenario starts from the same states, so that Hypothesis sees the same
                # answers to the same choices as far as the server allows.
                target.restore()
                super().teardown()

        scenarios = max(5, target.settings.examples // 4)
        wanted_steps = scenarios * 2
        # Hypothesis may end a run early (see below) or leave an operation unvisited in a small
        # budget; further runs go on until every operation was reached and links followed.
        for _attempt in range(6):
            try:
                Workflow.run(settings=_links_settings(scenarios))
            except hypothesis.errors.Flaky:
                # A stateful server can answer a replayed choice differently (a sequence moved
                # on, a resource changed state). That ends this run, not the phase; what was
                # checked so far stands, as in schemathesis' own engine.
                pass
            sendable = {r for r, o in target.operations.items() if not target.safety.refusal(o)}
            reached = set(self.links_steps) >= sendable
            if reached and self.links_followed and sum(self.links_steps.values()) >= wanted_steps:
                break
        log.raise_if_any(
            f"the stateful phase broke {len(log.violations)} rule(s) "
            f"({sum(self.links_steps.values())} steps, {self.links_followed} through a link)"
        )

    def _state_machine_with_all_roots(self) -> type:
        """The spec's state machine, where every operation may start a scenario.

        Schemathesis only starts scenarios at operations it expects to succeed with generated
        data, which here are the two org operations alone: an id in a path looks like a
        reference to a resource nothing in the spec creates. With the generated ids steered to
        provisioned resources, every operation can start a chain that its link continues.
        Schemathesis has no public switch for this, so the rules are added the way its own
        state machine factory adds them.
        """
        from hypothesis.stateful import Bundle
        from schemathesis.generation.feedback import NO_FEEDBACK
        from schemathesis.specs.openapi import stateful as openapi_stateful

        target = self.target
        refused = [o for o in target.operations.values() if target.safety.refusal(o)]
        schema = target.write_schema
        if refused:
            # Never a step, not even one the guard would stop: that would end the phase.
            schema = schema.exclude(operation_id=[o.operation_id for o in refused])
        refused_labels = {o.label for o in refused}
        base = schema.as_state_machine()
        missing = [
            api
            for label, api in target.api_operations.items()
            if label not in base._root_labels and label not in refused_labels
        ]
        rules: dict[str, Any] = {}
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for api in missing:
            name = openapi_stateful.normalize_name(f"RANDOM -> {api.label}")
            strategy = openapi_stateful._step_case_strategy(api, modes, feedback=NO_FEEDBACK)
            rules[name] = openapi_stateful.transition(
                name=name,
                target=Bundle("catch_all"),
                precondition=openapi_stateful.is_root_allowed(api.label),
                input=strategy.map(openapi_stateful.StepInput.initial),
            )
        return type(
            "AllRootsWorkflow",
            (base,),
            {
                **rules,
                "root_rules": frozenset(base.root_rules | set(rules)),
                "_root_labels": frozenset(base._root_labels | {api.label for api in missing}),
            },
        )


def _links_settings(scenarios: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=scenarios,
        stateful_step_count=6,
        phases=[hypothesis.Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
