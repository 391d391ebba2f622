"""GitHub webhooks: merges and reverts of arena PRs reach the ledger seconds after they happen.

`arena webhooks` serves this ASGI app; GitHub (a repository's or an App's webhook, content type application/json,
secret = ARENA_WEBHOOK_SECRET) POSTs to `/github/webhook`:
  * `ping` -> 200;
  * `pull_request` closed or reopened, for a PR an arena opened (looked up by repository and number) -> its
    publication is synced: merged -> `merged`, closed unmerged -> `abandoned`;
  * `push` to the repository's default branch with a commit that reverts something ("This reverts commit <sha>", or
    "Reverts OWNER/REPO#N" as GitHub's Revert button writes) -> every publication of that repository whose PR was
    merged and is not yet reverted is synced: a revert of its merge (or squash) commit -> `reverted`. Other pushes do
    nothing, so an active repository's pushes do not re-read every arena PR it ever merged;
  * anything else (other events and actions, other repositories, other branches) -> 202, logged, nothing done.
An event is only a trigger: what it says (merged, which commit) is never recorded. The sync re-reads every PR from
GitHub through `arena.publish.pull_request.sync`, the function `arena sync` and the app's polling use, so a forged
or stale payload cannot move a stake and a redelivery changes nothing (the ledger records each outcome once).

Every request is checked first: a body over MAX_BODY_BYTES -> 413; an `X-Hub-Signature-256` that is not the
HMAC-SHA256 of the raw body under the secret -> 401, before the body is parsed. Without a secret the app refuses to
start: an unauthenticated endpoint that makes the receiver call GitHub is not something to run by accident. Polling
(`arena sync`, ARENA_GITHUB_SYNC_S in the app) stays for a laptop GitHub cannot reach, and catches any delivery
that never arrived.

Why starlette: routing, requests and JSON responses, and a thread pool for the blocking sync (PyGithub and SQLAlchemy
are synchronous), in a small library that uvicorn serves directly; FastAPI's validation would add nothing here, since
the payload is never trusted, and a bare ASGI callable would re-implement the request plumbing.
"""

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from arena.config import setting
from arena.credentials import GitHubError, configured, credentials
from arena.errors import UserError
from arena.publish.pull_request import sync
from arena.reputation.ledger import Ledger
from arena.storage import PublicationRow

MAX_BODY_BYTES = 5 * 1024 * 1024
"""GitHub caps payloads at 25 MB; the pull_request and push events read here are kilobytes. A larger body is refused
(413) unread, and what it meant is still caught by polling."""
PULL_REQUEST_ACTIONS = {"closed", "reopened"}
"""The pull_request actions that can change what the ledger or the publication row says (merged, closed, open)."""
PUSH_COMMITS_CAP = 2048
"""GitHub lists at most this many commits in a push payload: a push that long may hide a revert, so it is read."""
REVERT_MARKERS = re.compile(r"This reverts commit [0-9a-f]{7,40}|\bReverts [\w.-]+/[\w.-]+#\d+")
"""What a revert commit's message says (git revert; GitHub's Revert button) that the sync then confirms on GitHub."""
log = logging.getLogger("arena.webhooks")


