"""SWE-bench import (instance files -> task fields) and export (predictions JSONL for the official harness)."""

import json
from pathlib import Path

import pytest

from arena.errors import SpecError
from arena.spec import TaskSpec
from arena.tasks.swebench import SwebenchInstance, load_instance, prediction, write_predictions

STATEMENT = (
    "Modeling's `separability_matrix` does not compute separability correctly for nested CompoundModels\n"
    "Consider the following model:\n\n```python\nfrom astropy.modeling import models as m\n```\n"
)


def real_like(instance_id: str = "astropy__astropy-12907", **changes) -> dict:
    """Shaped like a row of princeton-nlp/SWE-bench: list fields JSON-encoded, many extra keys."""
    row = {
        "repo": "astropy/astropy",
        "instance_id": instance_id,
        "base_commit": "d16bfe05a744909de4b27f5875fe0d4ed41ce607",
        "patch": "diff --git a/astropy/modeling/separable.py b/astropy/modeling/separable.py\n--- a/x\n+++ b/x\n",
        "test_patch": "diff --git a/astropy/modeling/tests/test_separable.py b/astropy/modeling/tests/test_separable.py\n",
        "problem_statement": STATEMENT,
        "hints_text": "",
        "created_at": "2022-03-03T15:14:54Z",
        "version": "4.3",
        "FAIL_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]"]',
        "PASS_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_coord_matrix", '
        '"astropy/modeling/tests/test_separable.py::test_cdot"]',
        "environment_setup_commit": "298ccb478e6bf092953bca67a3d29dc6c35f6752",
    }
    row.update(changes)
    return row


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_real_shaped_instance_loads(tmp_path):
    inst = load_instance(write_json(tmp_path / "one.json", real_like()))
    assert inst.instance_id == "astropy__astropy-12907"
    assert inst.FAIL_TO_PASS == ["astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]"]
    assert len(inst.PASS_TO_PASS) == 2
    assert inst.repo_url == "https://github.com/astropy/astropy.git"
    assert inst.model_extra["version"] == "4.3"  # extra keys kept
    assert inst.test_patch.startswith("diff --git")


def test_lists_accepted_as_lists_too():
    inst = SwebenchInstance.model_validate(real_like(FAIL_TO_PASS=["t::a"], PASS_TO_PASS=""))
    assert inst.FAIL_TO_PASS == ["t::a"] and inst.PASS_TO_PASS == []


def test_task_fields(tmp_path):
    inst = load_instance(write_json(tmp_path / "one.json", real_like()))
    fields = inst.task_fields()
    assert set(fields) == {"repo", "base", "title", "problem_statement", "fail_to_pass", "pass_to_pass"}
    assert fields["repo"] == "https://github.com/astropy/astropy.git"
    assert fields["base"] == "d16bfe05a744909de4b27f5875fe0d4ed41ce607"
    assert fields["title"].startswith("astropy__astropy-12907: Modeling's `separability_matrix`")
    assert len(fields["title"]) <= 120 and "\n" not in fields["title"]
    assert fields["problem_statement"] == STATEMENT
    assert fields["fail_to_pass"] == inst.FAIL_TO_PASS and fields["pass_to_pass"] == inst.PASS_TO_PASS
    assert inst.patch.splitlines()[0] not in json.dumps(fields)  # the gold patch never reaches contestants
    spec = TaskSpec.model_validate(fields)  # the fields make a valid task
    assert spec.is_remote


def test_short_title_kept_whole():
    inst = SwebenchInstance.model_validate(real_like(problem_statement="\n  Fix the bug  \nmore"))
    assert inst.task_fields()["title"] == "astropy__astropy-12907: Fix the bug"


def test_list_file_selects_by_instance_id(tmp_path):
    path = write_json(tmp_path / "many.json", [real_like("a__b-1"), real_like("a__b-2", base_commit="abc")])
    assert load_instance(path, "a__b-2").base_commit == "abc"


