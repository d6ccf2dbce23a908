"""Constrained decoding: the grammars, and the grammar path on the real embedded model.

Only what the code guarantees is tested here, whatever the model samples; what the model
tends to write under a grammar is measured by bench/small_model.py, not asserted."""

import ctypes
import math
import re

import pytest

from selftaught.lm.base import AnswerShape, Completion, Reply, Request
from selftaught.lm.edits import apply_edits, parse_edits
from selftaught.lm.grammar import edits_grammar, grammar_for, program_grammar
from selftaught.lm.local import grammar_parses
from selftaught.lm.options import ModelOptions
from selftaught.lm.session import LanguageModel
from selftaught.lm.usable import defines_beside, header_of, nests_definitions
from selftaught.tasks import get_task

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


def accepts(llm, grammar: str, text: str, *, whole: bool = True) -> bool:
    """Whether llama.cpp's grammar sampler lets the model write `text` token by token and
    then stop (`whole=False`: and maybe go on): the grammar as generation meets it."""
    import llama_cpp

    assert grammar_parses(llm, grammar)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")

    def allowed(token: int) -> bool:
        data = (llama_cpp.llama_token_data * 1)()
        data[0].id, data[0].logit, data[0].p = token, 0.0, 0.0
        array = llama_cpp.llama_token_data_array(data=data, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(array))
        return not math.isinf(data[0].logit)

    try:
        for token in llm.tokenize(text.encode(), add_bos=False, special=False):
            if not allowed(token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return allowed(llm.token_eos()) if whole else True
    finally:
        llama_cpp.llama_sampler_free(sampler)


def body(program: str, function: str = "algorithm") -> str:
    """What the model writes after the header the answer starts with."""
    return program.removeprefix(header_of(program, function) or "") + "```"


@pytest.mark.parametrize("task", ["lpn", "parity", "3sat", "maxcut", "qap", "grid"])
def test_the_seed_solutions_can_be_written_under_their_own_shape(vocab, task):
    program = get_task(task).seed_solution
    shape = AnswerShape(
        header=header_of(program, "algorithm") or "",
        nested=nests_definitions(program, "algorithm"),
        helpers=defines_beside(program, "algorithm"),
    )
    assert accepts(vocab, grammar_for(shape, opened=True), body(program))


@pytest.mark.parametrize(
    ("written", "ok"),
    [
        ("    y = x + 1\n    return y\n", True),
        ("\n    if x:\n        x = 2\n    else:\n        x = 3\n    return x\n", True),
        ("    y = x + 1\n", False),  # no return
        ("    return\n", False),  # returns nothing
        ("    if x:\n        return 1\n    else:\n        return 2\n", False),  # not at its level
        ("    def g(a):\n        return a\n    return g(x)\n", False),  # nested definition
        ("    defg = 1\n    return defg\n", False),  # no statement starts with def
        ("    return x\n\ndef g(a):\n    return a\n", False),  # nothing beside it
        ("    return x\n\nprint(x)\n", False),
        ("    y = x  # one more\n    return y\n", False),  # no comment
        ("    y = x\n    # one more\n    return y\n", False),
        ("    return  x\n", False),  # no two spaces in a row
        ("    if  x:\n        x = 2\n    return x\n", False),
        ("    y = x\t+ 1\n    return y\n", False),  # no tab inside a line
        ("    c  = 1\n    return c\n", False),
        ("    y = (x +\n        1)\n    return y\n", False),  # no open bracket at a line's end
        ('    """Doc."""\n    return x\n', False),  # no docstring
        ("  return x\n", False),  # four spaces a level
    ],
)
def test_what_a_function_body_may_hold(vocab, written, ok):
    grammar = program_grammar("def algorithm(x):\n")
    assert accepts(vocab, grammar, written + "```") is ok


def test_definitions_inside_or_beside_the_function_only_where_the_program_has_them(vocab):
    nested = "    def g(a):\n        return a\n    return g(x)\n```"
    beside = "    return g(x)\n\ndef g(a):\n    return a\n```"
    header = "def algorithm(x):\n"
    assert accepts(vocab, program_grammar(header, nested=True), nested)
    assert not accepts(vocab, program_grammar(header, nested=True), beside)
    assert accepts(vocab, program_grammar(header, helpers=True), beside)
    assert not accepts(vocab, program_grammar(header, helpers=True), nested)


def test_an_edit_searches_a_run_of_the_program_lines(vocab):
    program = 'def algorithm(x):\n    s = "\\b✓ \\x08"\n\n    y = x + 1\n    return y\n'
    grammar = edits_grammar(program, opened=True)

    def edit(search: str, replace: str) -> str:
        return f"{search}=======\n{replace}>>>>>>> REPLACE\n"

    assert accepts(vocab, grammar, edit("    y = x + 1\n    return y\n", "    return x\n"))
    assert accepts(vocab, grammar, edit(program.splitlines(keepends=True)[1], ""))  # escapes
    lines = program.splitlines(keepends=True)
    assert accepts(vocab, grammar, edit("".join(lines[1:4]), "    y = 2\n"))  # a blank inside
    assert not accepts(vocab, grammar, edit("    y = x + 2\n", "    y = 2\n"))  # not its text
    assert not accepts(vocab, grammar, edit("    return y\n    y = x + 1\n", ""))  # not a run
    assert not accepts(vocab, grammar, edit("\n    y = x + 1\n", ""))  # starts blank
    too_long = "".join(f"    y{i} = {i}\n" for i in range(9))  # 3 lines more than the 5
    assert accepts(vocab, grammar, edit("    return y\n", too_long[: -len("    y8 = 8\n")]))
    assert not accepts(vocab, grammar, edit("    return y\n", too_long))


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


def edits_answer(*edits: tuple[str, str]) -> str:
    return "".join(f"<<<<<<< SEARCH\n{s}=======\n{r}>>>>>>> REPLACE\n" for s, r in edits)


def test_what_the_edits_grammar_lets_the_model_write_parses_into_those_edits(vocab):
    # the grammar and the parser agree: every answer the grammar allows is read back as
    # the edits it holds, and applies to the program (its search texts are runs of lines)
    grammar = edits_grammar(PROGRAM, opened=True)
    lines = PROGRAM.splitlines(keepends=True)
    cases = [
        [(lines[3], "    return [0] * len(test_samples)\n")],
        [(lines[0], "import numpy\n"), ("".join(lines[2:4]), "def algorithm(a, b, c):\n")],
        [(lines[3], ""), (lines[0], ""), (lines[2], "def algorithm(x, y, z):\n")],
    ]
    for edits in cases:
        answer = edits_answer(*edits)
        assert accepts(vocab, grammar, answer.removeprefix("<<<<<<< SEARCH\n")), edits
        assert parse_edits(answer) == edits
        assert apply_edits(PROGRAM, answer).program is not None
    assert not accepts(vocab, grammar, edits_answer(*cases[2], cases[0][0])[15:])  # at most 3


class _Cut:
    """A backend whose samples stop at the token limit partway through an edit."""

    name = "openai:cut"

    def __init__(self, texts: list[str], finish: str = "length") -> None:
        self.texts, self.finish = texts, finish

    def complete(self, request: Request) -> Reply:
        return Reply([Completion(t, 1, 1, self.finish) for t in self.texts[: request.n]])


def edits_session(backend, calls: list, max_tokens: int = 64) -> LanguageModel:
    return LanguageModel(
        backend,
        budget=1,
        max_responses_per_call=3,
        max_tokens=max_tokens,
        seed=0,
        scope="t",
        required_function="algorithm",
        record=calls.append,
        program=PROGRAM,
        options=ModelOptions(edits=True, redraw=0),
    )


def test_an_edits_sample_cut_at_the_token_limit_is_reported_as_cut():
    whole = edits_answer((PROGRAM.splitlines(keepends=True)[3], "    return 0\n"))
    cut = [whole[:10], whole[: whole.index("=======")], whole[: whole.index(">>>>>>>")]]
    calls: list = []
    out = edits_session(_Cut(cut), calls).prompt("sys", f"Improve:\n```python\n{PROGRAM}```", 3)
    assert out == cut  # unusable samples go back as the model wrote them
    assert calls[0].usable == 0 and calls[0].reasons == {"cut_at_limit": 3}
    calls = []
    edits_session(_Cut(cut, finish="stop"), calls).prompt("sys", f"```python\n{PROGRAM}```", 3)
    assert calls[0].reasons == {"no_code": 3}  # the same text, not cut: no edit in it


@pytest.mark.slow
def test_the_embedded_model_is_held_to_the_edits_shape(backend, vocab):
    # What the grammar guarantees, whatever the model samples: each sample is a prefix of
    # edits to the program, complete when it stopped by itself. How often a sample holds a
    # usable edit is the model's doing: bench/small_model.py --arms edits measures it.
    request = Request(
        system="You are an expert Python programmer.",
        user=MESSAGE + "\nAnswer with search/replace edits.",
        n=3,
        max_tokens=120,
        seed=5,
        shape=AnswerShape(form="edits", program=PROGRAM),
    )
    grammar = edits_grammar(PROGRAM, opened=True)
    for c in backend.complete(request).completions:
        assert c.text.startswith("<<<<<<< SEARCH\n")
        assert c.finish_reason in ("stop", "length")
        written = c.text.removeprefix("<<<<<<< SEARCH\n")
        if c.finish_reason == "stop":
            assert accepts(vocab, grammar, written), c.text
            assert parse_edits(c.text) and apply_edits(PROGRAM, c.text).program is not None
        else:
            assert accepts(vocab, grammar, written, whole=False), c.text
        assert all(search in PROGRAM for search, _ in parse_edits(c.text))


@pytest.mark.slow
def test_an_embedded_model_sample_cut_at_the_token_limit_is_reported_as_cut(backend):
    # 16 tokens cannot hold the shortest edit of this program (its opening and closing
    # lines alone take more), so every sample is cut, and reported so
    calls: list = []
    edits_session(backend, calls, max_tokens=16).prompt("sys", MESSAGE, 3)
    assert len(calls[0].responses) == 3 and calls[0].usable == 0
    assert calls[0].reasons == {"cut_at_limit": 3}
