"""Operations: JSON logs with the ids of what runs and no secret in them, and /health for the app and the workers.

Canaries: fake secrets set in the environment and planted in a job's arguments reach the real `arena worker`'s
log; none may come out, while the arena, contestant, job and worker ids do. Health is read from a real PostgreSQL
before a worker runs (a job waits, no worker seen), while one runs (GET /health) and when the database is gone (503).
"""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from arena import ops
from arena.queue.health import NO_QUEUE, NO_QUEUE_YET, serving_health
from tests.app.conftest import app, data, free_port, texts  # noqa: F401  (data: the app's fixture)
from tests.conftest import spec_dict, write_steps
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: a throwaway PostgreSQL server)
from tests.test_queue import FIX, ROOT, SUBMIT, cli, detach, ended, queue_env, wait_for  # noqa: F401

CANARIES = {
    "ARENA_API_KEY": "canary-arena-api-key-5f3a9c",
    "GITHUB_TOKEN": "ghp_canaryGithubToken0123456789abcdef",
    "E2B_API_KEY": "e2b_canary_6c1d8e2f9a",
    "ARENA_WEBHOOK_SECRET": "canary-webhook-secret-77aa",
    "BILLING_DB_PASSWORD": "canary-hunter2-password",
}
BEARER = "canaryBearer.abc-123_XYZ"
URL_PASSWORD = "canaryUrlPass42"
GHS = "ghs_canaryInstallationToken0123456789"
SK = "sk-proj-canaryOpenAIKey0123456789"
PLANTED = [*CANARIES.values(), BEARER, URL_PASSWORD, GHS, SK]


def planted_text() -> str:
    """Every shape of secret in one string, as an exception message or a job argument might carry them."""
    return (
        f"key {CANARIES['ARENA_API_KEY']} Authorization: Bearer {BEARER} "
        f"https://bob:{URL_PASSWORD}@git.example.com/r.git {GHS} {SK} {CANARIES['BILLING_DB_PASSWORD']}"
    )


# -- redaction and the JSON lines, in this process ---------------------------------------------------------------------


def test_every_shape_of_secret_is_redacted_and_ordinary_text_is_not(monkeypatch):
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FEATURE_KEY", "1")  # too short to be a secret: left alone
    assert ops.redact(planted_text()) == (
        "key [redacted] Authorization: Bearer [redacted] https://bob:[redacted]@git.example.com/r.git "
        "[redacted] [redacted] [redacted]"
    )
    assert ops.redact("{'Authorization': 'token abcdef123456'}") == "{'Authorization': 'token [redacted]'}"
    assert ops.redact("push with github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstu") == "push with [redacted]"
    assert ops.redact(f"E2B said no to {CANARIES['E2B_API_KEY']}") == "E2B said no to [redacted]"
    ordinary = "task-runner ask-me step 1 of 10: postgresql+psycopg://arena@127.0.0.1:5432/db, 1 + 1"
    assert ops.redact(ordinary) == ordinary


@pytest.fixture
def json_log(monkeypatch):
    """The root logger writing JSON lines into a buffer, redaction installed, as `arena worker` configures it."""
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ARENA_LOG_FORMAT", "json")
    before, level = logging.getLogRecordFactory(), logging.getLogger().level
    handler = ops.configure_logging(worker="host:123")
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)
    logging.setLogRecordFactory(before)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_the_ids_bound_and_no_secret(json_log):
    log = logging.getLogger("arena.queue")
    with ops.bound(arena_id="3f9c2a1b", contestant="fixer", job_id=7):
        log.info("contestant %s/%s: %s", "3f9c2a1b", "fixer", planted_text())
        try:
            raise RuntimeError(f"git push failed: {planted_text()}")
        except RuntimeError:
            log.exception("publishing %s failed", {"Authorization": f"Bearer {BEARER}"})
    log.warning("outside any job")
    first, second, third = lines(json_log)
    assert {k: first[k] for k in ("level", "logger", "arena_id", "contestant", "job_id", "worker")} == {
        "level": "INFO",
        "logger": "arena.queue",
        "arena_id": "3f9c2a1b",
        "contestant": "fixer",
        "job_id": 7,
        "worker": "host:123",
    }
    assert first["time"].endswith("Z") and "[redacted]" in first["message"]
    assert "RuntimeError: git push failed" in second["exception"] and "[redacted]" in second["exception"]
    assert "arena_id" not in third and third["worker"] == "host:123"
    assert not [s for s in PLANTED if s in json_log.getvalue()]


