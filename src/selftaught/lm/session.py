"""The paper's `language_model` surface, on the orchestrator's side of the sandbox.

One `LanguageModel` per improver run. It owns the budget: improvers only ever hold a
proxy whose calls arrive here, so nothing they do to the proxy changes what they get.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from selftaught.errors import (
    BudgetExhausted,
    LanguageModelError,
    ModelCallFailed,
    ModelUnavailable,
    RunHalted,
    SpendingCapReached,
    TransientError,
)
from selftaught.lm.base import (
    DEFAULT_TEMPERATURE,
    MAX_PROMPT_CHARS,
    AnswerShape,
    Backend,
    Reply,
    Request,
    Usage,
)
from selftaught.lm.edits import INSTRUCTION, apply_edits, ask_for_edits
from selftaught.lm.local import default_max_tokens, default_redraws
from selftaught.lm.options import ModelOptions
from selftaught.lm.usable import (
    Checked,
    arity_of,
    as_answer,
    check,
    defines_beside,
    header_of,
    nests_definitions,
    returns_value,
    same_program,
    tally,
)


@dataclass
class ModelCall:
    """One call as recorded: what was asked, what came back, what it cost."""

    scope: str
    backend: str
    system: str
    messages: list[str]
    temperature: float
    max_tokens: int
    seed: int | None
    responses: list[str] = field(default_factory=list)
    usable: int = 0
    """How many responses yield code defining the required function with its arity."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Unusable responses by reason (`selftaught.lm.usable.REASONS`)."""
    shape: AnswerShape | None = None
    """The answer's shape, for backends that constrain or start it (not recorded: it
    follows from the options and the program being improved)."""
    finish_reasons: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    truncated: int = 0
    """Messages dropped because the batch exceeded `max_responses_per_call`."""
    attempts: int = 0
    """Requests sent for this call, counting retries (0 when all came from the cache)."""
    notes: list[str] = field(default_factory=list)
    """Why anything unusual happened: retries, samples asked one by one, cache hits."""
    answers: list[int] | None = None
    """For each message, the index in `responses` of the response the caller received;
    None until the call is answered."""

    def requests(self) -> list[tuple[Request, list[int]]]:
        """The backend requests this call makes, with the message positions each answers:
        identical messages go out as one request for several samples. Replay matches
        recorded calls through this same split."""
        return self._requests(self.messages, drawn={})

    def more(self, messages: list[str]) -> list[tuple[Request, list[int]]]:
        """Requests for further samples of messages this call has asked already, with the
        positions in `messages` each answers. Each continues its message's sample stream
        (sample i of a request with seed s is the sample of seed s + i), so the recorded
        call, with these samples appended, splits through `requests()` into requests for
        the very same samples: replay and the cache find every one."""
        return self._requests(messages, drawn=Counter(self.messages))

    def _requests(
        self, messages: list[str], drawn: Mapping[str, int]
    ) -> list[tuple[Request, list[int]]]:
        order = {m: g for g, m in enumerate(dict.fromkeys([*self.messages, *messages]))}
        groups: dict[str, list[int]] = {}
        for i, message in enumerate(messages):
            groups.setdefault(message, []).append(i)
        return [
            (
                Request(
                    system=self.system,
                    user=message,
                    n=len(positions),
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    seed=derive_seed(self.seed, order[message]) + drawn.get(message, 0),
                    shape=self._shape(message),
                ),
                positions,
            )
            for message, positions in groups.items()
        ]

    def _shape(self, message: str) -> AnswerShape | None:
        if self.shape is not None and message.endswith(INSTRUCTION):
            return replace(self.shape, form="edits", header="")
        return self.shape


