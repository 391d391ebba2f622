"""Where a virtual key's requests go: the upstream's API shape, its URL, the real key and the model's own name.

Resolved once, when the key is issued (arena.llm.endpoint_and_key decides endpoint and key, as for every host-side
call), so a missing key or a provider the gateway cannot forward fails the launch with a SpecError instead of the
contestant's first call. The real key lives only in this object, in the gateway's memory (never repr'd or stored).
"""

import os
from dataclasses import dataclass, field
from typing import Literal

from arena.errors import SpecError
from arena.llm import CUSTOM_ENDPOINT_PROVIDERS, endpoint_and_key, import_litellm

Shape = Literal["openai", "anthropic", "gemini"]
DEFAULTS: dict[str, tuple[str, str]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "gemini": ("https://generativelanguage.googleapis.com", "GEMINI_API_KEY"),
}
"""shape -> (default base URL, the provider's own key variable), used when the spec names no api_base."""
BASE_VARIABLES: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "anthropic": ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"),
    "gemini": ("GOOGLE_GEMINI_BASE_URL", "GEMINI_API_BASE"),
}
"""shape -> the variables that move the provider's default endpoint (read by litellm and the SDKs alike)."""
ROUTE_SHAPES: dict[str, Shape] = {
    "/chat/completions": "openai",
    "/responses": "openai",
    "/messages": "anthropic",
    "/messages/count_tokens": "anthropic",
    "/models/{model}:generateContent": "gemini",
    "/models/{model}:streamGenerateContent": "gemini",
    "/models/{model}:countTokens": "gemini",
}
"""The gateway's routes (without their version prefix) -> their API. Gemini's name the model in the path."""
ROUTE_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("/v1", ""),
    "anthropic": ("/v1", ""),
    "gemini": ("/v1beta", "/v1"),
}
"""shape -> the prefixes its routes are served under, the first the one recorded (litellm's gemini/ sends /v1)."""
ROUTE_NAMES = {
    "openai": "OpenAI (POST /v1/chat/completions or /v1/responses)",
    "anthropic": "Anthropic (POST /v1/messages)",
    "gemini": "Gemini (POST /v1beta/models/<model>:generateContent)",
}


@dataclass(frozen=True)
class Upstream:
    shape: Shape
    base: str
    """OpenAI: the base the paths follow (…/v1); Anthropic, Gemini: the root (/v1/messages, /v1beta/models follow)."""
    model: str
    """The upstream's name for the model (the litellm name without its provider prefix)."""
    key: str = field(repr=False)

    def url(self, route: str) -> str:
        """The upstream URL of a gateway route (`/chat/completions`, `/messages`, ...)."""
        base = self.base.rstrip("/")
        if self.shape == "openai":
            return base + route
        if self.shape == "gemini":
            return base.removesuffix("/v1beta") + "/v1beta" + route.replace("{model}", self.model)
        root = base.removesuffix("/messages").removesuffix("/v1")
        return f"{root}/v1{route}"

    def auth_headers(self) -> dict[str, str]:
        if self.shape == "anthropic":
            return {"x-api-key": self.key}
        if self.shape == "gemini":
            return {"x-goog-api-key": self.key}
        return {"authorization": f"Bearer {self.key}"}


def resolve(model: str, api_base: str | None, api_key_env: str | None) -> Upstream:
    """The upstream for a contestant's litellm model; SpecError if the gateway cannot forward it or its key is unset."""
    try:
        bare, provider, *_ = import_litellm().get_llm_provider(model)
    except Exception:
        raise SpecError(
            f"litellm does not know the provider of '{model}'; write provider/model, e.g. openai/gpt-4.1-mini "
            "or anthropic/claude-sonnet-4-5"
        ) from None
    if provider == "gemini":
        base, key = _gemini_endpoint(model, api_base, api_key_env)
    else:
        base, key = endpoint_and_key(model, api_base, api_key_env)
    if provider in ("anthropic", "gemini"):
        shape: Shape = provider
    elif provider == "openai" or (base and provider in CUSTOM_ENDPOINT_PROVIDERS):
        shape = "openai"
    else:
        raise SpecError(
            f"'{model}' is a {provider} model, and the gateway forwards OpenAI-compatible, Anthropic and Gemini "
            "models only; write openai/<model> with api_base: for an OpenAI-compatible server, anthropic/<model> "
            "or gemini/<model>"
        )
    default_base, variable = DEFAULTS[shape]
    # The operator's own endpoint for the provider, as litellm and the providers' SDKs read it from the environment.
    default_base = next((os.environ[v] for v in BASE_VARIABLES[shape] if os.environ.get(v)), default_base)
    if key is None:
        key = os.environ.get(variable)
        if not key:
            raise SpecError(f"{variable} is not set for '{model}'; export it, or give api_base: and api_key_env:")
    return Upstream(shape, base or default_base, bare, key)


def _gemini_endpoint(model: str, api_base: str | None, api_key_env: str | None) -> tuple[str | None, str | None]:
    """(base, key) of a gemini/ model: Google's own (GEMINI_API_KEY), or the spec's api_base with its api_key_env.

    Not arena.llm.endpoint_and_key: litellm calls only OpenAI-compatible custom endpoints, while the gateway relays
    Gemini's API to any server that speaks it. ARENA_API_BASE is an OpenAI-compatible endpoint, so it is not used.
    """
    if not api_base:
        if api_key_env:
            raise SpecError(f"api_key_env: {api_key_env} is for a custom api_base:, and '{model}' has none; remove it")
        return None, None
    if not api_key_env or not os.environ.get(api_key_env):
        raise SpecError(
            f"'{model}' has api_base: {api_base}, so it needs api_key_env: naming a set variable with that server's "
            "key (GEMINI_API_KEY goes only to Google, or to GOOGLE_GEMINI_BASE_URL)"
        )
    return api_base, os.environ[api_key_env]


def model_names(model: str, upstream: Upstream) -> frozenset[str]:
    """The names a request may give the key's model: the litellm name, or the upstream's own."""
    return frozenset({model, upstream.model})
