"""The chapters' sources follow STYLE.md: short code lines, prose in markdown cells (not
built by code), numbered figures placed once, a label on every numbered section, and the
page style instead of hand-set dpi.  (The rendered pages are checked by
``check_rendered_book.py`` after the book build.)"""
import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    nb = json.loads(path.read_text())
    return [("".join(c["source"]), c["cell_type"], c.get("metadata", {}).get("tags", []),
             c.get("outputs", [])) for c in nb["cells"]]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_source_follows_the_style_guide(path):
    problems, glued, placed = [], set(), set()
    for i, (src, kind, tags, outputs) in enumerate(_cells(path)):
        if kind == "code":
            problems += [f"cell {i}: a code line of {len(line)} chars"
                         for line in src.splitlines() if len(line) > 88]
            if "Markdown(" in src:
                problems.append(f"cell {i}: prose built with Markdown(...)")
            if re.search(r"rcParams\[.figure\.dpi.\]", src):
                problems.append(f"cell {i}: dpi set by hand (viz.page_style())")
            glued |= set(re.findall(r'glue_figure\(\s*"([^"]+)"', src))
        else:
            placed |= set(re.findall(r"\{glue:figure\}\s+(\S+)", src))
            for n, m in re.findall(r"^## (\d+)\.(\d+)", src, re.M):
                if f"(sec-{n}-{m})=" not in src:
                    problems.append(f"cell {i}: section {n}.{m} has no (sec-{n}-{m})= label")
    problems += [f"figure {g} glued but never placed" for g in sorted(glued - placed)]
    problems += [f"figure {g} placed but never glued" for g in sorted(placed - glued)]
    assert not problems, "\n".join(problems)


def test_key_numbers_page_lists_every_key_number_of_the_chapters():
    """book/key_numbers.md pastes each chapter's ``key-*`` glue values (and their
    samples); a key added to a chapter must appear there, and the page may not refer
    to a key that no chapter glues."""
    glued = set()
    for path in CHAPTERS:
        for _, _, _, outputs in _cells(path):
            for o in outputs:
                name = o.get("metadata", {}).get("scrapbook", {}).get("name", "")
                if name.startswith("key-"):
                    glued.add(f"{path.name}::{name}")
    page = (BOOK / "key_numbers.md").read_text()
    on_page = {k[:-2] for k in re.findall(r"\{glue:text\}`([^`]+)`", page)}
    assert glued, "no chapter glues a key-* number"
    assert on_page == glued, (sorted(glued - on_page), sorted(on_page - glued))