def webhook_secret() -> str:
    """ARENA_WEBHOOK_SECRET; UserError saying how to set it when it is unset or blank."""
    secret = setting("ARENA_WEBHOOK_SECRET")
    if not secret or not str(secret).strip():
        raise UserError(
            "ARENA_WEBHOOK_SECRET is not set: the receiver only accepts deliveries signed with it. Generate one "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), set it here and as the webhook's Secret "
            "on GitHub (repository Settings -> Webhooks, or the GitHub App's settings)"
        )
    return str(secret)


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` GitHub sends with `body`: `sha256=` + the hex HMAC-SHA256 under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Is `header` the signature of `body`? In constant time, so a forger learns nothing from how long it took."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.encode("latin-1", "replace"))


def create_app(ledger: Ledger, secret: str | None = None) -> Starlette:
    """The receiver's ASGI app, writing to `ledger` (and its store).

    Args:
        ledger: the ledger (and, through it, the store) the sync writes to.
        secret: the webhook secret; None reads ARENA_WEBHOOK_SECRET.

    Raises:
        UserError: no secret, or no GitHub credentials to re-read the PRs with (the message says what to set).
    """
    secret = webhook_secret() if secret is None else secret
    if not secret.strip():
        raise UserError("the webhook secret is blank; set ARENA_WEBHOOK_SECRET to the webhook's Secret on GitHub")
    if configured() is None:
        credentials()  # raises GitHubError naming GITHUB_TOKEN and the App's settings, before anything is served
    store = ledger.store

    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(store.now)  # one round trip: a receiver that cannot reach its database is down
        except Exception as e:
            log.warning("healthz: the database cannot be reached: %s: %s", type(e).__name__, e)
            return JSONResponse({"ok": False, "error": f"the database cannot be reached: {type(e).__name__}"}, 503)
        return JSONResponse({"ok": True})

    async def receive(request: Request) -> JSONResponse:
        delivery = request.headers.get("x-github-delivery") or "-"
        event = request.headers.get("x-github-event") or ""
        try:
            body = await _body(request)
        except ClientDisconnect:
            log.info("delivery %s: the sender left before the body arrived", delivery)
            return _error(400, "the body did not arrive")
        if body is None:
            log.warning("delivery %s: %s refused, body over %d bytes", delivery, event or "request", MAX_BODY_BYTES)
            return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes; this receiver reads no such events")
        if not signed(secret, body, request.headers.get("x-hub-signature-256")):
            client = request.client.host if request.client else "?"
            log.warning("delivery %s: %s from %s refused, bad or missing signature", delivery, event or "?", client)
            return _error(
                401,
                "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of the body under the receiver's secret; "
                "set the webhook's Secret on GitHub to ARENA_WEBHOOK_SECRET",
            )
        if not event:
            return _error(400, "no X-GitHub-Event header: this is not a GitHub webhook delivery")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return _error(400, "the body is not a JSON object; set the webhook's content type to application/json")
        if event == "ping":
            log.info("delivery %s: ping (hook %s)", delivery, payload.get("hook_id"))
            return JSONResponse({"delivery": delivery, "event": event, "ok": True})
        rows, ignored = await run_in_threadpool(targets, ledger, event, payload)  # database reads: off the loop
        reply = {"delivery": delivery, "event": event}
        if ignored:
            log.info("delivery %s: %s ignored: %s", delivery, event, ignored)
            return JSONResponse(reply | {"ignored": ignored}, 202)
        reply["arenas"] = [r.arena_id for r in rows]
        try:
            found = await run_in_threadpool(sync, store, ledger, rows)
        except GitHubError as e:
            log.warning("delivery %s: %s for arenas %s failed: %s", delivery, event, reply["arenas"], e)
            return JSONResponse(reply | {"error": str(e)}, 502)
        except Exception as e:  # one delivery is the unit of work: say what failed, keep serving
            log.exception("delivery %s: %s for arenas %s failed", delivery, event, reply["arenas"])
            return JSONResponse(reply | {"error": f"internal error: {type(e).__name__}: {e}"}, 500)
        news = [f"{f['arena_id']} {f['event']}" for f in found] or ["nothing new"]
        log.info("delivery %s: %s synced arenas %s: %s", delivery, event, ", ".join(reply["arenas"]), "; ".join(news))
        skipped = [f for f in found if f["event"] == "skipped"]
        if skipped:  # GitHub would not answer for some PR: a failed delivery, so someone can redeliver it
            return JSONResponse(reply | {"found": found, "error": "; ".join(f["why"] for f in skipped)}, 502)
        return JSONResponse(reply | {"found": found})

    return Starlette(
        routes=[Route("/github/webhook", receive, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    )


def targets(ledger: Ledger, event: str, payload: dict) -> tuple[list[PublicationRow], str | None]:
    """The publications a (verified) event should sync, or none and why the event is ignored.

    The payload only says where to look (repository, PR number and action; a push's branch and whether a commit
    message mentions a revert); what happened is what the sync then reads from GitHub.
    """
    repository = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    repo = str(repository.get("full_name") or "")
    if event not in ("pull_request", "push"):
        return [], f"{event} events are not read (only pull_request and push)"
    published = _publications(ledger.store.publications(), repo)
    if not published:
        return [], f"no arena has a pull request on {repo or 'this repository'}"
    if event == "pull_request":
        action, number = payload.get("action"), payload.get("number")
        if action not in PULL_REQUEST_ACTIONS:
            return [], f"pull_request {action} changes nothing the ledger records"
        rows = [r for r in published if r.pr_number == number]
        return (rows, None) if rows else ([], f"{repo}#{number} is not an arena's pull request")
    ref, default = payload.get("ref"), repository.get("default_branch")
    if not default or ref != f"refs/heads/{default}" or payload.get("deleted"):
        return [], f"a push to {ref}, not to the default branch {default}"
    commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
    messages = [str(c.get("message") or "") for c in commits if isinstance(c, dict)]
    if len(commits) < PUSH_COMMITS_CAP and not any(REVERT_MARKERS.search(m) for m in messages):
        return [], f"none of the {len(commits)} commit(s) pushed to {default} reverts anything"
    rows = [
        r
        for r in published
        if r.pr_merged and not any(e.kind == "reverted" for e in ledger.events(arena_id=r.arena_id))
    ]
    return (rows, None) if rows else ([], f"no merged arena pull request on {repo} is left to revert")


def _publications(rows: Iterable[PublicationRow], repo: str) -> list[PublicationRow]:
    """The rows of `repo`; GitHub's names are case-insensitive and the row keeps the case of the arena's URL."""
    return [r for r in rows if repo and r.repo.lower() == repo.lower()]


async def _body(request: Request) -> bytes | None:
    """The raw body (signatures are over the exact bytes), or None past MAX_BODY_BYTES, read no further than that."""
    try:
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return None
    except ValueError:
        pass  # a malformed length: count what actually arrives
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def serve(ledger: Ledger, secret: str, host: str, port: int) -> None:
    """Serve the receiver with uvicorn until interrupted; `arena.*` log lines (one per delivery) go to stderr."""
    from arena.ops import configure_logging

    app = create_app(ledger, secret)
    configure_logging()  # ARENA_LOG_FORMAT (text or json), secrets redacted; uvicorn's records go through it too
    log.info("receiving GitHub webhooks on http://%s:%d/github/webhook", host, port)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, log_config=None)
