"""The book helpers: glued values paste without quotes, tables align, the page style."""
import matplotlib.pyplot as plt
import pytest

from vos_lib import viz
from vos_lib.viz import book


def test_glue_formats_values_as_text(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(book, "_myst_glue",
                        lambda: lambda name, value, display: seen.update({name: value}))
    viz.glue("ch9-share", 0.375, ".0%")
    viz.glue("ch9-word", "below")
    assert seen == {"ch9-share": "38%", "ch9-word": "below"}
    monkeypatch.setattr(book, "_myst_glue", lambda: None)          # Colab: no myst-nb
    viz.glue("ch9-share", 0.375, ".0%")
    assert capsys.readouterr().out.strip() == "ch9-share = 38%"


def test_table_aligns_columns_and_checks_the_alignment(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    viz.table(["method", "J&F"], [["DTN", "0.397"]])
    assert shown[0].splitlines()[1] == "|:---|---:|"
    with pytest.raises(ValueError, match="align has 3 entries for 2 columns"):
        viz.table(["a", "b"], [], align="lrr")


def test_page_style_makes_figures_readable_when_projected():
    viz.page_style()
    assert plt.rcParams["figure.dpi"] >= 100 and plt.rcParams["font.size"] >= 11
