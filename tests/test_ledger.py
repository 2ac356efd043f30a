"""The ledger of chapter 13 (vos_lib.ledger): its claims and choices are well formed, the
papers' values are read from the paper modules (never typed), and the rows are computed
right, on a tiny made-up set of results (no experiment is run)."""
import math

import numpy as np
import pytest

from vos_lib import ledger as L
from vos_lib.eval.compare import paired_gap

VIDEOS = [f"val-{i:03d}" for i in range(6)]


def summary(scores, br=0.5, j_shift=0.0, name="fake"):
    """A cached-result look-alike: J&F per video ``scores``, J = J&F + ``j_shift``."""
    per = dict(zip(VIDEOS, scores))
    jf = float(np.mean(scores))
    return {"name": name, "br_fraction": br, "per_sequence": per,
            "per_sequence_J": {v: s + j_shift for v, s in per.items()},
            "global": {"J&F-Mean": jf, "J-Mean": jf + j_shift, "F-Mean": jf - j_shift},
            "confidence": {v: [0.9, 0.5, 0.9, 0.9] for v in VIDEOS}}


def rising(base, step=0.01, spread=0.02):
    """Six per-video scores around ``base`` (not all equal, so the SE is not 0)."""
    return [base + spread * ((i % 3) - 1) + step * i for i in range(6)]


def point(scores, br, **key):
    """A point of ``vos_lib.dtn.experiments.fig6`` (``key``: its theta_c, p_bp, ...)."""
    s = summary(scores, br)
    return {**key, "J&F": s["global"]["J&F-Mean"], "br": br, "routes": {},
            "global": s["global"], "per_sequence": s["per_sequence"]}


def random_point(p_bp, seeds):
    """Random assignment's point: the mean of its seeds' points, which it keeps."""
    per_seed = [point(sc, br, seed=i) for i, (sc, br) in enumerate(seeds)]
    mean = point(list(np.mean([sc for sc, _ in seeds], axis=0)),
                 float(np.mean([br for _, br in seeds])))
    return {"p_bp": p_bp, **mean, "per_seed": per_seed}


def meta(n_objects=1):
    """Five frames; object 1 is occluded at frame 2 (a Meta/<seq>.json look-alike), where
    the fake confidence (frames 1-4) is low."""
    return {"n_objects": n_objects, "n_frames": 5,
            "events": [{"t": 2, "t_end": 2, "object": 1, "event": "occlusion"}]}


@pytest.fixture
def fake():
    ours = summary(rising(0.40))
    t3 = {row: summary(rising(v)) for row, v in
          [("w/o FT", 0.20), ("w/o PT", 0.38), ("w/o DTN", 0.22),
           ("BR with ori RPN", 0.41), ("MRN w/o mask guidance", 0.42)]}
    t3["Ours"] = ours
    fig6 = {"dm": [point(rising(v), br, theta_c=th) for th, v, br in
                   [(0.5, 0.34, 0.1), (0.83, 0.39, 0.4), (0.95, 0.45, 1.0),
                    (1.01, 0.45, 1.0)]],
            "random": [random_point(0.0, [(rising(0.45), 1.0)] * 2),
                       random_point(0.5, [(rising(0.42), 0.6), (rising(0.43), 0.6)]),
                       random_point(1.0, [(rising(0.34), 0.1)] * 2)],
            "periodic": [point(rising(0.42), 0.5, period=2),
                         point(rising(0.36), 0.2, period=5)]}
    main = {"DIPNet": summary(rising(0.18)), "DIPNet*": summary(rising(0.15)),
            "DIPNet w/o one-shot": summary(rising(0.18)), "DIS flow": summary(rising(0.3))}
    abl = {"table7": {"pre-training": summary(rising(0.20)),
                      "+ off-line": summary(rising(0.18)),
                      "+ one-shot": summary(rising(0.19))},
           "encoder": {"masked": summary(rising(0.18), j_shift=0.01),
                       "concat": summary(rising(0.17))},
           "joint": {"joint": summary(rising(0.16)), "separate": summary(rising(0.21))},
           "omega": {w: summary(rising(v)) for w, v in
                     [(0.0, 0.31), (0.5, 0.18), (0.95, 0.18), (1.0, 0.18)]}}
    t6 = {s: {"IPN": summary(rising(0.11)), "SSN": summary(rising(0.2)),
              "IPN+SSN": summary(rising(0.18))}
          for s in ("single object", "foreground", "multi-instance")}
    timings = {"machine": "test CPU", "frames": 10, "sequences": 2,
               "br_over_bp_frame_time": 1.5, "full_over_conditional_rpn": 1.6}
    dip_t = {"machine": "test CPU", "sequences": 2,
             "runs": {"DIPNet": {"mean_frame_seconds": 0.1,
                                 "overall_seconds_per_frame": 0.3},
                      "DIPNet*": {"mean_frame_seconds": 0.08,
                                  "overall_seconds_per_frame": 0.29}}}
    metas = {v: meta(1 if i < 2 else 2) for i, v in enumerate(VIDEOS)}
    return {"dtn.table3": t3, "dtn.fig6": fig6, "dtn.timings": timings,
            "dtn.n_fig6": 6, "dip.main": main, "dip.ablations": abl, "dip.table6": t6,
            "dip.timings": dip_t, "meta": metas}


def test_claims_are_well_formed():
    assert len(L.CLAIMS) >= 30
    for c in L.CLAIMS:
        assert c.paper in L.PAPERS and c.where and c.text, c
        assert set(c.chapters) <= set(L.CHAPTERS), c
        assert c.measurable or c.why_not, c
        pv = c.paper_value()
        assert isinstance(pv, L.PaperValue) and pv.text, c
        if c.measurable:
            assert pv.effect is not None and c.needs, c
    assert {c.paper for c in L.CLAIMS} == set(L.PAPERS)


