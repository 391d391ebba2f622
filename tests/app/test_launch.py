"""Launch keeps a spec whole: what comes in (an upload, Run again) goes out (Download, Launch) with every field.

The functions of app/launch.py are driven the way pages/launch.py drives them (`untouched` below); the real page
is exercised under AppTest here and in Chromium in test_launch_browser.py and test_first_hour.py.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from pydantic import BaseModel

from app import launch
from arena.spec import ArenaSpec, resolve_paths, spec_from_dict
from tests.app.conftest import GATEWAY_KEY, ROOT, SUBMIT, app, every_field_spec, texts
from tests.conftest import CALC_FILES, make_repo, write_steps


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> dict:
    """every_field_spec on a demo repository of this module's own."""
    folder = tmp_path_factory.mktemp("full")
    return every_field_spec(folder / "sample", folder)


def untouched(preset: dict) -> dict:
    """What pages/launch.py downloads and launches when the user changes nothing: the widgets' values as the page
    sets them from the preset (apply_preset, table, number_args), through spec_dict."""
    state: dict = {}
    launch.apply_preset(preset, state)
    state.setdefault("base", "HEAD")
    task = {field: state[field] for field in launch.TASK_FIELDS}
    if state.get("source") == "SWE-bench instance":
        task["repo"] = state["repo_override"]
    old_limits = preset.get("limits") or {}
    limits = {field: launch.number_args(old_limits, field)["value"] for field in launch.LIMIT_INPUTS}
    form = {"task": task, "limits": launch.numbers(old_limits, limits), "sandbox": {"backend": state["backend"]}}
    form["judge"] = {"model": launch.text((preset.get("judge") or {}).get("model"))}
    if state.get("source") == launch.GITHUB:  # the input and "Open a draft pull request" (github_view)
        task["github_issue"] = state["github_issue"]
        form["publish"] = launch.flags(preset.get("publish"), {"pull_request": state["publish_pr"]})
    rows = launch.table(preset.get("contestants")).to_dict("records")
    return launch.spec_dict(form, rows, preset)


