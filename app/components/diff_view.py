"""Unified diffs as wrapped HTML with word-level highlighting: a changed word is never hidden past the edge.

Patches are hostile input (an agent wrote them): every piece of text goes through `html.escape`, and the
only markup is the fixed set of tags and classes below. Colours are the theme's: cyan (secondary) for
what a patch adds, amber (primary) for what it removes, a pair that colour-blind readers can tell apart.
"""

import difflib
import html
import re

import streamlit as st

MAX_LINES = 3_000
"""Longer diffs are cut (the plain patch below the view has the rest): a huge HTML block stalls the browser."""
MIN_RATIO = 0.25
"""Two paired lines less alike than this are shown as whole-line changes: word marks would be noise."""
TOKEN = re.compile(r"\w+|\s+|[^\w\s]+")

STYLE = """<style>
.arena-diff{font-family:"JetBrains Mono","IBM Plex Mono",monospace;font-size:.8rem;line-height:1.45;
  background:#111113;color:#f4f4f5;border:1px solid #2a2a2e;border-radius:6px;padding:.4rem 0;overflow-x:hidden}
.arena-diff .l{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;padding:0 .6rem 0 1.6rem;
  text-indent:-1rem;min-height:1.2em}
.arena-diff .add{background:rgba(34,211,238,.10)}
.arena-diff .del{background:rgba(245,158,11,.10)}
.arena-diff ins.w{background:rgba(34,211,238,.45);color:#fff;text-decoration:none;border-radius:2px}
.arena-diff del.w{background:rgba(245,158,11,.50);color:#fff;text-decoration:none;border-radius:2px}
.arena-diff .file{color:#f59e0b;font-weight:700;border-top:1px solid #2a2a2e;margin-top:.2rem}
.arena-diff .hunk{color:#22d3ee}
.arena-diff .meta,.arena-diff .note{color:#71717a}
</style>"""


def tokens(line: str) -> list[str]:
    return TOKEN.findall(line)


def word_diff(old: str, new: str) -> tuple[str, str]:
    """Both lines as escaped HTML, the words that differ wrapped in <del class="w"> / <ins class="w">."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < MIN_RATIO:
        return html.escape(old), html.escape(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        was, now = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(was)
            right.append(now)
            continue
        if was:
            left.append(f'<del class="w">{was}</del>')
        if now:
            right.append(f'<ins class="w">{now}</ins>')
    return "".join(left), "".join(right)


HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def _classify(lines: list[str]) -> list[tuple[str, str]]:
    """(kind, line): file, meta, hunk, add, del, ctx. A hunk's header says how many lines it holds, so a removed
    line reading `-- x` is never taken for a file header."""
    out, old, new = [], 0, 0
    for line in lines:
        if line.startswith("\\"):
            kind = "ctx"  # "\ No newline at end of file", inside a hunk or after it
        elif old > 0 or new > 0:
            kind = {"+": "add", "-": "del"}.get(line[:1], "ctx")
            old -= kind != "add"
            new -= kind != "del"
        elif match := HUNK.match(line):
            kind, old, new = "hunk", int(match[1] or 1), int(match[2] or 1)
        else:
            kind = "file" if line.startswith("diff ") else "meta"
        out.append((kind, line))
    return out


def render_html(patch: str, max_lines: int = MAX_LINES) -> str:
    """The patch as one wrapped HTML block: removed/added runs paired line by line, changed words marked."""
    lines = patch.splitlines()
    cut = len(lines) - max_lines
    rows = _classify(lines[:max_lines])
    body: list[str] = []
    i = 0
    while i < len(rows):
        kind, line = rows[i]
        if kind != "del":
            body.append(_line(kind, html.escape(line)))
            i += 1
            continue
        dels = []
        while i < len(rows) and rows[i][0] == "del":
            dels.append(rows[i][1])
            i += 1
        adds = []
        while i < len(rows) and rows[i][0] == "add":
            adds.append(rows[i][1])
            i += 1
        pairs = [word_diff(d[1:], a[1:]) for d, a in zip(dels, adds, strict=False)]
        old = [p[0] for p in pairs] + [html.escape(d[1:]) for d in dels[len(pairs) :]]
        new = [p[1] for p in pairs] + [html.escape(a[1:]) for a in adds[len(pairs) :]]
        body += [_line("del", "-" + text) for text in old] + [_line("add", "+" + text) for text in new]
    if not lines:
        body.append(_line("note", "(empty patch: it changes nothing)"))
    if cut > 0:
        body.append(_line("note", f"… {cut:,} more lines (the plain patch has them all)"))
    return f'{STYLE}<div class="arena-diff">{"".join(body)}</div>'


def _line(kind: str, escaped: str) -> str:
    return f'<div class="l {kind}">{escaped}</div>'


def show(patch: str, key: str, *, plain: bool = True) -> None:
    """The wrapped, highlighted diff; `plain`: the raw patch too, in an expander, to copy."""
    st.html(render_html(patch))
    if plain and patch:
        with st.expander("plain patch", key=f"{key}-plain"):
            st.code(patch, language="diff")
