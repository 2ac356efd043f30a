"""Fail when a rendered page of the book shows a raw Markdown table or raw ``$...$`` math,
a chapter page has no Summary or no Exercises section, or shows an image outside a
numbered, captioned figure, or a glued value did not resolve.

Run after ``jupyter-book build`` (``make book-check`` does): ``python
tests/check_rendered_book.py _build/html``.  The text a reader sees is what is left of
each page once code blocks, math the renderer recognised, scripts and styles are taken
out; in it, a line like ``| a | b |`` followed by ``|---|`` is a table that did not
render, and ``$...$`` is a formula that did not.
"""
from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

SKIP = {"script", "style", "pre", "code"}
TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\|")
MATH = re.compile(r"(?<![\w$\\])\$[^$\s][^$]{0,200}?(?<!\s)\$(?![\w$])")


VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}


class _Text(HTMLParser):
    """The page's text outside code, recognised math, scripts and styles."""

    def __init__(self):
        super().__init__()
        self.stack, self.parts = [], []     # (tag, hidden) of the open elements

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        cls = (dict(attrs).get("class") or "").split()
        hidden = tag in SKIP or "math" in cls or bool(self.stack and self.stack[-1][1])
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.stack:                   # close up to the matching element
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return "".join(p.parts)


CHAPTER = re.compile(r"^\d\d_")       # numbered chapter pages (not intro, glossary, ...)
SECTIONS = ("summary", "exercises")     # every chapter closes with these (STYLE.md)


def problems(page: Path) -> list[str]:
    html = page.read_text(encoding="utf-8")
    text = visible_text(html)
    out = [f"{page.name}: raw Markdown table: {m.group(0)!r}" for m in TABLE.finditer(text)]
    out += [f"{page.name}: raw math: {m.group(0)!r}" for m in MATH.finditer(text)]
    if CHAPTER.match(page.name):
        out += [f"{page.name}: no {name.capitalize()} section" for name in SECTIONS
                if not re.search(rf'<section id="{name}(-\d+)?"', html)]
        loose = _loose_images(html)
        if loose:
            out.append(f"{page.name}: {loose} image(s) outside a numbered, captioned figure")
    out += [f"{page.name}: unresolved glue {m!r}" for m in re.findall(r"\{glue:[^}]*\}`[^`]+`", text)]
    return out


def _loose_images(html: str) -> int:
    """Content images (``_images/``: cell outputs) that are not inside a <figure>;
    logos and icons of the page's theme are not counted."""
    n, depth = 0, 0
    for m in re.finditer(r"<(/?)(figure|img)\b([^>]*)", html):
        closing, tag, attrs = m.groups()
        if tag == "figure":
            depth += -1 if closing else 1
        elif depth == 0 and "_images/" in attrs:
            n += 1
    return n


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or ["_build/html"])[0])
    pages = sorted(root.glob("book/*.html"))
    if not pages:
        print(f"{root}: no rendered chapter pages (build the book first)", file=sys.stderr)
        return 2
    found = [p for page in pages for p in problems(page)]
    for line in found:
        print(line)
    print(f"{len(pages)} pages checked, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
