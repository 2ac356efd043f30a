"""The ledger of chapter 13: every quantitative claim of the two papers, what this book
measures for it, and the choices we made where a paper is silent or where we read it
differently.

A :class:`Claim` names its paper (``"DTN"``, ``"DIPNet"``), the place
(``"Table 3"``, ``"Fig. 6"``, ``"Sec. 4.1"``), the claim in words, a function reading the
paper's value from :mod:`vos_lib.dtn.paper` or :mod:`vos_lib.dipnet.paper` (nothing the
papers report is typed here), a function computing ours from the cached experiments, and
the chapters that show it.  :func:`rows` turns :data:`CLAIMS` into the rows of the
chapter's table, each with the book's verdict (:func:`vos_lib.eval.compare.verdict`).

Conventions:

* **Differences, not levels.** Our data (synthetic 96x160 videos) and scale (small
  networks trained from scratch on a CPU) are not the papers' (DAVIS, ResNet-50, a GPU),
  so an absolute score or a frame rate is never compared: such claims, and every
  comparison with other published methods, are **not measurable here**.  What is
  compared is a difference the paper reports (a row minus the full model, a variant minus
  another) with the same difference measured here, or a time *ratio* measured on one
  machine.
* **The gap and its noise** (:func:`vos_lib.eval.compare.global_gap`): the difference of
  the global scores (the mean over objects, as the papers' tables and
  ``vos_lib.eval.metrics``), with the standard error of the paired per-video differences
  (videos are the unit).  A claim in mIoU (J Mean) is measured in J, scored per video
  from the results folder (:func:`vos_lib.eval.compare.per_video`); the others in J&F.
  DTN's Fig. 6 claims use the comparisons of :mod:`vos_lib.dtn.experiments`
  (:func:`~vos_lib.dtn.experiments.theta_gap`,
  :func:`~vos_lib.dtn.experiments.policy_gap`), its Fig. 4 claim the event frames of
  :mod:`vos_lib.eval.events` (:func:`~vos_lib.eval.events.event_split`).
* **Scales**: each paper's own: DTN's numbers in points (x100), DIPNet's in [0, 1].
* **A direction without a number** (a figure, a sentence) counts as the smallest effect of
  its sign (:data:`vos_lib.eval.compare.DIRECTION`): same sign is *reproduces* (outside 2 SE) or *same sign,
  within noise*; the opposite sign is *does not reproduce* outside 2 SE and *not
  measurable here* inside.
* **Times** come from the package's CPU benchmarks (``vos_lib/dtn/timings_cpu.json``,
  ``vos_lib/dipnet/timings_cpu.json``), one run each: their noise is not measured, and
  their gap is the log of a ratio with SE 0.

:data:`CHOICES` lists, as data, the choices we made where a paper is silent, where we read
it differently, where we added something, or where the CPU scale made us deviate, each
with its reason and the module path of the code that makes it (a unit test checks that
every path exists).
"""
from __future__ import annotations

import importlib
import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# global_gap, per_video and DIRECTION: chapters read them from vos_lib.eval.compare
from .dipnet.paper import jf
from .eval.compare import DIRECTION, Gap, global_gap, paired_gap, per_video, verdict
from .eval.events import event_split, load_meta

#: The book's verdict words (STYLE.md), in the order the chapter's figure stacks them.
VERDICTS = ("reproduces", "same sign, within noise", "does not reproduce",
            "not measurable here")
#: The papers, in the book's order, with their bibliography keys.
PAPERS = {"DTN": "zhang2019dtn", "DIPNet": "hu2020dipnet"}
#: The chapters a claim may link to (document names, as the book links them).
CHAPTERS = {
    "01_data_and_metrics": "ch. 1", "02_flow_and_warping": "ch. 2",
    "03_anchors_crpn": "ch. 3", "04_decision_module": "ch. 4",
    "05_mask_refinement": "ch. 5", "06_training_and_ablations": "ch. 6",
    "07_identity_attention": "ch. 7", "08_propagation_and_ssn": "ch. 8",
    "09_finetuning_and_instances": "ch. 9", "10_identity_tsne": "ch. 10",
    "11_dipnet_ablations": "ch. 11", "12_dtn_vs_dipnet": "ch. 12",
}
DIPNET_TIMINGS = Path(__file__).resolve().parent / "dipnet" / "timings_cpu.json"


# ------------------------------------------------------------------------- records
@dataclass(frozen=True)
class PaperValue:
    """The paper's side of a claim: ``text`` as shown, and ``effect``, the difference the
    paper reports in the sign convention and scale of ours (``None``: a level or a
    comparison with other methods, nothing to hold our gap against)."""
    text: str
    effect: float | None = None


@dataclass(frozen=True)
class Ours:
    """Our side of a claim: ``text`` as shown, ``sample`` (the scale and data it was
    measured on), ``gap`` (the measured difference with its noise; ``None`` when nothing
    is compared), ``noise`` (a text replacing the 2 SE band, e.g. for timings) and
    ``digits`` (decimals of the band; default 1 for DTN's points, 3 for DIPNet)."""
    text: str
    sample: str
    gap: Gap | None = None
    noise: str | None = None
    digits: int | None = None


@dataclass(frozen=True)
class Claim:
    """One quantitative claim of a paper.

    ``paper_value()`` reads the paper's number from its ``paper`` module; ``ours(results)``
    computes ours from ``results`` (a mapping of the cached experiments, see
    :class:`Results`); ``measurable=False`` makes the verdict *not measurable here*
    whatever ours shows, for the reason ``why_not``."""
    paper: str
    where: str
    text: str
    paper_value: Callable[[], PaperValue]
    ours: Callable[[Mapping], Ours]
    chapters: tuple = ()
    measurable: bool = True
    why_not: str = ""
    needs: tuple = field(default=(), compare=False)   # keys of ``results`` it reads


