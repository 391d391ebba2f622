"""House rules that keep the code base walkable."""

import ast
from pathlib import Path

import arena
from arena.sandboxes import BACKENDS

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_arena_never_imports_streamlit():
    offenders = [str(p) for p in (ROOT / "arena").rglob("*.py") if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_pages_stay_thin_and_never_talk_sql():
    for page in (ROOT / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) < 120, page
        assert not imported_modules(page) & {"sqlalchemy", "sqlite3", "duckdb"}, page


def test_every_sandbox_backend_is_documented_and_importable():
    readme = (ROOT / "README.md").read_text()
    for name, path in BACKENDS.items():
        module, cls = path.rsplit(".", 1)
        assert hasattr(__import__(module, fromlist=[cls]), cls)
        assert f"backend: {name}" in readme


def test_public_api_is_small_and_resolvable():
    for name in arena.__all__:
        assert getattr(arena, name) is not None


def test_the_readme_settings_table_is_the_one_in_code():
    """One source per fact: arena/config.py SETTINGS; regenerate with `python -c 'from arena.config import settings_table; print(settings_table())'`."""
    from arena.config import settings_table

    assert settings_table() in (ROOT / "README.md").read_text()


def test_every_arena_variable_read_in_code_is_in_the_settings_table():
    import re

    from arena.config import SETTINGS

    read = set()
    for path in [*(ROOT / "arena").rglob("*.py"), *(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")]:
        read |= set(re.findall(r"[\"'](ARENA_[A-Z0-9_]+)[\"']", path.read_text()))
    assert read - set(SETTINGS) == set()


def test_code_is_ruff_formatted_without_escapes():
    """`make format` is the only style: no formatter escapes (skip or off comments), and `ruff format --check` passes."""
    import subprocess
    import sys

    folders = ["arena", "app", "pages", "tests", "benchmarks"]
    escaped = [
        str(p.relative_to(ROOT))
        for folder in folders
        for p in (ROOT / folder).rglob("*.py")
        if "fmt: " + "skip" in p.read_text() or "fmt: " + "off" in p.read_text()
    ]
    assert escaped == [], f"remove the formatting escapes in {escaped}"
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([ruff, "format", "--check", *folders], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# -- import floors (issue 10): one way down ------------------------------------------------------------------------

FLOORS = [  # lowest first: a module imports only from its own floor or below
    (
        "base",
        {
            "arena.errors",
            "arena.config",
            "arena.protocols",
            "arena.spec",
            "arena.identity",
            "arena.agentfiles",
            "arena.tasks",
            "arena.credentials",
            "arena.netguard",
            "arena.llm",
            "arena.ops",
            "arena.runners",  # definitions (YAML), installs and command lines: nothing of the arena's state
        },
    ),
    ("storage", {"arena.storage"}),
    ("runtime", {"arena.sandboxes", "arena.agents", "arena.trajectory", "arena.gateway"}),
    ("judging", {"arena.judging"}),
    (
        "engine",
        {
            "arena.engine",
            "arena.recovery",
            "arena.settlement",
            "arena.reputation",
            "arena.analytics",
            "arena.ingest",
            "arena.export",
            "arena.report",
            "arena.demo",
            "arena.artifacts",
        },
    ),
    ("publish", {"arena.publish"}),
    ("queue", {"arena.queue"}),  # its jobs publish; the CLI and the app launch through it
    ("surface", {"arena.cli", "arena"}),  # `arena` is the package itself: the public API
]
NEVER = {"arena.judging": {"arena.storage", "arena.agents"}}
"""Stricter than the floors: judging receives what it needs (the engine stores its Verdict; arena/llm.py calls LLMs)."""
KNOWN_CYCLES: set[frozenset[str]] = set()
"""Import cycles left for their owners; a fixed one must leave this list."""


def arena_modules() -> dict[str, Path]:
    modules = {}
    for path in (ROOT / "arena").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def arena_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The arena modules `name` imports anywhere: at the top, in a function (a lazy import is still a dependency),
    or by a dotted path string a lazy name -> import-path map hands to importlib (arena/sandboxes: BACKENDS)."""

    def module_of(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [module_of(a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [module_of(f"{base}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("arena."):
            # "arena.sandboxes.local.LocalBackend" is an import path; a logger name like "arena.model" is not one
            owner = node.value if node.value in modules else node.value.rpartition(".")[0]
            targets = [owner] if owner in modules and owner != "arena" else []
        else:
            continue
        found |= {t for t in targets if t and t.startswith("arena") and t != name}
    return found


def test_the_import_graph_sees_lazy_relative_and_path_string_imports(tmp_path):
    probe = tmp_path / "y.py"
    probe.write_text(
        "import logging\nfrom arena.storage import Store\nfrom . import z\n\nlog = logging.getLogger('arena.model')\n"
        "BACKENDS = {'local': 'arena.sandboxes.local.LocalBackend'}\n\ndef f():\n    from arena import cli\n"
    )
    names = ["arena", "arena.cli", "arena.storage", "arena.storage.store", "arena.sandboxes.local", "arena.x.z"]
    modules = {name: tmp_path / "other.py" for name in names}
    assert arena_imports("arena.x.y", probe, modules) == {
        "arena.storage",
        "arena.x.z",
        "arena.sandboxes.local",
        "arena.cli",
    }


def import_graph() -> dict[str, set[str]]:
    modules = arena_modules()
    return {name: arena_imports(name, path, modules) for name, path in modules.items()}


def floor(module: str) -> tuple[int, str] | None:
    """(floor index, the FLOORS entry that places it), by the longest entry that is the module or a package of it."""
    places = [
        (i, entry)
        for i, (_, entries) in enumerate(FLOORS)
        for entry in entries
        if module == entry or (entry != "arena" and module.startswith(entry + "."))
    ]
    return max(places, key=lambda p: len(p[1]), default=None)


def test_every_arena_module_has_a_floor():
    """A new top-level module or package is placed in FLOORS on purpose (and in the README's Layout)."""
    assert sorted(m for m in arena_modules() if floor(m) is None) == []


def test_imports_only_go_down():
    upward = []
    for module, imported in import_graph().items():
        here, entry = floor(module)
        for target in sorted(imported):
            there, target_entry = floor(target)
            if there > here or any(target == n or target.startswith(n + ".") for n in NEVER.get(entry, ())):
                upward.append(f"{module} ({FLOORS[here][0]}) imports {target} ({FLOORS[there][0]})")
    assert upward == []


def import_cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.add(frozenset(component))
    return cycles


def test_import_cycles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"a"}}
    assert import_cycles(graph) == {frozenset("abc"), frozenset("de")}


def test_no_import_cycles():
    found = import_cycles(import_graph())
    assert found - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - found == set(), "these cycles are gone: remove them from KNOWN_CYCLES"


# -- what the notebooks' library and the app may do ----------------------------------------------------------------

PROCESS_MODULES = {"subprocess", "pty", "multiprocessing", "arena.cli"}
PROCESS_CALLS = {"system", "popen", "fork", "forkpty", "create_subprocess_exec", "create_subprocess_shell"}


def process_uses(path: Path) -> list[str]:
    """Where a file starts processes: imports of process modules or the CLI, os.system/popen/exec*/spawn* calls."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif _starts_a_process(node):
            uses.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
        uses += [f"{path.name}:{node.lineno}: imports {n}" for n in names if n.split(".")[0] in PROCESS_MODULES]
        uses += [f"{path.name}:{node.lineno}: imports {n}" for n in names if n == "arena.cli"]
    return uses


def _starts_a_process(node: ast.AST) -> bool:
    """os.system, os.popen, os.exec*, os.spawn*, asyncio.create_subprocess_* and the like."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("os", "asyncio")
        and (node.attr in PROCESS_CALLS or node.attr.startswith(("exec", "spawn", "posix_spawn")))
    )


def test_process_uses_are_found(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nfrom subprocess import run\n\ndef f():\n    from arena import cli\n    os.execvp('x', [])\n"
    )
    assert process_uses(probe) == [
        "probe.py:2: imports subprocess",
        "probe.py:2: imports subprocess.run",
        "probe.py:5: imports arena.cli",
        "probe.py:6: os.execvp",
    ]


def test_analytics_never_runs_processes_or_the_cli():
    """Notebooks read stored rows and files in this process; the demo fallback runs the engine in process too."""
    assert [u for p in sorted((ROOT / "arena" / "analytics").rglob("*.py")) for u in process_uses(p)] == []


SQL_MODULES = {"sqlalchemy", "sqlite3", "duckdb", "arena.analytics.duck"}
KNOWN_SQL_IN_APP: set[str] = set()
"""Other engineers' files that still query the database themselves; a fixed one must leave this list."""
KNOWN_REPUTATION_MATHS_IN_APP: set[str] = set()
"""It recomputes balances and the stake multiplier from the stake rules; a fixed one must leave this list."""


def app_files() -> list[Path]:
    return sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")])


def writes_sql(path: Path) -> bool:
    """Imports a SQL engine (or arena's DuckDB runner), or opens a store session to query it."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in SQL_MODULES for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in SQL_MODULES or node.module in SQL_MODULES:
                return True
            if any(f"{node.module}.{a.name}" in SQL_MODULES for a in node.names):
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "session":
            return True
    return False


def derives_reputation(path: Path) -> bool:
    """Does arithmetic with the ledger's stake rules, or imports a rating function: the maths is arena.reputation's."""
    import dataclasses
    import inspect

    from arena.reputation import ratings
    from arena.reputation.ledger import StakeRules

    rules = {f.name for f in dataclasses.fields(StakeRules)}
    tree = ast.parse(path.read_text())
    sums = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp | ast.AugAssign)]
    imported = [
        a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == ratings.__name__
        for a in n.names
    ]
    return any(isinstance(n, ast.Attribute) and n.attr in rules for s in sums for n in ast.walk(s)) or any(
        inspect.isroutine(getattr(ratings, name, None)) for name in imported
    )


def test_app_never_writes_sql_nor_rederives_reputation():
    """app/ and pages/ show what arena computes: queries live in arena (Store, analytics), the maths in reputation."""
    sql = {str(p.relative_to(ROOT)) for p in app_files() if writes_sql(p)}
    maths = {str(p.relative_to(ROOT)) for p in app_files() if derives_reputation(p)}
    assert (sql - KNOWN_SQL_IN_APP, maths - KNOWN_REPUTATION_MATHS_IN_APP) == (set(), set())
    assert (KNOWN_SQL_IN_APP - sql, KNOWN_REPUTATION_MATHS_IN_APP - maths) == (set(), set()), "fixed: remove them"


def test_trajectories_are_found_in_one_place():
    """One source per fact: walking folders for trajectories is arena/trajectory/discover.py's job alone."""
    walkers = {
        str(p.relative_to(ROOT))
        for folder in ("arena", "app", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if "os.walk(" in p.read_text() or ".rglob(" in p.read_text()
    }
    # detect.py walks a checkout for test files; health.py sizes the data directory: neither looks for trajectories.
    assert walkers == {"arena/trajectory/discover.py", "arena/judging/detect.py", "app/health.py"}
