"""`anthropic:<model>`: Claude through the official `anthropic` client.

The Messages API returns one sample per request; `Samples` asks for several concurrently.
"""

from __future__ import annotations

import inspect
import os
import time
from typing import Any

from selftaught.errors import ConfigError
from selftaught.lm._http import translate
from selftaught.lm.base import Backend, Completion, Reply, Request

KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError:
        raise ConfigError(
            "the anthropic backend needs the anthropic client: pip install anthropic"
        ) from None
    return anthropic


class AnthropicBackend(Backend):
    """One Messages API request per sample."""

    supports_n = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.model = model
        self.name = f"anthropic:{model}"
        self.base_url = base_url or os.environ.get(BASE_URL_ENV) or None
        self.timeout = timeout
        self._sdk = _sdk()
        name = api_key_env or KEY_ENV
        key = os.environ.get(name)
        if not key:  # Anthropic wants a key even behind a custom base URL
            raise ConfigError(f"{name} is not set: export {name}=<your key>")
        self.client = self._sdk.Anthropic(
            api_key=key, base_url=self.base_url, timeout=timeout, max_retries=0
        )

    def close(self) -> None:
        """Close the HTTP client and its pooled connections."""
        self.client.close()

    def check(self) -> None:
        """Fail with one line, before any work, on an unreachable API, a refused key or an
        unknown model."""
        where = self.base_url or "the Anthropic API"
        client = self.client.with_options(timeout=min(self.timeout, 15.0), max_retries=0)
        try:
            client.models.retrieve(self.model)
        except self._sdk.AuthenticationError:
            raise ConfigError(f"{where} refused the key in {KEY_ENV}") from None
        except self._sdk.NotFoundError:
            raise ConfigError(
                f"{where} does not know model {self.model!r};"
                " e.g. anthropic:claude-sonnet-4-0 (see selftaught models)"
            ) from None
        except self._sdk.APIConnectionError as exc:
            raise ConfigError(f"cannot reach {where}: {exc.__cause__ or exc}") from None
        except self._sdk.APIError:
            return

    def _temperature(self, value: float) -> dict[str, Any]:
        """Newer clients dropped the `temperature` argument; the API still takes it."""
        t = min(value, 1.0)
        if "temperature" in inspect.signature(self.client.messages.create).parameters:
            return {"temperature": t}
        return {"extra_body": {"temperature": t}}

    def complete(self, request: Request) -> Reply:
        start = time.perf_counter()
        completions = []
        for _ in range(request.n):  # `Samples` normally hands us n = 1
            try:
                message = self.client.messages.create(
                    model=self.model,
                    system=request.system,
                    messages=[{"role": "user", "content": request.user}],
                    max_tokens=request.max_tokens,
                    **self._temperature(request.temperature),
                )
            except Exception as exc:  # noqa: BLE001 - translated into our kinds of failure
                raise translate(self._sdk, exc, timeout=self.timeout) from exc
            text = "".join(
                getattr(block, "text", "")
                for block in message.content
                if getattr(block, "type", "") == "text"
            )
            completions.append(
                Completion(
                    text=text,
                    prompt_tokens=message.usage.input_tokens,
                    completion_tokens=message.usage.output_tokens,
                    finish_reason=_FINISH.get(message.stop_reason or "", "stop"),
                )
            )
        return Reply(completions=completions, seconds=time.perf_counter() - start)
