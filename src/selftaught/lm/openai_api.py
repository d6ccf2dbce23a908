"""`openai:<model>`: any OpenAI-compatible chat-completions server, through the official
`openai` client (OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio, OpenRouter).

The client's own retries are off: `Retrying` owns that policy for every backend.
With `grammar` set to the server's kind, a request with a shape is held to it by a GBNF
grammar: llama.cpp's server takes it as `grammar`, vLLM as `structured_outputs.grammar`.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from typing import Any

from selftaught.errors import ConfigError
from selftaught.lm._http import translate
from selftaught.lm.base import Backend, Completion, Reply, Request
from selftaught.lm.grammar import GRAMMAR_VERSION, grammar_for

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
_REASONING = re.compile(r"^(o\d|gpt-5)")
"""Models that take `max_completion_tokens` and only the default temperature."""


def _sdk() -> Any:
    try:
        import openai
    except ImportError:
        raise ConfigError(
            "the openai backend needs the openai client: pip install openai"
        ) from None
    return openai


def resolve_key(api_key_env: str | None, base_url: str | None, env_name: str = KEY_ENV) -> str:
    """The key from the named variable; servers of one's own need none."""
    name = api_key_env or env_name
    key = os.environ.get(name)
    if key:
        return key
    if api_key_env or base_url is None:
        raise ConfigError(
            f"{name} is not set: export {name}=<your key>"
            + ("" if api_key_env else ", or point --base-url at a server that needs no key")
        )
    return "no-key"


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING.match(model.rsplit("/", 1)[-1]))


class OpenAIBackend(Backend):
    """Chat completions with `n` samples per request where the server honours `n`."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 120.0,
        samples_per_request: bool | None = None,
        grammar: str | None = None,
    ) -> None:
        self.model = model
        self.grammar = grammar
        """None, `llama.cpp` or `vllm`: how the server takes a grammar."""
        self.constraints = None if grammar is None else f"{grammar}/{GRAMMAR_VERSION}"
        self.name = f"openai:{model}"
        self.base_url = base_url or os.environ.get(BASE_URL_ENV) or None
        self.timeout = timeout
        self.supports_n = samples_per_request
        self.reasoning = is_reasoning_model(model)
        self._sdk = _sdk()
        self.client = self._sdk.OpenAI(
            api_key=resolve_key(api_key_env, self.base_url),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=0,
        )

    def close(self) -> None:
        """Close the HTTP client and its pooled connections."""
        self.client.close()

    def check(self) -> None:
        """Fail with one line, before any work, if the server is unreachable, refuses
        the key, or does not serve the model."""
        where = self.base_url or "the OpenAI API"
        client = self.client.with_options(timeout=min(self.timeout, 15.0), max_retries=0)
        try:
            served = [m.id for m in client.models.list()]
        except self._sdk.AuthenticationError:
            raise ConfigError(f"{where} refused the API key; check the key variable") from None
        except self._sdk.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise ConfigError(
                f"cannot reach the model server at {where}: {cause};"
                " start it, or fix --base-url / OPENAI_BASE_URL"
            ) from None
        except self._sdk.APIError:
            return  # a server without a model list: the first call will tell
        if served and self.model not in served:
            close = difflib.get_close_matches(self.model, served, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = ", ".join(served[:8])
            raise ConfigError(
                f"{where} does not serve model {self.model!r}{hint}; it serves: {listed}"
            )

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
        }
        if request.n > 1:
            params["n"] = request.n
        if self.reasoning:
            params["max_completion_tokens"] = request.max_tokens
        else:
            params["max_tokens"] = request.max_tokens
            params["temperature"] = request.temperature
        if request.seed is not None:
            params["seed"] = request.seed
        if self.grammar is not None and request.shape is not None:
            gbnf = grammar_for(request.shape, opened=False)
            if self.grammar == "vllm":
                params["extra_body"] = {"structured_outputs": {"grammar": gbnf}}
            else:
                params["extra_body"] = {"grammar": gbnf}
        return params

    def complete(self, request: Request) -> Reply:
        start = time.perf_counter()
        try:
            response = self.client.chat.completions.create(**self._params(request))
        except Exception as exc:  # noqa: BLE001 - translated into our two kinds of failure
            raise translate(self._sdk, exc, timeout=self.timeout) from exc
        choices = sorted(response.choices or [], key=lambda c: c.index)
        usage = response.usage
        prompt = usage.prompt_tokens if usage else 0
        completion = usage.completion_tokens if usage else 0
        k = max(1, len(choices))
        completions = [
            Completion(
                text=c.message.content or "",
                # The prompt is billed once per request; completion tokens are shared out.
                prompt_tokens=prompt if i == 0 else 0,
                completion_tokens=completion // k + (completion % k if i == 0 else 0),
                finish_reason=c.finish_reason or "stop",
            )
            for i, c in enumerate(choices)
        ]
        return Reply(completions=completions, seconds=time.perf_counter() - start)
