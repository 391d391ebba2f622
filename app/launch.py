"""The Launch form's logic: a preset (an uploaded spec, or Run again) and the form's values -> the spec, validated.

The form edits some fields; every other field of the preset, known or not, is kept as it is and shown read-only,
so a spec downloads and launches unchanged. Relative paths resolve against the folder the user names, never
against the folder the app keeps its uploads in (the browser does not say where an uploaded file came from).
"""

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, get_args

import pandas as pd
import streamlit as st
import yaml
from pydantic import ValidationError

from arena.agentfiles import is_strategy_file
from arena.config import setting
from arena.engine import validate
from arena.errors import UserError
from arena.reputation.ledger import agent_name
from arena.runners import runner_names
from arena.spec import (
    BUILTIN_STRATEGIES,
    MODEL_SCHEMES,
    ArenaSpec,
    ContestantSpec,
    JudgeSpec,
    LimitsSpec,
    PublishSpec,
    SandboxSpec,
    TaskSpec,
    is_git_url,
    spec_from_dict,
)
from arena.tasks.github_issue import fill_task

TASK_FIELDS = ("repo", "base", "title", "problem_statement", "setup_command", "test_command")
"""The task fields the form has an input for (and github_issue, when the task is from a GitHub issue)."""
GITHUB = "GitHub issue"
SOURCES = ["Local path", "Git URL", "SWE-bench instance", GITHUB]
"""Where the task comes from: the "Task from" choices."""
FROM_ISSUE = ("repo", "base", "title", "problem_statement")
"""The task fields an issue fills where the spec leaves them empty (arena.tasks.github_issue.fill_task)."""
ISSUE_HINTS = {
    "repo": "empty: the issue's repository",
    "title": "empty: the issue's title",
    "problem_statement": "empty: the issue's title, body and comments, as GitHub has them at launch",
}
TEXT_COLUMNS = ("name", "model", "runner", "strategy", "api_base", "api_key_env")
INT_COLUMNS = ("step_limit", "wall_time_limit_s")
NUMBER_COLUMNS = ("step_limit", "cost_limit", "wall_time_limit_s")
CONTESTANT_COLUMNS = [
    "name",
    "model",
    "runner",
    "strategy",
    "step_limit",
    "cost_limit",
    "wall_time_limit_s",
    "api_base",
    "api_key_env",
]
KEPT = "kept as is"
"""The contestants table's read-only column: a row's other fields, which go into the spec unchanged."""
ROW = "_row"
"""The table's hidden column: the preset row a table row came from, so its other fields follow it."""
SECTIONS = {"task": TaskSpec, "limits": LimitsSpec, "sandbox": SandboxSpec, "judge": JudgeSpec, "publish": PublishSpec}
BACKENDS = list(get_args(SandboxSpec.model_fields["backend"].annotation))
UNSAFE = "unsafe-local"
REFUSAL = (
    "this spec asks for the unsafe-local backend, which runs contestants' and setup commands as plain host "
    "processes; the app refuses it unless the operator sets ARENA_ALLOW_UNSAFE_LOCAL=1; use backend: local"
)
NO_ISOLATION = "sandbox: unsafe-local — no isolation: commands run as host processes"
FOLDER = "Folder of the spec"
"""The label of the input naming the folder relative paths resolve against (error messages name it)."""
FOLDER_HINTS = {
    "placeholder": "/path/to/the/folder/of/arena.yaml — only for a spec with relative paths",
    "help": "Relative paths in the spec (repo, scripted: steps, strategy files) resolve against this folder.",
}
LIMIT_INPUTS = {"max_parallel": "Max parallel", "time_budget_s": "Time budget (s)"}
LIMIT_BOUNDS = {"max_parallel": (1, 64), "time_budget_s": (1, 86_400)}


# -- the spec from the preset and the form -----------------------------------------------------------------------


