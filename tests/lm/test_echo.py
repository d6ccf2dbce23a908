"""`echo`, and taking whole programs that hold fences themselves out of responses."""

from selftaught.lm.echo import first_program
from selftaught.lm.extract import extract_code
from selftaught.stop import seed_improver


def test_a_program_with_fences_inside_is_taken_whole():
    src = seed_improver()  # its prompt template holds ```python fences
    response = f"Here it is:\n```python\n{src}\n```\nIt is better because..."
    assert extract_code([response]) == [src.strip("\n")]
    prompt = f"Improve:\n```python\n{src}\n```\nScored by:\n```python\ndef u(x):\n    pass\n```"
    assert first_program(prompt) == src.strip("\n")


def test_several_plain_blocks_still_split_at_each_fence():
    text = "```python\ndef a():\n    return 1\n```\ntext\n```python\ndef b():\n    return 2\n```"
    assert first_program(text) == "def a():\n    return 1"
    assert extract_code(text, function="b") == "def b():\n    return 2"


def test_no_program_no_code():
    assert first_program("just words") == ""
