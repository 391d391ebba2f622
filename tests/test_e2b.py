"""The e2b backend against a fake of the e2b SDK (tests/fakes/e2b_fake.py): what it asks of E2B, and what it never
sends. The sandbox contract itself runs in tests/test_sandbox_contract.py."""

import inspect
import json
from pathlib import Path

import pytest
from e2b import Sandbox
from e2b.sandbox_sync.commands.command import Commands
from e2b.sandbox_sync.filesystem.filesystem import Filesystem
from e2b.sandbox_sync.paginator import SnapshotPaginator

from arena.engine import Engine, validate
from arena.errors import SandboxError, SandboxUnavailable, SetupFailed
from arena.sandboxes import RepoCache, get_backend
from arena.spec import SandboxSpec, spec_from_dict
from tests.conftest import CALC_FILES, make_repo, spec_dict, write_steps
from tests.fakes.e2b_fake import FakeCommands, FakeE2B, FakeFilesystem, FakeSandbox, FakeSnapshotPaginator

SECRETS = {
    "GITHUB_TOKEN": "ghp_canaryGITHUB0123456789",
    "ARENA_API_KEY": "sk-canaryARENA0123456789",
    "OPENAI_API_KEY": "sk-canaryOPENAI0123456789",
    "E2B_API_KEY": "e2b_canaryE2B0123456789",
}


@pytest.fixture
def e2b(tmp_path, monkeypatch):
    """The fake E2B service in place of the SDK's Sandbox, with a key set."""
    if reason := FakeE2B.unavailable():
        pytest.skip(reason)
    service = FakeE2B(tmp_path / "e2b", templates=("base", "acme-py311"))
    monkeypatch.setattr("arena.sandboxes.e2b.Sandbox", service.sandbox_class)
    monkeypatch.setenv("E2B_API_KEY", "e2b_test_key")
    monkeypatch.delenv("ARENA_E2B_TEMPLATE", raising=False)
    yield service
    service.close()


@pytest.fixture
def task(tmp_path):
    repo = tmp_path / "repo"
    return repo, make_repo(repo, CALC_FILES)


def backend_for(tmp_path: Path, **spec):
    return get_backend(SandboxSpec(backend="e2b", command_timeout_s=20, **spec), RepoCache(tmp_path / "cache"))


def test_the_fake_has_the_sdks_signatures():
    """The fake cannot drift from SDK 2.63: same names, kinds and defaults for every method the backend calls."""
    pairs = [
        (FakeSandbox.create, Sandbox.create),
        (FakeSandbox.kill, Sandbox.kill),
        (FakeSandbox.create_snapshot, Sandbox.create_snapshot),
        (FakeSandbox.list_snapshots, Sandbox._cls_list_snapshots),  # what Sandbox.list_snapshots(...) runs
        (FakeCommands.run, Commands.run),
        (FakeFilesystem.read, Filesystem.read),
        (FakeFilesystem.write, Filesystem.write),
        (FakeFilesystem.get_info, Filesystem.get_info),
        (FakeSnapshotPaginator.next_items, SnapshotPaginator.next_items),
    ]
    for fake, real in pairs:
        shape = [(p.name, p.kind, p.default) for p in inspect.signature(fake).parameters.values()]
        assert shape == [(p.name, p.kind, p.default) for p in inspect.signature(real).parameters.values()], real
    for name in ("commands", "files", "sandbox_id"):  # attributes the backend reads
        assert isinstance(inspect.getattr_static(Sandbox, name), property), name
    assert isinstance(inspect.getattr_static(SnapshotPaginator, "has_next"), property)


def test_a_missing_key_is_refused_at_launch_saying_where_to_get_one(tmp_path, task, monkeypatch):
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(SandboxUnavailable) as refused:
        backend_for(tmp_path).check_available()
    assert "E2B_API_KEY" in str(refused.value) and "https://e2b.dev/dashboard?tab=keys" in str(refused.value)
    repo, _ = task
    spec = spec_from_dict(spec_dict(repo, [{"name": "a", "model": "openai/gpt-4.1-mini"}], sandbox={"backend": "e2b"}))
    with pytest.raises(SandboxUnavailable, match="E2B_API_KEY"):
        validate(spec, RepoCache(tmp_path / "cache"))


