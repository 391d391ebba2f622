"""The contract every sandbox backend keeps: local, unsafe-local, and e2b through a fake of its SDK (tests/fakes)."""

import subprocess
import threading
import time
from pathlib import Path

import pytest

from arena.sandboxes import RepoCache, get_backend
from arena.spec import SandboxSpec
from tests.conftest import CALC_FILES, make_repo
from tests.fakes.e2b_fake import FakeE2B


def make_pair(backend_name: str, tmp_path):
    """Two sandboxes of the same prepared task, for one backend."""
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES)
    # History after the base (the fix, on main and on a branch) must never reach a contestant.
    subprocess.run(["git", "branch", "future-fix"], cwd=repo, check=True)
    make_repo(repo, {"calc/ops.py": CALC_FILES["calc/ops.py"].replace("a - b", "a + b")}, "the fix (after base)")
    subprocess.run(["git", "checkout", "-q", "future-fix"], cwd=repo, check=True)
    make_repo(repo, {"FIX.md": "the answer\n"}, "the fix on a branch (after base)")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    limits = SandboxSpec(backend=backend_name, command_timeout_s=5, output_limit_bytes=4096)
    backend = get_backend(limits, RepoCache(tmp_path / "cache"))
    backend.check_available()
    prepared = backend.prepare(str(repo), sha, None, tmp_path / "runs" / "setup.log")
    return [backend.create(prepared, tmp_path / "runs" / n, uid) for n, uid in (("a", 1_500_001), ("b", 1_500_002))]


@pytest.fixture(params=["local", "unsafe-local", "e2b"])
def sandbox_pair(request, tmp_path, monkeypatch):
    if request.param == "e2b":
        if reason := FakeE2B.unavailable():
            pytest.skip(reason)
        service = FakeE2B(tmp_path / "e2b")
        monkeypatch.setattr("arena.sandboxes.e2b.Sandbox", service.sandbox_class)
        monkeypatch.setenv("E2B_API_KEY", "e2b_test_key")
        request.addfinalizer(service.close)
    boxes = make_pair(request.param, tmp_path)
    yield boxes
    for box in boxes:
        box.close()


def test_commands_run_in_the_workspace_at_base(sandbox_pair):
    a, _ = sandbox_pair
    result = a.execute("git log --oneline | wc -l; cat calc/ops.py | head -2; exit 3")
    assert result.returncode == 3
    assert result.output.splitlines()[0].strip() == "1"
    assert "def add(a, b):" in result.output
    assert a.execute("pwd").output.strip() == a.workdir


def test_no_history_after_the_base_is_visible(sandbox_pair):
    a, _ = sandbox_pair
    shown = a.execute("git log --all --format=%s; git branch -a; git cat-file --batch-all-objects --batch-check")
    assert shown.returncode == 0, shown.output
    assert "after base" not in shown.output and "future-fix" not in shown.output
    assert shown.output.count(" commit ") == 1, shown.output  # the base commit, and nothing else


def test_workspaces_are_private(sandbox_pair):
    a, b = sandbox_pair
    assert a.execute("echo mine > calc/ops.py && echo new > extra.txt").returncode == 0
    assert "def add" in b.execute("cat calc/ops.py").output
    assert b.execute("test -e extra.txt").returncode == 1
    assert b.diff() == b""


def test_diff_has_changes_new_files_and_deletions_but_not_bytecode(sandbox_pair):
    a, _ = sandbox_pair
    a.execute("sed -i 's/a - b/a + b/' calc/ops.py && rm tests/test_ops.py && mkdir -p docs && echo hi > docs/new.md")
    a.execute("python3 -c 'import calc.ops'")  # writes __pycache__
    a.execute("git add -A && git commit -qm 'agent commit' && echo 'x' > .git/info/exclude")  # cannot fool the diff
    patch = a.diff().decode()
    assert "+    return a + b" in patch
    assert "+++ b/docs/new.md" in patch and "--- a/tests/test_ops.py" in patch
    assert "__pycache__" not in patch


def test_timeout_kills_the_process_group(sandbox_pair):
    a, _ = sandbox_pair
    started = time.monotonic()
    result = a.execute("sleep 30 & sleep 30; echo never", timeout=1)
    assert time.monotonic() - started < 5
    assert result.timed_out and result.returncode == 124 and "never" not in result.output
    assert "timed out after 1 s" in result.exception_info
    assert a.execute("echo alive").output == "alive\n"  # the sandbox is still usable


def test_output_is_truncated_to_the_limit_keeping_head_and_tail(sandbox_pair):
    a, _ = sandbox_pair
    result = a.execute("echo START; head -c 1000000 /dev/zero | tr '\\0' 'x'; echo; echo END")
    assert result.output.startswith("START") and result.output.rstrip().endswith("END")
    assert result.truncated_bytes > 990_000
    assert f"[... {result.truncated_bytes} bytes of output truncated by the sandbox ...]" in result.output
    assert len(result.output) < 4096 + 200


