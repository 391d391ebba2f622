"""Results: wrapped word-level diffs, candidate against candidate, the full why, and Apply / Abandon / Export.

Every flow runs on a real demo arena (`arena demo`: correct-fix divides with `/ 2`, wrong-fix with `// 2`).
"""

import json
import os
import subprocess
import sys
import time

import yaml

from app.components.diff_view import render_html, word_diff
from tests.app.conftest import ARGS, CHROMIUM, ROOT, SUBMIT, app, texts
from tests.conftest import CALC_FILES, make_repo, write_steps

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
DECIDING = ('<del class="w">/</del>', '<ins class="w">//</ins>')


def html_of(at) -> str:
    return "\n".join(h.value for h in at.get("html"))


def arena_id(at) -> str:
    return at.session_state["arena_id"]


def button(at, key: str):
    return next(b for b in at.button if b.key == key)


def demo_repo(data) -> str:
    return str(data / "sample" / "demo-repo")


# -- the renderer ----------------------------------------------------------------------------------------------------


def test_word_diff_marks_only_the_words_that_changed():
    old, new = word_diff("return (a + b) / 2", "return (a + b) // 2")
    assert old == 'return (a + b) <del class="w">/</del> 2' and new == 'return (a + b) <ins class="w">//</ins> 2'


def test_render_html_wraps_long_lines_and_pairs_removed_with_added_lines():
    long = "x = " + " + ".join(f"term_{i}" for i in range(200))
    patch = f"--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n ctx\n-{long} / 2\n+{long} // 2\n"
    out = render_html(patch)
    assert "white-space:pre-wrap" in out and "overflow-wrap:anywhere" in out and "overflow-x:hidden" in out
    assert all(d in out for d in DECIDING)
    assert '<div class="l meta">--- a/m.py</div>' in out and '<div class="l ctx"> ctx</div>' in out


def test_render_html_escapes_a_hostile_patch():
    patch = f"--- a/{HOSTILE}\n+++ b/x\n@@ -1 +1,2 @@\n-{HOSTILE}\n+{HOSTILE}2\n+<b onmouseover=x>&amp;</b>\n"
    out = render_html(patch)
    assert "<script" not in out and "<img" not in out and "<b " not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out and "&amp;amp;" in out
    # the only tags are the renderer's own
    assert set(__import__("re").findall(r"<(/?\w+)", out)) <= {
        "style",
        "/style",
        "div",
        "/div",
        "ins",
        "/ins",
        "del",
        "/del",
    }


def test_a_removed_line_that_looks_like_a_file_header_stays_a_removed_line():
    out = render_html("--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n--- old comment\n-gone\n")
    assert '<div class="l del">--- old comment</div>' in out


# -- the page ----------------------------------------------------------------------------------------------------------


def test_results_shows_wrapped_diffs_with_the_change_highlighted(demo):
    at = app("results")
    html = html_of(at)
    assert 'class="arena-diff"' in html and "white-space:pre-wrap" in html
    # correct-fix's change against the base, word by word: the old `return ordered[mid]` is kept around it
    assert '+    return<ins class="w"> (ordered[mid - 1] + ordered[mid]) / 2 if' in html
    assert any("/ 2 if len(ordered)" in c.value for c in at.code)  # the plain patch, to copy


def test_results_diffs_two_candidates_against_each_other(demo):
    at = app("results")
    aid = arena_id(at)
    assert at.selectbox(key=f"pair-a-{aid}").value == "correct-fix"
    assert at.selectbox(key=f"pair-b-{aid}").value == "wrong-fix"
    assert "How wrong-fix's files differ from correct-fix's" in texts(at)
    assert all(d in html_of(at) for d in DECIDING)  # the deciding change, and only it
    assert "--- correct-fix/textstats/stats.py" in html_of(at)
    at.selectbox(key=f"pair-b-{aid}").select("gives-up").run()
    assert "+    return ordered[mid]</div>" in html_of(at)  # gives-up leaves the base as it was


def test_results_writes_every_why_in_full(demo):
    at = app("results")
    assert "why" not in at.dataframe[0].value.columns  # a table cell cut it off
    assert "**#2 wrong-fix** · behind correct-fix: correct-fix passes every gate" in texts(at)
    assert "**#3 gives-up** · behind wrong-fix: wrong-fix applies and changes something" in texts(at)


def test_apply_from_results_creates_the_branch_and_a_second_apply_is_refused(demo):
    at = app("results")
    aid = arena_id(at)
    button(at, f"apply-{aid}").click().run()
    assert not at.exception, at.exception
    branch = f"arena/{aid}-correct-fix"
    assert any(f"on branch {branch}" in s.value for s in at.success)
    head = subprocess.run(["git", "rev-parse", branch], cwd=demo_repo(demo), capture_output=True, text=True)
    assert head.returncode == 0, head.stderr
    shown = subprocess.run(["git", "show", branch], cwd=demo_repo(demo), capture_output=True, text=True).stdout
    assert f"Arena-Id: {aid}" in shown and "/ 2 if len(ordered)" in shown
    button(at, f"apply-{aid}").click().run()
    assert any(f"arena {aid} was applied already" in e.value for e in at.error)
    assert not at.success


