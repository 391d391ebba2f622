"""mini-swe-agent's LitellmModel with the arena's retry policy (arena/llm.py) and token accounting.

Imported lazily: litellm is slow to import and needs LITELLM_LOCAL_MODEL_COST_MAP set first (import_litellm does).
"""

import time
from typing import Any

from arena.llm import RetryPolicy, import_litellm

litellm = import_litellm()

from minisweagent.exceptions import FormatError, LimitsExceeded  # noqa: E402
from minisweagent.models import GLOBAL_MODEL_STATS  # noqa: E402
from minisweagent.models.litellm_model import LitellmModel  # noqa: E402
from tenacity import retry_if_exception, retry_if_not_exception_type  # noqa: E402

GATEWAY_UNREACHED = (litellm.Timeout, litellm.APIConnectionError)
"""Failures to get any answer from the gateway: the only ones a model behind it retries."""
PAYMENT_REQUIRED = 402
"""What the gateway answers once a cost limit or budget is spent (arena/gateway)."""


def known_cost(model_name: str) -> bool:
    try:
        info = litellm.get_model_info(model_name)
    except Exception:
        return False
    return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))


class ArenaLitellmModel(LitellmModel):
    """Tool-call model over litellm. Unknown models run with cost 0 instead of failing on cost lookup."""

    def __init__(self, *, retry: RetryPolicy, api_key: str | None = None, gateway: bool = False, **kwargs: Any):
        """`gateway`: the calls go through the arena's gateway, which retries the upstream's failures itself (429,
        5xx, its timeouts); this model then retries only what the gateway cannot: not reaching it, or giving up
        waiting for it (ARENA_MODEL_TIMEOUT_S). One place retries, so attempts do not multiply."""
        kwargs.setdefault("cost_tracking", "default" if known_cost(kwargs["model_name"]) else "ignore_errors")
        kwargs.setdefault("model_kwargs", {})
        kwargs["model_kwargs"] = retry.litellm_kwargs() | kwargs["model_kwargs"]
        if kwargs["model_kwargs"].get("api_base") and not api_key:
            # litellm would fill a missing key from the provider's variable (OPENAI_API_KEY) and send it there.
            raise ValueError("a custom api_base needs a key of its own; build the model with make_model()")
        super().__init__(**kwargs)
        self.retry = retry
        self.gateway = gateway
        self.stop_signal = None  # set by ContestantAgent: retries end when the contestant is stopped
        # Kept out of self.config: the config is serialized into every trajectory file.
        self._api_key = api_key

    def _query(self, messages: list[dict[str, str]], **kwargs: Any):
        return super()._query(messages, **({"api_key": self._api_key} if self._api_key else {}) | kwargs)

    def query(self, messages: list[dict[str, str]], **kwargs: Any) -> dict:
        retrying = self.retry.retrying(
            retry_if_not_exception_type(tuple(self.abort_exceptions))
            & retry_if_exception(lambda e: getattr(e, "status_code", None) != PAYMENT_REQUIRED)
            & retry_if_exception(lambda e: not self.gateway or isinstance(e, GATEWAY_UNREACHED)),
            stop=lambda _: bool(self.stop_signal and self.stop_signal.reason),
            sleep=self.stop_signal.sleep if self.stop_signal else time.sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._query(self._prepare_messages_for_api(messages), **kwargs)
        except Exception as e:
            if getattr(e, "status_code", None) == PAYMENT_REQUIRED:  # the gateway's cap: no retry changes that
                raise LimitsExceeded(
                    {
                        "role": "exit",
                        "content": "LimitsExceeded",
                        "extra": {"exit_status": "LimitsExceeded", "submission": "", "error": str(e)[:2000]},
                    }
                ) from None
            raise
        cost_output = self._calculate_cost(response)
        GLOBAL_MODEL_STATS.add(cost_output["cost"])
        usage = _usage(response)
        try:
            actions = self._parse_actions(response)
        except FormatError as e:
            e.messages[0]["extra"].update(cost_output | usage)
            raise
        message = response.choices[0].message.model_dump()
        message["extra"] = {
            "actions": actions,
            "response": response.model_dump(),
            **cost_output,
            **usage,
            "timestamp": time.time(),
        }
        return message


def _usage(response: Any) -> dict[str, int]:
    usage = getattr(response, "usage", None)
    return {
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
    }
