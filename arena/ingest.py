"""Import trajectories recorded elsewhere (`arena ingest`) as ImportedRunRow, with SWE-bench results where given.

Files: every `*.traj.json`, `*.traj` and `*.json` under the given paths (folders recursively) that
arena.trajectory's loader accepts. JSON that is no trajectory (report.json, configs) is counted in
`not_trajectories`; unreadable files, bad JSON, a `.traj`/`.traj.json` of unknown shape, or a malformed trajectory
go to `errors` (path and reason) and the batch goes on. found = imported + skipped_duplicates + not_trajectories +
len(errors). A file's sha256 is its identity: ingesting the same bytes again changes nothing.

Model: as the file records it; else the `model` column (up to " (") of a MANIFEST.tsv in the file's folder or a
parent up to the ingested folder, on the row with the file's sha256 or path (local_path / shared_path); else null.

Reports (`reports`: files, or folders searched for `*.json`): `{instance_id: {"resolved": ...}}`, the flattened
`{"resolved": ..., "instance_id"?}` (instance from `<instance>.report.json` or `<instance>/report.json`), or a
SWE-bench run summary `{"resolved_ids": [...], "unresolved_ids": [...]}`. A report's run folder is the folder that
holds it (above `<instance>/`), as in results/<run>/<instance>.report.json. An entry marks `resolved` on the
trajectories of its instance (found now or stored before; a stored one at the path it was found at), matched by the
first rule that finds any:
  1. those in a folder named like the report's run folder;
  2. the single one whose model names that folder (`<model>` or `<model>__...`, model with or without its
     provider), leaving out trajectories in a folder of their own that names the same model (another run of it);
  3. the only trajectory of that instance, when the report has no run folder or that trajectory's model is unknown.
Anything else is ambiguous or unrelated: the entry is listed in `reports_unmatched` and nothing is marked. A report
file that cannot be read goes to `report_errors`. A later report can change `resolved` (`resolved_updated`).
"""

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import select

from arena.storage import ImportedRunRow, Store
from arena.trajectory import detect_format, load_trajectory
from arena.trajectory.discover import trajectory_files


@dataclass
class _Run:
    sha256: str
    path: Path
    instance_id: str | None
    model: str | None


def ingest(paths: list[Path], store: Store, reports: list[Path] = ()) -> dict:
    """Import every trajectory under `paths` and mark `resolved` from `reports` (rules: module docstring).

    Returns:
        found, imported, skipped_duplicates, not_trajectories (ints), errors ([{path, error}]), reports (entries
        read), reports_matched, reports_unmatched (["<run folder>/<instance>"]), report_errors, resolved_updated.
    """
    counts = {
        "found": 0,
        "imported": 0,
        "skipped_duplicates": 0,
        "not_trajectories": 0,
        "errors": [],
        "reports": 0,
        "reports_matched": 0,
        "reports_unmatched": [],
        "report_errors": [],
        "resolved_updated": 0,
    }
    with store.session() as s:
        stored = {r.sha256: r for r in s.scalars(select(ImportedRunRow))}
    new: dict[str, ImportedRunRow] = {}
    runs: list[_Run] = []
    manifests: dict[Path, dict[str, str]] = {}
    for root in map(Path, paths):
        top = root if root.is_dir() else root.parent
        for path in trajectory_files([root]):
            counts["found"] += 1
            try:
                raw = path.read_bytes()
                sha = hashlib.sha256(raw).hexdigest()
                if sha in stored or sha in new:
                    counts["skipped_duplicates"] += 1
                    known = stored.get(sha) or new[sha]
                    runs.append(_Run(sha, path, known.instance_id, known.model))
                    continue
                row = _row(path, raw, sha, _manifest_model(path, top, sha, manifests))
            except Exception as e:  # one bad file is reported, never the end of the batch
                counts["errors"].append({"path": str(path), "error": f"{type(e).__name__}: {e}"})
                continue
            if row is None:
                counts["not_trajectories"] += 1
                continue
            new[sha] = row
            runs.append(_Run(sha, path, row.instance_id, row.model))
    found = {r.sha256 for r in runs}
    runs += [_Run(sha, Path(r.path), r.instance_id, r.model) for sha, r in stored.items() if sha not in found]
    resolved = _resolve(list(reports), runs, counts)
    with store.session() as s:
        for sha, row in new.items():
            row.resolved = resolved.get(sha)
            s.add(row)
        for sha, value in resolved.items():
            if sha in stored and stored[sha].resolved != value:
                s.get(ImportedRunRow, stored[sha].id).resolved = value
                counts["resolved_updated"] += 1
    counts["imported"] = len(new)
    return counts


