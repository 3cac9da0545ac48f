"""Seeded worlds, fixture files and exports: reproducible, complete, and loud when wrong."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import yaml
from rest_support import Api, assert_details, assert_error

from mock_server import cli
from mock_server.domain.world import World
from mock_server.fixtures import (
    FIELDS,
    SEED_TOKENS,
    FixtureError,
    build_world,
    dump_yaml,
    export_document,
    load_document,
    seeded_world,
)

SEEDS = [0, 1, 7, 12345]

INITECH = textwrap.dedent(
    """\
    orgs:
      - {id: "100000000000000001", name: Initech, state: active}
    users:
      - {id: "100000000000000002", org: "100000000000000001", user_name: peter, state: active}
      - {id: "100000000000000003", org: "100000000000000001", user_name: milton, state: inactive}
    projects:
      - {id: "100000000000000004", org: "100000000000000001", name: TPS}
    actions:
      - {id: "100000000000000005", org: "100000000000000001", name: stapler, state: inactive}
    user_grants:
      - {id: "100000000000000006", org: "100000000000000001", user: "100000000000000003",
         project: "100000000000000004", roles: [reader], state: active}
    memberships:
      - {user: "100000000000000002", scope: org, id: "100000000000000001", roles: [ORG_OWNER]}
    tokens:
      - {token: peter-pat, user: "100000000000000002"}
    """
)
INITECH_ORG = "100000000000000001"


def _write(tmp_path: Path, text: str, name: str = "world.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _api(**options) -> Api:
    from mock_server.app import create_mock

    return Api(create_mock(**options))


def _token_user(world: World, token: str):
    return world.users[world.tokens[token].user_id]


def _memberships(world: World, token: str) -> list[tuple[str, str, list[str]]]:
    user_id = world.tokens[token].user_id
    return [(m.scope, m.scope_id, m.roles) for m in world.memberships if m.user_id == user_id]


# -- seeds ------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_world() -> None:
    first = export_document(seeded_world(3))
    assert export_document(seeded_world(3)) == first
    assert _api(seed=3).mock.admin.export() == first


def test_different_seeds_give_different_worlds() -> None:
    worlds = [export_document(seeded_world(seed)) for seed in SEEDS]
    org_ids = [{o["id"] for o in w["orgs"]} for w in worlds]
    for i, ids in enumerate(org_ids):
        for other in org_ids[i + 1 :]:
            assert ids.isdisjoint(other)
    names = {tuple(o["name"] for o in w["orgs"]) for w in worlds}
    assert len(names) == len(SEEDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_world_has_every_case(seed) -> None:
    world = seeded_world(seed)
    main = _token_user(world, SEED_TOKENS.instance_owner).org_id
    second = _token_user(world, SEED_TOKENS.second_org_owner).org_id
    dormant = _token_user(world, SEED_TOKENS.inactive_org_owner).org_id
    assert len({main, second, dormant}) == 3
    assert [world.orgs[o].state.value for o in (main, second, dormant)] == [
        "active",
        "active",
        "inactive",
    ]
    for org in (main, second):

        def states(kind: str, org: str = org) -> set[str]:
            return {
                a.state.value for a in world.collection(kind).values() if a.resource_owner == org
            }

        assert {"active", "inactive", "initial", "locked"} <= states("users")
        assert {"active", "inactive"} <= states("actions")
        assert {"active", "inactive"} <= states("user_grants")
        assert any(u.kind == "machine" for u in world.users.values() if u.resource_owner == org)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_seed_tokens_reach_every_auth_case(seed) -> None:
    world = seeded_world(seed)
    assert set(world.tokens) == set(vars(SEED_TOKENS).values())
    main = _token_user(world, SEED_TOKENS.instance_owner).org_id
    for token in world.tokens.values():
        assert not token.revoked
        assert world.users[token.user_id].state.value == "active"
    assert _memberships(world, SEED_TOKENS.instance_owner) == [("instance", "", ["IAM_OWNER"])]
    assert _memberships(world, SEED_TOKENS.org_owner) == [("org", main, ["ORG_OWNER"])]
    assert _memberships(world, SEED_TOKENS.user_manager) == [("org", main, ["ORG_USER_MANAGER"])]
    assert _memberships(world, SEED_TOKENS.no_membership) == []
    for token in (SEED_TOKENS.org_owner, SEED_TOKENS.user_manager, SEED_TOKENS.no_membership):
        assert _token_user(world, token).org_id == main
    ((scope, project_id, roles),) = _memberships(world, SEED_TOKENS.project_owner)
    main_projects = [p.id for p in world.projects.values() if p.resource_owner == main]
    assert (scope, project_id, roles) == ("project", main_projects[0], ["PROJECT_OWNER"])
    # The "no permission on this project" case needs grants of another project of the same org.
    other_grants = {
        g.state.value
        for g in world.user_grants.values()
        if g.resource_owner == main and g.project_id != project_id
    }
    assert other_grants == {"active", "inactive"}
    for token in (SEED_TOKENS.second_org_owner, SEED_TOKENS.inactive_org_owner):
        org = _token_user(world, token).org_id
        assert org != main
        assert _memberships(world, token) == [("org", org, ["ORG_OWNER"])]


@pytest.mark.parametrize("seed", SEEDS)
def test_sequences_and_dates_match_the_recorded_events(seed) -> None:
    world = seeded_world(seed)
    for kind in ("orgs", "users", "projects", "actions", "user_grants"):
        for aggregate in world.collection(kind).values():
            events = [e for e in world.events if e.aggregate_id == aggregate.id]
            assert [e.sequence for e in events] == list(range(1, aggregate.sequence + 1))
            assert aggregate.change_date == events[-1].created_at
            assert aggregate.creation_date == events[0].created_at
            assert all(e.resource_owner == aggregate.resource_owner for e in events)


# -- fixture files ----------------------------------------------------------------------------


def test_a_fixture_file_replaces_the_seeded_world(tmp_path) -> None:
    api = _api(fixtures=str(_write(tmp_path, INITECH)))
    assert list(api.world.orgs) == [INITECH_ORG]
    assert set(api.world.tokens) == {"peter-pat"}
    response = api.call("DeactivateOrg", token=SEED_TOKENS.instance_owner)
    assert_error(response, 401, 16, "Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")
    # Without sequences in the file, the loader records added + deactivated: the next is 3.
    response = api.call("ReactivateUser", id="100000000000000003", token="peter-pat")
    assert_details(response, "ReactivateUser", INITECH_ORG, sequence=3)
    response = api.call("ReactivateAction", id="100000000000000005", token="peter-pat")
    assert_details(response, "ReactivateAction", INITECH_ORG, sequence=3)
    response = api.call(
        "DeactivateUserGrant", user_id="x", grant_id="100000000000000006", token="peter-pat"
    )
    assert_details(response, "DeactivateUserGrant", INITECH_ORG, sequence=2)


def test_a_fixture_file_with_extend_adds_to_the_seeded_world(tmp_path) -> None:
    api = _api(seed=5, fixtures=str(_write(tmp_path, "extend: true\n" + INITECH)))
    seeded = seeded_world(5)
    assert set(api.world.orgs) == set(seeded.orgs) | {INITECH_ORG}
    assert set(api.world.tokens) == set(seeded.tokens) | {"peter-pat"}
    assert_details(api.call("DeactivateOrg", token="peter-pat"), "DeactivateOrg", INITECH_ORG)
    # The seeded world is all there, and the instance owner reaches the new org too.
    response = api.call("ReactivateOrg", org=INITECH_ORG)
    assert_details(response, "ReactivateOrg", INITECH_ORG)


def test_explicit_sequences_and_dates_are_kept(tmp_path) -> None:
    text = INITECH.replace(
        "user_name: milton, state: inactive}",
        "user_name: milton, state: inactive, sequence: 41,"
        ' creation_date: "2024-01-02T03:04:05Z", change_date: "2024-05-06T07:08:09.5Z"}',
    )
    api = _api(fixtures=str(_write(tmp_path, text)))
    milton = api.world.users["100000000000000003"]
    assert milton.sequence == 41
    assert milton.change_date.isoformat() == "2024-05-06T07:08:09.500000+00:00"
    response = api.call("ReactivateUser", id=milton.id, token="peter-pat")
    assert_details(response, "ReactivateUser", INITECH_ORG, sequence=42)


def _exercised_world() -> Api:
    """A seeded world after some traffic, so that sequences, dates and tokens have moved."""
    api = _api(seed=2)
    world = api.world
    main = _token_user(world, SEED_TOKENS.instance_owner).org_id
    manager = world.tokens[SEED_TOKENS.user_manager].user_id
    assert api.call("DeactivateUser", id=manager).status_code == 200
    assert api.call("DeactivateOrg").status_code == 200
    action = next(a for a in world.actions.values() if a.resource_owner == main)
    assert api.call("DeactivateAction", id=action.id).status_code == 200
    assert api.call("ReactivateAction", id=action.id).status_code == 200
    return api


def test_export_then_load_round_trips() -> None:
    exported = _exercised_world().mock.admin.export()
    assert export_document(load_document(exported)) == exported
    assert export_document(load_document(yaml.safe_load(dump_yaml(exported)))) == exported


def test_a_yaml_export_serves_as_a_fixture_file(tmp_path) -> None:
    original = _exercised_world()
    text = original.client.get("/_mock/v1/world", params={"format": "yaml"}).text
    restored = _api(fixtures=str(_write(tmp_path, text)))
    assert restored.mock.admin.export() == original.mock.admin.export()
    # Revoked tokens stay revoked, the rest still work.
    response = restored.call("DeactivateOrg", token=SEED_TOKENS.user_manager)
    assert_error(response, 401, 16, "Errors.Token.Invalid (AUTH-7fs1e)", "AUTH-7fs1e")
    assert_details(restored.call("ReactivateOrg"), "ReactivateOrg", _main(restored))


def _main(api: Api) -> str:
    return _token_user(api.world, SEED_TOKENS.instance_owner).org_id


# -- broken fixture files ---------------------------------------------------------------------

BROKEN = {
    "yaml syntax": ("orgs: [\n", "not a YAML document"),
    "not a mapping": ("- a\n- b\n", "holds a mapping"),
    "section not a list": ("orgs: {a: 1}\n", "orgs: a list of mappings"),
    "entry not a mapping": ("orgs: [1]\n", "orgs: a list of mappings"),
    "unknown org": ('users:\n  - {id: "2", org: "9"}\n', "unknown org '9'"),
    "unknown project": (
        'orgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\n'
        'user_grants: [{id: "3", org: "1", user: "2", project: "4"}]\n',
        "unknown project '4'",
    ),
    "bad state": ('orgs: [{id: "1", state: sleeping}]\n', "state 'sleeping' is not one of"),
    "bad sequence": ('orgs: [{id: "1", sequence: many}]\n', "sequence: 'many' is not an integer"),
    "bad date": (
        'orgs: [{id: "1", sequence: 2, change_date: yesterday}]\n',
        "'yesterday' is not an RFC 3339 date",
    ),
    "duplicate id": ('orgs: [{id: "1"}, {id: "1"}]\n', "duplicate id '1'"),
    "unknown role": (
        'orgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\n'
        'memberships: [{user: "2", scope: org, id: "1", roles: [GOD]}]\n',
        "unknown roles ['GOD']",
    ),
    "bad scope": (
        'orgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\n'
        'memberships: [{user: "2", scope: galaxy}]\n',
        "scope must be instance, org or project",
    ),
    "token without value": (
        'orgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\ntokens: [{user: "2"}]\n',
        "non-empty 'token'",
    ),
    "seed not a number": ("seed: many\n", "seed: 'many' is not an integer"),
    "extend with a dangling reference": (
        'extend: true\nactions: [{id: "5", org: "nowhere"}]\n',
        "unknown org 'nowhere'",
    ),
    "extend reusing a seeded token": (
        'extend: true\norgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\n'
        'tokens: [{token: admin-pat, user: "2"}]\n',
        "duplicate token 'admin-pat'",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_fixture_file_is_a_fixture_error(tmp_path, case) -> None:
    text, message = BROKEN[case]
    path = _write(tmp_path, text)
    with pytest.raises(FixtureError) as raised:
        build_world(0, path)
    assert message in str(raised.value)


@pytest.mark.parametrize("case", ["yaml syntax", "unknown org", "bad date", "duplicate id"])
def test_the_cli_reports_a_broken_fixture_file_and_exits_2(tmp_path, capsys, case) -> None:
    text, message = BROKEN[case]
    path = _write(tmp_path, text)
    assert cli.main(["--fixtures", str(path), "--no-grpc", "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert "zitadel-mock: cannot load fixtures" in captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_an_empty_section_means_none(tmp_path) -> None:
    world = build_world(0, _write(tmp_path, "orgs:\nusers:\n"))
    assert (world.orgs, world.users) == ({}, {})


def test_an_invalid_utf8_file_is_a_fixture_error(tmp_path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(FixtureError, match="not a YAML document"):
        build_world(0, path)


# Misspelt keys load nothing silently: each names the file, the line and the key meant.
STRICT = {
    "section": (
        'orgs:\n  - {id: "1", name: Initech}\nuser:\n  - {id: "2", org: "1"}\n',
        3,
        "unknown top-level key 'user'; did you mean 'users'?",
    ),
    "extend": ("extnd: true\n", 1, "unknown top-level key 'extnd'; did you mean 'extend'?"),
    "resource field": (
        'orgs:\n  - {id: "1"}\nusers:\n  - id: "2"\n    org: "1"\n  - id: "3"\n'
        '    org: "1"\n    user_nme: peter\n',
        8,
        "users[1]: unknown key 'user_nme'; did you mean 'user_name'?",
    ),
    "instance": (
        "instance:\n  id: x\n  nmae: Acme\n",
        3,
        "instance: unknown key 'nmae'; did you mean 'name'?",
    ),
    "token field": (
        'orgs: [{id: "1"}]\nusers: [{id: "2", org: "1"}]\n'
        'tokens:\n  - {token: t, user: "2", revokd: true}\n',
        4,
        "tokens[0]: unknown key 'revokd'; did you mean 'revoked'?",
    ),
    "nothing close": (
        'orgs:\n  - {id: "1", colour: red}\n',
        2,
        "orgs[0]: unknown key 'colour'; known keys: change_date, creation_date, id, name",
    ),
}


@pytest.mark.parametrize("case", list(STRICT))
def test_an_unknown_key_names_file_line_and_the_key_meant(tmp_path, case) -> None:
    text, line, message = STRICT[case]
    path = _write(tmp_path, text)
    with pytest.raises(FixtureError) as raised:
        build_world(0, path)
    assert str(raised.value).startswith(f"{path}:{line}: {message}")


def test_the_reference_error_of_an_entry_names_its_line(tmp_path) -> None:
    path = _write(
        tmp_path, 'orgs:\n  - {id: "1"}\nusers:\n  - {id: "2", org: "1"}\n  - {id: "3", org: "9"}\n'
    )
    with pytest.raises(FixtureError) as raised:
        build_world(0, path)
    assert str(raised.value) == f"{path}:5: user 3: unknown org '9'"


@pytest.mark.slow
def test_the_cli_rejects_an_unknown_key_in_one_line(tmp_path) -> None:
    import subprocess
    import sys

    text, line, message = STRICT["resource field"]
    path = _write(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "--fixtures", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"zitadel-mock: cannot load fixtures: {path}:{line}: {message}\n"


def test_a_document_given_as_a_mapping_is_as_strict() -> None:
    with pytest.raises(FixtureError, match=r"^users\[0\]: unknown key 'user_nme'"):
        load_document({"orgs": [{"id": "1"}], "users": [{"id": "2", "org": "1", "user_nme": "x"}]})


def test_the_control_plane_rejects_an_unknown_key(api) -> None:
    response = api.client.post("/_mock/v1/users", json={"org": _main(api), "user_nme": "peter"})
    assert response.status_code == 400
    assert response.json()["message"] == "users: unknown key 'user_nme'; did you mean 'user_name'?"
    assert not [u for u in api.world.users.values() if u.user_name == "peter"]


def test_every_exported_key_is_a_known_one() -> None:
    # The strict loader and the exporter agree: an export always loads back.
    doc = export_document(seeded_world(0))
    assert load_document(doc) is not None
    for section, entries in doc.items():
        if isinstance(entries, list):
            for entry in entries:
                assert set(entry) <= FIELDS[section], section


def test_a_big_file_loads_fast(tmp_path) -> None:
    orgs = [{"id": str(10**6 + i), "name": f"Org {i}"} for i in range(100)]
    users = [
        {"id": str(2 * 10**6 + i), "org": orgs[i % 100]["id"], "user_name": f"u{i}", "state": s}
        for i, s in zip(
            range(4000), ["active", "inactive", "locked", "initial"] * 1000, strict=True
        )
    ]
    actions = [{"id": str(3 * 10**6 + i), "org": orgs[i % 100]["id"]} for i in range(1000)]
    path = _write(
        tmp_path, yaml.safe_dump({"orgs": orgs, "users": users, "actions": actions}), "big.yaml"
    )
    started = time.perf_counter()
    world = build_world(0, path)
    elapsed = time.perf_counter() - started
    assert (len(world.orgs), len(world.users), len(world.actions)) == (100, 4000, 1000)
    assert world.users["2000001"].state.value == "inactive"
    # About 1 s on an idle core; the margin is for a loaded CI machine. Work per resource that
    # grew with the world's size (a scan per entry) would take minutes here, not seconds.
    assert elapsed < 6, f"{elapsed:.2f} s"


def test_a_json_file_loads_like_its_yaml(tmp_path) -> None:
    import json

    doc = export_document(seeded_world(1))
    from_json = build_world(0, _write(tmp_path, json.dumps(doc), "world.json"))
    assert export_document(from_json) == doc
    broken = _write(tmp_path, '{"orgs": [{"id": "1",\n "nmae": "x"}]}', "bad.json")
    with pytest.raises(FixtureError, match=r":2: orgs\[0\]: unknown key 'nmae'"):
        build_world(0, broken)


def test_the_stored_default_seed_is_what_the_generator_makes() -> None:
    # Start-up reads the default seed's world from a file instead of running faker: the file
    # must be the generator's output, or the seeded world would drift from its seed.
    import json

    from mock_server.fixtures import seed

    stored = json.loads(seed.STORED_DEFAULT.read_text(encoding="utf-8"))
    assert stored == seed.seed_document(seed.DEFAULT_SEED)
    assert seed.cached_seed_document(seed.DEFAULT_SEED) == stored
    # Another seed is generated, and differs.
    assert seed.cached_seed_document(7)["orgs"] != stored["orgs"]


def test_loading_pauses_the_collector_and_gives_it_back(tmp_path, monkeypatch) -> None:
    import gc

    import mock_server.fixtures as fixtures_module

    path = tmp_path / "world.json"
    path.write_text('{"orgs": [{"id": "1", "name": "One"}]}', encoding="utf-8")
    seen = []
    real = fixtures_module.world_factory

    def spy(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(fixtures_module, "world_factory", spy)
    try:
        assert gc.isenabled()
        assert [o.name for o in build_world(0, path).orgs.values()] == ["One"]
        assert seen == [False] and gc.isenabled()
        gc.disable()  # a caller's own choice survives
        build_world(0, path)
        assert not gc.isenabled()
    finally:
        gc.enable()