@dataclass(frozen=True)
class Row:
    """A computed line of the ledger (what :func:`rows` returns)."""
    paper: str
    where: str
    claim: str
    paper_text: str
    ours_text: str
    sample: str
    noise: str
    verdict: str
    chapters: tuple
    gap: Gap | None
    paper_effect: float | None


@dataclass(frozen=True)
class Choice:
    """A choice of ours: ``kind`` is one of :data:`CHOICE_KINDS`; ``code`` the dotted
    path of the module, function, class or config field that makes it."""
    paper: str
    where: str
    kind: str
    paper_says: str
    ours: str
    reason: str
    code: str


CHOICE_KINDS = ("paper silent", "read differently", "our addition", "CPU scale")


# ---------------------------------------------------------------- the measurements
def ratio_gap(ratio: float) -> Gap:
    """A time ratio of one benchmark run as a gap: ``log(ratio)`` with SE 0 (its noise is
    not measured), so the verdict only reads its direction."""
    return Gap(math.log(ratio), 0.0, 1, int(ratio > 1))


# ------------------------------------------------------------------- the caches
def _val_meta() -> dict:
    from .paths import synthetic_root
    root = Path(synthetic_root())
    return {p.stem: load_meta(root, p.stem)
            for p in sorted((root / "Meta").glob("val-*.json"))}


def _table6_roots() -> dict:
    from .dipnet import experiments as dx
    return {s: (dx.table6_root(k) if k else None) for s, k in dx.TABLE6_SETTINGS.items()}


def _loaders() -> dict:
    from .dipnet import experiments as dx
    from .dtn import experiments as tx
    return {
        "dtn.table3": tx.table3,
        "dtn.fig6": tx.fig6,
        "dtn.timings": tx.cpu_timings,
        "dtn.n_fig6": lambda: tx.FIG6_N_SEQUENCES,
        "dip.main": dx.main_results,
        "dip.ablations": dx.ablations,
        "dip.table6": dx.table6,
        "dip.table6_roots": _table6_roots,
        "dip.timings": lambda: json.loads(DIPNET_TIMINGS.read_text()),
        "meta": _val_meta,
    }


class Results(Mapping):
    """The cached experiments the claims read, loaded on first use (each loader is a
    cached call of :mod:`vos_lib.dtn.experiments` or :mod:`vos_lib.dipnet.experiments`,
    or a file shipped with the package); ``overrides`` replace loaders (tests)."""

    def __init__(self, overrides: Mapping | None = None):
        self._data = dict(overrides or {})
        self._load = _loaders()

    def __getitem__(self, key):
        if key not in self._data:
            if key not in self._load:
                raise KeyError(key)
            self._data[key] = self._load[key]()
        return self._data[key]

    def __iter__(self):
        return iter(self._load)

    def __len__(self):
        return len(self._load)


# ---------------------------------------------------------------- the claims
def _dtn():
    from .dtn import paper
    return paper


def _dip():
    from .dipnet import paper
    return paper


def _missing(module: str, name: str) -> PaperValue:
    return PaperValue(f"(`{name}` not in `vos_lib.{module}.paper`)")


def _frame_size() -> str:
    from .data.synthetic import SyntheticConfig
    c = SyntheticConfig()
    return f"{c.height}x{c.width}"


def DTN_VAL(n: int) -> str:
    return f"{n} synthetic val videos, {_frame_size()}, CPU-scale DTN, one training run"


def DIP_VAL(n: int) -> str:
    return (f"{n} synthetic val videos, {_frame_size()}, CPU-scale DIPNet with one-shot "
            "fine-tuning, one training run")


def DIP_ABL(n: int) -> str:
    return (f"first {n} synthetic val videos, no fine-tuning, CPU scale, one training "
            "run")


def _dtn_fig6_sample(r: Mapping) -> str:
    n_seeds = len(r["dtn.fig6"]["random"][0]["per_seed"])
    return (f"first {r['dtn.n_fig6']} synthetic val videos, CPU-scale DTN, one training "
            f"run; random: mean of {n_seeds} seeds")


def _bench(t: Mapping, what: str) -> str:
    n = f"{t['frames']} frames of " if "frames" in t else ""
    return f"benchmark ({t['machine']}), {n}{t['sequences']} val videos: {what}"


def _pts(x: float) -> str:
    return f"{x:+.1f}"


def _table3_claim(row: str, text: str, chapters=("06_training_and_ablations",)) -> Claim:
    def paper_value():
        t3 = _dtn().TABLE3
        g, o = t3[row][2], t3["Ours"][2]
        return PaperValue(f"{_pts(g - o)} ({g:.1f} vs {o:.1f}, G Mean)", g - o)

    def ours(r):
        t3 = r["dtn.table3"]
        gap = global_gap(t3[row], t3["Ours"], scale=100)
        a, b = (t3[n]["global"]["J&F-Mean"] * 100 for n in (row, "Ours"))
        return Ours(f"{_pts(gap.mean)} ({a:.1f} vs {b:.1f}, J&F)", DTN_VAL(gap.n), gap)
    return Claim("DTN", "Table 3", text, paper_value, ours, chapters,
                 needs=("dtn.table3",))