def test_cancel_kills_the_running_command_and_refuses_more(sandbox_pair):
    a, _ = sandbox_pair
    results = []
    worker = threading.Thread(target=lambda: results.append(a.execute("sleep 20", timeout=30)))
    worker.start()
    time.sleep(0.5)
    a.cancel()
    worker.join(timeout=5)
    assert not worker.is_alive() and results[0].cancelled
    later = a.execute("echo hi")
    assert later.cancelled and later.output == ""


def test_the_host_environment_does_not_leak(sandbox_pair, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret")
    a, _ = sandbox_pair
    assert "sk-host-secret" not in a.execute("env").output


def test_prepare_reuses_the_mirror_and_checkout(tmp_path):
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES)
    # History after the base (the fix, on main and on a branch) must never reach a contestant.
    subprocess.run(["git", "branch", "future-fix"], cwd=repo, check=True)
    make_repo(repo, {"calc/ops.py": CALC_FILES["calc/ops.py"].replace("a - b", "a + b")}, "the fix (after base)")
    subprocess.run(["git", "checkout", "-q", "future-fix"], cwd=repo, check=True)
    make_repo(repo, {"FIX.md": "the answer\n"}, "the fix on a branch (after base)")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    repos = RepoCache(tmp_path / "cache")
    backend = get_backend(SandboxSpec(), repos)
    first = backend.prepare(str(repo), sha, None, tmp_path / "setup.log")
    marker = RepoCache.ready_marker(first.checkout)
    stamp = marker.stat().st_mtime_ns
    second = backend.prepare(str(repo), sha, None, tmp_path / "setup.log")
    assert second.checkout == first.checkout and marker.stat().st_mtime_ns == stamp
    # A new commit in the source is fetched into the same mirror on reuse.
    new_sha = make_repo(repo, {"calc/more.py": "X = 1\n"}, message="more")
    assert repos.resolve(str(repo), "HEAD") == new_sha
    third = backend.prepare(str(repo), new_sha, None, tmp_path / "setup.log")
    assert (third.checkout / "calc/more.py").exists()
    assert len(list((tmp_path / "cache" / "mirrors").glob("*.git"))) == 1
    assert Path(third.checkout).name != Path(first.checkout).name


def test_the_patch_ignores_the_contestants_git_config_hooks_and_stderr(sandbox_pair, tmp_path):
    a, _ = sandbox_pair
    a.execute("printf 'caf\\xe9\\n' > latin1.txt && git add -N latin1.txt")  # not UTF-8
    a.execute("mkdir -p vendor/x && git -C vendor/x init -q && touch vendor/x/f")  # a nested repository
    a.execute(  # last, so that no git command of the contestant's own triggers the hook before diff()
        "git config --global diff.noprefix true && git config --global core.fsmonitor /tmp/mon.sh"
        " && printf '#!/bin/sh\\necho ran > /tmp/fsmonitor-ran\\n' > /tmp/mon.sh && chmod +x /tmp/mon.sh"
        " && git config --global filter.evil.clean 'sed s/EVIL/nice/' && echo '*.py filter=evil' > .gitattributes"
        " && echo 'EVIL = 1' >> calc/ops.py"
    )
    patch = a.diff()
    assert b"+EVIL = 1" in patch and b"nice" not in patch
    assert b"diff --git a/calc/ops.py b/calc/ops.py" in patch
    assert b"warning" not in patch and b"hint:" not in patch
    assert b"caf\xe9" in patch
    assert a.download("fsmonitor-ran") is None
    repo = tmp_path / "repo"
    check = subprocess.run(["git", "apply", "--check", "-"], input=patch, cwd=repo, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_only_workspace_and_tmp_are_writable_and_no_nested_namespaces(tmp_path):
    """The local backend only: unsafe-local isolates nothing, by definition."""
    a, _ = make_pair("local", tmp_path)
    for target in ("/root-file", "/dev/big", "/usr/x", "/etc/x"):
        assert a.execute(f"echo x > {target}").returncode != 0, target
    assert a.execute("head -c 100M /dev/zero > /dev/shm/big").returncode != 0  # /dev/shm is capped at 64 MB
    assert a.execute("unshare -r id").returncode != 0
    assert a.execute("echo ok > /tmp/t && echo ok > here.txt").returncode == 0


def test_python_and_pip_are_the_tasks_environment(sandbox_pair):
    a, b = sandbox_pair
    venv = f"{a.workdir}/.venv"
    assert a.execute("python -c 'import sys; print(sys.prefix)'").output.strip() == venv
    assert a.execute("command -v python python3 pip").output.split() == [
        f"{venv}/bin/{n}" for n in ("python", "python3", "pip")
    ]
    assert a.execute("python -m pip --version").output.startswith("pip ")
    # The environment is part of each contestant's own view: what one writes there, the other never sees.
    site = a.execute("python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))'").output.strip()
    assert a.execute(f"echo 'X = 1' > {site}/planted.py && python -c 'import planted'").returncode == 0
    assert b.execute("python -c 'import planted'").returncode != 0
    assert a.execute("git status --porcelain").output == ""  # excluded, so never part of a patch
    assert a.diff() == b""
