"""Numbers and figures that reach a chapter's prose: the page style, ``glue`` for
computed numbers and numbered figures, and tables.

The rendered book pastes glued values into markdown cells (myst-nb's ``{glue:text}``
role and ``{glue:figure}`` directive).  Outside the book build (Colab, plain Jupyter),
myst-nb may not be installed: then :func:`glue` prints ``name = value`` so a student
stepping through the cells still sees every number the prose refers to, and
:func:`glue_figure` shows the figure as usual.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

#: Matplotlib settings for figures read at the page's column width or on a projector:
#: 9-inch-wide figures at 110 dpi with 11 pt text (see STYLE.md).
PAGE_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 13,
}


def page_style() -> None:
    """Apply :data:`PAGE_STYLE` (call once in a chapter's setup cell)."""
    plt.rcParams.update(PAGE_STYLE)


def _myst_glue():
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    return myst_glue


def glue(name: str, value, fmt: str | None = None) -> None:
    """Hand a computed value to the chapter's prose as ``{glue:text}`name```
    (another chapter's: ``{glue:text}`NN_chapter.ipynb::name:s```).

    ``value`` is formatted with ``fmt`` (e.g. ``".3f"``, ``".0%"``) when given and glued
    as text, so the page shows exactly that text ("0.40" stays "0.40"), as plain prose.
    Nothing is displayed in the book; without myst-nb (Colab) the value is printed.
    """
    text = format(value, fmt) if fmt else str(value)
    myst_glue = _myst_glue()
    if myst_glue is None:
        print(f"{name} = {text}")
    else:
        myst_glue(name, text, display=False)


def glue_figure(name: str, fig, show: bool = True) -> None:
    """Show ``fig`` in the notebook and store it for a ``{glue:figure}`` directive, which
    numbers and captions it on the rendered page.

    Tag the cell ``remove-output`` so the page shows the figure once, in its numbered
    place; in Jupyter or Colab the figure shows under the cell.  ``show=False`` stores it
    without showing it (for a widget's static fallback: the notebook has the widget).
    """
    myst_glue = _myst_glue()
    if myst_glue is None:
        if show:
            from IPython.display import display
            display(fig)
    else:
        myst_glue(name, fig, display=show)
    plt.close(fig)


def table(header, rows, align=None) -> None:
    """Show a table (header + rows of already formatted cells) as Markdown.

    ``align`` is one of ``"l"``, ``"c"``, ``"r"`` per column (default: the first column
    left, the others right, as numbers read best).  Cells may hold ``$...$`` math; the
    book renders Markdown outputs with MyST.
    """
    from IPython.display import Markdown, display

    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header):
        raise ValueError(f"align has {len(align)} entries for {len(header)} columns")
    rule = {"l": ":---", "c": ":---:", "r": "---:"}
    lines = ["| " + " | ".join(str(h) for h in header) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    display(Markdown("\n".join(lines)))