def _dtn_claims() -> list:
    def t1_paper():
        j, f, _ = _dtn().TABLE3["Ours"]
        return PaperValue(f"J {j:.1f}, F {f:.1f} (DAVIS 2016 val)")

    def t1_ours(r):
        g = r["dtn.table3"]["Ours"]["global"]
        n = len(r["dtn.table3"]["Ours"]["per_sequence"])
        return Ours(f"J {g['J-Mean'] * 100:.1f}, F {g['F-Mean'] * 100:.1f}", DTN_VAL(n))

    def t2_paper():
        t2 = getattr(_dtn(), "TABLE2", None)
        if not t2 or "Ours" not in t2:
            return _missing("dtn", "TABLE2")
        return PaperValue(f"G {t2['Ours'][2]:.1f} (DAVIS 2017 val)")

    def t2_ours(r):
        g = r["dtn.table3"]["Ours"]["global"]
        n = len(r["dtn.table3"]["Ours"]["per_sequence"])
        return Ours(f"J&F {g['J&F-Mean'] * 100:.1f} (1-3 objects per video)", DTN_VAL(n))

    def fps_paper():
        return PaperValue(f"{_dtn().FPS:g} fps (GTX 1080Ti)")

    def fps_ours(r):
        return Ours("not compared: no like hardware", _bench(r["dtn.timings"], "2-core CPU"))

    def theta_ours(r):
        from .dtn.experiments import theta_ends, theta_gap
        dm = r["dtn.fig6"]["dm"]
        lo, hi = theta_ends(dm)                      # the paper's range: 0.5 .. 1.0
        gap = theta_gap(dm, scale=100)
        return Ours(f"{_pts(gap.mean)} ($\\theta_c$ {hi['theta_c']:g} vs "
                    f"{lo['theta_c']:g}; BR {hi['br']:.0%} vs {lo['br']:.0%})",
                    _dtn_fig6_sample(r), gap)

    def policy_ours(kind):
        def ours(r):
            from .dtn.experiments import policy_gap
            f6, theta = r["dtn.fig6"], _default_theta()
            dm = next(p for p in f6["dm"] if p["theta_c"] == theta)
            gap = policy_gap(dm, f6[kind], scale=100)
            return Ours(f"{_pts(gap.mean)} (DM at $\\theta_c$ {theta:g}, BR "
                        f"{dm['br']:.0%})", _dtn_fig6_sample(r), gap)
        return ours

    def brbp_paper():
        t4 = _dtn().TABLE4
        ratio = sum(t4.values()) / (sum(t4.values()) - t4["BR"])
        return PaperValue(f"{ratio:.2f}x (from Table 4, GTX 1080Ti)", math.log(ratio))

    def brbp_ours(r):
        t = r["dtn.timings"]
        x = t["br_over_bp_frame_time"]
        return Ours(f"{x:.2f}x", _bench(t, "median frame times"), ratio_gap(x),
                    "one benchmark run; not measured")

    def crpn_ours(r):
        t = r["dtn.timings"]
        x = t["full_over_conditional_rpn"]
        return Ours(f"{x:.2f}x as long with the original RPN",
                    _bench(t, "re-identification time"), ratio_gap(x),
                    "one benchmark run; not measured")

    def events_ours(r):
        conf = r["dtn.table3"]["Ours"]["confidence"]
        gap = paired_gap(*event_split(conf, r["meta"]))   # events - others
        return Ours(f"{gap.mean:+.3f} (mean C on event frames minus other frames)",
                    f"{gap.n} synthetic val videos, DTN's own previous masks, CPU scale, "
                    "one training run", gap, digits=3)

    ch6, ch4 = ("06_training_and_ablations",), ("04_decision_module",)
    return [
        Claim("DTN", "Table 1", "More accurate than every published method without "
              "online fine-tuning on DAVIS 2016, close to those with it",
              t1_paper, t1_ours, ch6, measurable=False,
              why_not="other methods and DAVIS are not run here", needs=("dtn.table3",)),
        Claim("DTN", "Table 2", "Ahead of the six published methods it is compared with on "
              "DAVIS 2017 val", t2_paper, t2_ours, ch6, measurable=False,
              why_not="other methods and DAVIS are not run here", needs=("dtn.table3",)),
        Claim("DTN", "Table 1, Sec. 4.3", "14 fps, the fastest method of Table 1",
              fps_paper, fps_ours, ch6, measurable=False,
              why_not="a frame rate depends on the hardware; no GPU here",
              needs=("dtn.timings",)),
        _table3_claim("w/o FT", "Video fine-tuning helps (w/o FT below Ours)"),
        _table3_claim("w/o PT", "Static pre-training helps (w/o PT below Ours)"),
        _table3_claim("w/o DTN", "Locating the object first helps (w/o DTN below Ours)"),
        _table3_claim("BR with ori RPN", "The conditional RPN re-identifies better than the "
                      "original RPN's top 100 (BR with ori RPN below Ours)",
                      ("06_training_and_ablations", "03_anchors_crpn")),
        _table3_claim("MRN w/o mask guidance", "The warped-mask guidance of Eq. 4 helps "
                      "(MRN w/o mask guidance below Ours)",
                      ("06_training_and_ablations", "05_mask_refinement")),
        Claim("DTN", "Fig. 6", "A higher $\\theta_c$ sends more frames to BR and buys "
              "accuracy",
              lambda: PaperValue("higher G with $\\theta_c$ (curve, no numbers)", DIRECTION),
              theta_ours, ch6 + ch4, needs=("dtn.fig6", "dtn.n_fig6")),
        Claim("DTN", "Fig. 6", "The DM is more accurate than random assignment at the same "
              "speed", lambda: PaperValue("DM above (curve, no numbers)", DIRECTION),
              policy_ours("random"), ch6, needs=("dtn.fig6", "dtn.n_fig6")),
        Claim("DTN", "Fig. 6", "The DM is more accurate than periodic assignment at the "
              "same speed", lambda: PaperValue("DM above (curve, no numbers)", DIRECTION),
              policy_ours("periodic"), ch6, needs=("dtn.fig6", "dtn.n_fig6")),
        Claim("DTN", "Fig. 4, Sec. 3.2", "The DM's confidence is low where box propagation "
              "is not convincing (occlusion, jumps, exits)",
              lambda: PaperValue("lower (examples, no numbers)", -DIRECTION),
              events_ours, ch4, needs=("dtn.table3", "meta")),
        Claim("DTN", "Table 4, Sec. 4.3", "BR is the expensive stream: a BR frame costs "
              "more than a BP frame", brbp_paper, brbp_ours, ch6 + ch4,
              needs=("dtn.timings",)),
        Claim("DTN", "Sec. 4.3", "The conditional RPN makes re-identification faster than "
              "the original RPN",
              lambda: PaperValue("faster (no time given)", DIRECTION), crpn_ours,
              ch6 + ("03_anchors_crpn",), needs=("dtn.timings",)),
    ]


