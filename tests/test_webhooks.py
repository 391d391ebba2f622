"""GitHub webhooks through the real path: an arena published to the fake GitHub by the `arena` CLI, the receiver
started as `arena webhooks` (uvicorn on 127.0.0.1), deliveries signed as GitHub signs them and sent over HTTP, and
the ledger read back with `arena agent`. A maintainer's merge, revert or close on the fake, then its webhook, must
reach the ledger before the delivery returns; a forged, unsigned or replayed delivery must change nothing."""

import hashlib
import hmac
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from arena.errors import UserError
from arena.publish.webhooks import create_app, webhook_secret
from arena.reputation.ledger import Ledger
from arena.storage import Store
from tests import test_github_loop as github_loop
from tests.conftest import GITHUB_REPO

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-" + uuid.uuid4().hex
GITHUB_TIMEOUT_S = 10.0
"""GitHub gives up on a delivery after 10 s: the receiver must have synced by then."""

REPO = GITHUB_REPO.full_name
loop = github_loop.loop
"""The fake GitHub with an issue and scripted steps, as tests/test_github_loop.py sets it up."""
arena, ok_json = github_loop.arena, github_loop.ok_json


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def receiver(env: dict, log: Path) -> Iterator[str]:
    """`arena webhooks` in a subprocess on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arena.cli", "webhooks", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"arena webhooks exited {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"arena webhooks never answered /healthz:\n{log.read_text()}"
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful stop
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def deliver(url: str, event: str, payload: dict, *, secret: str = SECRET, delivery: str | None = None, **headers):
    """POST `payload` as GitHub does: the raw JSON body, X-GitHub-Event/-Delivery, X-Hub-Signature-256 (computed here,
    independently of the receiver's code). `headers` override (None removes one)."""
    body = json.dumps(payload).encode()
    sent = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    for name, value in headers.items():
        key = name.replace("_", "-")
        sent = {k: v for k, v in sent.items() if k.lower() != key.lower()}
        if value is not None:
            sent[key] = value
    return requests.post(f"{url}/github/webhook", data=body, headers=sent, timeout=60)


def main_head(gh) -> str:
    return gh.branch_sha(REPO, "main")


@pytest.fixture
def hooked(loop):
    """An arena run through the CLI with a draft PR on the fake GitHub; the env also carries the webhook secret."""
    gh, env = loop["gh"], dict(loop["env"])
    env["GITHUB_TOKEN"] = gh.add_token()
    env["ARENA_WEBHOOK_SECRET"] = SECRET
    run = ok_json(arena("run", str(github_loop.spec_file(loop)), "--json", env=env))
    assert run["verdict"]["winner"] == "fixer", run
    shown = ok_json(arena("show", run["arena_id"], "--json", env=env))
    agent = next(c["agent"] for c in shown["contestants"] if c["name"] == "fixer")
    return loop | {
        "env": env,
        "arena_id": run["arena_id"],
        "number": shown["pull_request"]["number"],
        "agent": agent,
        "log": loop["tmp"] / "webhooks.log",
    }


def agent_state(hooked) -> dict:
    return ok_json(arena("agent", hooked["agent"], "--json", env=hooked["env"]))


def news(reply: requests.Response) -> list[tuple]:
    """(arena, event, commit) of what a delivery recorded; the delivery itself must have succeeded."""
    assert reply.status_code == 200, reply.text
    return [(f["arena_id"], f["event"], f["commit"]) for f in reply.json()["found"]]


def test_a_merge_reaches_the_ledger_when_its_signed_webhook_arrives_and_only_then(hooked):
    gh, number, arena_id = hooked["gh"], hooked["number"], hooked["arena_id"]
    before = agent_state(hooked)
    assert before["merged"] == 0 and before["escrow"] > 0  # the winner's stake waits for the merge
    with receiver(hooked["env"], hooked["log"]) as url:
        pong = deliver(url, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
        assert (pong.status_code, pong.json()["ok"]) == (200, True)

        # A signed delivery claiming a merge GitHub has not seen: only a trigger, and GitHub says the PR is open.
        claimed = gh.pull_request_event(REPO, number)
        claimed["pull_request"] |= {"state": "closed", "merged": True, "merge_commit_sha": "f" * 40}
        early = deliver(url, "pull_request", claimed)
        assert news(early) == [] and early.json()["arenas"] == [arena_id]
        assert agent_state(hooked)["history"] == before["history"]

        merge = gh.merge(REPO, number)
        event = gh.pull_request_event(REPO, number)
        forged = deliver(url, "pull_request", event, secret="not-" + SECRET)
        unsigned = deliver(url, "pull_request", event, X_Hub_Signature_256=None)
        sha1_only = deliver(url, "pull_request", event, X_Hub_Signature_256=None, X_Hub_Signature="sha1=00")
        for refused in (forged, unsigned, sha1_only):
            assert refused.status_code == 401, refused.text
            assert "X-Hub-Signature-256" in refused.json()["error"]
            assert "ARENA_WEBHOOK_SECRET" in refused.json()["error"]
        assert agent_state(hooked)["history"] == before["history"]  # nothing written

        started = time.monotonic()
        delivered = deliver(url, "pull_request", event, delivery="merge-delivery-1")
        assert time.monotonic() - started < GITHUB_TIMEOUT_S
        assert news(delivered) == [(arena_id, "merged", merge)]
        after = agent_state(hooked)
        assert (after["merged"], after["k"], after["escrow"]) == (1, 0, 0)
        assert after["balance"] > before["balance"]  # the stake back, plus the reward

        again = deliver(url, "pull_request", event, delivery="merge-delivery-1")  # GitHub's "Redeliver"
        assert news(again) == []
        assert agent_state(hooked) == after
    shown = ok_json(arena("show", arena_id, "--json", env=hooked["env"]))
    assert shown["pull_request"]["merged"] is True and shown["pull_request"]["state"] == "closed"
    logged = hooked["log"].read_text()
    assert "delivery merge-delivery-1: pull_request synced" in logged and "refused, bad or missing signature" in logged


def test_a_revert_pushed_to_the_default_branch_reaches_the_ledger_once(hooked):
    gh, number, arena_id = hooked["gh"], hooked["number"], hooked["arena_id"]
    with receiver(hooked["env"], hooked["log"]) as url:
        before_merge = main_head(gh)
        merge = gh.merge(REPO, number)
        assert news(deliver(url, "pull_request", gh.pull_request_event(REPO, number)))[0][1] == "merged"
        plain = deliver(url, "push", gh.push_event(REPO, before_merge))  # the merge's own push reverts nothing
        assert plain.status_code == 202 and "reverts anything" in plain.json()["ignored"]

        before_revert = main_head(gh)
        revert = gh.revert(REPO, merge)
        pr_branch = f"arena/{arena_id}/pr"
        elsewhere = deliver(url, "push", gh.push_event(REPO, gh.branch_sha(REPO, pr_branch) + "^", pr_branch))
        assert elsewhere.status_code == 202 and "not to the default branch" in elsewhere.json()["ignored"]
        assert agent_state(hooked)["reverted"] == 0

        push = gh.push_event(REPO, before_revert)
        assert [c["id"] for c in push["commits"]] == [revert]
        started = time.monotonic()
        pushed = deliver(url, "push", push, delivery="revert-delivery-1")
        assert time.monotonic() - started < GITHUB_TIMEOUT_S
        assert news(pushed) == [(arena_id, "reverted", revert)]
        reverted = agent_state(hooked)
        assert (reverted["merged"], reverted["reverted"], reverted["k"]) == (1, 1, 1)
        assert reverted["stake"] == pytest.approx(10 * reverted["base_stake"])

        again = deliver(url, "push", push, delivery="revert-delivery-1")
        assert again.status_code == 202 and "left to revert" in again.json()["ignored"]
        assert news(deliver(url, "pull_request", gh.pull_request_event(REPO, number))) == []
        assert agent_state(hooked) == reverted


def test_githubs_revert_button_reaches_the_ledger_through_the_push(hooked):
    """The Revert button opens and merges another PR: its pull_request event names no arena PR, its push does."""
    gh, number, arena_id = hooked["gh"], hooked["number"], hooked["arena_id"]
    with receiver(hooked["env"], hooked["log"]) as url:
        gh.merge(REPO, number)
        assert news(deliver(url, "pull_request", gh.pull_request_event(REPO, number)))[0][1] == "merged"
        before = main_head(gh)
        revert_number = gh.revert_pr(REPO, number)
        other = deliver(url, "pull_request", gh.pull_request_event(REPO, revert_number))
        assert other.status_code == 202 and "is not an arena's pull request" in other.json()["ignored"]
        assert [(a, e) for a, e, _ in news(deliver(url, "push", gh.push_event(REPO, before)))] == [
            (arena_id, "reverted")
        ]
    assert agent_state(hooked)["reverted"] == 1


def test_a_pr_closed_unmerged_returns_the_stake_once(hooked):
    gh, number, arena_id = hooked["gh"], hooked["number"], hooked["arena_id"]
    held = agent_state(hooked)
    assert held["escrow"] > 0
    with receiver(hooked["env"], hooked["log"]) as url:
        ready = deliver(url, "pull_request", gh.pull_request_event(REPO, number, action="ready_for_review"))
        assert ready.status_code == 202 and "ready_for_review" in ready.json()["ignored"]
        gh.close(REPO, number)
        event = gh.pull_request_event(REPO, number)
        assert news(deliver(url, "pull_request", event)) == [(arena_id, "abandoned", "")]
        assert news(deliver(url, "pull_request", event)) == []

        # A revert on main while no arena PR is merged: nothing of this repository's arenas to read again.
        before = main_head(gh)
        gh.revert(REPO, before)
        unrelated = deliver(url, "push", gh.push_event(REPO, before))
        assert unrelated.status_code == 202 and "left to revert" in unrelated.json()["ignored"]
    after = agent_state(hooked)
    assert (after["escrow"], after["merged"], after["k"]) == (0, 0, 0)
    assert after["balance"] == pytest.approx(held["balance"] + held["escrow"])
    shown = ok_json(arena("show", arena_id, "--json", env=hooked["env"]))
    assert shown["pull_request"]["state"] == "closed" and shown["pull_request"]["merged"] is False


def test_what_the_receiver_does_not_read(loop):
    """Only signed, bounded, JSON pull_request and push events of arena repositories do anything; the rest is told."""
    gh, env = loop["gh"], dict(loop["env"]) | {"ARENA_WEBHOOK_SECRET": SECRET}
    env["GITHUB_TOKEN"] = gh.add_token()
    with receiver(env, loop["tmp"] / "webhooks.log") as url:
        assert requests.get(f"{url}/healthz", timeout=10).json() == {"ok": True}
        issues = deliver(url, "issues", {"action": "opened", "repository": gh.repository_event_json(REPO)})
        assert issues.status_code == 202 and "issues events are not read" in issues.json()["ignored"]
        stranger = {"action": "closed", "number": 7, "repository": {"full_name": "someone/else"}}
        unknown = deliver(url, "pull_request", stranger)
        assert unknown.status_code == 202 and "no arena has a pull request on someone/else" in unknown.json()["ignored"]

        huge = b"x" * (5 * 1024 * 1024 + 1)
        signature = "sha256=" + hmac.new(SECRET.encode(), huge, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
        too_large = requests.post(f"{url}/github/webhook", data=huge, headers=headers, timeout=60)
        assert too_large.status_code == 413 and "larger than" in too_large.json()["error"]

        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as raw:
            raw.sendall(b"POST /github/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 26214400\r\n\r\n")
            assert raw.recv(200).startswith(b"HTTP/1.1 413")  # told at once: the 25 MB never had to arrive

        def chunks():
            for _ in range(6):
                yield b"y" * (1024 * 1024)

        streamed = requests.post(f"{url}/github/webhook", data=chunks(), headers=headers, timeout=60)
        assert streamed.status_code == 413  # no Content-Length to go by: counted as it arrives

        body = b"not json"
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
        garbled = requests.post(f"{url}/github/webhook", data=body, headers=headers, timeout=60)
        assert garbled.status_code == 400 and "application/json" in garbled.json()["error"]
        nameless = deliver(url, "push", {"ref": "refs/heads/main"}, X_GitHub_Event=None)
        assert nameless.status_code == 400 and "X-GitHub-Event" in nameless.json()["error"]
        assert requests.get(f"{url}/github/webhook", timeout=10).status_code == 405


def test_without_a_secret_the_receiver_refuses_to_start(loop, settings, monkeypatch):
    env = dict(loop["env"])
    env["GITHUB_TOKEN"] = loop["gh"].add_token()
    env.pop("ARENA_WEBHOOK_SECRET", None)
    done = arena("webhooks", "--port", str(free_port()), env=env, timeout=60)  # a server would never return
    assert done.returncode == 2, done.stderr
    assert "ARENA_WEBHOOK_SECRET is not set" in done.stderr and "Secret" in done.stderr

    help_text = arena("webhooks", "--help", env=env | {"COLUMNS": "200"}).stdout
    assert "ARENA_WEBHOOK_SECRET" in help_text and "arena webhooks --port" in help_text

    monkeypatch.setenv("ARENA_WEBHOOK_SECRET", "   ")
    with pytest.raises(UserError, match="ARENA_WEBHOOK_SECRET is not set"):
        webhook_secret()
    with pytest.raises(UserError, match="blank"):
        create_app(Ledger(Store(settings.database_url)), secret="  ")


def test_without_github_credentials_the_receiver_refuses_to_start(loop):
    """The receiver re-reads every PR from GitHub; with nothing to read it with, it must not pretend to serve."""
    env = dict(loop["env"]) | {"ARENA_WEBHOOK_SECRET": SECRET}
    assert not {"GITHUB_TOKEN", "ARENA_GITHUB_APP_ID"} & set(env)
    done = arena("webhooks", "--port", str(free_port()), env=env, timeout=60)
    assert done.returncode == 2 and "GITHUB_TOKEN" in done.stderr, done.stderr
