"""SWE-bench in and out: import one instance as an arena task, export predictions for the official harness.

An instance file is a .json holding one instance object or a list of them, or a .jsonl with one instance per
line, with the fields of the princeton-nlp/SWE-bench datasets. Predictions are JSONL rows with `instance_id`,
`model_name_or_path` and `model_patch`, which `python -m swebench.harness.run_evaluation --predictions_path`
reads. The gold `patch` is kept on the instance but never goes into a task.
"""

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from arena.errors import SpecError

TITLE_LIMIT = 120


class SwebenchInstance(BaseModel):
    """One SWE-bench task instance; unknown keys (version, created_at, ...) are kept, not rejected."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    test_patch: str = ""
    patch: str = ""
    FAIL_TO_PASS: list[str] = []
    PASS_TO_PASS: list[str] = []
    hints_text: str = ""

    @field_validator("repo")
    def _owner_name(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
            raise ValueError(f"'{value}' is not a GitHub 'owner/name' such as 'astropy/astropy'")
        return value

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    def _json_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # the datasets store these lists JSON-encoded
            try:
                return json.loads(value) if value.strip() else []
            except json.JSONDecodeError as e:
                raise ValueError(f"expected a list of test names or a JSON string of one ({e})") from None
        return value

    @property
    def repo_url(self) -> str:
        return f"https://github.com/{self.repo}.git"

    def task_fields(self) -> dict[str, Any]:
        """The TaskSpec fields this instance provides (no setup_command/test_command: those depend on the repo)."""
        first_line = next((line.strip() for line in self.problem_statement.splitlines() if line.strip()), "")
        title = f"{self.instance_id}: {first_line}" if first_line else self.instance_id
        if len(title) > TITLE_LIMIT:
            title = title[: TITLE_LIMIT - 1] + "…"
        return {
            "repo": self.repo_url,
            "base": self.base_commit,
            "title": title,
            "problem_statement": self.problem_statement,
            "fail_to_pass": list(self.FAIL_TO_PASS),
            "pass_to_pass": list(self.PASS_TO_PASS),
        }


def _parse(text: str, where: str, hint: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{where} is not JSON ({e}); {hint}") from None


def _read_records(path: Path) -> list[Any]:
    if not path.is_file():
        raise SpecError(f"SWE-bench instance file {path} does not exist; pass a .json or .jsonl file of instances")
    if path.suffix == ".jsonl":
        hint = "a .jsonl file holds one instance object per line"
        lines = enumerate(path.read_text().splitlines(), 1)
        return [_parse(line, f"{path} line {n}", hint) for n, line in lines if line.strip()]
    data = _parse(path.read_text(), str(path), "give one instance object, a list of them, or a .jsonl file")
    return data if isinstance(data, list) else [data]


def load_instance(path: Path, instance_id: str | None = None) -> SwebenchInstance:
    """One instance from a .json (object or list) or .jsonl file; instance_id picks one when the file has several."""
    path = Path(path)
    records = _read_records(path)
    if not records or not all(isinstance(r, dict) for r in records):
        raise SpecError(f"{path} holds no instance objects; expected an object, a list of objects, or JSONL")
    ids = [str(r.get("instance_id", "?")) for r in records]
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    if instance_id is not None:
        records = [r for r in records if r.get("instance_id") == instance_id]
        if not records:
            raise SpecError(f"{path}: no instance with instance_id '{instance_id}' (it holds {shown})")
    elif len(records) > 1:
        raise SpecError(f"{path} holds {len(ids)} instances ({shown}); choose one with instance_id")
    try:
        return SwebenchInstance.model_validate(records[0])
    except ValidationError as e:
        problems = [
            f"  {'.'.join(map(str, err['loc']))}: "
            + ("required; add it" if err["type"] == "missing" else err["msg"].removeprefix("Value error, "))
            for err in e.errors()
        ]
        raise SpecError("\n".join([f"{path} is not a valid SWE-bench instance:", *problems])) from None


def prediction(instance_id: str, model_name_or_path: str, model_patch: str) -> dict[str, str]:
    """One predictions row as the SWE-bench harness reads it."""
    patch = model_patch or ""
    if patch and not patch.endswith("\n"):
        patch += "\n"  # git apply rejects a patch whose last line has no newline ("corrupt patch")
    return {"instance_id": instance_id, "model_name_or_path": model_name_or_path, "model_patch": patch}


def write_predictions(path: Path | None, rows: list[dict]) -> str:
    """JSONL text of rows (one JSON object per line); also written to `path` when given. Returns the text."""
    if path is not None and Path(path).suffix != ".jsonl":
        raise SpecError(f"predictions file {path}: the SWE-bench harness reads JSONL only from *.jsonl; rename it")
    lines = []
    for i, row in enumerate(rows):
        missing = [k for k in ("instance_id", "model_name_or_path", "model_patch") if k not in row]
        if missing:
            raise SpecError(f"predictions row {i} lacks {', '.join(missing)}; build rows with prediction()")
        lines.append(json.dumps(prediction(row["instance_id"], row["model_name_or_path"], row["model_patch"])))
    text = "".join(line + "\n" for line in lines)
    if path is not None:
        Path(path).write_text(text)
    return text
