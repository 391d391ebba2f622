"""The Launch form's logic: form values -> spec dict -> validated ArenaSpec, errors mapped to fields."""

import hashlib
import json
import math
import re
from pathlib import Path

import yaml

from arena.config import setting
from arena.errors import UserError
from arena.orchestrator import validate
from arena.reputation.ledger import agent_name
from arena.spec import ArenaSpec, spec_from_dict

CONTESTANT_COLUMNS = ["name", "model", "strategy", "step_limit", "cost_limit"]
BACKENDS = ["local", "unsafe-local"]
UNSAFE = "unsafe-local"
REFUSAL = (
    "this spec asks for the unsafe-local backend, which runs contestants' and setup commands as plain host "
    "processes; the app refuses it unless the operator sets ARENA_ALLOW_UNSAFE_LOCAL=1; use backend: local"
)
NO_ISOLATION = "sandbox: unsafe-local — no isolation: commands run as host processes"


def spec_dict(form: dict, contestants: list[dict]) -> dict:
    """The spec as YAML would hold it, from the form's values (empty optional fields left out)."""
    task = {k: v for k, v in form["task"].items() if v not in (None, "", [])}
    rows = [
        {k: v for k, v in row.items() if k in CONTESTANT_COLUMNS and not _blank(v)}
        for row in contestants
        if not all(_blank(row.get(k)) for k in ("name", "model"))
    ]
    spec = {"task": task, "contestants": rows, "limits": form["limits"], "sandbox": form["sandbox"]}
    if form.get("judge", {}).get("model"):
        spec["judge"] = form["judge"]
    return spec


def _blank(value) -> bool:
    """Empty cells of the contestants table come back as None, '' or NaN."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def apply_preset(preset: dict, state) -> str:
    """Put a preset's values into the form's widgets, once per preset; returns its key for the table widget."""
    digest = hashlib.sha256(json.dumps(preset, sort_keys=True, default=str).encode()).hexdigest()[:10]
    if preset and state.get("preset_applied") != digest:
        task = preset.get("task", {})
        for field in ("repo", "base", "title", "problem_statement", "setup_command", "test_command"):
            state[field] = task.get(field) or ("HEAD" if field == "base" else "")
        state["backend"] = (preset.get("sandbox") or {}).get("backend", "local")
        state["source"] = "Git URL" if str(task.get("repo", "")).startswith(("http://", "https://")) else "Local path"
        state["preset_applied"] = digest
    return digest


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


def check(raw: dict, base_dir: Path, repos) -> tuple[ArenaSpec | None, str | None, dict[str, list[str]]]:
    """(spec, base sha, {}) when it can launch, else (None, None, {field path: [messages]}) to show by the fields.

    unsafe-local is refused here, on the parsed spec, so every way into the form (typed, uploaded, Run again) meets it.
    """
    try:
        spec = spec_from_dict(raw, base_dir=base_dir, source="the form")
        if why := refusal(spec.sandbox.backend):
            return None, None, {"sandbox.backend": [why]}
        base_sha = validate(spec, repos)
    except UserError as e:
        return None, None, field_errors(str(e))
    return spec, base_sha, {}


def submit(raw: dict, base_dir: Path, engine) -> tuple[str | None, dict[str, list[str]]]:
    """The one place the app launches an arena: (arena id, {}) or (None, errors by field); nothing is written if refused."""
    spec, base_sha, errors = check(raw, base_dir, engine.repos)
    if spec is None:  # refused (unsafe-local), malformed or invalid
        return None, errors
    try:
        return engine.launch(spec, base_sha), {}
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
    for key in ("limits", "sandbox", "judge"):
        if not isinstance(raw.get(key, {}), dict):
            return {"error": f"{key}: must be a mapping"}
    return raw


def stakes(raw: dict, ledger) -> list[dict]:
    """Each contestant's agent, stake and balance, as the Launch page shows them before launching."""
    rows, wanted = [], {}
    for c in raw.get("contestants", []):
        agent = agent_name(str(c.get("model", "")), str(c.get("strategy") or "balanced"))
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


def to_yaml(raw: dict) -> str:
    return yaml.safe_dump(raw, sort_keys=False)