def spec_dict(form: dict, contestants: list[dict], preset: dict | None = None) -> dict:
    """The spec as YAML would hold it: the preset, with the fields the form has inputs for taken from the form.

    `form` maps sections to the fields the form edits ({"task": {"repo": ...}, "limits": {...}, ...}); a field
    left blank is left out. Anything else in the preset (fail_to_pass, judge.synthesize, sandbox.memory_mb, keys
    this form has never heard of) is kept as it is, and so is a value the form shows unchanged (a float 1800.0
    stays a float, a null stays a null). `contestants` are the table's rows (see `table`).
    """
    preset = preset or {}
    out: dict[str, Any] = {}
    for key in dict.fromkeys([*preset, "task", "contestants", *form]):
        if key == "contestants":
            out[key] = contestant_rows(contestants, preset.get("contestants"))
        elif key in form:
            old = preset.get(key) if isinstance(preset.get(key), dict) else {}
            section = merge(old, form[key], lambda field, key=key: default(key, field))
            if section or key in preset:
                out[key] = section
        else:
            out[key] = preset[key]
    task, old_task = out.get("task", {}), preset.get("task") or {}
    # A problem statement written on the form replaces the preset's file (a spec gives exactly one).
    if not blank(task.get("problem_statement")) and blank(old_task.get("problem_statement")):
        task.pop("problem_statement_file", None)
    return out


def merge(old: dict, new: dict, default=lambda field: ...) -> dict:
    """`old` with `new`'s fields: a blank one is left out, one shown unchanged keeps `old`'s exact value, and one
    absent from `old` at its spec default is not written (so a spec without limits: downloads without them)."""
    out = {}
    for key in dict.fromkeys([*old, *new]):
        if key not in new or (key in old and same(new[key], old[key])):
            out[key] = old[key]
        elif not blank(new[key]) and not (key not in old and new[key] == default(key)):
            out[key] = new[key]
    return out


def same(shown, value) -> bool:
    """Whether a widget's `shown` value is `value` unchanged (text inputs show any value as its str)."""
    if blank(shown) and blank(value):
        return True
    if isinstance(shown, str) and not isinstance(value, str):
        return value is not None and str(value) == shown
    if isinstance(shown, bool) or isinstance(value, bool):
        return shown is value
    return shown == value


def blank(value) -> bool:
    """Empty inputs and table cells come back as None, '' or NaN."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def default(section: str, field: str):
    """The spec's default for a field (one source: arena.spec), or Ellipsis when it has none."""
    info = SECTIONS[section].model_fields.get(field) if section in SECTIONS else None
    return ... if info is None or info.is_required() else info.default


# -- the contestants table ---------------------------------------------------------------------------------------


def table(preset_rows, first_model: str = "") -> pd.DataFrame:
    """The preset's contestants as the table shows them: a column per field the table edits, the rest of each row
    in the read-only KEPT column, its index in the hidden ROW column. Without a preset: one row to fill in."""
    rows = [r if isinstance(r, dict) else {} for r in preset_rows] if isinstance(preset_rows, list) else None
    shown = [{**cells(r), KEPT: flow(others(r)), ROW: i} for i, r in enumerate(rows)] if rows is not None else []
    frame = pd.DataFrame(
        shown if rows is not None else [{"name": "a", "model": first_model, "strategy": "minimal-fix"}],
        columns=[*CONTESTANT_COLUMNS, KEPT, ROW],
    )
    for column in (*NUMBER_COLUMNS, ROW):  # a column of None is no number column to the editor
        frame[column] = pd.to_numeric(frame[column])
    return frame


def cells(row: dict) -> dict:
    """The row's fields the table can show in their columns (text as text, numbers as numbers, empty as empty)."""
    return {k: row[k] for k in CONTESTANT_COLUMNS if k in row and _fits(k, row[k])}


def others(row: dict) -> dict:
    """The row's fields the table has no column for, or cannot show in it: the KEPT column (empty ones left out)."""
    shown = cells(row)
    return {k: v for k, v in row.items() if k not in shown and not empty(v)}