def test_prepared_once_then_each_sandbox_is_one_create(e2b, tmp_path, task):
    repo, sha = task
    backend = backend_for(tmp_path)
    setup = "echo ran >> setup-count.txt"
    prepared = backend.prepare(str(repo), sha, setup, tmp_path / "runs" / "setup.log")
    assert [c["template"] for c in e2b.calls_of("create")] == ["base"]
    assert len([c for c in e2b.calls_of("command") if setup in c["cmd"]]) == 1
    assert [w["path"] for w in e2b.calls_of("write")] == ["/arena/repo.bundle"]
    assert e2b.calls_of("kill") and not e2b.sandboxes  # the prepare sandbox is gone; its snapshot stays

    before = len(e2b.calls)
    boxes = [backend.create(prepared, tmp_path / "runs" / f"c{i}", 1_500_000 + i) for i in range(4)]
    made = e2b.calls[before:]
    assert [c["kind"] for c in made] == ["create"] * 4  # no upload, no command: flat in N
    assert {c["template"] for c in made} == {prepared.snapshot_id}
    for i, box in enumerate(boxes):
        assert box.execute("cat setup-count.txt").output == "ran\n"  # setup's result, from the snapshot
        assert box.diff() == b""  # what setup made is no contestant's change
        recorded = json.loads((tmp_path / "runs" / f"c{i}" / "e2b.json").read_text())
        assert recorded["sandbox_id"] == box.box.sandbox_id

    # Prepared again (a later arena, another backend object): the snapshot is reused, nothing is set up again.
    again = backend_for(tmp_path).prepare(str(repo), sha, setup, tmp_path / "runs2" / "setup.log")
    assert again.snapshot_id == prepared.snapshot_id and again.diff_base == prepared.diff_base
    assert len(e2b.calls_of("create")) == 5 and e2b.calls_of("list_snapshots")
    assert (tmp_path / "runs2" / "setup.log").read_text() == prepared.setup_log
    # Another setup command is another prepared state.
    other = backend_for(tmp_path).prepare(str(repo), sha, "true", tmp_path / "runs3" / "setup.log")
    assert other.snapshot_id != prepared.snapshot_id


def test_template_and_lifetime_reach_sandbox_create(e2b, tmp_path, task, monkeypatch):
    repo, sha = task
    backend = backend_for(tmp_path, template="acme-py311", lifetime_s=900)
    prepared = backend.prepare(str(repo), sha, None, tmp_path / "setup.log")
    backend.create(prepared, tmp_path / "c", 1_500_001)
    (prep, box) = [(c["template"], c["timeout"], c["allow_internet_access"]) for c in e2b.calls_of("create")]
    assert prep == ("acme-py311", 900, True)  # setup may install packages
    assert box == (prepared.snapshot_id, 900, False)  # a contestant has no network
    # Without a template in the spec, ARENA_E2B_TEMPLATE names it; an unknown one is a clear error.
    monkeypatch.setenv("ARENA_E2B_TEMPLATE", "no-such-template")
    with pytest.raises(SandboxError, match="no template or snapshot 'no-such-template'.*ARENA_E2B_TEMPLATE"):
        backend_for(tmp_path).prepare(str(repo), sha, None, tmp_path / "setup.log")