def test_records_are_redacted_for_every_handler_and_formatters_that_read_args_keep_working(json_log):
    """uvicorn's access log formats from record.args: the path's token goes, the status code stays a number."""
    from uvicorn.logging import AccessFormatter

    access = io.StringIO()
    handler = logging.StreamHandler(access)
    handler.setFormatter(AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s", use_colors=False))
    uvicorn_log = logging.getLogger("uvicorn.access.test")
    uvicorn_log.addHandler(handler)
    uvicorn_log.propagate = False
    try:
        uvicorn_log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/hook?token={GHS}&key={SK}", "1.1", 200)
    finally:
        uvicorn_log.removeHandler(handler)
    shown = access.getvalue()
    assert "GET /hook?token=[redacted]&key=[redacted] HTTP/1.1" in shown and "200" in shown
    assert GHS not in shown and SK not in shown


def test_text_lines_are_redacted_too(monkeypatch):
    monkeypatch.delenv("ARENA_LOG_FORMAT", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", CANARIES["GITHUB_TOKEN"])
    before, level = logging.getLogRecordFactory(), logging.getLogger().level
    handler = ops.configure_logging()
    handler.setStream(buffer := io.StringIO())
    try:
        logging.getLogger("arena.publish").warning("push refused for %s", f"https://x:{CANARIES['GITHUB_TOKEN']}@h/r")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
        logging.setLogRecordFactory(before)
    assert buffer.getvalue().endswith(" arena.publish WARNING push refused for https://x:[redacted]@h/r\n")


def test_a_bad_log_format_is_refused_by_arena_worker(tmp_path):
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "ARENA_LOG_FORMAT": "xml"}
    done = cli(env, "worker")
    assert done.returncode == 2
    assert "ARENA_LOG_FORMAT='xml' is neither text nor json" in done.stderr


# -- health without a queue, and with no database ------------------------------------------------------------------


def test_on_sqlite_health_says_there_is_no_queue(tmp_path):
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("ARENA_DATABASE_URL", None)
    done = cli(env, "health", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["database"], report["backend"], report["note"]) == (True, "ok", "sqlite", NO_QUEUE)
    assert report["queue"] is None and report["workers"] is None


def test_health_is_503_when_the_database_does_not_answer(tmp_path):
    closed = f"postgresql+psycopg://arena:{URL_PASSWORD}@127.0.0.1:{free_port()}/arena"
    with serving_health(closed, "127.0.0.1", 0, worker="host:1") as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url, timeout=30)
        assert refused.value.code == 503
        report = json.loads(refused.value.read())
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url.replace("/health", "/nope"), timeout=30)
        assert missing.value.code == 404
    assert (report["ok"], report["database"], report["worker"]) == (False, "error", "host:1")
    assert "OperationalError" in report["error"] and URL_PASSWORD not in json.dumps(report)

    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "ARENA_DATABASE_URL": closed}
    done = cli(env, "health")
    assert done.returncode == 1 and done.stdout.startswith("database error: postgresql+psycopg://arena:***@")


def test_a_health_port_taken_is_refused_with_what_to_do():
    import socket

    from arena.errors import UserError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = f"cannot serve /health on 127.0.0.1:{port}.*choose another --health-port"
        with pytest.raises(UserError, match=refused), serving_health("sqlite://", "127.0.0.1", port):
            pass


# -- the real worker on PostgreSQL -------------------------------------------------------------------------------------


def get_health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except OSError:  # not listening yet
        return 0, {}