def _fits(column: str, value) -> bool:
    if value is None:
        return True
    if column in TEXT_COLUMNS:
        return isinstance(value, str)
    return is_number(value)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def contestant_rows(rows: list[dict], preset_rows=None) -> list[dict]:
    """The table's rows as spec contestants: a preset row keeps its other fields and its unchanged values."""
    presets = [r if isinstance(r, dict) else {} for r in preset_rows] if isinstance(preset_rows, list) else []
    out = []
    for row in rows:
        values = {k: _native(k, row.get(k)) for k in CONTESTANT_COLUMNS}
        index = row.get(ROW)
        if blank(index) or not 0 <= int(index) < len(presets):  # a row added on the form
            if not all(blank(values[k]) for k in ("name", "model")):
                out.append({k: v for k, v in values.items() if not blank(v)})
            continue
        old = presets[int(index)]
        shown = cells(old)
        # A field the table could not show (kept as is) stays unless a value was typed into its cell.
        edited = {k: v for k, v in values.items() if k in shown or k not in old or not blank(v)}
        out.append(merge(old, edited))
    return out


def _native(column: str, value):
    """A cell as YAML should hold it: no NaN, numpy scalars as Python's, whole step counts as ints."""
    value = value.item() if hasattr(value, "item") else value
    if blank(value):
        return None
    if column in INT_COLUMNS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def flow(fields: dict) -> str:
    """Fields on one line, as YAML reads them: {api_base: http://gw/v1, model_kwargs: {temperature: 0.2}}."""
    return yaml.safe_dump(fields, default_flow_style=True, width=math.inf, sort_keys=False).strip() if fields else ""


def empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def columns(frame: pd.DataFrame, models: list[str]) -> dict:
    """The table's column config: choices include the preset's own values (a strategy file, say), so none is hidden."""
    column = st.column_config
    return {
        # Not required=True: the editor would keep a row without a model in the browser, never sent, so a contestant
        # seen on the form would be left out of the launch; sent, it is a field error ("model: required; add it").
        "model": column.SelectboxColumn(options=sorted(set(models) | set(frame["model"].dropna()))),
        "runner": column.SelectboxColumn(
            options=list(dict.fromkeys([*runner_names(), *frame["runner"].dropna()])),
            help="The agent program: mini-swe-agent (empty), or a CLI agent run in the sandbox through the gateway",
        ),
        "strategy": column.SelectboxColumn(
            options=list(dict.fromkeys([*BUILTIN_STRATEGIES, *frame["strategy"].dropna()])), default="balanced"
        ),
        "step_limit": column.NumberColumn("step limit", min_value=0, default=50, step=1),
        "cost_limit": column.NumberColumn("cost limit ($)", min_value=0.0, default=3.0),
        "wall_time_limit_s": column.NumberColumn("wall time (s)", min_value=0, step=1, help="0: the arena's budget"),
        KEPT: column.TextColumn(disabled=True, help="The row's other fields: launched as they are"),
        ROW: None,  # hidden; it follows its row through edits, additions and deletions
    }


# -- what the form shows beside its inputs -----------------------------------------------------------------------


def kept(raw: dict, form: dict) -> dict:
    """The fields of the spec the form has no input for, as they will be launched (contestants: see KEPT)."""
    out = {}
    for key, value in raw.items():
        if key == "contestants":
            continue
        if key in form and isinstance(value, dict):
            if rest := {k: v for k, v in value.items() if k not in form[key] and not empty(v)}:
                out[key] = rest
        elif key not in form and not empty(value):
            out[key] = value
    return out


def kept_label(fields: dict) -> str:
    names = []
    for section, value in fields.items():
        names += [f"{section}.{k}" for k in value] if isinstance(value, dict) else [section]
    return "Kept as is (the form has no input for them): " + ", ".join(names)


def number(section, field: str, fallback: int | float) -> int | float:
    """A preset's number as a number input shows it: whole values as int, others as float (a stored spec holds
    time_budget_s: 1800.0); what is not a number shows the default, and spec_dict keeps the preset's value."""
    value = section.get(field) if isinstance(section, dict) else None
    if not is_number(value):
        return fallback
    return int(value) if float(value).is_integer() else float(value)


def number_args(section, field: str) -> dict:
    """min_value/max_value/value for a limit's number input, of one type (Streamlit refuses a mix) and wide enough
    to show the preset's value: a value the spec refuses is shown and refused with its field's error at Launch,
    not a crash of the page."""
    value = number(section, field, default("limits", field))
    kind, (low, high) = type(value), LIMIT_BOUNDS[field]
    return {"min_value": kind(min(low, value)), "max_value": kind(max(high, value)), "value": value}


