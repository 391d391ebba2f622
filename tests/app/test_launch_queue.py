"""The Launch page on PostgreSQL launches through the workers' queue (issue 12): the page returns at once with the
arena `queued` and owned by the queue, says that a worker must be running, and `arena worker` processes run it; Cancel
on Live reaches an arena nobody has started and the worker running a contestant. Real PostgreSQL (a database per
test), real workers and bubblewrap sandboxes, scripted contestants, the pages under AppTest. On SQLite the app keeps
its own pool (test_launch.py and the others, unchanged); ARENA_APP_RUNS chooses for a PostgreSQL on one machine."""

import time

import pytest

from app.components.launch_view import WHERE
from app.resources import PROCESS, QUEUE
from arena.storage import QUEUE_OWNER, Store
from tests.app.conftest import app, texts
from tests.conftest import spec_dict, write_steps
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: a throwaway PostgreSQL server)
from tests.test_queue import FIX, SUBMIT, ended, queue_env, start_worker, wait_for  # noqa: F401  (queue_env: a fixture)


@pytest.fixture
def on_postgres(queue_env, monkeypatch):  # noqa: F811
    """This test's database and data dir for the app in this process (AppTest), as its workers see them."""
    from app import queries, resources

    env, _ = queue_env
    for name in ("ARENA_DATA_DIR", "ARENA_DATABASE_URL", "ARENA_LEASE_S"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("ARENA_APP_RUNS", raising=False)
    monkeypatch.delenv("ARENA_ALLOW_UNSAFE_LOCAL", raising=False)
    resources.engine.clear()
    queries.arenas.clear()
    yield queue_env
    resources.engine().shutdown()
    resources.engine.clear()


def launched(spec: dict) -> tuple[str, object]:
    """Press Launch on the page with `spec` as its preset (absolute paths: no folder to name); (arena id, the page)."""
    at = app()
    at.session_state["launch_preset"] = spec
    at.switch_page("../pages/launch.py").run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at.session_state["arena_id"], at


def cancel_on_live(arena_id: str) -> None:
    at = app()
    at.session_state["arena_id"] = arena_id
    at.switch_page("../pages/live.py").run()
    at.button(key=f"cancel-{arena_id}").click().run()
    assert not at.exception, at.exception


def test_launch_queues_for_the_workers_and_cancel_reaches_them(on_postgres, tmp_path, calc_repo, arena_dir):
    env, _ = on_postgres
    store = Store(env["ARENA_DATABASE_URL"])
    fix = write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    idle = write_steps(arena_dir / "idle.yaml", [{"thought": "look", "commands": ["ls"]}, {"commands": [SUBMIT]}])
    sleepy = write_steps(arena_dir / "sleepy.yaml", [{"thought": "wait", "commands": ["sleep 60"]}])
    quick = spec_dict(
        calc_repo, [{"name": "fixer", "model": f"scripted:{fix}"}, {"name": "idler", "model": f"scripted:{idle}"}]
    )
    slow = spec_dict(calc_repo, [{"name": "sleepy", "model": f"scripted:{sleepy}"}], sandbox={"command_timeout_s": 90})

    quick_id, at = launched(quick)  # it returns with the arena queued: nothing runs in this process
    assert f"An arena launched here {WHERE[QUEUE]}" in texts(at)
    assert at.title[0].value == "Launch an arena"  # the page stays, and says what the arena waits for
    assert f"Arena `{quick_id}` is queued. A worker must be running to run it: `arena worker`" in at.success[0].value
    row = store.arena(quick_id)
    assert (row.status, row.owner) == ("queued", QUEUE_OWNER)
    assert {c.status for c in row.contestants} == {"queued"}
    slow_id, _ = launched(slow)
    never_id, _ = launched(quick)

    cancel_on_live(never_id)  # no worker yet: its contestants end at once, never started
    assert {c.name: c.status for c in store.arena(never_id).contestants} == {"fixer": "cancelled", "idler": "cancelled"}

    start_worker(on_postgres, tmp_path, "a", concurrency=3)
    row = wait_for(lambda: ended(env, quick_id), 180, "the launched arena to end", tmp_path)
    assert row.status == "completed", row.error
    assert {c.name: (c.status, c.exit_status) for c in row.contestants} == {
        "fixer": ("completed", "Submitted"),
        "idler": ("completed", "Submitted"),
    }
    assert store.latest_verdict(quick_id).winner == "fixer"

    wait_for(lambda: store.arena(slow_id).contestants[0].status == "running", 120, "the slow contestant", tmp_path)
    time.sleep(1)  # inside its sleep
    cancel_on_live(slow_id)
    asked = time.monotonic()
    wait_for(lambda: store.arena(slow_id).contestants[0].status == "cancelled", 5, "the cancel to land", tmp_path)
    assert time.monotonic() - asked < 5  # the worker's watcher stopped it, well before its 60 s sleep
    assert wait_for(lambda: ended(env, slow_id), 60, "the slow arena to end", tmp_path).status == "cancelled"
    assert wait_for(lambda: ended(env, never_id), 60, "the cancelled arena to end", tmp_path).status == "cancelled"


def test_a_postgres_app_on_one_machine_keeps_its_own_pool(on_postgres, monkeypatch, calc_repo, arena_dir):
    from app.resources import engine

    monkeypatch.setenv("ARENA_APP_RUNS", "process")
    fix = write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    arena_id, at = launched(spec_dict(calc_repo, [{"name": "fixer", "model": f"scripted:{fix}"}]))
    assert at.title[0].value == "Live"  # as on SQLite: Live follows it
    assert engine().store.arena(arena_id).owner != QUEUE_OWNER
    assert engine().wait(arena_id, timeout=120)  # this process ran it, no worker
    assert engine().store.arena(arena_id).status == "completed"
    assert f"An arena launched here {WHERE[PROCESS]}: ARENA_APP_RUNS=process" in texts(app("health"))


# -- SQLite, and ARENA_APP_RUNS mistyped: nothing queued, said where the arena would run ------------------------------


def test_on_sqlite_the_app_runs_arenas_itself_and_says_so(data, monkeypatch):
    monkeypatch.delenv("ARENA_APP_RUNS", raising=False)
    at = app("launch")
    assert f"An arena launched here {WHERE[PROCESS]}: this database has no workers' queue" in texts(at)
    assert not next(b for b in at.button if b.label == "Launch").disabled
    assert f"An arena launched here {WHERE[PROCESS]}" in texts(app("health"))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("queue", "ARENA_APP_RUNS=queue needs PostgreSQL (the workers share it) and the database is sqlite"),
        ("workers", "ARENA_APP_RUNS='workers' is not one of auto, queue, process; fix or unset it"),
    ],
)
def test_an_arena_app_runs_it_cannot_do_turns_launch_off_and_says_why(data, monkeypatch, value, said):
    monkeypatch.setenv("ARENA_APP_RUNS", value)
    at = app("launch")
    assert [e.value for e in at.error if said in e.value], [e.value for e in at.error]
    assert next(b for b in at.button if b.label == "Launch").disabled


def test_judge_again_of_an_arena_the_workers_ran_goes_to_a_worker(on_postgres, tmp_path, calc_repo, arena_dir):
    """Results' Judge again of a queued arena defers the rejudge job: a worker stores the new verdict."""
    env, _ = on_postgres
    store = Store(env["ARENA_DATABASE_URL"])
    fix = write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    arena_id, _ = launched(spec_dict(calc_repo, [{"name": "fixer", "model": f"scripted:{fix}"}]))
    start_worker(on_postgres, tmp_path, "a")
    wait_for(lambda: ended(env, arena_id), 180, "the arena to end", tmp_path)
    first = store.latest_verdict(arena_id)
    at = app()
    at.session_state["arena_id"] = arena_id
    at.switch_page("../pages/results.py").run()
    next(b for b in at.button if b.label == "Judge again").click().run()
    assert not at.exception, at.exception
    assert "Judging again on a worker" in texts(at)
    newer = wait_for(
        lambda: (v := store.latest_verdict(arena_id)) is not None and v.id != first.id and v, 120, "a new verdict"
    )
    assert newer.winner == "fixer"