def test_a_worker_logs_json_with_ids_and_no_secret_and_health_follows_the_queue(
    queue_env,  # noqa: F811
    tmp_path,
    calc_repo,
    arena_dir,
):
    env, workers = queue_env
    env |= CANARIES | {"ARENA_LOG_FORMAT": "json"}
    empty = json.loads(cli(env, "health", "--json").stdout)
    assert (empty["ok"], empty["note"], empty["workers"]) == (True, NO_QUEUE_YET, [])

    write_steps(
        arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"thought": "done", "commands": [SUBMIT]}]
    )
    (arena_dir / "arena.yaml").write_text(
        yaml.safe_dump(spec_dict(calc_repo, [{"name": "fixer", "model": "scripted:fix.yaml"}]))
    )
    arena_id = detach(env, arena_dir / "arena.yaml")
    time.sleep(1.2)
    waiting = cli(env, "health", "--json")
    assert waiting.returncode == 0, waiting.stderr
    report = json.loads(waiting.stdout)
    assert report["queue"] == {"todo": 1, "doing": 0, "by_queue": {"arenas": {"todo": 1, "doing": 0}}}
    assert report["oldest_queued_s"] >= 1 and report["workers"] == [] and report["note"] is None
    assert "1 waiting, 0 running; the oldest has waited" in cli(env, "health").stdout

    port = free_port()
    out = open(tmp_path / "worker-a.log", "w")  # noqa: SIM115 (the process keeps it)
    worker = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "worker", "--concurrency", "2", "--health-port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers.append(worker)
    url = f"http://127.0.0.1:{port}/health"
    status, seen = wait_for(lambda: (r := get_health(url))[1].get("workers") and r, 60, "a worker seen", tmp_path)
    assert status == 200 and seen["worker"].endswith(f":{worker.pid}")
    assert seen["workers"][0]["last_heartbeat_s"] < 10 and seen["stalled_workers"] == []
    row = wait_for(lambda: ended(env, arena_id), 180, "the arena to end", tmp_path)
    assert row.status == "completed", row.error
    drained = wait_for(lambda: (r := get_health(url)[1])["queue"]["todo"] == 0 and r, 60, "the queue drained", tmp_path)
    assert drained["oldest_queued_s"] is None and len(drained["workers"]) == 1

    # canaries through a real job: its arguments and the error it raises go through procrastinate's log lines
    from arena.config import Settings
    from arena.queue import jobs

    app_ = jobs.queue_app(Settings(data_dir=tmp_path / "data", database_url=env["ARENA_DATABASE_URL"]))
    with app_.open():
        jobs._defer(app_, "judge", "judge/canary", arena_id=planted_text())
    wait_for(lambda: "no arena with id" in (tmp_path / "worker-a.log").read_text(), 60, "the canary job", tmp_path)
    time.sleep(1)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)

    text = (tmp_path / "worker-a.log").read_text()
    assert [s for s in PLANTED if s in text] == []
    records = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    name = f"{seen['worker']}"
    assert {r.get("worker") for r in records} == {name}
    contestant = [r for r in records if r.get("contestant") == "fixer"]
    assert contestant and all(r["arena_id"] == arena_id and isinstance(r["job_id"], int) for r in contestant)
    assert any(r.get("worker_id") == seen["workers"][0]["id"] for r in records)  # /health's id, in the logs
    failed = [r for r in records if "exception" in r]  # "ended with status: Error, to retry", with the traceback
    assert failed and all("[redacted]" in r["exception"] and "NotFound" in r["exception"] for r in failed)
    assert failed[-1]["arena_id"] == (
        "key [redacted] Authorization: Bearer [redacted] https://bob:[redacted]@git.example.com/r.git "
        "[redacted] [redacted] [redacted]"
    )


def test_the_health_page_shows_the_queue(queue_env, data, calc_repo, arena_dir, monkeypatch):  # noqa: F811
    """A job waits with no worker running: the Queue section counts it and says to start one; on SQLite it says
    arenas run where they are launched."""
    from app import resources

    at = app("health")
    assert NO_QUEUE in texts(at)

    env, _ = queue_env
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    (arena_dir / "arena.yaml").write_text(
        yaml.safe_dump(spec_dict(calc_repo, [{"name": "idle", "model": "scripted:idle.yaml"}]))
    )
    detach(env, arena_dir / "arena.yaml")
    resources.engine().shutdown()
    resources.engine.clear()
    monkeypatch.setenv("ARENA_DATABASE_URL", env["ARENA_DATABASE_URL"])
    at = app("health")
    assert {m.label: m.value for m in at.metric}["waiting"] == "1"
    assert any("no worker is running: start `arena worker`" in w.value for w in at.warning)
