"""Host-side LLM calls, for contestants and the reviewer alike: where a call goes, with which key, and its retries.

Keys go only to their own provider's endpoint; a custom endpoint gets only a key named for it (README: Trust model).
Both arena.agents (contestants) and arena.judging (the reviewer) import this; it imports neither.
"""

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from arena.config import env_numbers, setting
from arena.errors import SpecError

# Providers whose only credential litellm sends is the api_key argument, which we always pass for a
# custom endpoint. Others (bedrock, vertex_ai, azure, ...) would sign with cloud credentials from the
# environment, so they never go to a custom endpoint.
CUSTOM_ENDPOINT_PROVIDERS = (
    "openai",
    "text-completion-openai",
    "custom_openai",
    "hosted_vllm",
    "lm_studio",
    "llamafile",
    "ollama",
    "ollama_chat",
    "litellm_proxy",
    "anthropic",
)
# The OpenAI SDK adds the operator's organization and project (OPENAI_ORG_ID, OPENAI_PROJECT_ID, ...) from
# the environment to every request; a custom endpoint gets them blank.
ENDPOINT_KWARGS = {"extra_headers": {"OpenAI-Organization": "", "OpenAI-Project": ""}}
NO_KEY = "sk-local-endpoint"
"""Sent to a custom endpoint when no key is configured: local servers ignore it; it is no one's secret."""

log = logging.getLogger("arena.model")


def import_litellm() -> Any:
    """litellm, imported with its bundled cost map (else it fetches one over the network at import) and quiet."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def endpoint_and_key(model: str, api_base: str | None, api_key_env: str | None) -> tuple[str | None, str | None]:
    """(api_base, api_key) for a litellm call; SpecError if the spec's key variable is unset.

    Without a custom endpoint both are None: litellm sends the provider's own key (OPENAI_API_KEY, ...)
    to that provider's endpoint. A custom endpoint gets the variable the spec names; ARENA_API_KEY goes
    only to the operator's own ARENA_API_BASE (a spec naming another endpoint must not collect it);
    else a placeholder (the OpenAI SDK wants some key), never a provider key: passing api_key
    explicitly is what stops litellm from falling back to the provider's variable.
    """
    base = api_base or setting("ARENA_API_BASE")
    if not base:
        if api_key_env:
            raise SpecError(
                f"api_key_env: {api_key_env} names the key for a custom endpoint, but there is none; "
                "give api_base: (or set ARENA_API_BASE), or remove api_key_env"
            )
        return None, None
    provider = _provider(model)
    if provider not in CUSTOM_ENDPOINT_PROVIDERS:
        raise SpecError(
            f"'{model}' cannot use a custom api_base ({base}): litellm would authenticate to it with "
            f"{provider} credentials from this host's environment; write openai/<model> for an OpenAI-compatible "
            f"endpoint (custom endpoints work with {', '.join(CUSTOM_ENDPOINT_PROVIDERS)})"
        )
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise SpecError(
                f"api_key_env: {api_key_env} is not set; export {api_key_env}=<the key for {base}>, "
                "or remove api_key_env to call it without a key"
            )
        return base, key
    operators = setting("ARENA_API_BASE")
    if operators and base.rstrip("/") == operators.rstrip("/"):
        return base, setting("ARENA_API_KEY") or NO_KEY
    return base, NO_KEY


def check_litellm_model(model: str, api_base: str | None, api_key_env: str | None = None) -> None:
    """SpecError unless litellm knows the provider and its key is there (the spec's, or the provider's own)."""
    _provider(model)
    if endpoint_and_key(model, api_base, api_key_env)[0]:
        return
    missing = import_litellm().validate_environment(model).get("missing_keys") or []
    if missing:
        raise SpecError(
            f"{', '.join(missing)} is not set for '{model}'; export it, or give api_base for an OpenAI-compatible server"
        )


def provider_of(model: str) -> str:
    """litellm's provider of `model` (openai, anthropic, ...); SpecError if litellm does not know it."""
    return _provider(model)


def _provider(model: str) -> str:
    litellm = import_litellm()
    try:
        return litellm.get_llm_provider(model)[1]
    except Exception:
        raise SpecError(
            f"litellm does not know the provider of '{model}'; write provider/model, e.g. openai/gpt-4.1-mini "
            "(or scripted:FILE / replay:TRAJ)"
        ) from None


class RetryPolicy(BaseModel):
    """How the host retries a failed model call (rate limits, 5xx, timeouts)."""

    attempts: int = 5
    wait_min_s: float = 2.0
    wait_max_s: float = 30.0
    timeout_s: float = 120.0
    """Per HTTP request."""

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        """ARENA_MODEL_RETRIES, ARENA_MODEL_RETRY_WAIT_S, ARENA_MODEL_TIMEOUT_S override the defaults."""
        values = env_numbers({"ARENA_MODEL_RETRIES": "attempts"}, int)
        values |= env_numbers({"ARENA_MODEL_RETRY_WAIT_S": "wait_min_s", "ARENA_MODEL_TIMEOUT_S": "timeout_s"})
        return cls(**values)

    def litellm_kwargs(self) -> dict[str, Any]:
        """What every litellm call gets: our per-request timeout and no retries of litellm's own (ours wrap it)."""
        return {"drop_params": True, "timeout": self.timeout_s, "num_retries": 0}

    def retrying(
        self, retry: Any, stop: Callable[[Any], bool] | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> Any:
        """A tenacity Retrying with this policy's attempts and exponential waits.

        Args:
            retry: tenacity's retry condition: which failures are worth another attempt.
            stop: also stop when this says so (e.g. the contestant was cancelled).
            sleep: how to wait between attempts (a cancellable sleep for contestants).
        """
        from tenacity import Retrying, before_sleep_log, stop_after_attempt, wait_exponential

        attempts = stop_after_attempt(self.attempts)
        return Retrying(
            reraise=True,
            stop=attempts | stop if stop else attempts,
            sleep=sleep,
            wait=wait_exponential(multiplier=self.wait_min_s, min=self.wait_min_s, max=self.wait_max_s),
            before_sleep=before_sleep_log(log, logging.WARNING),
            retry=retry,
        )


def transient_errors() -> tuple[type[Exception], ...]:
    """The litellm failures a reviewer call retries: rate limits, connection errors, 5xx and timeouts."""
    exceptions = import_litellm().exceptions
    return (
        exceptions.RateLimitError,
        exceptions.APIConnectionError,
        exceptions.InternalServerError,
        exceptions.Timeout,
    )
