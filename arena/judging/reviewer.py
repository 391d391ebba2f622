"""The LLM reviewer: ranks the candidates that passed the gates, and (opt-in) writes a synthesis patch.

Its answer must be JSON that validates; anything else is a recorded fallback to the heuristic,
never a crash. The call runs in the host process with litellm, with the contestants' rules for endpoints, keys and
retries (arena/llm.py).
"""

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from arena.errors import SpecError
from arena.judging.patches import patch_bytes
from arena.llm import ENDPOINT_KWARGS, RetryPolicy, endpoint_and_key, import_litellm, transient_errors
from arena.spec import JudgeSpec

MAX_DIFF_CHARS = 12_000
SYSTEM = (
    "You are the judge of a coding-agent arena. Several candidate patches attempt the same issue. "
    "You see the issue, each candidate's diff and the evidence from running the repository's tests. "
    "Rank the candidates from best to worst: correctness first, then minimal and idiomatic changes. "
    'Answer with JSON only: {"ranking": ["name", ...], "rationale": "...", "notes": {"name": "one line", ...}}. '
    "The ranking must name every candidate exactly once."
)
SYNTHESIS = (
    "Now write ONE combined patch that takes the best of the candidates. Answer with JSON only: "
    '{"patch": "<a unified diff in git format (diff --git a/... b/...) against the base commit>"}'
)


class ReviewerAnswer(BaseModel):
    ranking: list[str]
    rationale: str = ""
    notes: dict[str, str] = {}


class SynthesisAnswer(BaseModel):
    patch: str


class ReviewerError(Exception):
    """The reviewer could not be used; the message says why (recorded as the fallback reason)."""


def _complete(judge: JudgeSpec, messages: list[dict], retry: RetryPolicy) -> tuple[str, float]:
    from tenacity import retry_if_exception_type

    litellm = import_litellm()
    kwargs: dict[str, Any] = retry.litellm_kwargs() | judge.model_kwargs
    try:  # the contestants' rule: a custom endpoint gets its own key or a placeholder, never a provider's
        api_base, api_key = endpoint_and_key(judge.model or "", judge.api_base, judge.api_key_env)
    except SpecError as e:
        raise ReviewerError(f"the reviewer cannot be called: {e}") from None
    if api_base:
        kwargs |= {"api_base": api_base, "api_key": api_key, **ENDPOINT_KWARGS}
    try:
        for attempt in retry.retrying(retry_if_exception_type(transient_errors())):
            with attempt:
                response = litellm.completion(model=judge.model, messages=messages, **kwargs)
    except Exception as e:
        raise ReviewerError(f"the reviewer model call failed: {type(e).__name__}: {str(e)[:300]}") from e
    try:
        cost = float(litellm.completion_cost(response, model=judge.model) or 0.0)
    except Exception:
        cost = 0.0
    return response.choices[0].message.content or "", cost


def _json(text: str) -> Any:
    """The JSON object in a reply (bare, or inside a ```json fence)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.DOTALL)
    candidate = fenced.group(1) if fenced else text[text.find("{") : text.rfind("}") + 1]
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as e:
        raise ReviewerError(f"the reviewer's answer is not JSON ({e.msg}): {text[:200]!r}") from None


def prompt(problem: str, candidates: list[dict]) -> list[dict]:
    parts = [f"# Issue\n{problem.strip()}\n"]
    for c in candidates:
        diff = patch_bytes(c["diff"]).decode("utf-8", "replace")  # the model gets text; the judge keeps bytes
        diff = diff if len(diff) <= MAX_DIFF_CHARS else diff[:MAX_DIFF_CHARS] + "\n[... diff truncated ...]"
        parts.append(f"# Candidate `{c['name']}`\nEvidence: {c['evidence']}\n```diff\n{diff}\n```\n")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def review(
    judge: JudgeSpec, messages: list[dict], names: list[str], retry: RetryPolicy
) -> tuple[ReviewerAnswer, float]:
    """A validated ranking of exactly `names`; ReviewerError otherwise."""
    text, cost = _complete(judge, messages, retry)
    try:
        answer = ReviewerAnswer.model_validate(_json(text))
    except ValidationError as e:
        raise ReviewerError(f"the reviewer's JSON does not match the expected shape: {e.errors()[0]['msg']}") from None
    if sorted(answer.ranking) != sorted(names):
        raise ReviewerError(f"the reviewer ranked {answer.ranking}, not exactly the candidates {names}")
    return answer, cost


def synthesize(judge: JudgeSpec, messages: list[dict], reply: str, retry: RetryPolicy) -> tuple[str, float]:
    """The reviewer's combined patch (continuing its review conversation)."""
    text, cost = _complete(
        judge, [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": SYNTHESIS}], retry
    )
    try:
        patch = SynthesisAnswer.model_validate(_json(text)).patch
    except ValidationError:
        raise ReviewerError("the synthesis answer has no 'patch' string") from None
    return patch if patch.endswith("\n") else patch + "\n", cost
