"""Constrained decoding: the grammars, and the grammar path on the real embedded model."""

import re

import pytest

from selftaught.lm.base import AnswerShape, Request
from selftaught.lm.grammar import edits_grammar, grammar_for, program_grammar

HEADER = "import numpy as np\n\ndef algorithm(train_samples, train_parity, test_samples):\n"
MESSAGE = (
    "Write a better version of this program, which predicts a noisy parity.\n```python\n"
    + HEADER
    + "    return np.random.binomial(1, 0.5, len(test_samples))\n```\n"
    "Answer with the complete improved program."
)
_TOP = re.compile(r"^(def |class |import |from |@|#|[)\]}]|[A-Za-z_]\w*[ \t]*[=:,.\[])")


@pytest.mark.parametrize(
    "grammar",
    [
        program_grammar(),
        program_grammar(HEADER),
        program_grammar(HEADER, opened=False),
        edits_grammar(),
        edits_grammar(opened=True),
    ],
)
def test_every_grammar_is_accepted_by_llama_cpp(grammar):
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(grammar, verbose=False)


def test_a_server_grammar_writes_the_fence_and_the_header_itself():
    text = grammar_for(AnswerShape(header=HEADER), opened=False)
    assert text.startswith('root ::= "```python\\nimport numpy as np')


@pytest.fixture(scope="module")
def backend():
    from selftaught.lm.local import LocalBackend

    return LocalBackend("smollm2")


@pytest.mark.slow
def test_the_embedded_model_is_held_to_one_block_of_definitions(backend):
    request = Request(
        system="You are an expert Python programmer.",
        user=MESSAGE,
        n=3,
        max_tokens=160,
        seed=3,
        shape=AnswerShape(header=HEADER),
    )
    for c in backend.complete(request).completions:
        assert c.text.startswith("```python\n" + HEADER)
        first = c.text.removeprefix("```python\n" + HEADER).splitlines()[0].strip()
        assert first and not first.startswith(("#", '"', "'"))  # code, not prose
        body = c.text.removeprefix("```python\n")
        if c.finish_reason == "stop":
            assert body.endswith("\n```") and "```" not in body[:-3]
            body = body[:-3]
        for line in body.splitlines():
            assert not line.strip() or line[0] in " \t" or _TOP.match(line), line


@pytest.mark.slow
def test_the_embedded_model_answers_an_edits_shape_with_edit_blocks(backend):
    request = Request(
        system="You are an expert Python programmer.",
        user=MESSAGE + "\nAnswer with search/replace edits.",
        n=2,
        max_tokens=120,
        seed=5,
        shape=AnswerShape(form="edits"),
    )
    for c in backend.complete(request).completions:
        assert c.text.startswith("<<<<<<< SEARCH\n")
        if c.finish_reason == "stop":
            assert c.text.rstrip("\n").endswith(">>>>>>> REPLACE")