def test_no_secret_of_the_host_enters_a_sandbox(e2b, tmp_path, task, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    repo, sha = task
    backend = backend_for(tmp_path)
    prepared = backend.prepare(str(repo), sha, "env > /tmp/setup-env; env | wc -l", tmp_path / "setup.log")
    box = backend.create(prepared, tmp_path / "c", 1_500_001)
    shown = box.execute("env; cat /tmp/setup-env 2>/dev/null; cat /proc/1/environ 2>/dev/null").output
    box.upload("note.txt", b"hello")
    box.execute("echo change >> calc/ops.py")
    patch = box.diff()
    box.cancel()
    texts = [repr(e2b.calls), shown, prepared.setup_log, patch.decode()]
    for name, value in SECRETS.items():
        assert all(value not in text for text in texts), name
    # Nor anywhere in the sandboxes' and snapshots' files.
    for path in e2b.root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not [n for n, v in SECRETS.items() if v.encode() in data], path


def test_setup_failure_keeps_its_log_and_makes_no_snapshot(e2b, tmp_path, task):
    repo, sha = task
    with pytest.raises(SetupFailed) as failed:
        backend_for(tmp_path).prepare(str(repo), sha, "echo boom; exit 3", tmp_path / "setup.log")
    assert "exit code 3" in str(failed.value) and "boom" in failed.value.log
    assert "boom" in (tmp_path / "setup.log").read_text()
    assert not e2b.snapshots and not e2b.sandboxes  # the prepare sandbox was killed all the same


def test_only_head_and_tail_of_the_output_leave_the_sandbox(e2b, tmp_path, task):
    repo, sha = task
    backend = backend_for(tmp_path, output_limit_bytes=4096)
    box = backend.create(backend.prepare(str(repo), sha, None, tmp_path / "setup.log"), tmp_path / "c", 1)
    answers = []
    run = box.box.commands.run
    box.box.commands.run = lambda *a, **k: answers.append(run(*a, **k)) or answers[-1]
    result = box.execute("head -c 5000000 /dev/zero | tr '\\0' 'x'")
    assert result.truncated_bytes == 5_000_000 - 4096
    assert len(answers[0].stdout) < 4096 * 4 / 3 + 200  # base64 of head and tail, and a status line


def test_files_move_through_tmp_and_never_through_a_symlink(e2b, tmp_path, task):
    repo, sha = task
    backend = backend_for(tmp_path)
    box = backend.create(backend.prepare(str(repo), sha, None, tmp_path / "setup.log"), tmp_path / "c", 1)
    assert box.upload("in/report.txt", b"data\n") == "/tmp/in/report.txt"
    assert box.execute("cat /tmp/in/report.txt && echo more >> /tmp/in/report.txt && whoami").output == ("data\nuser\n")
    assert box.download("in/report.txt") == b"data\nmore\n"
    box.execute("ln -s /workspace/calc/ops.py /tmp/link && mkdir /tmp/dir")
    assert box.download("link") is None and box.download("dir") is None and box.download("missing") is None
    with pytest.raises(SandboxError, match="relative to its /tmp"):
        box.upload("../etc/x", b"")


def test_a_command_never_starts_after_cancel_and_a_dead_sandbox_is_a_clear_error(e2b, tmp_path, task):
    repo, sha = task
    backend = backend_for(tmp_path)
    box = backend.create(backend.prepare(str(repo), sha, None, tmp_path / "setup.log"), tmp_path / "c", 1)
    # The flag cancel() writes is checked as the contestant's command starts (cancel racing a command's start).
    box.box.commands.run("touch /arena/cancelled", user="root")
    assert box.execute("echo started > /tmp/started").returncode == 125
    assert box.download("started") is None
    box.box.deadline = 0  # past its lifetime, as E2B would kill it
    with pytest.raises(SandboxError, match="not running any more.*lifetime_s"):
        box.execute("true")
    box.close()  # closing a dead sandbox is quiet


def test_an_arena_runs_and_is_judged_on_e2b(e2b, settings, calc_repo, arena_dir):
    """The engine and the judge (uploads, test runs, junit downloads) on the e2b backend, end to end."""
    submit = {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}
    contestants = []
    for name, command in (("fixer", "sed -i 's/a - b/a + b/' calc/ops.py"), ("wrong", "echo '# no' >> calc/ops.py")):
        write_steps(arena_dir / f"{name}.yaml", [{"thought": "edit", "commands": [command]}, submit])
        contestants.append({"name": name, "model": f"scripted:{name}.yaml", "strategy": "minimal-fix"})
    raw = spec_dict(calc_repo, contestants, sandbox={"backend": "e2b", "command_timeout_s": 60})
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec_from_dict(raw, base_dir=arena_dir))
    finally:
        engine.shutdown()
    arena, verdict = engine.store.arena(arena_id), engine.store.latest_verdict(arena_id)
    assert arena.status == "completed" and arena.error is None
    rows = {c.name: c for c in arena.contestants}
    assert "+    return a + b" in Path(rows["fixer"].patch_path).read_text()
    assert verdict.error is None and verdict.winner == "fixer"
    assert len(e2b.calls_of("snapshot")) == 1  # contestants and judge all started from the one prepared state
