"""The response cache: one SQLite file per run directory (`<run>/cache.sqlite`).

Every sample is stored under `cache_key(identity, request, index)`, the sha256 of the
canonical JSON of everything that determines it: backend and model (the model string),
base URL, system message, messages, temperature, max tokens, seed and the sample's index.
Ignored, on purpose: the API key, timeouts, retries, concurrency, prices, `n` itself (each
sample has its own key), and wall time. So re-executing a run in its own directory with
the same seeds gets every sample that was already answered from here, and "the same
prompt again" is a new sample only when its index or seed says so.

    cache = ResponseCache(run_dir / "cache.sqlite")
    backend = Cached(backend, cache, base_url=None)   # what make_backend(..., cache_path=) does
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

from selftaught.lm.base import Backend, Completion, Reply, Request
from selftaught.lm.wrappers import Wrapper, merge_replies
from selftaught.store.cache import CachedSample, SampleFile

CACHE_FILE = "cache.sqlite"


def cache_key(identity: dict[str, object], request: Request, index: int) -> str:
    """sha256 of canonical JSON: the backend's identity, the request, the sample index."""
    payload = {
        **identity,
        "system": request.system,
        "messages": [{"role": "user", "content": request.user}],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "sample_index": index,
    }
    if request.shape is not None:  # absent from older keys, so their caches still hit
        shape: dict[str, object] = {"form": request.shape.form, "header": request.shape.header}
        if "constraints" in identity:  # only a grammar reads the rest of the shape
            shape.update({k: True for k in ("nested", "helpers") if getattr(request.shape, k)})
            if request.shape.form == "edits" and request.shape.program:
                shape["program"] = request.shape.program
        payload["shape"] = shape
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a prompt holding a lone surrogate has a key too (its own)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class ResponseCache:
    """Samples by key, in one SQLite file (`store.cache`); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = SampleFile(self.path)

    def get(self, key: str) -> Completion | None:
        sample = self._file.get(key)
        if sample is None:
            return None
        return Completion(
            sample.text,
            sample.prompt_tokens,
            sample.completion_tokens,
            sample.finish_reason,
            cached=True,
        )

    def put(self, key: str, completion: Completion) -> None:
        self._file.put(
            key,
            CachedSample(
                completion.text,
                completion.prompt_tokens,
                completion.completion_tokens,
                completion.finish_reason,
            ),
        )

    def __len__(self) -> int:
        return len(self._file)

    def close(self) -> None:
        self._file.close()


class Cached(Wrapper):
    """Answers what the cache holds; asks the backend for the rest and stores it.

    A hit costs no money but is still a call: budgets are counted above the backend.
    Missing samples are asked for from the first missing index on (sample i of a request
    with seed s is sample 0 of the same request with seed s + i).
    """

    def __init__(
        self,
        inner: Backend,
        cache: ResponseCache,
        *,
        base_url: str | None,
        constraints: str | None = None,
    ) -> None:
        super().__init__(inner)
        self.cache = cache
        self.identity: dict[str, object] = {"model": inner.name, "base_url": base_url}
        if constraints is not None:  # constrained answers differ from free ones
            self.identity["constraints"] = constraints

    def close(self) -> None:
        self.cache.close()
        super().close()

    def complete(self, request: Request) -> Reply:
        start = time.perf_counter()
        keys = [cache_key(self.identity, request, i) for i in range(request.n)]
        hits = [self.cache.get(k) for k in keys]
        first_miss = next((i for i, h in enumerate(hits) if h is None), request.n)
        cached = [h for h in hits[:first_miss] if h is not None]
        if first_miss == request.n:
            return Reply(
                completions=cached,
                seconds=time.perf_counter() - start,
                attempts=0,
                notes=[f"{request.n} of {request.n} samples from the cache"],
            )
        seed = None if request.seed is None else request.seed + first_miss
        fresh = self.inner.complete(replace(request, n=request.n - first_miss, seed=seed))
        for key, completion in zip(keys[first_miss:], fresh.completions, strict=False):
            self.cache.put(key, completion)
        if not cached:
            return fresh
        reply = merge_replies(
            [Reply(completions=cached, attempts=0), fresh], time.perf_counter() - start
        )
        reply.notes.insert(0, f"{first_miss} of {request.n} samples from the cache")
        return reply
