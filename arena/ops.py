"""Operations: logs a machine can read (one JSON object a line, ARENA_LOG_FORMAT=json) with the ids of what was
running, and secrets redacted from every record the process logs, whatever handler prints it.

    configure_logging(worker=NAME)   `arena worker` (and any long-running process): one stderr handler on the root
                                     logger in ARENA_LOG_FORMAT, and redaction installed
    bound(arena_id=..., ...)         the ids of the work in hand, for every record logged inside (a contextvar, so
                                     each job, task and thread that copies its context keeps its own)
    job_fields                       a procrastinate worker middleware: binds job_id, arena_id and contestant per job
    redact(text)                     what a secret looks like -> [redacted]

Why redaction happens when a record is made (a log record factory) and not in one handler's filter: handlers added by
others (uvicorn's, a library's, the webhook receiver's) would print the secret anyway; a record made redacted is
redacted for every handler.
"""

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from arena.config import setting
from arena.errors import UserError

FIELDS = ("arena_id", "contestant", "job_id", "worker")
"""The ids a JSON record carries when they are known."""
REDACTED = "[redacted]"
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "PASSWORD")
"""An environment variable whose name ends so holds a secret: its value never appears in a log."""
SECRET_VARIABLES = (
    "ARENA_API_KEY",
    "GITHUB_TOKEN",
    "E2B_API_KEY",
    "ARENA_WEBHOOK_SECRET",
    "ARENA_GITHUB_APP_PRIVATE_KEY",
)
"""Named too, should the suffix rule ever change: the secrets this product reads."""
MIN_SECRET_CHARS = 6
"""Shorter values (FOO_KEY=1, a flag) are left alone: redacting them would mangle ordinary words."""
PATTERNS = [
    # Authorization: Bearer x / token x / Basic x, as a header line or in a dict's repr
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|token|basic)\s+)[^\s'\",;}]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]{8,}"), r"\1" + REDACTED),
    # scheme://user:password@host: the user stays (it says which account), the password goes
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@"), r"\1" + REDACTED + "@"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"), REDACTED),  # GitHub's token shapes
    (re.compile(r"\bsk-[\w-]{16,}"), REDACTED),  # OpenAI, Anthropic and OpenRouter keys
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), REDACTED),
]
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_FORMATS = ("text", "json")

_fields: ContextVar[dict | None] = ContextVar("arena_log_fields", default=None)


def secret_values() -> list[str]:
    """The values of this process's secret environment variables, longest first (a key inside a longer one)."""
    values = {
        value
        for name, value in os.environ.items()
        if (name.upper().endswith(SECRET_SUFFIXES) or name in SECRET_VARIABLES) and len(value) >= MIN_SECRET_CHARS
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every secret in it replaced by [redacted]: secret environment variables' values, Authorization
    headers, URL passwords, GitHub tokens, sk-... keys and PEM private keys."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_plain = logging.Formatter()


def _redacted_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record redacted: its template and arguments one by one (formatters that read `args`, uvicorn's access
    log, keep working), or merged into one redacted message when a secret spans them; its traceback formatted and
    redacted (formatters print `exc_text` when it is set)."""
    try:
        merged = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is printed
        return record
    record.msg = _redacted_arg(record.msg)
    if isinstance(record.args, dict):
        record.args = {k: _redacted_arg(v) for k, v in record.args.items()}
    elif record.args:
        record.args = tuple(_redacted_arg(a) for a in record.args)
    try:
        message = record.getMessage()
    except Exception:  # the template's redaction took a placeholder with it
        message = None
    if message is None or redact(message) != message:
        record.msg, record.args = redact(merged), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_plain.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _redacted_arg(value):
    """A string redacted; numbers and None as they are; any other object as is unless its str or repr shows a
    secret (then that text, redacted)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    try:
        shown = [str(value), repr(value)]
    except Exception:
        return value
    return next((redact(s) for s in shown if redact(s) != s), value)


def install_redaction() -> None:
    """Every log record this process makes from now on is redacted (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def make(*args, **kwargs) -> logging.LogRecord:
        return _redacted_record(factory(*args, **kwargs))

    make.redacts = True
    logging.setLogRecordFactory(make)


def current_fields() -> dict:
    """The ids bound in this context (`bound`, `job_fields`)."""
    return _fields.get() or {}


@contextmanager
def bound(**fields) -> Iterator[None]:
    """Records logged inside carry these ids (None leaves one out)."""
    token = _fields.set({**current_fields(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


async def job_fields(call_next, context, worker):
    """procrastinate worker middleware: every record a job logs carries its job_id, arena_id and contestant.

    It runs on the worker's loop, in the job's own task; procrastinate runs a synchronous job in a thread with a copy
    of that context, so the job's records see the ids. Threads a job starts itself begin with none."""
    job = context.job
    contestant = job.task_kwargs.get("name") if job.task_name.endswith(":contestant") else None
    with bound(job_id=job.id, arena_id=job.task_kwargs.get("arena_id"), contestant=contestant):
        return await call_next()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the ids known (FIELDS), exception; every string
    redacted.

    Ids come from the record (`extra=`, procrastinate's `job` and `worker` records), else the context (`bound`),
    else the process (`static`, e.g. the worker's name)."""

    def __init__(self, static: dict | None = None):
        super().__init__()
        self.static = {k: v for k, v in (static or {}).items() if v is not None}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out |= {k: v for k, v in self._ids(record).items() if v is not None}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps({k: redact(v) if isinstance(v, str) else v for k, v in out.items()}, default=str)

    def _ids(self, record: logging.LogRecord) -> dict:
        ids = {**self.static, **current_fields()}
        job = getattr(record, "job", None)  # procrastinate's records: the job's log context
        if isinstance(job, dict):
            ids |= {"job_id": job.get("id")}
            kwargs = job.get("task_kwargs") or {}
            ids.setdefault("arena_id", kwargs.get("arena_id"))
        worker = getattr(record, "worker", None)
        if isinstance(worker, dict):  # procrastinate's: its name, and the id /health lists the worker by
            ids |= {"worker": worker.get("name") or ids.get("worker"), "worker_id": worker.get("worker_id")}
        for name in FIELDS:  # given with extra=
            if isinstance(value := getattr(record, name, None), str | int):
                ids[name] = value
        return ids


def log_format() -> str:
    """ARENA_LOG_FORMAT: text (the default) or json; UserError otherwise."""
    chosen = str(setting("ARENA_LOG_FORMAT")).strip().lower()
    if chosen not in LOG_FORMATS:
        raise UserError(f"ARENA_LOG_FORMAT={chosen!r} is neither text nor json; fix or unset it")
    return chosen


def configure_logging(level: int = logging.INFO, **static) -> logging.Handler:
    """One handler on the root logger, to stderr, in ARENA_LOG_FORMAT; every record redacted from now on.

    Called again, it replaces its own handler (not others'). `static` ids (worker=NAME) go on every JSON record."""
    fmt = log_format()  # a bad value is refused before anything is configured
    install_redaction()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(static) if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.arena_ops = True
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "arena_ops", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
