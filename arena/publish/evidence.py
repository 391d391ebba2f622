"""The pull request's text: title from the issue, and a body that is the judge's evidence.

Body: the pick and the coverage beside it (how many candidates resolved the task), the ranking table (place,
contestant, model, strategy, F2P, P2P, regressions, flags, cost, steps, time), the reviewer's rationale, why each
other candidate lost, then `Fixes #N` and `Arena-Id: <id>`. Everything in it comes from the stored verdict and
contestant rows, never from text a contestant wrote (its patch is the PR's diff, not its description).
"""

from arena.judging.verdict import Verdict
from arena.storage import ArenaRow

MAX_BODY = 60_000
"""GitHub refuses bodies over 65,536 characters."""


def pr_title(arena: ArenaRow) -> str:
    title = (arena.title or "").strip() or f"Arena {arena.id}"
    return f"{title} (arena {arena.id})"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _tests(passed: int, total: int) -> str:
    return f"{passed}/{total}" if total else "–"


def pr_body(arena: ArenaRow, verdict: Verdict | None, head: str | None, issue: int | None) -> str:
    """Markdown for the PR: the evidence for `head` (the candidate the PR shows) from `verdict` (None: not judged)."""
    rows = {c.name: c for c in arena.contestants}
    lines: list[str] = []
    if verdict is None:
        lines += [
            f"**Judging in progress.** This draft shows candidate `{head}`; the verdict will replace this text.",
            "",
        ]
    elif verdict.error:
        lines += [f"**The judge could not decide:** {_cell(verdict.error)}", ""]
    else:
        coverage = f"{verdict.coverage.resolved} of {verdict.coverage.candidates} candidates resolved the task"
        if verdict.winner and head == verdict.winner:
            lines += [f"**Winner: `{head}`** ({coverage}).", ""]
        elif verdict.winner:
            lines += [f"**Chosen by hand: `{head}`**; the judge picked `{verdict.winner}` ({coverage}).", ""]
        else:
            lines += [f"**No winner** ({coverage}); this draft shows `{head}`, chosen by hand.", ""]
        lines += [
            "| place | contestant | model | strategy | F2P | P2P | regressions | flags | cost | steps | time |",
            "|---:|---|---|---|---|---|---:|---|---:|---:|---:|",
        ]
        for place in verdict.ranking:
            ev, row = place.evidence, rows.get(place.name)
            flags = [
                *(["edits tests"] if ev.tampered else []),
                *(["framework"] if ev.framework_flags or ev.sentinel_failures else []),
                *([] if place.passes_gates else ["gate failed"]),
            ]
            cells = (
                place.rank,
                f"**{place.name}**" if place.name == head else place.name,
                ev.model or (row.model if row else ""),
                ev.strategy or (row.strategy if row else ""),
                _tests(ev.f2p_passed, ev.f2p_total),
                _tests(ev.p2p_passed, ev.p2p_total),
                len(ev.regressions),
                ", ".join(flags) or "–",
                f"${ev.cost:.4f}",
                row.steps if row else "–",
                f"{ev.duration_s:.0f} s",
            )
            lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        rationale = verdict.judge.rationale or verdict.judge.fallback
        if rationale:
            lines += ["", "### The reviewer's rationale", "", str(rationale).strip()]
        losers = [p for p in verdict.ranking if p.name != head]
        if losers:
            lines += ["", "### Why the others lost", ""]
            lines += [f"- `{p.name}`: {_cell('; '.join(p.reasons or ['ranked lower']))}" for p in losers]
    lines += ["", "---", f"Every candidate is on its own branch (`arena/{arena.id}/c/<name>`)."]
    if issue:
        lines.append(f"Fixes #{issue}")
    lines.append(f"Arena-Id: {arena.id}")
    body = "\n".join(lines) + "\n"
    if len(body) > MAX_BODY:
        cut = body[: MAX_BODY - 200].rsplit("\n", 1)[0]
        body = (
            cut
            + f"\n\n(cut at {MAX_BODY} characters: `arena show {arena.id}` has the rest)\n\n"
            + "\n".join(lines[-2:] if issue else lines[-1:])
        )
    return body
