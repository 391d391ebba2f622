"""Scripted contestants attack the host from inside the local sandbox; the host stays untouched.

One arena, one attacker per contestant, all in parallel, through the real engine and bubblewrap.
"""

import socket
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from arena.engine import Engine
from arena.sandboxes import sandbox_uid
from arena.spec import spec_from_dict
from tests.conftest import observations, spec_dict, write_steps

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FORK_BOMB = """python3 -c '
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print("fork failed after", n, e)
print("forked", n)
'"""


@pytest.fixture
def tcp_server():
    """A TCP server on the host's 127.0.0.1 that counts connections."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.fixture
def home_secret():
    """A secret file in the host user's home, removed afterwards."""
    path = Path.home() / f".arena-test-secret-{uuid.uuid4().hex[:8]}"
    path.write_text("home-secret-" + uuid.uuid4().hex)
    yield path
    path.unlink(missing_ok=True)


def test_attackers_leave_the_host_untouched(
    settings, calc_repo, arena_dir, tmp_path, monkeypatch, tcp_server, home_secret
):
    port, accepted = tcp_server
    env_secret = "env-secret-" + uuid.uuid4().hex
    monkeypatch.setenv("ARENA_TEST_SECRET", env_secret)
    outside = tmp_path / "outside.txt"
    attacks = {
        "write-outside": [
            f"echo pwned > {outside}; echo pwned > /etc/arena-pwned; touch /usr/arena-pwned; echo pwned > {settings.data_dir}/pwned; echo done"
        ],
        "read-home": [f"cat {home_secret}; ls -la {Path.home()}"],
        "read-env": ["env; echo secret=$ARENA_TEST_SECRET; cat /proc/1/environ | tr '\\0' '\\n'"],
        "connect": [
            f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\"; echo rc=$?"
        ],
        "fork-bomb": [FORK_BOMB],
        "sleeper": ["sleep 100"],
        "flood": ["head -c 100000000 /dev/zero | tr '\\0' 'x'"],
    }
    contestants = []
    for name, commands in attacks.items():
        steps = [{"thought": f"attack: {name}", "commands": commands}, {"thought": "done", "commands": [SUBMIT]}]
        write_steps(arena_dir / f"{name}.yaml", steps)
        contestants.append({"name": name, "model": f"scripted:{name}.yaml", "strategy": "minimal-fix"})
    raw = spec_dict(
        calc_repo, contestants, limits={"max_parallel": 7}, sandbox={"command_timeout_s": 4, "max_processes": 64}
    )
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec_from_dict(raw, base_dir=arena_dir))
        arena = engine.store.arena(arena_id)
    finally:
        engine.shutdown()

    assert arena.status == "completed"
    rows = {c.name: c for c in arena.contestants}
    for row in rows.values():  # every attacker ends cleanly, having submitted
        assert (row.status, row.exit_status) == ("completed", "Submitted"), (row.name, row.error)
    seen = {name: observations(row.trajectory_path)[0] for name, row in rows.items()}

    assert not outside.exists() and not Path("/etc/arena-pwned").exists() and not Path("/usr/arena-pwned").exists()
    assert not (settings.data_dir / "pwned").exists()
    assert home_secret.read_text() not in seen["read-home"]["raw_output"]
    assert "No such file or directory" in seen["read-home"]["raw_output"]
    assert env_secret not in Path(rows["read-env"].trajectory_path).read_text()
    assert "secret=\n" in seen["read-env"]["raw_output"]
    assert accepted == [] and "rc=1" in seen["connect"]["raw_output"]
    assert "Resource temporarily unavailable" in seen["fork-bomb"]["raw_output"]
    assert int(seen["fork-bomb"]["raw_output"].split("forked ")[1]) < 64
    assert seen["sleeper"]["returncode"] == 124 and "timed out after 4 s" in seen["sleeper"]["exception_info"]
    assert seen["flood"]["truncated_bytes"] > 99_000_000
    assert Path(rows["flood"].trajectory_path).stat().st_size < 1_000_000
    # Nothing a sandbox started outlives its command: no live process of any contestant uid remains
    # (zombies wait for this machine's PID 1 to reap them; they run nothing).
    for row in rows.values():
        ps = subprocess.run(
            ["ps", "-o", "stat=,cmd=", "-u", str(sandbox_uid(arena_id, row.name))], capture_output=True, text=True
        )
        assert [line for line in ps.stdout.splitlines() if not line.startswith("Z")] == []
    # The patches hold nothing of the attacks (all writes outside the workspace failed).
    assert all(Path(r.patch_path).read_text() == "" for r in rows.values())