def derive_seed(*parts: object) -> int:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class LanguageModel:
    """`budget`, `max_responses_per_call`, `prompt`, `batch_prompt`, as in the paper."""

    def __init__(
        self,
        backend: Backend,
        *,
        budget: int,
        max_responses_per_call: int,
        max_tokens: int,
        seed: int,
        scope: str,
        required_function: str | None = None,
        record: Callable[[ModelCall], None] | None = None,
        seed_key: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        program: str | None = None,
        options: ModelOptions | None = None,
    ) -> None:
        """`temperature`: of calls that do not give their own (`Budgets.temperature`).
        `program`: the program being improved; with `required_function` it gives the
        arity answers must have, the header an answer can start with, and what edits
        apply to. `options`: `header`, `repair` and `edits` (`ModelOptions`)."""
        self.backend = backend
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.scope = scope
        self.seed_key = scope if seed_key is None else seed_key
        """What call seeds derive from besides `seed`: the scope, unless runs in different
        scopes are meant to draw the same samples (paired evaluations)."""
        self.required_function = required_function
        self.program = program
        self.options = options or ModelOptions()
        # a backend of one's own need not subclass `Backend`: then its name decides
        model = getattr(backend, "defaults_for", backend.name)
        cap = self.options.max_tokens
        if cap is None:
            cap = default_max_tokens(model)
        if cap is not None:
            self.max_tokens = min(max_tokens, cap)
        self.arity = arity_of(program, required_function) if program and required_function else None
        self._returns = bool(
            program
            and required_function
            and getattr(backend, "redraws_no_value", True)
            and returns_value(program, required_function)
        )
        redraw = self.options.redraw
        self.redraws = default_redraws(model) if redraw is None else redraw
        self._record = record
        self._lock = threading.Lock()
        self.calls = 0
        self.usage = Usage()

    def _take_call(self) -> int:
        with self._lock:
            if self.calls >= self.budget:
                raise BudgetExhausted(f"language model budget of {self.budget} calls is spent")
            self.calls += 1
            return self.calls

    def batch_prompt(
        self, expertise: str, message_batch: list[str], temperature: float | None = None
    ) -> list[str]:
        """One response per message; one call against the budget. `temperature` None:
        this model's default. A prompt longer than `MAX_PROMPT_CHARS` is refused unsent."""
        messages = list(message_batch)[: self.max_responses_per_call]
        longest = max([len(expertise), *(len(m) for m in messages)])
        if longest > MAX_PROMPT_CHARS:
            raise LanguageModelError(
                f"a prompt of {longest:,} characters is longer than {MAX_PROMPT_CHARS:,}:"
                " not sent (it costs no call of the budget)"
            )
        index = self._take_call()
        call = ModelCall(
            scope=self.scope,
            backend=self.backend.name,
            system=expertise,
            messages=[self._outgoing(m) for m in messages],
            temperature=self.temperature if temperature is None else temperature,
            max_tokens=self.max_tokens,
            seed=derive_seed(self.seed, self.seed_key, index),
            truncated=len(message_batch) - len(messages),
            shape=self._shape(),
        )
        start = time.perf_counter()
        try:
            call.responses, call.finish_reasons = self._ask(call, call.requests(), messages)
        except RunHalted as exc:
            if call.usage.samples:  # other requests of the call were answered and paid for
                call.error = f"{type(exc).__name__}: {exc}"
                call.usage = replace(call.usage, calls=1, seconds=time.perf_counter() - start)
                self._finish(call)
            raise
        except Exception as exc:  # noqa: BLE001 - a failed call is recorded, then reported
            sent = exc.sent if isinstance(exc, ModelCallFailed | TransientError) else True
            sent = sent or call.usage.samples > 0  # another request of the call was answered
            failed = isinstance(exc, ModelCallFailed)
            call.error = str(exc) if failed else f"{type(exc).__name__}: {exc}"
            if not sent:
                with self._lock:
                    self.calls -= 1  # never reached the model: it costs no budget
                call.notes.append("not sent: it does not count against the call budget")
            # the samples other requests of the call drew stay counted: they were paid for
            call.usage = replace(call.usage, calls=int(sent), seconds=time.perf_counter() - start)
            self._finish(call)
            raise LanguageModelError(call.error) from exc
        responses = list(call.responses)
        call.answers = list(range(len(responses)))
        if self.required_function:
            responses = self._checked(call)
        call.usage = replace(call.usage, calls=1)  # one call, however many requests it took
        self._finish(call)
        return responses

    def _checked(self, call: ModelCall) -> list[str]:
        """Check every sample, draw again for those not worth the improver's time (up to
        `redraw` rounds), and give the improver, for each message, its first good draw."""
        checked = [
            self._check(m, r, f)
            for m, r, f in zip(call.messages, call.responses, call.finish_reasons, strict=True)
        ]
        given = list(range(len(checked)))  # the draw each message's answer comes from
        for _ in range(self.redraws):
            again = [p for p, d in enumerate(given) if not self._good(checked[d])]
            if not again:
                break
            wanted = [call.messages[p] for p in again]
            texts, finish, error = self._gather(call, call.more(wanted), len(wanted))
            for k, p in enumerate(again):
                if texts[k] is None:  # its message's request failed
                    continue
                call.messages.append(wanted[k])
                call.responses.append(texts[k] or "")
                call.finish_reasons.append(finish[k])
                checked.append(self._check(wanted[k], texts[k] or "", finish[k]))
                if self._good(checked[-1]):
                    given[p] = len(checked) - 1
            if error is not None:
                stops = isinstance(error, RunHalted)
                if stops and not isinstance(error, SpendingCapReached | ModelUnavailable):
                    raise error  # a replay asked what was never recorded, a full disk
                # keep what was drawn, the other messages' draws of this round included, and
                # record the call: a cap or an outage ends the run at its next call, and a
                # replay stops drawing here too (`StreamEnded`)
                call.notes.append(f"drawing again failed ({type(error).__name__}: {error})")
                break
        call.answers = given
        redrawn = len(checked) - len(given)
        if redrawn:
            call.notes.append(
                f"drew {redrawn} samples again (unusable, the program unchanged, or no value"
                f" returned); the answers are draws {given}"
            )
        call.usable = sum(c.usable for c in checked)
        call.reasons = tally(checked)
        repaired = sum(checked[d].repaired for d in given)
        if repaired:
            call.notes.append(f"{repaired} trimmed to their last complete statement")
        if self.options.repair or self.options.edits:
            return [
                as_answer(code) if (code := checked[d].code) is not None else call.responses[d]
                for d in given
            ]
        return [call.responses[d] for d in given]

    def _good(self, checked: Checked) -> bool:
        """Usable, not the program being improved again, and returning a value if that
        program's function does (a body trimmed at the token limit often lost its
        `return`)."""
        code = checked.code
        if code is None or (self.program and same_program(code, self.program)):
            return False
        return not self._returns or returns_value(code, self.required_function or "")

    def _edits(self, message: str) -> bool:
        return bool(
            self.options.edits
            and self.required_function
            and self.program
            and self.program.strip() in message
        )

    def _outgoing(self, message: str) -> str:
        """The message as sent: asking for edits where the options say so."""
        return ask_for_edits(message) if self._edits(message) else message

    def _shape(self) -> AnswerShape | None:
        if not self.required_function:
            return None
        if not self.program:
            return AnswerShape()
        function, header = self.required_function, self.options.header
        return AnswerShape(
            header=(header_of(self.program, function) or "") if header else "",
            nested=nests_definitions(self.program, function),
            helpers=defines_beside(self.program, function),
            program=self.program if self.options.edits else "",
        )

    def _check(self, message: str, response: str, finish: str) -> Checked:
        function, cut = self.required_function or "", finish == "length"
        if message.endswith(INSTRUCTION) and self.program:
            applied = apply_edits(self.program, response)
            if applied.program is None:
                return Checked(None, "cut_at_limit" if cut else applied.reason)
            return check(as_answer(applied.program), function, self.arity, repair=False)
        return check(response, function, self.arity, cut=cut, repair=self.options.repair)

    def prompt(
        self, expertise: str, message: str, n_responses: int = 1, temperature: float | None = None
    ) -> list[str]:
        """`n_responses` samples of one message; one call against the budget."""
        n = max(1, min(int(n_responses), self.max_responses_per_call))
        return self.batch_prompt(expertise, [message] * n, temperature)

    def _ask(
        self, call: ModelCall, requests: list[tuple[Request, list[int]]], messages: list[str]
    ) -> tuple[list[str], list[str]]:
        """The samples for `messages` (each request answers its positions), and why each
        ended; or, when a request failed, its failure (one that ends the run first), raised
        after the answered requests' usage is on `call`."""
        responses, finish, error = self._gather(call, requests, len(messages))
        if error is not None:
            raise error
        return [r or "" for r in responses], finish

    def _gather(
        self, call: ModelCall, requests: list[tuple[Request, list[int]]], size: int
    ) -> tuple[list[str | None], list[str], BaseException | None]:
        """Send the requests; different messages go out concurrently (the backend limits
        how many requests of the run are in flight). Each answered request fills its
        positions and puts its usage, attempts and notes onto `call`, even when another
        failed: those samples were paid for. Positions of a failed request stay None;
        the failure returned is the first that ends the run, else the first."""
        outcomes: list[Reply | BaseException] = []
        if len(requests) == 1:
            outcomes = [_outcome(self.backend.complete, requests[0][0])]
        else:
            with ThreadPoolExecutor(max_workers=min(8, len(requests))) as pool:
                futures = [pool.submit(_outcome, self.backend.complete, r) for r, _ in requests]
                outcomes = [f.result() for f in futures]
        responses: list[str | None] = [None] * size
        finish: list[str] = ["stop"] * size
        error: BaseException | None = None
        for (request, positions), reply in zip(requests, outcomes, strict=True):
            if isinstance(reply, Reply) and len(reply.completions) != request.n:
                reply = LanguageModelError(
                    f"asked for {request.n} samples, got {len(reply.completions)}"
                )
            if isinstance(reply, BaseException):
                call.attempts += reply.attempts if isinstance(reply, ModelCallFailed) else 1
                # what ends the run wins over what fails the call
                halts = isinstance(reply, RunHalted) and not isinstance(error, RunHalted)
                if error is None or halts:
                    error = reply
                continue
            for pos, completion in zip(positions, reply.completions, strict=True):
                responses[pos] = completion.text
                finish[pos] = completion.finish_reason
            call.usage = call.usage + reply.usage
            call.attempts += reply.attempts
            call.notes.extend(reply.notes)
        return responses, finish, error

    def _finish(self, call: ModelCall) -> None:
        with self._lock:
            self.usage = self.usage + call.usage
        if self._record is not None:
            self._record(call)


def _outcome(complete: Callable[[Request], Reply], request: Request) -> Reply | BaseException:
    """The reply to a request, or what it raised (a cap or an outage included)."""
    try:
        return complete(request)
    except BaseException as exc:  # noqa: BLE001 - handed back to the caller, who raises it
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return exc
