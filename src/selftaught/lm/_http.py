"""What the official clients' errors mean to us: retry, give up, or tell the user."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from selftaught.errors import ModelCallFailed, TransientError


def retry_after(response: Any) -> float | None:
    """Seconds from a `Retry-After` (or `retry-after-ms`) header: a number or an HTTP date."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def refused(exc: BaseException) -> bool:
    """Whether a connection error happened before the request left (nothing was sent)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate(sdk: Any, exc: Exception, *, timeout: float) -> Exception:
    """An `openai` or `anthropic` client error as a `TransientError` or `ModelCallFailed`.

    Both SDKs share the same exception names (they are generated from one template).
    """
    if isinstance(exc, sdk.APITimeoutError):
        return TransientError(f"no response within {timeout:g} s")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc
        return TransientError(
            f"connection failed: {type(cause).__name__}: {cause}", sent=not refused(exc)
        )
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        detail = str(getattr(exc, "message", "") or exc)[:300]
        if status == 429 or status == 408 or status == 409 or status >= 500:
            return TransientError(f"HTTP {status}: {detail}", retry_after=retry_after(exc.response))
        return ModelCallFailed(f"HTTP {status}: {detail}")
    if isinstance(exc, sdk.APIResponseValidationError | ValueError):
        # Truncated or malformed JSON: the body was cut off on the way.
        return TransientError(f"malformed response: {type(exc).__name__}: {str(exc)[:200]}")
    return exc
