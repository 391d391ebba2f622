"""A throwaway PostgreSQL server for tests and benchmarks: initdb in a temp dir, started on a free port, removed after.

PostgreSQL comes from apt (`make test` installs it as root); initdb refuses root, so as root it runs as `postgres`.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def as_postgres() -> list[str]:
    """The prefix that runs a PostgreSQL tool as the `postgres` user when we are root (else nothing)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def throwaway_postgres(max_connections: int = 100) -> Iterator[str]:
    """A fresh server with an `arena` database (user arena, trust auth, fsync off); yields its SQLAlchemy URL.

    Raises:
        FileNotFoundError: PostgreSQL is not installed (as root: apt-get install postgresql).
    """
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError(
            "PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)"
        )
    root = Path(tempfile.mkdtemp(prefix="arena-pg-"))  # a dir of its own: the postgres user must reach it
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data, run_as = root / "data", as_postgres()
    subprocess.run(
        [*run_as, bindir / "initdb", "-D", data, "-A", "trust", "-U", "arena"], check=True, capture_output=True
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections={max_connections}"
    subprocess.run(
        [*run_as, bindir / "pg_ctl", "-D", data, "-o", options, "-w", "-l", root / "log", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*run_as, bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "arena", "arena"], check=True
        )
        yield f"postgresql+psycopg://arena@127.0.0.1:{port}/arena"
    finally:
        subprocess.run([*run_as, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
