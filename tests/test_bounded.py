"""The memories of what repeats stay bounded whatever clients send, and never change an answer."""

from __future__ import annotations

from mock_server import bounded
from mock_server.app import create_mock
from mock_server.domain import errors
from mock_server.grpc_front import web
from mock_server.rest import gateway


def test_a_full_memory_is_forgotten_whole_and_then_fills_again():
    memory: bounded.BoundedMemory[int] = bounded.BoundedMemory(3)
    for n in range(3):
        memory.put(n, n)
    assert len(memory) == 3 and memory.get(2) == 2
    memory.put(3, 3)
    assert len(memory) == 1 and memory.get(0) is None and memory.get(3) == 3


def test_per_error_remembers_by_code_text_and_id_and_never_long_texts():
    built: list[errors.ZitadelError] = []

    def build(error: errors.ZitadelError) -> str:
        built.append(error)
        return f"{error.code.name}:{error.message}"

    remembered = bounded.per_error(build, limit=2)
    first = errors.precondition("Action is not active", "COMMAND-Dgh32")
    assert remembered(first) == remembered(errors.precondition(first.text, "COMMAND-Dgh32"))
    assert len(built) == 1
    # Another id, another code, the same text: each its own answer.
    assert remembered(errors.precondition(first.text, "COMMAND-other")) != remembered(first)
    assert remembered(errors.not_found(first.text, "COMMAND-Dgh32")).startswith("NOT_FOUND:")
    long_text = "x" * (bounded.REMEMBERED_TEXT_LENGTH + 1)
    for _ in range(3):
        remembered(errors.invalid_argument(long_text))
    assert sum(error.text == long_text for error in built) == 3


def test_remembered_error_answers_are_the_ones_built_afresh():
    for error in (
        errors.unauthenticated("auth header missing"),
        errors.precondition("Action is not active", "COMMAND-Dgh32"),
        errors.invalid_argument('ünïcode text and "quotes"'),
    ):
        for _ in range(2):
            assert gateway.error_answer(error) == gateway._build_error_answer(error)
            assert web.trailer_frame(error) == web._trailer(error)


def test_ever_new_paths_leave_the_route_memory_bounded():
    dispatch = create_mock().app
    while not hasattr(dispatch, "rest"):
        dispatch = dispatch.app  # the guard, X-Robots-Tag and CORS around the front
    rest = dispatch.rest
    for n in range(10_000):
        assert rest.match_path("GET", f"/management/v1/actions/{n}") is not None
    long_path = "/management/v1/actions/" + "7" * 300
    assert rest.match_path("GET", long_path) is not None
    assert len(rest._matched) <= 4096
    assert rest._matched.get(("GET", long_path)) is None  # never remembered