def numbers(preset_section, values: dict) -> dict:
    """The number inputs' values the form owns: not those over a preset value that is not a number (kept as is,
    so validation names it) — the input could not show it."""
    section = preset_section if isinstance(preset_section, dict) else {}
    return {k: v for k, v in values.items() if k not in section or is_number(section[k])}


def flags(preset_section, values: dict) -> dict:
    """The checkboxes' values the form owns: not those over a preset value that is not true or false (kept as is,
    so validation names it)."""
    section = preset_section if isinstance(preset_section, dict) else {}
    return {k: v for k, v in values.items() if k not in section or isinstance(section[k], bool)}


def apply_preset(preset: dict, state) -> str:
    """Put a preset's values into the form's widgets, once per preset; returns its key for the table widget."""
    digest = hashlib.sha256(json.dumps(preset, sort_keys=True, default=str).encode()).hexdigest()[:10]
    if preset and state.get("preset_applied") != digest:
        task = preset.get("task") or {}
        for field in TASK_FIELDS:
            state[field] = text(task.get(field)) if field in task or field != "base" else "HEAD"
        state["repo_override"] = text(task.get("repo"))
        state["backend"] = text((preset.get("sandbox") or {}).get("backend")) or "local"
        state["github_issue"] = text(task.get("github_issue"))
        state["publish_pr"] = (preset.get("publish") or {}).get("pull_request") is True
        # What the preset's issue filled: a different issue typed later clears these (see follow_issue).
        state["issue_fields"] = {field: state[field] for field in FROM_ISSUE} | {"github_issue": state["github_issue"]}
        repo = text(task.get("repo"))
        state["source"] = (
            "SWE-bench instance"
            if task.get("swebench")
            else GITHUB
            if task.get("github_issue")
            else "Git URL"
            if is_git_url(repo)
            else "Local path"
        )
        state["preset_applied"] = digest
    return digest


def follow_issue(state) -> None:
    """The GitHub issue input's on_change: the task fields a preset brought (repo, base, title, problem statement),
    still as it brought them, belong to the preset's task (its own issue, or none), so they are emptied for the
    new issue to fill at launch (Run again, then another issue: not the old issue's text on its repository).
    A value typed on the form stays."""
    fields = state.get("issue_fields") or {}
    if not fields or state.get("github_issue", "").strip() == fields.get("github_issue", "").strip():
        return
    for field in FROM_ISSUE:
        if state.get(field) == fields.get(field) and fields.get(field):
            state[field] = "HEAD" if field == "base" else ""
    state["issue_fields"] = {}


def text(value) -> str:
    """A value as a text input shows it (spec_dict keeps the original when it comes back unchanged)."""
    return "" if value is None else value if isinstance(value, str) else str(value)


# -- relative paths ----------------------------------------------------------------------------------------------


def relative_paths(raw: dict) -> list[tuple[str, str]]:
    """(field, path) for every relative path in the spec: the fields arena.spec.resolve_paths resolves, and
    task.swebench. Without the spec's folder the app cannot know what they are relative to."""
    found: list[tuple[str, str]] = []
    task = raw.get("task") if isinstance(raw.get("task"), dict) else {}
    for field in ("repo", "problem_statement_file", "swebench"):
        value = task.get(field)
        if isinstance(value, str) and value and _relative(value) and not (field == "repo" and is_git_url(value)):
            found.append((f"task.{field}", value))
    for i, c in enumerate(raw.get("contestants") or []):
        if not isinstance(c, dict):
            continue
        # With its steps or strategy embedded (a stored spec), the name is a file name only and nothing is read.
        scheme, sep, path = str(c.get("model") or "").partition(":")
        if sep and scheme in MODEL_SCHEMES and path and _relative(path) and c.get("steps") is None:
            found.append((f"contestants[{i}].model", c["model"]))
        strategy = c.get("strategy")
        embedded = c.get("strategy_definition") is not None
        if isinstance(strategy, str) and is_strategy_file(strategy) and _relative(strategy) and not embedded:
            found.append((f"contestants[{i}].strategy", strategy))
    return found