def _default_theta() -> float:
    from .config import cpu
    return cpu().dtn.theta_c




def _single_object_videos(meta: Mapping) -> list:
    return sorted(v for v, m in meta.items() if int(m["n_objects"]) == 1)


def _dip_claims() -> list:
    ch9, ch11 = ("09_finetuning_and_instances",), ("11_dipnet_ablations",)

    def level_paper(table):
        def value():
            d = getattr(_dip(), table)["DIPNet"]
            return PaperValue(f"J {d['J-Mean']:.3f}, F {d['F-Mean']:.3f}")
        return value

    def level_ours(r):
        g = r["dip.main"]["DIPNet"]["global"]
        n = len(r["dip.main"]["DIPNet"]["per_sequence"])
        return Ours(f"J {g['J-Mean']:.3f}, F {g['F-Mean']:.3f}", DIP_VAL(n))

    def crop_paper(table):
        def value():
            t = getattr(_dip(), table)
            a, b = jf(t["DIPNet"]), jf(t["DIPNet*"])
            return PaperValue(f"{a - b:+.3f} ({a:.3f} vs {b:.3f}, J&F)", a - b)
        return value

    def crop_ours(single):
        def ours(r):
            m = r["dip.main"]
            seqs = _single_object_videos(r["meta"]) if single else None
            gap = global_gap(m["DIPNet"], m["DIPNet*"], sequences=seqs)
            if single:
                sample = (f"the {gap.n} synthetic val videos with one object, CPU scale, "
                          "one-shot fine-tuning, one training run")
                return Ours(f"{gap.mean:+.3f} (J&F, mean of the per-video gaps)",
                            sample, gap)
            a, b = (m[n]["global"]["J&F-Mean"] for n in ("DIPNet", "DIPNet*"))
            return Ours(f"{gap.mean:+.3f} ({a:.3f} vs {b:.3f}, J&F)", DIP_VAL(gap.n), gap)
        return ours

    def times_paper():
        t = _dip().TIMES
        return PaperValue(f"{t['inference_s_per_frame']:g} s/frame inference, "
                          f"{t['finetune_200_full_s']:g} s + {t['finetune_100_crop_s']:g} s "
                          f"fine-tuning, {t['overall_s_per_frame']:g} s/frame (Titan Xp)")

    def times_ours(r):
        return Ours("not compared: no like hardware", _bench(r["dip.timings"], "2-core CPU"))

    def share_paper():
        t = _dip().TIMES
        s = 1 - t["inference_s_per_frame"] / t["overall_s_per_frame"]
        return PaperValue(f"{s:.0%} of the time per frame", s - 0.5)

    def share_ours(r):
        t = r["dip.timings"]["runs"]["DIPNet"]
        s = 1 - t["mean_frame_seconds"] / t["overall_seconds_per_frame"]
        return Ours(f"{s:.0%} of the time per frame",
                    _bench(r["dip.timings"], "mean frame and fine-tuning times"),
                    Gap(s - 0.5, 0.0, 1, int(s > 0.5)), "one benchmark run; not measured")

    def star_paper():
        t = _dip().TABLE1
        x = t["DIPNet"]["s/frame"] / t["DIPNet*"]["s/frame"]
        return PaperValue(f"DIPNet takes {x:.2f}x as long per frame", math.log(x))

    def star_ours(r):
        t = r["dip.timings"]["runs"]
        x = (t["DIPNet"]["overall_seconds_per_frame"]
             / t["DIPNet*"]["overall_seconds_per_frame"])
        return Ours(f"DIPNet takes {x:.2f}x as long per frame",
                    _bench(r["dip.timings"], "overall seconds per frame"), ratio_gap(x),
                    "one benchmark run; not measured")

    def t6_paper(setting, better, worse):
        col = {"single object": "DAVIS16", "foreground": "DAVIS17_fore",
               "multi-instance": "DAVIS17_multi"}[setting]

        def value():
            t6 = _dip().TABLE6
            a, b = t6[better][col], t6[worse][col]
            return PaperValue(f"{a - b:+.3f} ({a:.3f} vs {b:.3f}, mIoU)", a - b)
        return value

    def t6_ours(setting, better, worse):
        def ours(r):
            t6 = r["dip.table6"][setting]
            root = r.get("dip.table6_roots", {}).get(setting)
            gap = global_gap(t6[better], t6[worse], "J", root=root)
            a, b = (t6[n]["global"]["J-Mean"] for n in (better, worse))
            return Ours(f"{gap.mean:+.3f} ({a:.3f} vs {b:.3f}, J)",
                        f"{DIP_ABL(gap.n)}; {setting}", gap)
        return ours

    def t7_paper(a, b):
        def value():
            t7 = _dip().TABLE7
            x, y = jf(t7[a]), jf(t7[b])
            return PaperValue(f"{x - y:+.3f} ({x:.3f} vs {y:.3f}, J&F)", x - y)
        return value

    def t7_ours(a, b):
        def ours(r):
            t7 = r["dip.ablations"]["table7"]
            gap = global_gap(t7[a], t7[b])
            x, y = (t7[n]["global"]["J&F-Mean"] for n in (a, b))
            sample = DIP_ABL(gap.n).replace("no fine-tuning",
                                            "fine-tuning only in + one-shot")
            return Ours(f"{gap.mean:+.3f} ({x:.3f} vs {y:.3f}, J&F)", sample, gap)
        return ours

    def pair_paper(table, a, b):
        def value():
            t = getattr(_dip(), table)
            return PaperValue(f"{t[a] - t[b]:+.3f} ({t[a]:.3f} vs {t[b]:.3f}, mIoU)",
                              t[a] - t[b])
        return value

    def pair_ours(key, a, b, note=""):
        def ours(r):
            d = r["dip.ablations"][key]
            gap = global_gap(d[a], d[b], "J")
            x, y = (d[n]["global"]["J-Mean"] for n in (a, b))
            return Ours(f"{gap.mean:+.3f} ({x:.3f} vs {y:.3f}, J)", DIP_ABL(gap.n) + note,
                        gap)
        return ours

    def omega_paper():
        return PaperValue(f"larger is better; $\\omega$ = {_dip().OMEGA:g} chosen "
                          "(curve, no numbers)", DIRECTION)

    def omega_ours(r):
        om = r["dip.ablations"]["omega"]
        w = _dip().OMEGA
        gap = global_gap(om[w], om[min(om)])
        x, y = (om[k]["global"]["J&F-Mean"] for k in (w, min(om)))
        return Ours(f"{gap.mean:+.3f} ($\\omega$ {w:g} vs {min(om):g}: {x:.3f} vs {y:.3f}, J&F)",
                    DIP_ABL(gap.n), gap)

    def none_ours(r):
        return Ours("not run here", "-")

    t6 = []
    for setting in ("single object", "foreground", "multi-instance"):
        t6 += [Claim("DIPNet", "Table 6", f"The SSN is needed: IPN+SSN above IPN alone "
                     f"({setting})", t6_paper(setting, "IPN+SSN", "IPN"),
                     t6_ours(setting, "IPN+SSN", "IPN"), ch11 + ("08_propagation_and_ssn",),
                     needs=("dip.table6",)),
               Claim("DIPNet", "Table 6", f"The propagation helps: IPN+SSN above SSN alone "
                     f"({setting})", t6_paper(setting, "IPN+SSN", "SSN"),
                     t6_ours(setting, "IPN+SSN", "SSN"), ch11 + ("08_propagation_and_ssn",),
                     needs=("dip.table6",))]
    return [
        Claim("DIPNet", "Table 1, Fig. 4", "State-of-the-art accuracy on DAVIS 2016 with "
              "light fine-tuning (close to OnAVOS, above the propagation methods)",
              level_paper("TABLE1"), level_ours, ch9, measurable=False,
              why_not="other methods and DAVIS are not run here", needs=("dip.main",)),
        Claim("DIPNet", "Table 3, Fig. 4", "Ahead of OnAVOS, OSVOS, FAVOS and OSNM on "
              "DAVIS 2017 val", level_paper("TABLE3"), level_ours, ch9, measurable=False,
              why_not="other methods and DAVIS are not run here", needs=("dip.main",)),
        Claim("DIPNet", "Tables 2, 4, 5", "Competitive on Youtube-Objects, DAVIS 2017 "
              "test-dev and SegTrack v2",
              lambda: _missing("dipnet", "TABLE2, TABLE4, TABLE5"), none_ours, (),
              measurable=False, why_not="these data sets are not used here"),
        Claim("DIPNet", "Table 1, Sec. 4.2.3", "The foreground crop helps with one object "
              "(DIPNet above DIPNet*)", crop_paper("TABLE1"), crop_ours(True), ch9,
              needs=("dip.main", "meta")),
        Claim("DIPNet", "Table 3, Sec. 4.2.3", "The foreground crop helps with several "
              "objects (DIPNet above DIPNet*)", crop_paper("TABLE3"), crop_ours(False), ch9,
              needs=("dip.main",)),
        *t6,
        Claim("DIPNet", "Table 7", "Off-line training on videos improves on static "
              "pre-training", t7_paper("+ off-line", "pre-training"),
              t7_ours("+ off-line", "pre-training"), ch11, needs=("dip.ablations",)),
        Claim("DIPNet", "Table 7", "One-shot fine-tuning improves on off-line training",
              t7_paper("+ one-shot", "+ off-line"), t7_ours("+ one-shot", "+ off-line"),
              ch11 + ch9, needs=("dip.ablations",)),
        Claim("DIPNet", "Sec. 4.2.2", "The masked identity encoder (Eq. 1) beats "
              "concatenating frame and mask", pair_paper("ENCODER", "masked", "concat"),
              pair_ours("encoder", "masked", "concat"),
              ch11 + ("07_identity_attention",), needs=("dip.ablations",)),
        Claim("DIPNet", "Sec. 4.2.3", "The joint softmax over instances beats segmenting "
              "them separately (no crop)", pair_paper("JOINT", "joint", "separate"),
              pair_ours("joint", "joint", "separate", "; no crop"), ch11 + ch9,
              needs=("dip.ablations",)),
        Claim("DIPNet", "Fig. 6", "A larger $\\omega$ is better: the paper's $\\omega$ beats "
              "the first frame alone ($\\omega$ = 0)", omega_paper, omega_ours,
              ch11 + ("07_identity_attention",), needs=("dip.ablations",)),
        Claim("DIPNet", "Sec. 4.2.1", "Trained on DAVIS 2017 like OSMN, the propagation "
              "model beats OSMN on DAVIS 2016", lambda: _missing("dipnet", "OSMN"),
              none_ours, ch11, measurable=False,
              why_not="OSMN and DAVIS are not run here"),
        Claim("DIPNet", "Fig. 5", "Accuracy stays steadier over a video than other "
              "methods'", lambda: PaperValue("curves, no numbers"), none_ours,
              ("12_dtn_vs_dipnet",), measurable=False,
              why_not="other methods and DAVIS are not run here"),
        Claim("DIPNet", "Sec. 4.1", "Inference about 0.11 s per frame and light one-shot "
              "fine-tuning: 1.09 s per frame in all, many times faster than OnAVOS",
              times_paper, times_ours, ch9, measurable=False,
              why_not="a time depends on the hardware; no GPU here",
              needs=("dip.timings",)),
        Claim("DIPNet", "Sec. 4.1", "One-shot fine-tuning, not inference, takes most of "
              "the time", share_paper, share_ours, ch9, needs=("dip.timings",)),
        Claim("DIPNet", "Table 1", "DIPNet* (no crop step) is faster than DIPNet",
              star_paper, star_ours, ch9, measurable=False,
              why_not=("the paper's DIPNet* (one object) skips the crop's fine-tuning; "
                       "ours fine-tunes every object on the whole frame"),
              needs=("dip.timings",)),
    ]