def test_paper_values_are_read_from_the_paper_modules(monkeypatch):
    from vos_lib.dipnet import paper as dp
    from vos_lib.dtn import paper as tp
    row = next(c for c in L.CLAIMS if c.where == "Table 3" and "w/o FT" in c.text)
    assert row.paper_value().effect == pytest.approx(tp.TABLE3["w/o FT"][2]
                                                     - tp.TABLE3["Ours"][2])
    monkeypatch.setitem(tp.TABLE3, "w/o FT", (1.0, 2.0, 3.0))
    assert "3.0 vs" in row.paper_value().text
    enc = next(c for c in L.CLAIMS if "masked identity encoder" in c.text)
    monkeypatch.setattr(dp, "ENCODER", {"masked": 0.5, "concat": 0.25})
    assert enc.paper_value().effect == pytest.approx(0.25)


def test_rows_on_made_up_results(fake):
    rows = L.rows(fake)
    assert len(rows) == len(L.CLAIMS)
    assert all(r.verdict in L.VERDICTS for r in rows)
    for c, r in zip(L.CLAIMS, rows):
        if not c.measurable:
            assert r.verdict == "not measurable here" and r.gap is None
    # Table 3's "w/o FT": the gap of the global J&F (points), the paired per-video SE
    r = next(r for r in rows if r.where == "Table 3" and "w/o FT" in r.claim)
    t3 = fake["dtn.table3"]
    assert r.gap.mean == pytest.approx(100 * (t3["w/o FT"]["global"]["J&F-Mean"]
                                              - t3["Ours"]["global"]["J&F-Mean"]))
    pair = paired_gap(t3["w/o FT"]["per_sequence"], t3["Ours"]["per_sequence"], 100)
    assert r.gap.se == pytest.approx(pair.se) and r.verdict == "reproduces"
    # an mIoU claim is measured in J (the fake encoder rows differ by j_shift in J)
    r = next(r for r in rows if "masked identity encoder" in r.claim)
    assert r.gap.mean == pytest.approx(0.01 + 0.01)
    # the omega claim: the opposite sign, clear: does not reproduce
    r = next(r for r in rows if r.paper == "DIPNet" and r.where == "Fig. 6")
    assert r.gap.mean < 0 and r.verdict == "does not reproduce"
    # times: a ratio with SE 0; same direction as the paper's
    r = next(r for r in rows if r.where == "Table 4, Sec. 4.3")
    assert r.gap.mean == pytest.approx(math.log(1.5)) and r.verdict == "reproduces"
    counts = L.verdict_counts(rows)
    assert sum(sum(v.values()) for v in counts.values()) == len(rows)
    assert all(list(v) == list(L.VERDICTS) for v in counts.values())


def test_each_claim_reads_only_what_it_declares(fake):
    for c in L.CLAIMS:
        c.ours({k: fake[k] for k in c.needs})


def test_fig6_and_fig4_rows_use_the_library_comparisons(fake):
    from vos_lib.dtn import experiments as tx
    from vos_lib.eval.events import event_split
    rows = {(r.where, r.claim): r for r in L.rows(fake)}
    f6 = fake["dtn.fig6"]
    theta = next(r for (w, c), r in rows.items() if w == "Fig. 6" and "higher" in c)
    assert theta.gap == tx.theta_gap(f6["dm"], scale=100)        # 0.95 vs 0.5
    assert theta.verdict == "reproduces" and "0.95 vs 0.5" in theta.ours_text
    dm = next(p for p in f6["dm"] if p["theta_c"] == 0.83)
    for kind in ("random", "periodic"):
        r = next(r for (w, c), r in rows.items() if w == "Fig. 6" and kind in c)
        assert r.gap == tx.policy_gap(dm, f6[kind], scale=100), kind
    ev = next(r for (w, _), r in rows.items() if w == "Fig. 4, Sec. 3.2")
    conf = fake["dtn.table3"]["Ours"]["confidence"]
    assert ev.gap == paired_gap(*event_split(conf, fake["meta"]))
    assert ev.gap.mean == pytest.approx(0.5 - 0.9) and ev.verdict == "reproduces"


def test_the_ledger_reads_the_helpers_it_moved_from_the_library():
    from vos_lib.eval import compare
    assert L.global_gap is compare.global_gap and L.per_video is compare.per_video
    assert L.DIRECTION == compare.DIRECTION
    for name in ("policy_gap", "interp_per_video", "event_frames", "event_gap"):
        assert not hasattr(L, name), name


def test_ratio_gap_and_direction():
    assert L.ratio_gap(2.0).mean == pytest.approx(math.log(2.0))
    assert L.ratio_gap(0.5).n_better == 0


def test_choices_point_at_code_that_exists():
    assert len(L.CHOICES) >= 20
    for c in L.CHOICES:
        assert c.kind in L.CHOICE_KINDS, c
        assert c.paper in (*L.PAPERS, "both"), c
        assert c.code.startswith("vos_lib."), c
        L.resolve(c.code)                        # raises if the module/attribute is gone
    with pytest.raises((AttributeError, ModuleNotFoundError)):
        L.resolve("vos_lib.dtn.crpn.no_such_function")
    rows = L.choice_rows()
    assert len(rows) == len(L.CHOICES)
    assert not any("{" in r[4] or "}" in r[4] for r in rows)


def test_chapter_links():
    assert L.chapter_links(("06_training_and_ablations", "04_decision_module")) == (
        "[ch. 6](06_training_and_ablations), [ch. 4](04_decision_module)")
    assert L.chapter_links(()) == "-"
