from selftaught.program.extract import defines, extract_code

PROGRAM = "def algorithm(x):\n    return x + 1"


def test_fenced_python_block_is_extracted():
    assert extract_code(f"Here you go:\n```python\n{PROGRAM}\n```\nEnjoy.") == PROGRAM


def test_bare_fence_is_extracted():
    assert extract_code(f"```\n{PROGRAM}\n```") == PROGRAM


def test_unterminated_fence_keeps_what_parses():
    cut = f"```python\n{PROGRAM}\n\ndef helper(y):\n    return (y +"
    assert extract_code(cut) == PROGRAM


def test_of_several_blocks_the_one_defining_a_function_wins():
    text = f"Install:\n```bash\npip install numpy\n```\nCode:\n```python\n{PROGRAM}\n```\n```python\nprint(algorithm(1))\n```"
    assert extract_code(text) == PROGRAM


def test_required_function_picks_the_block_that_defines_it():
    text = "```python\ndef helper():\n    pass\n```\n```python\n" + PROGRAM + "\n```"
    assert extract_code(text, function="algorithm") == PROGRAM


def test_no_code_gives_empty_string():
    assert extract_code("I cannot help with that.") == ""
    assert extract_code("```\n```") == ""
    assert extract_code("") == ""


def test_unfenced_program_is_accepted():
    assert extract_code(PROGRAM + "\n") == PROGRAM


def test_list_in_gives_list_of_same_length_out():
    out = extract_code([f"```python\n{PROGRAM}\n```", "nothing", "```py\nx = 1\n```"])
    assert out == [PROGRAM, "", "x = 1"]


def test_non_string_response_gives_no_code():
    assert extract_code([None]) == [""]  # type: ignore[list-item]


def test_defines_requires_a_module_level_function():
    assert defines(PROGRAM, "algorithm")
    assert not defines("class A:\n    def algorithm(self): pass", "algorithm")
    assert not defines("def algorithm(:", "algorithm")