#: Every claim of the two papers that the ledger lists, DTN's first.
CLAIMS: list = _dtn_claims() + _dip_claims()


def noise_text(gap: Gap | None, ours: Ours, digits: int) -> str:
    """The noise cell: ``± 2 SE (n videos)``, or ``ours.noise`` when it has one."""
    if ours.noise is not None:
        return ours.noise
    if gap is None:
        return "-"
    return f"± {2 * gap.se:.{ours.digits or digits}f} ({gap.n} videos)"


def evaluate_claim(claim: Claim, results: Mapping) -> Row:
    """One row of the ledger: the paper's value, ours, the noise and the verdict."""
    pv, ours = claim.paper_value(), claim.ours(results)
    gap = ours.gap if claim.measurable else None
    if claim.measurable and (gap is None or pv.effect is None):
        raise ValueError(f"{claim.paper} {claim.where}: a measurable claim needs our gap "
                         "and the paper's effect")
    word = verdict(gap, pv.effect) if gap is not None else "not measurable here"
    noise = (noise_text(gap, ours, 1 if claim.paper == "DTN" else 3)
             if claim.measurable else claim.why_not)
    return Row(claim.paper, claim.where, claim.text, pv.text, ours.text, ours.sample,
               noise, word, claim.chapters, gap, pv.effect)


