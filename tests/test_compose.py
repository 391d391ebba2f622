"""docker-compose.prod.yml, read and run. Docker cannot run containers here, so:

1. The file is read as YAML and its promises checked: one image built once, no secret in the file or the image,
   healthchecks, the migration before everything, worker replicas, every variable in .env.example, commands and
   flags the CLI knows. `docker compose config` runs too where the plugin exists.
2. Its services start as plain processes, each with the command and environment the file gives it: ${...} filled
   from a test .env as Compose fills them, service hosts -> 127.0.0.1, container ports -> free ports, volumes ->
   folders. PostgreSQL (initdb with the file's user, password and database), the migration once, the app, the workers
   (`deploy.replicas` of them), the webhook receiver; six arenas run through them while a worker is killed with -9
   mid-contestant and a third takes over.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import text

from arena.cli import COMMANDS, build_parser
from arena.config import SETTINGS
from arena.storage import Store
from tests.conftest import spec_dict, write_steps
from tests.fakes.postgres import pg_bin

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.prod.yml"
ENV_EXAMPLE = ROOT / ".env.example"
ARENA_SERVICES = {"migrate", "app", "worker", "webhooks"}
"""The services that run the arena image."""
HEALTHCHECKED = {"db", "app", "webhooks", "minio"}
"""migrate exits; a worker has no port (procrastinate's heartbeats are its health)."""
NOT_PASSED = {"ARENA_SHARED_TRAJECTORIES": "the notebooks' reference trajectories; no notebook runs in the image"}
"""Settings the arena services are not given, and why."""
POSTGRES_PORT = 5432
"""Where the postgres image listens."""
SECRET_NAME = re.compile(r"(_KEY|_TOKEN|_SECRET|PASSWORD)$")
REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}")
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
"""Compose's interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME."""
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
SLOW_S = 10
KILL_AFTER_S = 4
"""A worker is killed this long after it claimed a slow contestant: inside its `sleep SLOW_S`."""


# -- reading the file as Compose does ---------------------------------------------------------------------------------


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # PyYAML resolves the anchors and aliases, as Compose does


def interpolate(value, shell: dict[str, str]):
    """`value` with every ${...} filled from `shell` (the shell and .env); a missing required variable raises."""
    if isinstance(value, dict):
        return {k: interpolate(v, shell) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, shell) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match) -> str:
        if m["escaped"]:
            return "$"
        name, op, arg = m["name"] or m["bare"], m["op"], m["arg"]
        got = shell.get(name)
        if op in (":?", "?") and (got is None or (op == ":?" and got == "")):
            raise ValueError(f"{name}: {arg}")
        if (op == ":-" and not got) or (op == "-" and got is None):
            return arg
        return got or ""

    filled = VARIABLE.sub(one, value)
    assert "${" not in filled, f"interpolation this test does not know in {value!r}"
    return filled