def relative_errors(found: list[tuple[str, str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value in found:
        errors.setdefault("contestants" if field.startswith("contestants") else field, []).append(
            f"{field}: '{value}' is a relative path, and the app does not know which folder the spec came from; "
            f'type that folder under "{FOLDER}" (its paths are resolved against it) or make the path absolute'
        )
    return errors


def relative_note(found: list[tuple[str, str]]) -> str:
    """What the form says as soon as a spec with relative paths is loaded, before Launch refuses them."""
    paths = ", ".join(f"{field}: `{value}`" for field, value in found)
    return f'This spec has relative paths ({paths}): type the folder it came from under "{FOLDER}".'


def _relative(path: str) -> bool:
    return not Path(path).expanduser().is_absolute()


def folder(text: str) -> tuple[Path | None, list[str]]:
    """The folder the user named for relative paths: (None, []) when none, else (path, []) or (None, [why not])."""
    if not text.strip():
        return None, []
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        return None, [f"'{text}' is not an absolute path; give the full path of the folder the spec YAML is in"]
    if not path.is_dir():
        return None, [f"{path} is not a folder on this machine; give the folder the spec YAML is in"]
    return path, []


# -- validating and launching ------------------------------------------------------------------------------------


def backends(current: str | None) -> list[str]:
    """The backend choices, plus a preset's unknown one so that it is shown (and refused by validation), not dropped."""
    return BACKENDS + ([current] if current and current not in BACKENDS else [])


def unsafe_allowed() -> bool:
    try:
        return bool(setting("ARENA_ALLOW_UNSAFE_LOCAL"))
    except UserError:  # a malformed value allows nothing: the host is what is at stake
        return False


def refusal(backend: str | None) -> str | None:
    """Why the app will not run this backend, or None. The CLI is the operator's own; the app is anyone's."""
    return REFUSAL if backend == UNSAFE and not unsafe_allowed() else None


def backend_notes(backend: str, errors: list[str]) -> list[str]:
    """The red lines under the backend: the refusal or the no-isolation notice for the current choice, then errors."""
    live = refusal(backend) or (NO_ISOLATION if backend == UNSAFE else None)
    stale = [m for m in errors if m != REFUSAL]  # the refusal follows the current choice, not the last press
    return [m for m in dict.fromkeys([live, *stale]) if m]


def check(raw: dict, base_dir: Path | None, repos) -> tuple[ArenaSpec | None, str | None, dict[str, list[str]]]:
    """(spec, base sha, {}) when it can launch, else (None, None, {field path: [messages]}) to show by the fields.

    `base_dir`: the folder relative paths resolve against. Without one, a relative path is an error on its field
    (never resolved against wherever the app happens to be), and the spec's other errors are shown beside it.
    unsafe-local is refused here, on the parsed spec, so every way into the form (typed, uploaded, Run again) meets it.
    """
    relative = relative_paths(raw) if base_dir is None else []
    spec, base_sha, errors = _check(raw, base_dir or Path("/"), repos)
    if not relative:
        return spec, base_sha, errors
    # Their errors here are about paths under "/", not what is wrong: a contestant's, whichever field names it.
    fields = tuple(field.split(".")[0] if field.startswith("contestants") else field for field, _ in relative)
    for field, messages in relative_errors(relative).items():
        errors[field] = [m for m in errors.get(field, []) if not m.startswith(fields)] + messages
    return None, None, errors


def _check(raw: dict, base_dir: Path, repos) -> tuple[ArenaSpec | None, str | None, dict[str, list[str]]]:
    task = raw.get("task")
    if isinstance(task, dict) and task.get("github_issue") and not task.get("swebench"):
        try:  # the issue first, so what GitHub says (no token, 404, 401) is shown by its field
            raw = {**raw, "task": fill_task(task)}  # spec_from_dict fills nothing more, asks GitHub nothing more
        except UserError as e:
            return None, None, {"task.github_issue": [str(e)]}
    try:
        spec = spec_from_dict(raw, base_dir=base_dir, source="the form")
        if why := refusal(spec.sandbox.backend):
            return None, None, {"sandbox.backend": [why]}
        base_sha = validate(spec, repos)
    except UserError as e:
        return None, None, field_errors(str(e))
    return spec, base_sha, {}


def submit(raw: dict, base_dir: Path | None, engine, launcher=None) -> tuple[str | None, dict[str, list[str]]]:
    """The one place the app launches an arena: (arena id, {}) or (None, errors by field); nothing is written if refused.

    The spec is checked here with `engine`'s repo cache, then launched through `launcher` (app.resources.launcher: the
    workers' queue or this process's engine; the engine when None)."""
    spec, base_sha, errors = check(raw, base_dir, engine.repos)
    if spec is None:  # refused (unsafe-local), malformed or invalid
        return None, errors
    try:
        return (launcher or engine).launch(spec, base_sha), {}
    except UserError as e:  # e.g. an agent that cannot cover its stake
        return None, {"contestants": [str(e)]}


def field_errors(message: str) -> dict[str, list[str]]:
    """Split a SpecError into {field: [messages]}; field is e.g. 'task.repo', 'contestants', 'limits'."""
    errors: dict[str, list[str]] = {}
    for line in message.splitlines():
        m = re.match(
            r"\s*(?:error: )?((?:task|limits|sandbox|judge)(?:\.\w+)?|contestants(?:\[\d+\])?)[\s.\w\[\]()-]*?:\s(.+)",
            line,
        )
        if m:
            field = "contestants" if m[1].startswith("contestants") else m[1]
            errors.setdefault(field, []).append(line.strip())
        elif line.strip() and not line.strip().endswith("is not a valid arena spec:"):
            errors.setdefault("form", []).append(line.strip())
    return errors


def preset(uploaded: bytes | None, run_again: dict | None) -> dict:
    """Values to prefill the form with: an uploaded spec YAML, else a past arena's spec ("Run again")."""
    if uploaded:
        try:
            raw = yaml.safe_load(uploaded)
        except yaml.YAMLError as e:
            return {"error": f"the uploaded spec is not valid YAML: {e}"}
        return well_formed(raw)
    return run_again or {}


def well_formed(raw) -> dict:
    """The uploaded spec if it has the shape the form reads, else {"error": what is wrong} (shown by the uploader)."""
    if not isinstance(raw, dict):
        return {"error": "the uploaded spec must be a mapping with task:, contestants:, limits:, sandbox:"}
    if not isinstance(raw.get("task", {}), dict):
        return {"error": "task: must be a mapping (repo:, problem_statement:, ...)"}
    contestants = raw.get("contestants", [])
    if not isinstance(contestants, list) or not all(isinstance(c, dict) for c in contestants):
        return {"error": "contestants: must be a list of mappings ({name:, model:, strategy:})"}
    for key in ("limits", "sandbox", "judge", "publish"):
        if not isinstance(raw.get(key, {}), dict):
            return {"error": f"{key}: must be a mapping"}
    return raw


def stakes(raw: dict, ledger) -> list[dict]:
    """Each contestant's agent, stake and balance, as the Launch page shows them before launching."""
    rows, wanted = [], {}
    for c in raw.get("contestants", []):
        agent = agent_of(c)
        wanted[agent] = wanted.get(agent, 0) + 1
        rows.append({"contestant": c.get("name"), "agent": agent})
    states = {a: ledger.state(a) for a in wanted}
    for row in rows:
        st = states[row["agent"]]
        row |= {
            "stake": st.stake,
            "balance": st.balance,
            "k": st.k,
            "can enter": st.balance + 1e-9 >= st.stake * wanted[row["agent"]],
        }
    return rows


def agent_of(row: dict) -> str:
    """The agent a row enters as: ContestantSpec.identity, as the launch names it (its alias, embedded steps and
    strategy count). A row that is no valid contestant yet, or names a relative path (whose file is read only once
    the folder resolves it), is named as written (arena.reputation.ledger.agent_name)."""
    if not relative_paths({"contestants": [row]}):
        try:
            return ContestantSpec.model_validate(row).identity
        except (ValidationError, UserError):
            pass
    return agent_name(str(row.get("model", "")), str(row.get("strategy") or "balanced"))


class _Dumper(yaml.SafeDumper):
    """Multi-line text (a problem statement, a test patch) as a `|` block, as one would write it by hand."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # U+0085 is a line break to a YAML reader: only double quotes escape it (PyYAML writes it raw otherwise).
    style = '"' if "\x85" in value else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(raw: dict) -> str:
    return yaml.dump(raw, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