def rows(results: Mapping | None = None, claims=None) -> list:
    """The ledger: one :class:`Row` per claim of ``claims`` (default :data:`CLAIMS`),
    computed from ``results`` (default :class:`Results`, the cached experiments)."""
    results = Results() if results is None else results
    return [evaluate_claim(c, results) for c in (CLAIMS if claims is None else claims)]


def chapter_links(chapters) -> str:
    """``[ch. 6](06_training_and_ablations), ...``: document links of the book."""
    return ", ".join(f"[{CHAPTERS[c]}]({c})" for c in chapters) or "-"


#: The columns of the chapter's claims table (:func:`table_cells`).
TABLE_HEADER = ("source", "claim", "paper", "ours", "noise (2 SE)", "verdict", "shown in",
                "scale and data")  # the verdict before the long text, so it shows on a page
#: The columns of the chapter's choices table (:func:`choice_cells`).
CHOICE_HEADER = ("paper", "where", "kind", "the paper", "ours", "why", "code")


def _md(text: str) -> str:
    """A table cell's text with Markdown's ``*`` and ``|`` taken literally."""
    return str(text).replace("|", "\\|").replace("*", "\\*")


def table_cells(rows_) -> list:
    """The rows as the cells of the chapter's claims table (:data:`TABLE_HEADER`)."""
    return [(f"{r.paper}, {r.where}", _md(r.claim), _md(r.paper_text), _md(r.ours_text),
             _md(r.noise), f"**{r.verdict}**", chapter_links(r.chapters), _md(r.sample))
            for r in rows_]


def choice_cells(paper: str | None = None) -> list:
    """:func:`choice_rows` as the cells of the choices table (:data:`CHOICE_HEADER`),
    of one ``paper`` (``"DTN"``, ``"DIPNet"``, ``"both"``) or all."""
    return [(p, w, k, _md(says), _md(ours), _md(why), f"`{code}`")
            for p, w, k, says, ours, why, code in choice_rows() if paper in (None, p)]


def verdict_counts(rows_) -> dict:
    """``{paper: {verdict: count}}`` with every paper and verdict word present."""
    counts = {p: Counter() for p in PAPERS}
    for r in rows_:
        counts[r.paper][r.verdict] += 1
    return {p: {v: counts[p][v] for v in VERDICTS} for p in PAPERS}


# ---------------------------------------------------------------- the choices
def _config_values() -> dict:
    from .config import cpu, paper
    c, p = cpu(), paper()
    return {"dtn": c.dtn, "dip": c.dipnet, "pdtn": p.dtn, "pdip": p.dipnet,
            "train": c.train, "ptrain": p.train}