def test_apply_with_a_missing_base_branch_shows_the_cli_error_and_changes_nothing(demo):
    at = app("results")
    aid = arena_id(at)
    at.text_input(key=f"act-base-{aid}").input("no-such-branch").run()
    button(at, f"apply-{aid}").click().run()
    assert any("has no branch 'no-such-branch'; pass --base-branch" in e.value for e in at.error)
    branches = subprocess.run(
        ["git", "branch", "--list", "arena/*"], cwd=demo_repo(demo), capture_output=True, text=True
    )
    assert branches.stdout.strip() == ""


def test_abandon_from_results_returns_the_winners_stake(demo):
    from app.resources import engine
    from arena.reputation.ledger import Ledger, agent_name

    at = app("results")
    aid = arena_id(at)
    ledger = Ledger(engine().store)
    winner = next(c for c in engine().store.arena(aid).contestants if c.name == "correct-fix")
    agent = agent_name(winner.model, winner.strategy)
    before = ledger.state(agent)
    assert before.escrow > 0 and ledger.winner_escrow(aid) is not None
    button(at, f"abandon-{aid}").click().run()
    assert any(f"arena {aid}'s winning patch is abandoned" in s.value for s in at.success)
    after = ledger.state(agent)
    assert after.escrow == before.escrow - 1 and after.balance == before.balance + 1
    assert ledger.winner_escrow(aid) is None
    button(at, f"abandon-{aid}").click().run()
    assert any(f"arena {aid} holds no winner's stake" in e.value for e in at.error)
    assert ledger.state(agent) == after


def test_results_offers_both_exports(demo):
    at = app("results")
    assert [b.proto.label for b in at.get("download_button")] == ["SWE-bench predictions (JSONL)", "Plain patch (diff)"]
    at.selectbox(key=f"act-who-{arena_id(at)}").select("gives-up").run()
    assert "has no candidate 'gives-up' with a patch" not in texts(at)  # an empty patch is still a patch


def test_a_hostile_patch_is_shown_as_text(data, tmp_path):
    """A contestant's patch carrying <script> / <img onerror> reaches the page only as escaped text."""
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    line = HOSTILE.replace("'", "'\"'\"'")
    write_steps(
        arena_dir / "evil.yaml",
        [{"thought": "x", "commands": [f"echo '# {line}' >> calc/ops.py"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    spec = {
        "task": {"repo": str(repo), "title": "hostile", "problem_statement": "add() subtracts"},
        "contestants": [{"name": "evil", "model": "scripted:evil.yaml"}],
    }
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    run = subprocess.run(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "arena.yaml"), "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode in (0, 1), run.stderr
    at = app("results")
    assert not at.exception, at.exception
    html = html_of(at)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html and "<img" not in html


def test_export_downloads_from_the_results_page_in_chromium(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from arena.config import Settings
    from arena.export import export
    from arena.storage import Store

    url, data = server
    done = subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        check=True,
        timeout=120,
        text=True,
    )
    aid = json.loads(done.stdout)["arena_id"]
    store = Store(Settings.from_env(data).database_url)
    expected = {fmt: export(store, aid, fmt=fmt).text for fmt in ("swebench", "patch")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(f"{url}/results")
        page.wait_for_selector("text=Hand it on", timeout=30_000)
        got = {}
        for fmt, label in (("swebench", "SWE-bench predictions (JSONL)"), ("patch", "Plain patch (diff)")):
            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name=label).click()
            path = tmp_path / info.value.suggested_filename
            info.value.save_as(path)
            got[fmt] = path.read_text()
        page.get_by_text("/ 2 if len(ordered)").first.wait_for(timeout=30_000)
        time.sleep(0.5)
        page.screenshot(path=str(ROOT / "test-artifacts" / "results-diffs.png"), full_page=True)
        browser.close()
    assert got == expected
    assert json.loads(got["swebench"].splitlines()[0])["instance_id"] == aid


def test_run_again_from_results_opens_launch_with_the_arenas_spec(demo):
    from app.resources import engine

    at = app("results")
    aid = arena_id(at)
    next(b for b in at.button if b.label == "Run again").click().run()
    at.switch_page("../pages/launch.py").run()
    assert not at.exception, at.exception
    assert at.session_state["launch_preset"] == {k: v for k, v in engine().store.arena(aid).spec.items() if v}
    assert at.text_input(key="title").value == "median() is wrong for sequences of even length"
    assert any("task.fail_to_pass" in e.label for e in at.expander)  # kept as is, shown
