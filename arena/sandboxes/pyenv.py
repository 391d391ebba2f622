"""The task's Python environment: one virtualenv per task, at the same path in every sandbox.

Debian's python3, the only one inside a sandbox, has no `python` and an externally managed,
read-only site, so SWE-bench-style `python -m pip install -e .` cannot work there. Prepare creates
`.venv` inside the checkout, from that python3, before the setup command runs; PATH puts its bin
first, so `python`, `python3` and `pip` are the task's. Living in the checkout, it is part of every
copy-on-write view exactly like the code (a contestant's installs stay in its own overlay), and the
absolute paths a venv bakes into its scripts and pyvenv.cfg hold in every sandbox. It is never part
of a patch (diff_script excludes it by name).
"""

import configparser
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

VENV_DIR = ".venv"
# Part of the local checkout key: a checkout prepared before the environment existed is not reused.
ENV_VERSION = "pyenv1"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PYTEST_NOTE = "arena: installed pytest into the task environment because the test command runs pytest"
NO_PYTHON_NOTE = "arena: no python3 inside the sandbox, so the task has no Python environment"
CREATE_FAILED = (
    "could not create the task's Python environment (python3 -m venv); see the setup log. "
    "On Debian/Ubuntu install the venv module with `apt-get install python3-venv`"
)
PYTEST_FAILED = (
    "the test command runs pytest, the task environment has none and `python -m pip install pytest` failed; "
    "see the setup log, or install pytest in the task's setup_command"
)
# What pip needs to find packages the way the host does. Credentials are never copied: contestants read it.
PIP_KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "cert")
_PYTEST = re.compile(r"(?<![\w.-])(?:pytest|py\.test)(?![\w-])")


def runs_pytest(test_command: str | None) -> bool:
    return bool(test_command and _PYTEST.search(test_command))


def create_script(venv: str) -> str:
    """Shell creating the venv from the sandbox's own python3 (never a `python3` the repository ships)."""
    v = shlex.quote(venv)
    return f"""export PATH={BASE_PATH}
if ! command -v python3 >/dev/null; then echo {shlex.quote(NO_PYTHON_NOTE)}; exit 0; fi
python3 -m venv {v} && echo "arena: created the task's Python environment {venv} ($(python3 --version))"
"""


def install_pytest_script() -> str:
    return "python -m pip install pytest"


def has_env(venv_on_host: Path) -> bool:
    return (venv_on_host / "bin" / "python").is_symlink() or (venv_on_host / "bin" / "python").exists()


def write_pip_conf(venv_on_host: Path, environ: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """Give the task environment the host's package indexes (a venv's own pip.conf); returns a log line.

    Inside a sandbox HOME is /tmp and the environment is empty, so the host user's pip.conf and PIP_*
    variables are invisible; /etc/pip.conf and /etc/xdg/pip are mounted and need no copy.
    """
    if not has_env(venv_on_host):
        return ""
    values, dropped = host_pip_options(os.environ if environ is None else environ, home or Path.home())
    lines = ["[global]"] + [f"{key} = {value}" for key, value in values.items()]
    (venv_on_host / "pip.conf").write_text("\n".join(lines) + "\n")
    note = f"arena: the task environment's pip.conf has the host's {', '.join(values) or 'no'} settings"
    if dropped:
        note += f"; left out {len(dropped)} URL(s) with credentials (contestants could read them)"
    return note + "\n"


def host_pip_options(environ: Mapping[str, str], home: Path) -> tuple[dict[str, str], list[str]]:
    """The host's index options from its user config files and PIP_* variables (pip's precedence), minus credentials."""
    files = [home / ".pip" / "pip.conf", Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf"]
    if environ.get("PIP_CONFIG_FILE"):
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    found: dict[str, str] = {}
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue  # pip itself would complain; the sandbox just goes without
        for section in ("global", "install"):
            for key in PIP_KEYS:
                if parser.has_option(section, key):
                    found[key] = parser.get(section, key)
    for key in PIP_KEYS:
        if value := environ.get("PIP_" + key.upper().replace("-", "_")):
            found[key] = value
    kept, dropped = {}, []
    for key, value in found.items():
        words = value.split()
        dropped += [w for w in words if _has_credentials(w)]
        if clean := [w for w in words if not _has_credentials(w)]:
            kept[key] = " ".join(clean)
    return kept, dropped


def _has_credentials(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return True  # unparseable: do not risk it
    return bool(parts.username or parts.password or "token" in parts.query.lower())