CHOICES = [
    # ---------------------------------------------------------------------- DTN
    Choice("DTN", "Sec. 3.2, Eq. 2", "read differently",
           "choose the candidate with the largest score; the score is a sum of L2 "
           "distances",
           "the candidate with the smallest distance (argmin of Eq. 2)",
           "the largest distance would pick the least similar candidate, against the "
           "stated intent (large feature similarity)",
           "vos_lib.dtn.crpn.select_candidate"),
    Choice("DTN", "Sec. 3.2, Fig. 5", "paper silent",
           "how an RPN scores anchors whose shapes depend on the previous box",
           "the head samples each anchor box with RoIAlign and scores it with an MLP; the "
           "conditional and the original RPN share it",
           "a standard RPN ties each output channel to one fixed anchor shape",
           "vos_lib.dtn.crpn.ConditionalRPN"),
    Choice("DTN", "Sec. 3.4, Eq. 5", "paper silent",
           "L_CRPN as in Faster R-CNN (foreground IoU 0.7)",
           "foreground IoU 0.5 for the 81 conditional anchors",
           "the 81 anchors are few and already coarse (their shapes differ in x0.5 "
           "steps)",
           "vos_lib.dtn.crpn.ConditionalRPN.loss"),
    Choice("DTN", "Sec. 3.2, Eq. 1", "paper silent",
           "the DM regresses the IoU of Eq. 1; no output activation named",
           "a sigmoid on the DM's output", "the prediction stays in the range of its target",
           "vos_lib.dtn.decision.DecisionModule"),
    Choice("DTN", "Sec. 3.2, Eq. 1", "paper silent",
           "Eq. 1 averages the IoU over the objects; absent objects not discussed",
           "absent objects are left out of the mean; with none present the target is 1 if "
           "BP gives no box either, else 0",
           "an object outside the frame has no ground-truth box to score",
           "vos_lib.dtn.decision.confidence_target"),
    Choice("DTN", "Sec. 3.2", "our addition",
           "the DM reads pooled Conv6 of FlowNet2-S",
           "`dm_features` = `{dtn.dm_features}`: pooled Conv6 plus 10 warp statistics "
           "(`paper()` preset: `{pdtn.dm_features}`)",
           "at CPU scale pooled Conv6 alone does not predict Eq. 1 on new videos "
           "(chapter 4)",
           "vos_lib.dtn.decision.warp_statistics"),
    Choice("DTN", "Sec. 3.4", "our addition",
           "one learning rate for all modules",
           "the DM head learns at `dm_lr_mult` = {dtn.dm_lr_mult:g} times the fine-tuning "
           "rate",
           "a small head fitted in a few hundred iterations",
           "vos_lib.dtn.config.DTNConfig.dm_lr_mult"),
    Choice("DTN", "Sec. 3.2", "our addition",
           "a frame goes to BP when $C_i > \\theta_c$",
           "a frame goes to BR also when an object's warped mask is empty",
           "BP cannot propagate a box that has vanished",
           "vos_lib.dtn.model.DTN.step"),
    Choice("DTN", "Sec. 3.3", "paper silent",
           "RoI features added to the upsampled previous MRM output (Eq. 3); layers not "
           "detailed",
           "1x1 lateral convs to a common width, two 3x3 convs with ReLU, no normalisation, "
           "bilinear x2 upsampling",
           "the addition of Eq. 3 needs equal widths; few RoIs per batch",
           "vos_lib.dtn.mrn.MRM"),
    Choice("DTN", "Sec. 3.4", "paper silent",
           "how the training RoIs and priors are made",
           "jittered boxes for the CRPN and the MRN; the MRN's warped-mask prior dropped "
           "for a fifth of the objects",
           "at test time the boxes are imperfect, and after a BR frame the prior can be "
           "wrong",
           "vos_lib.dtn.model.DTN.training_step"),
    Choice("DTN", "Sec. 3.3", "paper silent",
           "no context margin around the target RoI",
           "the RoI grows by `box_context` = {dtn.box_context:.0%} of its width and height",
           "not recorded in the code; a margin lets a box a few pixels off still hold "
           "the object",
           "vos_lib.dtn.config.DTNConfig.box_context"),
    Choice("DTN", "Sec. 3.4", "CPU scale",
           "a pre-trained FlowNet2-S, outside Eq. 5",
           "a FlowNet-S of width {dtn.flow_width} trained first on ground-truth flow "
           "(`flow_lr` = {dtn.flow_lr:g}); `paper()` preset: `{pdtn.flow}`",
           "no pre-trained weights are downloaded at CPU scale; a larger rate collapsed "
           "to zero flow",
           "vos_lib.dtn.train.train_dtn"),
    Choice("DTN", "Sec. 3.4", "CPU scale",
           "SGD; iteration counts not given",
           "Adam (`{train.optimizer}`), {dtn.pretrain_iters} + {dtn.finetune_iters} "
           "iterations from scratch",
           "a few hundred SGD steps at the paper's rates barely move a network trained "
           "from scratch",
           "vos_lib.config.TrainConfig.optimizer"),
    Choice("DTN", "Sec. 3.4", "CPU scale",
           "pre-training on the instance masks of MS-COCO and PASCAL VOC",
           "static pairs cut from the synthetic training frames",
           "no external data at CPU scale",
           "vos_lib.data.StaticPairDataset"),
    Choice("DTN", "Table 3", "paper silent",
           "w/o FT: the model without video fine-tuning",
           "the DM head alone is fitted on videos (a quarter of the iterations)",
           "without it the DM is untrained and routing would be arbitrary",
           "vos_lib.dtn.train.VARIANTS"),
    Choice("DTN", "Table 3", "CPU scale",
           "MRN w/o mask guidance trained without the prior",
           "fine-tuned without the prior from the shared pre-trained weights",
           "the CPU budget allows one pre-training run",
           "vos_lib.dtn.train.train_dtn"),
    Choice("DTN", "Table 3", "read differently",
           "w/o DTN: the raw multi-level features without RoI Align fed to the MRN",
           "the same weights with the whole frame as the RoI",
           "the closest variant the trained MRN can run",
           "vos_lib.dtn.experiments.table3_configs"),
    Choice("DTN", "Fig. 6", "CPU scale",
           "random assignment averaged over four draws; DAVIS 2016 val",
           "two seeds, on the first {n_fig6} val videos",
           "each point is a full run over the videos; CPU time",
           "vos_lib.dtn.experiments.fig6"),
    Choice("DTN", "Fig. 6, Table 4", "our addition",
           "fps measured on the GPU for each threshold",
           "fps modelled from per-component times of one CPU benchmark and the BR fraction",
           "timings are machine-specific; the page never times anything",
           "vos_lib.dtn.experiments.fps_at"),
    # ------------------------------------------------------------------- DIPNet
    Choice("DIPNet", "Sec. 3.1", "read differently",
           "a fully connected layer on the Conv5 maps gives the identity vector",
           "average pooling over space first, then FC",
           "a dense layer on 2048x8x8 maps would hold 268M weights",
           "vos_lib.dipnet.identity.IdentityEncoder"),
    Choice("DIPNet", "Sec. 3.1", "CPU scale",
           "Conv5 of ResNet-50 on a 256x256 input: an 8x8 grid, 32x32 coarse masks",
           "`feature_level` = `{dip.feature_level}` on {dip.prop_size[0]}x"
           "{dip.prop_size[1]} inputs, {dip.backbone} with blocks {dip.backbone_blocks}",
           "keeps the paper's 8x8 grid and 32x32 coarse masks at a CPU's input size",
           "vos_lib.dipnet.config.DIPNetConfig.feature_level"),
    Choice("DIPNet", "Sec. 3.1", "paper silent",
           "the width of the instance propagation module",
           "`ipn_channels` = {dip.ipn_channels} (`paper()` preset: {pdip.ipn_channels})",
           "a width a CPU trains in minutes",
           "vos_lib.dipnet.config.DIPNetConfig.ipn_channels"),
    Choice("DIPNet", "Sec. 3.2", "paper silent",
           "a CRN-style SSN: its input and output, not its layers",
           "a ResNet encoder and a cascade decoder that weighs the lateral features by the "
           "previous level's mask (f (1 + a)) and predicts a mask at each level",
           "CRN's principle with the form of Eq. 1",
           "vos_lib.dipnet.ssn.SpatialSegmentationNetwork"),
    Choice("DIPNet", "Sec. 3.2, 3.4", "paper silent",
           "BCE on the SSN's output",
           "BCE on the output and, at half weight, on every cascade stage",
           "deep supervision, as CRN does", "vos_lib.dipnet.model.ssn_loss"),
    Choice("DIPNet", "Sec. 3.4", "paper silent",
           "one-shot fine-tuning on the first frame with morphed masks",
           "a batch of differently morphed copies, frozen BatchNorm statistics, a tuned "
           "copy per video",
           "one image would overwrite the BN statistics; the trained weights stay intact",
           "vos_lib.dipnet.finetune.one_shot_finetune"),
    Choice("DIPNet", "Sec. 3.4", "CPU scale",
           "200 fine-tuning iterations on the frame, then 100 on the crop (one object) "
           "or 200 per instance",
           "{dip.ft_iters_full} on the frame, then {dip.ft_iters_crop} per object",
           "CPU time per video", "vos_lib.dipnet.config.DIPNetConfig.ft_iters_full"),
    Choice("DIPNet", "Sec. 3.4", "CPU scale",
           "SGD at 1e-4, constant, 40 + 20 epochs",
           "Adam at {dip.lr:g} (pre-training) and {dip.offline_lr:g} (off-line), each "
           "stage with a cosine decay to 0",
           "a constant rate left noisy last weights; a restart at 1e-3 undid pre-training",
           "vos_lib.dipnet.config.DIPNetConfig.cosine"),
    Choice("DIPNet", "Sec. 3.4", "our addition",
           "training samples of single objects",
           "a share `union_p` = {dip.union_p:g} of targets is the union of all objects, "
           "and `crop_p` = {dip.crop_p:g} of samples are cropped around the foreground",
           "inference propagates the foreground (Sec. 3.3.1) and works on the crop",
           "vos_lib.dipnet.model.DIPNet.crop_some"),
    Choice("DIPNet", "Sec. 3.3.1", "paper silent",
           "a tight region around the foreground",
           "the box grows by `crop_margin` = {dip.crop_margin:.0%} per side",
           "not recorded in the code; a margin keeps inside the crop the parts the "
           "foreground mask missed",
           "vos_lib.dipnet.config.DIPNetConfig.crop_margin"),
    Choice("DIPNet", "Sec. 3.3", "paper silent",
           "how the refined instance masks become one label map",
           "each pixel goes to its most likely object, background below 0.5; the "
           "foreground keeps its own identity vector",
           "the disjoint constraint of Sec. 3.3.2 after the refinement",
           "vos_lib.dipnet.inference.DIPNetSegmenter"),
    Choice("DIPNet", "Sec. 3.4", "CPU scale",
           "morphological kernels of 0 to 16 pixels at 512x512",
           "0 to {dip.morph_max} pixels at the SSN's {dip.ssn_size[0]}x{dip.ssn_size[1]}",
           "about the same share of the frame", "vos_lib.dipnet.model.morph_coarse"),
    Choice("DIPNet", "Sec. 3.4", "CPU scale",
           "pre-training on 11,355 PASCAL VOC images",
           "static pairs cut from the synthetic training frames",
           "no external data at CPU scale", "vos_lib.dipnet.train.train_phase"),
    Choice("DIPNet", "Table 6", "read differently",
           "IPN alone and SSN alone on DAVIS16, DAVIS17 foreground and instances",
           "IPN alone: the coarse masks upsampled; SSN alone: the previous masks as coarse "
           "input; DAVIS16 and the foreground are copies of the ablation videos with one "
           "object kept or all merged",
           "we have one multi-object synthetic split",
           "vos_lib.data.variants.derived_split"),
    Choice("DIPNet", "Tables 6, 7, Sec. 4.2", "CPU scale",
           "ablations on the whole DAVIS val sets",
           "the first {n_ablation} val videos, without one-shot fine-tuning (Table 7's "
           "last column aside)",
           "CPU time", "vos_lib.dipnet.experiments.N_ABLATION"),
    # --------------------------------------------------------------------- both
    Choice("both", "Sec. 3.4 / Sec. 3.1", "CPU scale",
           "ResNet-50 with ImageNet weights (DIPNet; DTN does not say which weights)",
           "{dtn.backbone} with blocks {dtn.backbone_blocks}, trained from scratch "
           "(`pretrained` = {dtn.pretrained})",
           "minutes of CPU training; no downloads",
           "vos_lib.dtn.config.DTNConfig.pretrained"),
    Choice("both", "Sec. 4", "CPU scale",
           "DAVIS 2016 / 2017 at 480p",
           "synthetic DAVIS-format videos at {data.height}x{data.width} with occlusions, "
           "jumps, exits and distractors",
           "no data download; events known frame by frame",
           "vos_lib.data.synthetic.SyntheticConfig"),
]


def choice_rows() -> list:
    """:data:`CHOICES` with the current settings filled in (``{dtn.theta_c}`` etc. read
    from :func:`vos_lib.config.cpu` and :func:`vos_lib.config.paper`): tuples of
    ``(paper, where, kind, paper_says, ours, reason, code)``."""
    from .data.synthetic import SyntheticConfig
    from .dipnet.experiments import N_ABLATION
    from .dtn.experiments import FIG6_N_SEQUENCES
    values = {**_config_values(), "data": SyntheticConfig(), "n_ablation": N_ABLATION,
              "n_fig6": FIG6_N_SEQUENCES}
    return [(c.paper, c.where, c.kind, c.paper_says, c.ours.format(**values), c.reason,
             c.code) for c in CHOICES]


def resolve(path: str):
    """The object a dotted ``vos_lib...`` path names (module, then attributes)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(path)
