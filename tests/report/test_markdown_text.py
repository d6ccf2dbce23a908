"""report.md renders record text (model-written, hostile by assumption) as text: rendered by
a real CommonMark renderer (markdown-it-py, with tables), no tag, link or code block of the
text's own making comes out."""

from __future__ import annotations

from markdown_it import MarkdownIt

from selftaught.report.markdown import _fenced, md_table

HOSTILE = (
    '<img src=x onerror="alert(document.domain)"><script>alert(1)</script>'
    " [click](javascript:alert(1)) ![x](http://127.0.0.1:1/t.png) <http://127.0.0.1:1/>"
    " a | b `code` *em* __strong__ ~~gone~~ &lt;ok&gt;"
)


def _render(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_a_hostile_cell_renders_as_its_own_text_with_no_tag_or_link():
    page = _render(md_table(["message"], [[HOSTILE]]))
    for made in ("<img", "<script", "<a ", "<code>", "<em>", "<strong>", "<s>"):
        assert made not in page, made
    assert page.count("<td>") == 1  # its `|` did not add a column
    assert "alert(document.domain)" in page and "&amp;lt;ok&amp;gt;" in page


def test_a_diff_holding_fences_stays_in_its_code_block():
    diff = "\n".join(
        [" ```", " ````", "   `````", "+<script>alert(1)</script>", "-[x](javascript:1)"]
    )
    page = _render("\n".join(_fenced(diff, "diff")) + "\n\nafter\n")
    assert page.count("<pre>") == 1 and "<script" not in page and "<a " not in page
    assert page.rstrip().endswith("<p>after</p>")
    assert "&lt;script&gt;" in page
