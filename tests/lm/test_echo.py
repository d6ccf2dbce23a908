"""`echo`, and taking whole programs that hold fences themselves out of responses."""

from selftaught.lm.echo import first_program
from selftaught.program.extract import extract_code
from selftaught.stop import seed_improver


def test_a_program_with_fences_inside_is_taken_whole():
    src = seed_improver()  # its prompt template holds ```python fences
    response = f"Here it is:\n```python\n{src}\n```\nIt is better because..."
    assert extract_code([response]) == [src.strip("\n")]
    prompt = f"Improve:\n```python\n{src}\n```\nScored by:\n```python\ndef u(x):\n    pass\n```"
    assert first_program(prompt) == src


def test_several_plain_blocks_still_split_at_each_fence():
    text = "```python\ndef a():\n    return 1\n```\ntext\n```python\ndef b():\n    return 2\n```"
    assert first_program(text) == "def a():\n    return 1\n"
    assert extract_code(text, function="b") == "def b():\n    return 2"


def test_no_program_no_code():
    assert first_program("just words") == ""


def test_echo_keeps_the_trailing_newline_of_the_program_it_was_shown():
    src = seed_improver()
    assert src.endswith("\n")
    # the seed improver's own prompt layout: the program, then a newline, then the fence
    assert first_program(f"Current program:\n```python\n{src}\n```\n") == src
    assert first_program(f"```python\n{src}```") == src