def fields_of(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field path of a spec model: task.repo, contestants.model_kwargs, judge.max_parallel, ..."""
    out = set()
    for name, info in model.model_fields.items():
        inner = info.annotation
        inner = next(
            (a for a in getattr(inner, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)), inner
        )
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out |= fields_of(inner, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def paths_in(value, known: set[str], prefix: str = "") -> set[str]:
    """The field paths a spec dict sets, as fields_of names them (contestants' merged)."""
    if prefix == "contestants" and isinstance(value, list):
        return set().union(*(paths_in(c, known, prefix) for c in value))
    if isinstance(value, dict) and (not prefix or any(f.startswith(f"{prefix}.") for f in known)):
        return set().union(*(paths_in(v, known, f"{prefix}.{k}" if prefix else k) for k, v in value.items()))
    return {prefix}


def test_the_full_spec_sets_every_field_arena_spec_has(full):
    """A field added to arena/spec.py fails here until the round trips below cover it."""
    with_file = {**full, "task": {**full["task"], "problem_statement_file": "/x.md"}}
    missing = fields_of(ArenaSpec) - paths_in(with_file, fields_of(ArenaSpec))
    assert not missing, (
        f"add {sorted(missing)} to every_field_spec (tests/app/conftest.py) so the round trips cover them"
    )
    assert paths_in(with_file, fields_of(ArenaSpec)) <= fields_of(ArenaSpec)
    assert len(full["contestants"]) == 4


def test_an_untouched_form_gives_back_every_field(full, monkeypatch):
    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    assert untouched(full) == full
    assert yaml.safe_load(launch.to_yaml(untouched(full))) == full
    spec_from_dict(untouched(full))  # and it is a valid spec
    with_file = {**full, "task": {k: v for k, v in full["task"].items() if k != "problem_statement"}}
    with_file["task"]["problem_statement_file"] = "/somewhere/issue.md"
    assert untouched(with_file) == with_file


def test_run_again_gives_back_the_stored_spec_exactly(full, monkeypatch):
    """A stored spec is ArenaSpec.model_dump: every field, nulls, floats (time_budget_s: 600.0), empty lists."""
    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    stored = spec_from_dict(full).model_dump(mode="json")
    run_again = {k: v for k, v in stored.items() if v}  # as app.queries.run_again hands it over
    assert untouched(run_again) == stored
    sparse = spec_from_dict(
        {"task": {"repo": "/r", "problem_statement": "x"}, "contestants": [{"name": "a", "model": "m/x"}]}
    )
    stored = sparse.model_dump(mode="json")
    assert stored["task"]["setup_command"] is None and stored["limits"]["time_budget_s"] == 1800.0
    assert untouched(stored) == stored


UNKNOWN = {"future_field": {"nested": [1, "two"]}}
VALUES = hs.one_of(
    hs.none(),
    hs.booleans(),
    hs.integers(-5, 10**6),
    hs.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    hs.text(max_size=12),
    hs.lists(hs.text(max_size=5), max_size=2),
    hs.dictionaries(hs.sampled_from(["temperature", "seed"]), hs.floats(0, 2), max_size=2),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hs.data())
def test_any_mix_of_fields_and_values_comes_back_as_it_went_in(full, data):
    """Drop any fields, put odd values in any of them (nulls, text for numbers, floats for ints), add unknown keys:
    an untouched form gives back exactly what it was given."""
    spec: dict = {}
    for section, value in full.items():
        if section == "contestants":
            rows = []
            for row in value[: data.draw(hs.integers(1, 3))]:
                row = {k: v for k, v in row.items() if k in ("name", "model") or data.draw(hs.booleans())}
                row |= {k: data.draw(VALUES) for k in row if k not in ("name", "model") and data.draw(hs.booleans())}
                rows.append(row | (UNKNOWN if data.draw(hs.booleans()) else {}))
            spec[section] = rows
        elif data.draw(hs.booleans()):
            fields = {k: v for k, v in value.items() if data.draw(hs.booleans())}
            for k in fields:
                if k != "backend" and data.draw(hs.booleans()):  # a null backend has no choice to show it
                    fields[k] = data.draw(VALUES)
            spec[section] = fields | (UNKNOWN if data.draw(hs.booleans()) else {})
    if data.draw(hs.booleans()):
        spec |= UNKNOWN
    assert untouched(spec) == spec
    assert yaml.safe_load(launch.to_yaml(untouched(spec))) == spec


@given(hs.text())
def test_downloaded_yaml_reads_back_as_the_same_text(value):
    """Multi-line text is written as a `|` block; whatever the characters (U+0085 is a YAML line break)."""
    assert yaml.safe_load(launch.to_yaml({"k": value, "multi": f"{value}\n{value}"})) == {
        "k": value,
        "multi": f"{value}\n{value}",
    }


def test_what_the_form_changes_wins_and_the_rest_stays(full):
    state: dict = {}
    launch.apply_preset(full, state)
    task = {field: state[field] for field in launch.TASK_FIELDS} | {"repo": state["repo_override"]}
    task |= {"title": "a new title", "test_command": ""}
    rows = launch.table(full["contestants"]).to_dict("records")
    rows[1]["name"] = "renamed"  # its other fields (model_kwargs, ...) go with it
    del rows[0]
    rows.append({"name": "new", "model": "scripted:/new.yaml", "step_limit": 50.0, "_row": float("nan")})
    form = {"task": task, "limits": {"max_parallel": 3, "time_budget_s": 900}, "sandbox": {"backend": "local"}}
    raw = launch.spec_dict(form | {"judge": {"model": ""}}, rows, full)
    assert raw["task"] == {k: v for k, v in full["task"].items() if k != "test_command"} | {"title": "a new title"}
    assert raw["contestants"] == [
        full["contestants"][1] | {"name": "renamed"},
        full["contestants"][2],
        full["contestants"][3],
        {"name": "new", "model": "scripted:/new.yaml", "step_limit": 50},
    ]
    assert raw["limits"] == {"max_parallel": 3, "time_budget_s": 900}
    assert raw["judge"] == {k: v for k, v in full["judge"].items() if k != "model"}
    assert raw["sandbox"] == full["sandbox"]


def test_a_problem_statement_written_on_the_form_replaces_the_presets_file():
    preset = {
        "task": {"repo": "/r", "problem_statement_file": "/issue.md"},
        "contestants": [{"name": "a", "model": "m/x"}],
    }
    rows = launch.table(preset["contestants"]).to_dict("records")
    typed = launch.spec_dict({"task": {"repo": "/r", "problem_statement": "typed"}}, rows, preset)
    assert typed["task"] == {"repo": "/r", "problem_statement": "typed"}
    kept = launch.spec_dict({"task": {"repo": "/r", "problem_statement": ""}}, rows, preset)
    assert kept["task"] == preset["task"]


def test_a_fresh_form_writes_what_was_typed_and_no_defaults():
    rows = launch.table(None, "scripted:/a.yaml").to_dict("records")
    form = {
        "task": {"repo": "/r", "base": "HEAD", "title": "", "problem_statement": "p", "swebench": None},
        "limits": {"max_parallel": 4, "time_budget_s": 1800},
        "sandbox": {"backend": "local"},
        "judge": {"model": ""},
    }
    assert launch.spec_dict(form, rows) == {
        "task": {"repo": "/r", "problem_statement": "p"},
        "contestants": [{"name": "a", "model": "scripted:/a.yaml", "strategy": "minimal-fix"}],
    }


def test_kept_shows_every_field_the_form_has_no_input_for(full):
    form = {"task": {f: "" for f in launch.TASK_FIELDS}, "limits": {"max_parallel": 3, "time_budget_s": 600}}
    form |= {"sandbox": {"backend": "local"}, "judge": {"model": ""}}
    kept = launch.kept({**full, **UNKNOWN}, form)
    assert set(kept["task"]) == {
        "fail_to_pass",
        "pass_to_pass",
        "swebench",
        "instance_id",
        "test_patch",
        "github_issue",
    }
    assert kept["publish"] == {"pull_request": False}
    assert set(kept["sandbox"]) == set(full["sandbox"]) - {"backend"}
    assert set(kept["judge"]) == set(full["judge"]) - {"model"}
    assert "limits" not in kept and kept["future_field"] == UNKNOWN["future_field"]
    label = launch.kept_label(kept)
    assert "task.fail_to_pass" in label and "judge.synthesize" in label and "future_field" in label
    table = launch.table(full["contestants"])
    assert table[launch.KEPT][0] == "{model_kwargs: {temperature: 0.2, seed: 0}}"


@pytest.mark.parametrize(
    ("limits", "shown"),
    [
        ({"time_budget_s": 1800.0}, 1800),  # a stored spec's float (StreamlitMixedNumericTypesError, once)
        ({"time_budget_s": 90.5}, 90.5),
        ({"time_budget_s": 0.25}, 0.25),  # below the input's usual minimum
        ({"max_parallel": 100}, 100),  # above it: shown, refused by validation at Launch
        ({"max_parallel": 2.0}, 2),
        ({"max_parallel": "many"}, 4),  # not a number: the default is shown, the value kept as is
        ({"max_parallel": True}, 4),
        ({}, 4),
    ],
)
def test_number_inputs_take_any_limit_without_a_streamlit_error(limits, shown):
    field = next(iter(limits), "max_parallel")
    args = launch.number_args(limits, field)
    assert args["value"] == shown
    assert len({type(v) for v in args.values()}) == 1
    assert st.number_input(field, **args) == shown  # bare mode runs the same type and bounds checks


def test_the_page_renders_any_limits_a_spec_holds(data, tmp_path):
    for limits in ({"time_budget_s": 1800.0, "max_parallel": 2.0}, {"time_budget_s": 0.5, "max_parallel": 99}):
        at = app()
        at.session_state["launch_preset"] = {"task": {"repo": "/r"}, "contestants": [], "limits": limits}
        at.switch_page("../pages/launch.py").run()
        assert not at.exception, at.exception
        assert [n.value for n in at.number_input] == [limits["max_parallel"], limits["time_budget_s"]]


# -- relative paths ---------------------------------------------------------------------------------------------


RELATIVE = {
    "task": {"repo": "../calc", "problem_statement_file": "issue.md", "problem_statement": None},
    "contestants": [
        {"name": "a", "model": "scripted:steps/a.yaml", "strategy": "strategies/mine.yaml"},
        {"name": "b", "model": "replay:runs/b/traj.json", "strategy": "balanced"},
        {"name": "c", "model": "scripted:/abs/c.yaml", "strategy": "/abs/s.yaml"},
        {"name": "d", "model": "openai/gpt-4.1-mini"},
        {  # as stored: steps and strategy embedded under file names, which nothing reads
            "name": "e",
            "model": "scripted:e.yaml",
            "steps": [{"commands": [SUBMIT]}],
            "strategy": "careful.yaml",
            "strategy_definition": {"name": "careful"},
        },
    ],
}


def test_relative_paths_are_the_paths_the_spec_resolves():
    """One rule with arena.spec.resolve_paths: the fields it changes with the base folder are the ones flagged."""
    spec = ArenaSpec.model_validate(RELATIVE)
    a, b = (resolve_paths(spec, Path(p)).model_dump() for p in ("/a/spec", "/b/spec"))
    moved = {f"task.{k}" for k in a["task"] if a["task"][k] != b["task"][k]}
    moved |= {
        f"contestants[{i}].{k}" for i, c in enumerate(a["contestants"]) for k in c if c[k] != b["contestants"][i][k]
    }
    assert {field for field, _ in launch.relative_paths(RELATIVE)} == moved
    assert moved == {"task.repo", "task.problem_statement_file", "contestants[0].model", "contestants[0].strategy"} | {
        "contestants[1].model"
    }
    assert launch.relative_paths({"task": {"repo": "https://github.com/a/b.git", "swebench": "i.json"}}) == [
        ("task.swebench", "i.json")
    ]
    embedded = [  # a stored spec: steps and strategy embedded, named by their file name only; nothing is read
        {"name": "a", "model": "scripted:a.yaml", "steps": [{"commands": [SUBMIT]}]},
        {"name": "b", "model": "openai/m", "strategy": "careful.yaml", "strategy_definition": {"name": "careful"}},
    ]
    assert launch.relative_paths({"task": {"repo": "/r"}, "contestants": embedded}) == []


def test_without_a_folder_a_relative_path_is_an_error_on_its_field_and_nothing_runs(data, tmp_path):
    from app.resources import engine

    folder = tmp_path / "arena"
    make_repo(tmp_path / "calc", CALC_FILES)
    write_steps(folder / "a.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    (folder / "elsewhere").mkdir()
    raw = {
        "task": {"repo": "../calc", "problem_statement": "p"},
        "contestants": [{"name": "a", "model": "scripted:a.yaml"}],
    }
    arena_id, errors = launch.submit(raw, None, engine())
    assert arena_id is None and set(errors) == {"task.repo", "contestants"}
    assert errors["task.repo"] == [
        "task.repo: '../calc' is a relative path, and the app does not know which folder the spec came from; "
        f'type that folder under "{launch.FOLDER}" (its paths are resolved against it) or make the path absolute'
    ]
    assert errors["contestants"][0].startswith("contestants[0].model: 'scripted:a.yaml' is a relative path")
    assert engine().store.arenas() == []
    _, _, errors = launch.check(raw, folder / "elsewhere", engine().repos)  # resolved where the user said
    assert str(folder / "calc") in errors["task.repo"][0]
    spec, _, errors = launch.check(raw, folder, engine().repos)
    assert errors == {}
    assert spec.task.repo == str((tmp_path / "calc").resolve())
    assert spec.contestants[0].model == f"scripted:{(folder / 'a.yaml').resolve()}"


def test_the_folder_must_be_an_absolute_existing_folder(tmp_path):
    assert launch.folder("  ") == (None, [])
    assert launch.folder(str(tmp_path)) == (tmp_path, [])
    assert "not an absolute path" in launch.folder("arena")[1][0]
    assert "is not a folder on this machine" in launch.folder(str(tmp_path / "nope"))[1][0]


def test_the_demo_spec_uploaded_needs_its_folder_then_launches(demo):
    """The demo's own arena.yaml has relative paths (../demo-repo, scripted:steps/...)."""
    folder = demo / "sample" / "demo-arena"
    at = app()
    at.session_state["launch_preset"] = yaml.safe_load((folder / "arena.yaml").read_text())
    at.switch_page("../pages/launch.py").run()
    assert [w.value for w in at.warning] == [
        launch.relative_note(launch.relative_paths(at.session_state["launch_preset"]))
    ]
    assert "task.repo: `../demo-repo`" in at.warning[0].value  # said at once, before any press
    next(b for b in at.button if b.label == "Launch").click().run()
    assert at.title[0].value == "Launch an arena"
    errors = [e.value for e in at.error]
    assert any(e.startswith("task.repo: '../demo-repo' is a relative path") for e in errors), errors
    assert any(e.startswith("contestants[2].model: 'scripted:steps/gives-up.yaml' is a relative") for e in errors)
    at.text_input(key="spec_dir").input(str(folder)).run()
    assert not at.warning
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Live"
    from app.resources import engine

    arena_id = at.session_state["arena_id"]
    assert engine().store.arena(arena_id).spec["task"]["repo"] == str((demo / "sample" / "demo-repo").resolve())
    assert engine().wait(arena_id, timeout=120)  # it ran the steps in the folder: the demo's verdict
    assert engine().store.latest_verdict(arena_id).winner == "correct-fix"


# -- validation and Run again --------------------------------------------------------------------------------------


def test_a_whitespace_test_command_is_a_field_error(data, tmp_path):
    from app.resources import engine

    raw = {
        "task": {"repo": "/r", "problem_statement": "p", "test_command": " \t "},
        "contestants": [{"name": "a", "model": "m/x"}],
    }
    _, _, errors = launch.check(raw, None, engine().repos)
    assert any("is blank; leave it out" in m for m in errors["task.test_command"])


def test_errors_of_fields_without_an_input_are_shown_too(data, full, monkeypatch):
    """judge.test_timeout_s, sandbox.memory_mb: no input of their own, still shown (they used to be dropped)."""
    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    at = app()
    broken = {**full, "sandbox": {**full["sandbox"], "memory_mb": 1}, "judge": {**full["judge"], "test_timeout_s": 0}}
    at.session_state["launch_preset"] = broken
    at.switch_page("../pages/launch.py").run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("sandbox.memory_mb:") for e in errors), errors
    assert any(e.startswith("judge.test_timeout_s:") for e in errors), errors
    assert any("Kept as is" in e.label and "judge.test_timeout_s" in e.label for e in at.expander)


def test_stakes_name_each_agent_as_the_launch_will(data, full, monkeypatch):
    """The alias, embedded steps and strategy decide the agent (and so its balance and stake) before Launch too."""
    from app.resources import engine

    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    rows = launch.stakes(full, engine().ledger)
    assert [r["agent"] for r in rows] == spec_from_dict(full).agents()
    assert rows[1]["agent"] == "wrong-fixer+balanced"
    unfinished = {"contestants": [{"model": "scripted:steps/a.yaml", "strategy": "balanced"}]}  # no name yet
    assert [r["agent"] for r in launch.stakes(unfinished, engine().ledger)] == ["scripted:steps/a.yaml+balanced"]


def test_run_again_launches_the_same_spec_with_every_field(data, full, monkeypatch):
    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    spec_path = data.parent / "full.yaml"
    spec_path.write_text(
        launch.to_yaml({**full, "task": {k: v for k, v in full["task"].items() if k != "github_issue"}})
    )
    run = subprocess.run(
        [sys.executable, "-m", "arena.cli", "run", str(spec_path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    from app.resources import engine

    first = engine().store.arenas()[0]
    at = app("arenas")
    at.button(key=f"again-{first.id}").click().run()
    at.switch_page("../pages/launch.py").run()
    assert not at.exception, at.exception
    assert "Kept as is" in " ".join(e.label for e in at.expander)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Live", texts(at)
    again = engine().store.arena(at.session_state["arena_id"])
    assert again.id != first.id and again.spec == first.spec
    assert engine().wait(again.id, timeout=180)