def referenced(value) -> set[str]:
    """Every variable a ${...} in `value` reads."""
    if isinstance(value, dict):
        return set().union(*(referenced(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(referenced(v) for v in value)) if value else set()
    if not isinstance(value, str):
        return set()
    return {m["name"] or m["bare"] for m in VARIABLE.finditer(value) if not m["escaped"]}


def passed_through(compose: dict) -> set[str]:
    """Variables listed without a value: Compose passes them from .env (or the shell) when set, else leaves them unset."""
    return {k for s in compose["services"].values() for k, v in (s.get("environment") or {}).items() if v is None}


def service_env(service: dict, shell: dict[str, str]) -> dict[str, str]:
    """The container's environment from the file: values interpolated; a variable without one only if `shell` has it."""
    env = {}
    for name, value in (service.get("environment") or {}).items():
        if value is None:
            if name in shell:
                env[name] = shell[name]
        else:
            env[name] = str(interpolate(value, shell))
    return env


def env_example() -> dict[str, str]:
    """{name: the value shown} for every variable .env.example names, set or commented out."""
    found = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M)
    return {name: value.strip() for name, value in found}


def shown(default) -> str:
    """A SETTINGS default as .env.example writes it."""
    if default is None:
        return ""
    if isinstance(default, bool):
        return "1" if default else "0"
    return f"{default:g}" if isinstance(default, float) else str(default)


def the_build(compose: dict) -> tuple[str, dict]:
    built = [(name, s["build"]) for name, s in compose["services"].items() if "build" in s]
    assert len(built) == 1, f"one build for every arena service, found {[n for n, _ in built]}"
    return built[0]


def workdir(compose: dict) -> str:
    return re.findall(r"^WORKDIR\s+(\S+)", the_build(compose)[1]["dockerfile_inline"], re.M)[-1]


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, container path) of each volume: a named volume, or a bind mount (./path)."""
    return [tuple(v.split(":")[:2]) for v in service.get("volumes") or []]


def published(service: dict) -> list[tuple[str, str, int]]:
    """(host address, host port, container port) of each published port."""
    out = []
    for p in interpolate(service.get("ports") or [], {}):
        host, host_port, container = str(p).rsplit(":", 2)
        out.append((host, host_port, int(container)))
    return out


# -- 1. the file ------------------------------------------------------------------------------------------------------


def test_the_services_are_all_there_and_start_in_order():
    services = load_compose()["services"]
    assert set(services) == {"db", "migrate", "app", "worker", "webhooks", "minio"}
    assert {n for n, s in services.items() if s.get("profiles")} == {"webhooks", "minio"}  # optional
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ARENA_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["depends_on"]["db"] == {"condition": "service_healthy"}, name
    assert {n for n, s in services.items() if "healthcheck" in s} == HEALTHCHECKED
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["privileged"] is True and services["app"]["privileged"] is True  # bubblewrap
    assert "privileged" not in services["webhooks"]
    for name, service in services.items():
        for host, _, _ in published(service):
            assert host == "127.0.0.1", f"{name} publishes beyond this host: {service['ports']}"
    assert [c for _, _, c in published(services["app"])] == [8501]


def test_one_image_is_built_once_for_every_arena_service_and_holds_no_secret():
    compose = load_compose()
    services = compose["services"]
    images = {services[n]["image"] for n in ARENA_SERVICES}
    assert len(images) == 1, images
    name, build = the_build(compose)
    assert name in ARENA_SERVICES
    assert set(build) == {"context", "dockerfile_inline"}, "no build args or build secrets"
    dockerfile = build["dockerfile_inline"]
    assert not re.search(r"^\s*(ARG|ENV)\b", dockerfile, re.M), "nothing is configured at build time"
    sources = [s for line in re.findall(r"^COPY\s+(.+)$", dockerfile, re.M) for s in line.split()[:-1]]
    assert sources
    for source in sources:
        assert source not in (".", ".streamlit") and "secrets" not in source and not source.startswith(".env"), source
        tracked = subprocess.run(["git", "ls-files", source], cwd=ROOT, capture_output=True, text=True).stdout.split()
        assert tracked, f"COPY {source}: git tracks no such file, so it could be a local secret"
    for n, service in services.items():
        if n not in ARENA_SERVICES:
            assert re.fullmatch(r"[\w./${}:-]+:[\w.${}:-]+", service["image"]), f"{n}: pin the image's tag"
            assert not service["image"].endswith(":latest"), n


def test_no_secret_is_written_in_the_file():
    compose = load_compose()

    def check(where: str, name: str, value) -> None:
        if SECRET_NAME.search(name):
            assert value is None or REFERENCE.fullmatch(str(value)), f"{where} {name}: only a ${{...}} reference"
        literal = REFERENCE.sub("", str(value or ""))
        assert not re.search(r"://[^/@\s]*:[^/@\s]+@", literal), f"{where} {name}: a URL's password must be a reference"

    for service_name, service in compose["services"].items():
        for name, value in (service.get("environment") or {}).items():
            check(service_name, name, value)
    for name, value in compose.items():  # the x- extension blocks
        if name.startswith("x-") and isinstance(value, dict):
            for key, v in value.items():
                check(name, key, v)


def test_every_variable_is_in_env_example_with_its_default():
    compose = load_compose()
    used = referenced(compose) | passed_through(compose)
    example = env_example()
    assert sorted(used - set(example)) == [], "add them to .env.example"
    assert sorted(set(example) - used) == ["COMPOSE_PROFILES"], "stale entries in .env.example"
    defaults = {m["name"]: m["arg"] for m in VARIABLE.finditer(COMPOSE.read_text()) if m["op"] == ":-"}
    for name, default in defaults.items():
        assert example[name] == default, f".env.example shows {name}={example[name]}, the file's default is {default}"
    for name, setting in SETTINGS.items():
        if name in example:
            assert example[name] == shown(setting.default), f".env.example: {name}'s default is {setting.default}"
    assert example["ARENA_DB_PASSWORD"] == ""  # the one required variable, with no value to copy by mistake
    for name, value in example.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value"


def test_the_arena_services_get_every_setting():
    """Every setting in arena/config.py reaches the arena services (but those NOT_PASSED): a new one must be added."""
    compose = load_compose()
    for name in ARENA_SERVICES:
        env = compose["services"][name]["environment"]
        assert set(SETTINGS) - set(env) == set(NOT_PASSED), name
        fixed = {k for k, v in env.items() if v is not None and k in SETTINGS}
        # The rest keep the program's defaults; CLI runners install on the data volume, beside the data dir.
        assert fixed == {"ARENA_DATABASE_URL", "ARENA_DATA_DIR", "ARENA_TOOLS_DIR"}, name


def test_the_commands_are_real_cli_commands_with_real_flags():
    compose = load_compose()
    parser = build_parser()
    seen = set()
    for name in ARENA_SERVICES:
        argv = interpolate(compose["services"][name]["command"], {})
        assert argv[0] in ("arena", "streamlit"), name
        if argv[0] == "arena":
            try:
                args = parser.parse_args(argv[1:])
            except SystemExit:
                pytest.fail(f"{name}: `{' '.join(argv)}` is not a command `arena` accepts")
            assert args.command in COMMANDS
            seen.add(args.command)
        else:
            from streamlit import config

            assert argv[1] == "run" and (ROOT / argv[2]).is_file(), argv
            for flag in argv[3::2]:
                assert flag.startswith("--"), argv
                config.get_option(flag[2:])  # raises RuntimeError for an option streamlit does not have
    assert seen == {"db", "worker", "webhooks"}
    worker = parser.parse_args(interpolate(compose["services"]["worker"]["command"], {})[1:])
    assert worker.concurrency >= 1


def test_healthchecks_ask_the_port_each_service_listens_on():
    services = load_compose()["services"]
    app, webhooks = services["app"], services["webhooks"]
    port = app["command"][app["command"].index("--server.port") + 1]
    assert f"http://127.0.0.1:{port}/_stcore/health" in " ".join(app["healthcheck"]["test"])
    port = webhooks["command"][webhooks["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(webhooks["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_bind_mounts_land_where_the_app_reads_them():
    """`.streamlit/` is mounted over the image's own (config.toml) so a local secrets.toml is read, never copied."""
    compose = load_compose()
    app = compose["services"]["app"]
    assert ("./.streamlit", f"{workdir(compose)}/.streamlit") in mounts(app)
    assert "./.streamlit:/srv/arena/.streamlit:ro" in app["volumes"]
    for name, service in compose["services"].items():
        for source, target in mounts(service):
            if source.startswith("."):
                assert target == f"{workdir(compose)}/{source.removeprefix('./')}", (name, source, target)
            else:
                assert source in compose["volumes"], (name, source)


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    has_plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    if not has_plugin:
        pytest.skip(
            "no `docker compose` plugin here (`docker compose version` fails); the file is checked as YAML above"
        )
    compose = load_compose()
    names = referenced(compose) | passed_through(compose)
    env = {k: v for k, v in os.environ.items() if k not in names} | {"ARENA_DB_PASSWORD": "0123456789abcdef"}
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "--profile", "github"]
        + ["--profile", "minio", "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    resolved = json.loads(done.stdout)["services"]
    assert set(resolved) == set(compose["services"])
    assert resolved["worker"]["deploy"]["replicas"] == 2
    assert resolved["app"]["environment"].get("ARENA_LEASE_S") is None  # unset in .env: unset in the container


# -- 2. the services as processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The file's services as processes on this machine, each in a process group of its own; `close` ends them all."""

    PROGRAMS = {"arena": [sys.executable, "-m", "arena.cli"], "streamlit": [sys.executable, "-m", "streamlit"]}
    PORT_FLAGS, HOST_FLAGS = {"--port", "--server.port"}, {"--host", "--server.address"}

    def __init__(self, compose: dict, shell: dict[str, str], root: Path):
        self.compose, self.shell, self.root = compose, shell, root
        self.names = referenced(compose) | passed_through(compose)
        self.ports: dict[tuple[str, int], int] = {}
        """(service, container port) -> the port on 127.0.0.1"""
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        self.pg: tuple[list[str], Path, Path] | None = None

    def service(self, name: str) -> dict:
        return self.compose["services"][name]

    # what a container would see, made local
    def local(self, name: str, value: str) -> str:
        """Addresses: another service by name, or this one on its own loopback -> 127.0.0.1 and the test's port."""
        for (service, container), port in self.ports.items():
            value = re.sub(rf"\b{service}:{container}\b", f"127.0.0.1:{port}", value)
            if service == name:
                value = value.replace(f"127.0.0.1:{container}", f"127.0.0.1:{port}")
        return value

    def local_path(self, name: str, path: str) -> str:
        """A path in the container -> its volume's folder (shared), else a folder of this service's own filesystem."""
        for source, target in mounts(self.service(name)):
            host = ROOT / source if source.startswith(".") else self.root / "volumes" / source
            if path == target or path.startswith(target + "/"):
                host.mkdir(parents=True, exist_ok=True)
                return str(host) + path[len(target) :]
        return str(self.root / "fs" / name) + path

    def env(self, name: str) -> dict[str, str]:
        """This machine's environment less every variable the file names, plus the service's environment."""
        env = {k: v for k, v in os.environ.items() if k not in self.names}
        for key, value in service_env(self.service(name), self.shell).items():
            env[key] = self.local_path(name, value) if value.startswith("/") else self.local(name, value)
        return env

    def argv(self, name: str, argv: list[str]) -> list[str]:
        argv = interpolate(argv, self.shell)
        out = [*self.PROGRAMS.get(argv[0], [sys.executable] if argv[0] == "python" else [argv[0]])]
        rest = iter(argv[1:])
        for arg in rest:
            out.append(self.local(name, arg))
            if arg in self.PORT_FLAGS:
                container = int(next(rest))
                self.ports[(name, container)] = self.ports.get((name, container)) or free_port()
                out.append(str(self.ports[(name, container)]))
            elif arg in self.HOST_FLAGS:
                next(rest)
                out.append("127.0.0.1")
        return out

    # starting and stopping
    def start(self, name: str, label: str | None = None) -> subprocess.Popen:
        label = label or name
        with (self.logs / f"{label}.log").open("w") as log:
            process = subprocess.Popen(
                self.argv(name, self.service(name)["command"]),
                env=self.env(name),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # -9 to the group takes the process and its sandboxes, as a dead host would
            )
        self.processes.append((label, process))
        return process

    def run_once(self, name: str) -> subprocess.CompletedProcess:
        argv = self.argv(name, self.service(name)["command"])
        return subprocess.run(argv, env=self.env(name), cwd=ROOT, capture_output=True, text=True, timeout=120)

    def healthcheck(self, name: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        kind, *test = self.service(name)["healthcheck"]["test"]
        argv = ["sh", "-c", test[0]] if kind == "CMD-SHELL" else self.argv(name, test)
        env = self.env(name) | (extra_env or {})
        return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)

    def start_db(self) -> None:
        """PostgreSQL as the db service describes it: its user, database and password (checked on TCP)."""
        bindir = pg_bin()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)")
        db = service_env(self.service("db"), self.shell)
        pgroot = Path(tempfile.mkdtemp(prefix="arena-compose-pg-"))
        as_user: list[str] = []
        (pgroot / "password").write_text(db["POSTGRES_PASSWORD"])
        if os.geteuid() == 0:  # initdb refuses root
            shutil.chown(pgroot, "postgres")
            shutil.chown(pgroot / "password", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        self.pg = (as_user, bindir, pgroot)
        port = free_port()
        data = pgroot / "data"
        initdb = [bindir / "initdb", "-D", data, "-U", db["POSTGRES_USER"], "--pwfile", pgroot / "password"]
        subprocess.run(
            [*as_user, *initdb, "--auth-local", "trust", "--auth-host", "scram-sha-256"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {pgroot} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*as_user, bindir / "pg_ctl", "-D", data, "-o", options, "-w", "-l", pgroot / "log", "start"],
            check=True,
            capture_output=True,
        )
        createdb = [bindir / "createdb", "-h", pgroot, "-p", str(port), "-U", db["POSTGRES_USER"], db["POSTGRES_DB"]]
        subprocess.run([*as_user, *createdb], check=True, capture_output=True)
        self.ports[("db", POSTGRES_PORT)] = port
        ready = self.healthcheck("db", {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PATH": f"{bindir}:/usr/bin:/bin"})
        assert ready.returncode == 0, ready.stdout + ready.stderr

    def tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        """Every service process, killed with its group (PostgreSQL stays up)."""
        for _, process in self.processes:
            if process.returncode is None:  # not reaped yet, so its group id is still its own
                with contextlib.suppress(ProcessLookupError):  # the group has ended already
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def close(self) -> None:
        self.stop()
        if self.pg is not None:
            as_user, bindir, pgroot = self.pg
            subprocess.run(
                [*as_user, bindir / "pg_ctl", "-D", pgroot / "data", "-m", "immediate", "stop"], capture_output=True
            )
            shutil.rmtree(pgroot, ignore_errors=True)


def wait_for(stack: Stack, predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{stack.tails()}")


def answers(url: str, body: bytes | None = None) -> bool:
    try:
        got = requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return got.status_code == 200 and (body is None or got.content == body)


@pytest.fixture
def stack(tmp_path, fake_github):
    """The test's .env: a database password, a quick lease, a GitHub token on the fake GitHub, a webhook secret."""
    shell = {
        "ARENA_DB_PASSWORD": secrets.token_hex(12),
        "ARENA_LEASE_S": "6",
        "ARENA_WORKER_CONCURRENCY": "2",
        "GITHUB_TOKEN": fake_github.add_token(),
        "GITHUB_API_URL": fake_github.api_url,
        "ARENA_WEBHOOK_SECRET": secrets.token_hex(16),
    }
    running = Stack(load_compose(), shell, tmp_path / "stack")
    try:
        yield running
    finally:
        running.close()


@pytest.mark.timeout(600)
def test_the_services_run_arenas_and_survive_a_dead_worker(stack, tmp_path, calc_repo, arena_dir):
    stack.start_db()
    url = stack.env("app")["ARENA_DATABASE_URL"]
    wrong = url.replace(stack.shell["ARENA_DB_PASSWORD"], "not-the-password")
    with pytest.raises(Exception, match="password authentication failed"):
        Store(wrong).now()  # the password in the file's URL is what lets the services in

    migrated = stack.run_once("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database at" in migrated.stdout

    app = stack.start("app")
    replicas = stack.service("worker")["deploy"]["replicas"]
    workers = [stack.start("worker", f"worker-{i}") for i in range(replicas)]
    webhooks = stack.start("webhooks")
    app_url = f"http://127.0.0.1:{stack.ports[('app', 8501)]}"
    hooks_url = f"http://127.0.0.1:{stack.ports[('webhooks', 8090)]}"
    wait_for(stack, lambda: answers(f"{app_url}/_stcore/health", b"ok"), 90, "the app's /_stcore/health")
    wait_for(stack, lambda: answers(f"{hooks_url}/healthz"), 90, "the receiver's /healthz")
    for name in ("app", "webhooks"):
        checked = stack.healthcheck(name)
        assert checked.returncode == 0, f"{name}'s healthcheck: {checked.stderr}"
    assert app.poll() is None and webhooks.poll() is None

    write_steps(
        arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"thought": "done", "commands": [SUBMIT]}]
    )
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    write_steps(
        arena_dir / "slow.yaml",
        [{"thought": "think long", "commands": [f"sleep {SLOW_S}", FIX]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    expected: dict[str, str] = {}
    for i in range(6):
        winner, steps = ("slow", "slow.yaml") if i % 2 else ("fixer", "fix.yaml")
        contestants = [{"name": winner, "model": f"scripted:{steps}"}, {"name": "idler", "model": "scripted:idle.yaml"}]
        spec = arena_dir / f"arena-{i}.yaml"
        spec.write_text(yaml.safe_dump(spec_dict(calc_repo, contestants, limits={"time_budget_s": 300})))
        queued = subprocess.run(
            stack.argv("app", ["arena", "run", str(spec), "--detach", "--json"]),
            env=stack.env("app"),  # as an operator would in the app's container
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert queued.returncode == 0, queued.stderr
        expected[json.loads(queued.stdout)["arena_id"]] = winner

    store = Store(url)
    by_pid = {f"{socket.gethostname()}:{w.pid}": w for w in workers}

    def slow_claimed_just_now():
        """A slow contestant a worker claimed in the last KILL_AFTER_S (an older one may be about to end)."""
        now = store.now()
        for arena_id in expected:
            for c in store.arena(arena_id).contestants:
                claim = (c.history or [{}])[-1]
                if c.name == "slow" and c.status == "running" and claim.get("worker") in by_pid:
                    age = (now - datetime.fromisoformat(claim["at"])).total_seconds()
                    if age < KILL_AFTER_S:
                        return arena_id, claim["worker"], age
        return None

    victim_arena, dead, age = wait_for(stack, slow_claimed_just_now, 180, "a slow contestant claimed by a worker")
    time.sleep(KILL_AFTER_S - age)  # inside its sleep
    os.killpg(by_pid[dead].pid, signal.SIGKILL)
    by_pid[dead].wait()
    stack.start("worker", f"worker-{replicas}")

    def all_ended():
        rows = [store.arena(a) for a in expected]
        return rows if all(r.status not in ("queued", "running") for r in rows) else None

    rows = wait_for(stack, all_ended, 300, "six arenas to end")
    for row in rows:
        assert row.status == "completed", (row.id, row.error, stack.tails())
        assert store.latest_verdict(row.id).winner == expected[row.id], row.id
        assert all(c.status == "completed" and c.exit_status == "Submitted" for c in row.contestants), row.id
    rerun = next(c for c in store.arena(victim_arena).contestants if c.name == "slow")
    assert rerun.attempts == 2, (dead, rerun.history, stack.tails())
    taken_over = [h for h in rerun.history if h["event"] == "rerun" and dead in h["note"]]
    assert len(taken_over) == 1 and taken_over[0]["worker"] != dead

    with store.engine.connect() as conn:
        events = list(conn.execute(text("SELECT kind, agent, arena_id, contestant FROM reputation_events")))
    grants = [agent for kind, agent, _, _ in events if kind == "grant"]
    assert sorted(grants) == sorted(set(grants)) and len(grants) == 3  # fix, idle, slow: one grant each
    assert {agent for kind, agent, _, _ in events if kind == "escrow"} == set(grants)
    for arena_id, winner in expected.items():
        escrowed = {c for kind, _, a, c in events if kind == "escrow" and a == arena_id}
        released = {c for kind, _, a, c in events if kind in ("refund", "forfeit") and a == arena_id}
        assert escrowed == {winner, "idler"} and escrowed - released == {winner}, arena_id  # held until a merge

    # Another machine: the database, an empty data directory, none of the services' files (their volumes moved away).
    stack.stop()
    (stack.root / "volumes").rename(stack.root / "volumes-elsewhere")
    elsewhere = stack.env("app") | {"ARENA_DATA_DIR": str(tmp_path / "empty-data-dir")}

    def cli(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "arena.cli", *args]
        return subprocess.run(argv, env=elsewhere, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    for arena_id, winner in expected.items():
        shown = cli("show", arena_id, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["verdict"]["winner"] == winner
    store.engine.dispose()
    exported = cli("export", victim_arena, "--format", "patch")
    # The patch is read from PostgreSQL (arena/artifacts.py): the workers' volume is gone from this "machine".
    assert exported.returncode == 0, exported.stderr
    assert "+    return a + b" in exported.stdout
