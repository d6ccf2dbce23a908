"""Constrained decoding: the grammars, and the grammar path on the real embedded model."""

import re

import pytest

from selftaught.lm.base import AnswerShape, Request
from selftaught.lm.edits import parse_edits
from selftaught.lm.grammar import edits_grammar, grammar_for, program_grammar
from selftaught.lm.local import grammar_parses

HEADER = "import numpy as np\n\ndef algorithm(train_samples, train_parity, test_samples):\n"
MESSAGE = (
    "Write a better version of this program, which predicts a noisy parity.\n```python\n"
    + HEADER
    + "    return np.random.binomial(1, 0.5, len(test_samples))\n```\n"
    "Answer with the complete improved program."
)
PROGRAM = HEADER + "    return np.random.binomial(1, 0.5, len(test_samples))\n"
_TOP = re.compile(r"^(def |class |import |from |@|[A-Za-z_]\w*[ \t]*[=:,.\[])")


@pytest.fixture(scope="module")
def vocab():
    from llama_cpp import Llama

    from selftaught.lm.local import embedded_model_path

    return Llama(model_path=str(embedded_model_path("smollm2")), vocab_only=True, verbose=False)


@pytest.mark.parametrize(
    "grammar",
    [
        program_grammar(),
        program_grammar(HEADER),
        program_grammar(HEADER, opened=False),
        program_grammar(HEADER, nested=True),
        program_grammar(HEADER, nested=True, helpers=True),
        edits_grammar(),
        edits_grammar(opened=True),
        edits_grammar(PROGRAM, opened=True),
    ],
)
def test_every_grammar_is_accepted_by_llama_cpp(grammar, vocab):
    # LlamaGrammar.from_string only stores the text; llama.cpp parses it when sampling
    # starts, and crashed the process on a rule split over two lines
    assert grammar_parses(vocab, grammar)


def test_a_grammar_llama_cpp_cannot_parse_is_found_before_sampling(vocab):
    assert not grammar_parses(vocab, "root ::= x\n  | y")


def test_a_server_grammar_writes_the_fence_and_the_header_itself():
    text = grammar_for(AnswerShape(header=HEADER), opened=False)
    assert text.startswith('root ::= "```python\\nimport numpy as np')


@pytest.fixture(scope="module")
def backend():
    from selftaught.lm.local import LocalBackend

    return LocalBackend("smollm2")


_HEAD = re.compile(
    r"^(def \w+\(.*\).*|class \w+.*|(if|elif|for|while|with|except) .*|else|try|except|finally):$"
)


@pytest.mark.slow
def test_the_embedded_model_is_held_to_python_statement_structure(backend):
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
        body = c.text.removeprefix("```python\n" + HEADER)
        if c.finish_reason == "stop":
            assert body.endswith("\n```") and "```" not in body[:-3]
            body = body[:-4]
        lines = body.splitlines()
        if c.finish_reason == "length":
            lines = lines[:-1]  # the line being written when the limit came
        # the program has no definitions inside or beside the function: neither has this
        assert not any(line and not line.startswith(" ") for line in lines), lines
        assert not any(line.lstrip().startswith(("def", "class ")) for line in lines)
        if c.finish_reason == "stop":  # and the function ends with a return at its level
            last = [line for line in lines if line.startswith("    ") and line[4] != " "]
            assert last[-1].startswith("    return "), lines
        depth, opened = 1, True  # the body of the started function comes first
        for line in lines:
            if not line:
                continue
            code = line.lstrip(" ")
            indent = len(line) - len(code)
            assert indent % 4 == 0 and indent // 4 <= depth, line  # four spaces a level
            assert not opened or indent // 4 == depth, line  # a block holds a statement
            assert not code.startswith(("#", '"', "'", "\t")), line  # no comment, docstring
            assert "#" not in code and "  " not in code, line  # nor two spaces in a row
            assert indent or _TOP.match(code), line  # only definitions at the top level
            if code.endswith(":"):
                assert _HEAD.match(code), line  # a block opens with its keyword
                depth, opened = indent // 4 + 1, True
            else:
                assert not code.startswith(("def ", "class ")), line  # a def has a block
                assert code[-1] not in "([{,\\ ", line  # no bracket left open
                depth, opened = indent // 4, False


@pytest.mark.slow
def test_the_embedded_model_answers_an_edits_shape_with_edits_whose_search_text_matches(backend):
    request = Request(
        system="You are an expert Python programmer.",
        user=MESSAGE + "\nAnswer with search/replace edits.",
        n=3,
        max_tokens=120,
        seed=5,
        shape=AnswerShape(form="edits", program=PROGRAM),
    )
    searches = []
    for c in backend.complete(request).completions:
        assert c.text.startswith("<<<<<<< SEARCH\n")
        if c.finish_reason == "stop":
            assert c.text.rstrip("\n").endswith(">>>>>>> REPLACE")
        searches += [search for search, _ in parse_edits(c.text)]
    assert searches and all(search in PROGRAM for search in searches)