def test_jsonl_file_selects_by_instance_id(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(real_like(f"a__b-{i}", base_commit=f"c{i}")) for i in range(3)) + "\n\n")
    assert load_instance(path, "a__b-1").base_commit == "c1"
    assert load_instance(write_json(tmp_path / "solo.json", [real_like("x__y-9")])).instance_id == "x__y-9"


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.json does not exist"):
        load_instance(tmp_path / "nope.json")


def test_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("instance_id: x\n")
    with pytest.raises(SpecError, match=r"bad\.json is not JSON"):
        load_instance(path)
    lines = tmp_path / "bad.jsonl"
    lines.write_text(json.dumps(real_like()) + "\n{oops\n")
    with pytest.raises(SpecError, match=r"bad\.jsonl line 2 is not JSON"):
        load_instance(lines)


def test_several_without_instance_id_lists_ids(tmp_path):
    path = write_json(tmp_path / "many.json", [real_like(f"a__b-{i}") for i in range(8)])
    with pytest.raises(SpecError) as err:
        load_instance(path)
    message = str(err.value)
    assert "8 instances" in message and "a__b-0" in message and "a__b-4" in message and "a__b-7" not in message
    assert "instance_id" in message


def test_unknown_instance_id(tmp_path):
    path = write_json(tmp_path / "one.json", real_like())
    with pytest.raises(SpecError, match=r"no instance with instance_id 'django__django-1'.*astropy__astropy-12907"):
        load_instance(path, "django__django-1")


def test_missing_required_fields_named(tmp_path):
    row = real_like()
    del row["base_commit"], row["problem_statement"]
    with pytest.raises(SpecError) as err:
        load_instance(write_json(tmp_path / "one.json", row))
    message = str(err.value)
    assert "one.json" in message and "base_commit: required" in message and "problem_statement: required" in message


def test_bad_values_explained(tmp_path):
    with pytest.raises(SpecError, match=r"FAIL_TO_PASS: expected a list"):
        load_instance(write_json(tmp_path / "a.json", real_like(FAIL_TO_PASS="[not json")))
    with pytest.raises(SpecError, match=r"repo: 'astropy' is not a GitHub 'owner/name'"):
        load_instance(write_json(tmp_path / "b.json", real_like(repo="astropy")))
    with pytest.raises(SpecError, match=r"no instance objects"):
        load_instance(write_json(tmp_path / "c.json", []))


def test_prediction_adds_trailing_newline_and_keeps_empty():
    row = prediction("a__b-1", "arena/alice", "diff --git a/f b/f\n+x")
    assert row == {
        "instance_id": "a__b-1",
        "model_name_or_path": "arena/alice",
        "model_patch": "diff --git a/f b/f\n+x\n",
    }
    assert prediction("a__b-1", "m", "ok\n")["model_patch"] == "ok\n"
    assert prediction("a__b-1", "m", "")["model_patch"] == ""


def test_write_predictions_round_trips(tmp_path):
    rows = [
        prediction("a__b-1", "arena/alice", "diff\n+x"),
        {"instance_id": "a__b-2", "model_name_or_path": "m", "model_patch": "diff\n+y", "extra": 1},
    ]
    path = tmp_path / "preds.jsonl"
    text = write_predictions(path, rows)
    assert path.read_text() == text and text.endswith("\n")
    # as swebench.harness.utils.get_predictions_from_file reads .jsonl: json.loads on every line
    parsed = [json.loads(line) for line in path.read_text().splitlines()]
    assert [set(p) for p in parsed] == [{"instance_id", "model_name_or_path", "model_patch"}] * 2
    assert [p["model_patch"] for p in parsed] == ["diff\n+x\n", "diff\n+y\n"]
    assert write_predictions(None, rows) == text
    assert write_predictions(None, []) == ""


def test_write_predictions_rejects_bad_input(tmp_path):
    with pytest.raises(SpecError, match=r"\*\.jsonl"):
        write_predictions(tmp_path / "preds.txt", [prediction("a", "m", "")])
    with pytest.raises(SpecError, match=r"row 0 lacks model_patch"):
        write_predictions(None, [{"instance_id": "a", "model_name_or_path": "m"}])