def _row(path: Path, raw: bytes, sha: str, manifest_model: str | None) -> ImportedRunRow | None:
    """The row for one file; None when it is JSON but no trajectory; raises when it is broken."""
    if detect_format(orjson.loads(raw)) is None and not path.name.endswith((".traj", ".traj.json")):
        return None
    traj = load_trajectory(path)  # by path: the loader names SWE-agent instances after their file
    return ImportedRunRow(
        sha256=sha,
        path=str(path.resolve()),
        format=traj.format,
        model=traj.model or manifest_model,
        instance_id=traj.instance_id,
        steps=len(traj.steps),
        api_calls=traj.api_calls,
        cost=traj.total_cost,
        exit_status=traj.exit_status,
        submitted=bool(traj.submission and traj.submission.strip()),
    )


def _manifest_model(path: Path, top: Path, sha: str, cache: dict[Path, dict[str, str]]) -> str | None:
    folder = path.parent
    while True:
        if folder not in cache:
            cache[folder] = _read_manifest(folder / "MANIFEST.tsv")
        index = cache[folder]
        for key in (sha, path.relative_to(folder).as_posix()):
            if index.get(key):
                return index[key]
        if folder == top or folder == folder.parent or top not in folder.parents:
            return None
        folder = folder.parent


def _read_manifest(path: Path) -> dict[str, str]:
    """sha256 / local_path / shared_path -> model (text before " ("; blanks and unknown/n/a dropped)."""
    if not path.is_file():
        return {}
    index = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            model = re.split(r"\s+\(", row.get("model") or "", maxsplit=1)[0].strip()
            if model.lower() in ("", "unknown", "n/a"):
                continue
            for key in ("sha256", "local_path", "shared_path"):
                if row.get(key):
                    index[row[key]] = model
    return index


def _report_entries(path: Path) -> list[tuple[str, str | None, bool]]:
    """(instance_id, run folder, resolved) of every result in one report file."""
    data = orjson.loads(path.read_bytes())
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("resolved"), bool):
        name = path.name
        stem = name.removesuffix(".json").removesuffix(".report")
        instance = data.get("instance_id") or (path.parent.name if name == "report.json" else stem)
        return [(instance, _run_folder(path, instance), data["resolved"])]
    if isinstance(data.get("resolved_ids"), list):
        done = set(data["resolved_ids"])
        return [(i, None, i in done) for i in sorted(done | set(data.get("unresolved_ids") or []))]
    return [
        (k, _run_folder(path, k), v["resolved"])
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("resolved"), bool)
    ]


def _run_folder(path: Path, instance: str) -> str:
    return path.parent.parent.name if path.parent.name == instance else path.parent.name


def _names_model(model: str | None, folder: str) -> bool:
    if not model:
        return False
    return any(folder == n or folder.startswith(n + "__") for n in {model.replace("/", "__"), model.split("/")[-1]})


def _match(instance: str, folder: str | None, runs: list[_Run]) -> list[_Run]:
    same = [r for r in runs if r.instance_id == instance]
    if folder:
        if exact := [r for r in same if r.path.parent.name == folder]:
            return exact
        loose = [r for r in same if _names_model(r.model, folder) and not _names_model(r.model, r.path.parent.name)]
        if loose:
            return loose if len(loose) == 1 else []
    return same if len(same) == 1 and (folder is None or same[0].model is None) else []


def _resolve(reports: list[Path], runs: list[_Run], counts: dict) -> dict[str, bool]:
    resolved: dict[str, bool] = {}
    for path in trajectory_files(reports):
        try:
            entries = _report_entries(path)
        except Exception as e:  # a bad report is listed apart: `errors` are trajectory files
            counts["report_errors"].append({"path": str(path), "error": f"{type(e).__name__}: {e}"})
            continue
        for instance, folder, value in entries:
            counts["reports"] += 1
            matched = _match(instance, folder, runs)
            if not matched:
                counts["reports_unmatched"].append(f"{folder}/{instance}" if folder else instance)
            counts["reports_matched"] += bool(matched)
            resolved.update({r.sha256: value for r in matched})
    return resolved
