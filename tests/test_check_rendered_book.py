"""The rendered-book check finds raw tables and raw math, and nothing in code or math."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_rendered_book import main, problems  # noqa: E402


def test_raw_table_and_math_are_found_rendered_ones_are_not(tmp_path):
    page = tmp_path / "book" / "ch.html"
    page.parent.mkdir()
    page.write_text(
        "<html><body><p>| a | b |\n|---|---|\n| 1 | 2 |</p>"
        "<p>the confidence $\\hat C_i$ costs $5 or $6</p>"
        "<pre><span>| x |\n|---|</span> $y$</pre><br>"
        '<span class="math notranslate nohighlight">\\(x\\) $not raw$</span>'
        "<table><tr><td>rendered</td></tr></table></body></html>")
    found = problems(page)
    assert len(found) == 2
    assert "raw Markdown table" in found[0] and "raw math: '$\\\\hat C_i$'" in found[1]
    assert main([str(tmp_path)]) == 1
    page.write_text("<html><body><p>fine: $5 and $6</p><pre>$a$ |---|</pre></body></html>")
    assert problems(page) == [] and main([str(tmp_path)]) == 0


def test_a_chapter_page_needs_summary_and_exercises(tmp_path):
    page = tmp_path / "book" / "07_x.html"
    page.parent.mkdir()
    page.write_text('<html><body><section id="summary"><h2>Summary</h2></section></body></html>')
    assert problems(page) == ["07_x.html: no Exercises section"]
    page.write_text('<section id="summary"></section><section id="exercises"></section>')
    assert problems(page) == []
    other = tmp_path / "book" / "glossary.html"
    other.write_text("<html><body>terms</body></html>")
    assert problems(other) == []


def test_chapter_images_must_be_numbered_figures_and_glue_must_resolve(tmp_path):
    page = tmp_path / "book" / "07_x.html"
    page.parent.mkdir()
    sections = '<section id="summary"></section><section id="exercises"></section>'
    page.write_text(sections + '<figure id="fig-a"><img src="_images/a.png"><figcaption>'
                    'Fig. 1</figcaption></figure><img alt="logo" src="_static/logo.png">'
                    '<div class="output"><img src="../_images/b.png"></div>')
    assert problems(page) == ["07_x.html: 1 image(s) outside a numbered, captioned figure"]
    page.write_text(sections + "<p>J&amp;F is {glue:}`ch7-jf` here</p>")
    assert problems(page) == ["07_x.html: unresolved glue '{glue:}`ch7-jf`'"]
