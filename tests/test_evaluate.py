"""Folder evaluation and the CLI (vos_lib.evaluate) on tiny DAVIS-format folders."""
import csv
import json
import re

import numpy as np
import pytest

from vos_lib.evaluate import evaluate, main
from vos_lib.io import VOID, DataFormatError, write_mask
from vos_lib.eval.metrics import GLOBAL_COLUMNS, evaluate_folder

H, W = 24, 32


def box(y0, y1, x0, x1):
    m = np.zeros((H, W), dtype=np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def make_davis(root, sequences, year="2017", split="val"):
    """sequences: {name: (gt frames, result frames or None)} -> (davis_root, results_dir)."""
    davis, results = root / "DAVIS", root / "results"
    (davis / "ImageSets" / year).mkdir(parents=True)
    (davis / "ImageSets" / year / f"{split}.txt").write_text("\n".join(sequences) + "\n")
    for name, (gt, res) in sequences.items():
        for t, m in enumerate(gt):
            write_mask(davis / "Annotations" / "480p" / name / f"{t:05d}.png", m)
        for t, m in enumerate(res or []):
            if m is not None:
                write_mask(results / name / f"{t:05d}.png", m)
    results.mkdir(exist_ok=True)
    return davis, results


@pytest.fixture
def two_seqs(tmp_path):
    a = box(4, 12, 4, 12)
    b = box(14, 22, 18, 30)
    # "alpha": one object, 5 frames (3 scored); the result misses it in frame 2
    alpha_gt = [a] * 5
    alpha_res = [a, a, a * 0, a, a * 0]
    # "beta": two objects, 4 frames (2 scored); object 2 is never predicted
    two = a + 2 * b
    beta_gt = [two] * 4
    beta_res = [two, a, a, a]
    return make_davis(tmp_path, {"alpha": (alpha_gt, alpha_res), "beta": (beta_gt, beta_res)})


def test_folder_hand_computed(two_seqs):
    davis, results = two_seqs
    r = evaluate_folder(davis, results)
    # alpha_1: J = F = [1, 0, 1] -> mean 2/3, recall 2/3, decay (bins of N = 3:
    #          [0:2], .., [2:3]) = mean(1, 0) - 1 = -0.5
    # beta_1:  J = F = [1, 1] -> 1, 1, 0;   beta_2: J = F = [0, 0] -> 0, 0, 0
    assert list(r["per_object"]) == ["alpha_1", "beta_1", "beta_2"]
    po = r["per_object"]
    assert po["alpha_1"]["J-Mean"] == pytest.approx(2 / 3)
    assert po["alpha_1"]["F-Recall"] == pytest.approx(2 / 3)
    assert po["alpha_1"]["J-Decay"] == pytest.approx(-0.5)
    assert po["beta_1"]["F-Mean"] == 1.0 and po["beta_2"]["J-Mean"] == 0.0
    assert r["J-Mean"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert r["J-Recall"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert r["J-Decay"] == pytest.approx(-0.5 / 3)
    assert r["J&F-Mean"] == pytest.approx((r["J-Mean"] + r["F-Mean"]) / 2)
    assert r["F-Mean"] == pytest.approx(r["J-Mean"])
    assert r["global"] == {c: r[c] for c in GLOBAL_COLUMNS}
    np.testing.assert_array_equal(r["per_frame"]["alpha"]["J"], [[1, 0, 1]])
    # threads change nothing
    r1 = evaluate_folder(davis, results, workers=1)
    assert all(r1[c] == r[c] for c in GLOBAL_COLUMNS)


def test_csv_and_json_format(two_seqs):
    davis, results = two_seqs
    (results / "global_results-val.csv").write_text("stale,numbers\n9,9\n")  # recomputed
    r = evaluate(davis, results, split="val")
    with open(results / "global_results-val.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(GLOBAL_COLUMNS)
    assert len(rows) == 2
    assert all(re.fullmatch(r"-?\d+\.\d{3}", v) for v in rows[1])
    assert rows[1] == ["%.3f" % r[c] for c in GLOBAL_COLUMNS]
    assert rows[1][3] == "-0.167"                           # J-Decay = -0.5 / 3
    text = (results / "per-sequence_results-val.csv").read_text()
    assert text == ("Sequence,J-Mean,F-Mean\n"
                    "alpha_1,0.667,0.667\nbeta_1,1.000,1.000\nbeta_2,0.000,0.000\n")
    doc = json.loads((results / "results-val.json").read_text())
    assert doc["global"]["J-Mean"] == r["J-Mean"]           # full precision
    assert doc["per_object"]["alpha_1"]["J-Mean"] == r["per_object"]["alpha_1"]["J-Mean"]
    assert set(doc["per_object"]["beta_2"]) >= {"J-Mean", "F-Mean"}
    assert sorted(r["files"]) == ["global", "json", "per_sequence"]


def test_cli(two_seqs, capsys):
    davis, results = two_seqs
    rc = main(["--davis-root", str(davis), "--results", str(results), "--set", "val"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Global results for val" in out and "alpha_1" in out and "J&F-Mean" in out
    assert (results / "global_results-val.csv").is_file()
    assert (results / "per-sequence_results-val.csv").is_file()
    assert (results / "results-val.json").is_file()


def test_cli_reports_data_errors(tmp_path, capsys):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"s": ([a] * 4, [a, a, a * 3, a])})
    rc = main(["--davis-root", str(davis), "--results", str(results)])
    assert rc == 2
    assert "00002.png" in capsys.readouterr().err


def test_missing_result_frame_names_the_file(tmp_path):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"cows": ([a] * 5, [a, a, None, a, a])})
    with pytest.raises(DataFormatError, match=r"cows[/\\]00002\.png"):
        evaluate_folder(davis, results)


def test_first_and_last_result_frames_not_needed(tmp_path):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"s": ([a] * 4, [None, a, a, None])})
    assert evaluate_folder(davis, results)["J-Mean"] == 1.0


def test_extra_id_error_names_the_file(tmp_path):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"dogs": ([a] * 4, [a, a, a + 2 * box(0, 2, 0, 2), a])})
    with pytest.raises(DataFormatError, match=r"dogs[/\\]00002\.png.*id 2.*only 1 object"):
        evaluate_folder(davis, results)


def test_result_size_mismatch(tmp_path):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"s": ([a] * 3, [a, a, a])})
    write_mask(results / "s" / "00001.png", np.zeros((H + 1, W), np.uint8))
    with pytest.raises(DataFormatError, match=r"00001\.png.*expected"):
        evaluate_folder(davis, results)


def test_missing_imageset(tmp_path):
    a = box(4, 12, 4, 12)
    davis, results = make_davis(tmp_path, {"s": ([a] * 3, [a] * 3)})
    with pytest.raises(DataFormatError, match="test-dev.txt"):
        evaluate_folder(davis, results, split="test-dev")


def test_sequences_override(two_seqs):
    davis, results = two_seqs
    r = evaluate_folder(davis, results, sequences=["beta"])
    assert list(r["per_object"]) == ["beta_1", "beta_2"]


def test_year_2016_merges_objects(tmp_path):
    a, b = box(4, 12, 4, 12), box(14, 22, 18, 30)
    gt = [a + 2 * b] * 4
    res = [a + 2 * b, a + b, a + b, a]                     # ids do not matter in 2016
    davis, results = make_davis(tmp_path, {"s": (gt, res)}, year="2016")
    r = evaluate_folder(davis, results, year="2016")
    assert list(r["per_object"]) == ["s_1"]
    np.testing.assert_array_equal(r["per_frame"]["s"]["J"], [[1, 1]])


def test_year_2016_binary_255_annotations(tmp_path):
    a = box(4, 12, 4, 12)
    gt = [a * 255] * 4                                     # native DAVIS 2016: 0/255 masks
    davis, results = make_davis(tmp_path, {"s": (gt, [a * 255, a, a * 0, a])}, year="2016")
    r = evaluate_folder(davis, results, year="2016")
    np.testing.assert_array_equal(r["per_frame"]["s"]["J"], [[1, 0]])
    # with other ids present, 255 is void (background by the toolkit's rule)
    gt2 = a.copy()
    gt2[0, :] = VOID
    davis2, results2 = make_davis(tmp_path / "b", {"s": ([gt2] * 3, [a, a, a])}, year="2016")
    assert evaluate_folder(davis2, results2, year="2016")["J-Mean"] == 1.0


def test_paired_gap_and_the_verdict_words():
    from vos_lib.eval.compare import paired_gap, verdict
    a = {"v1": 0.5, "v2": 0.6, "v3": 0.7, "only_a": 0.0}
    b = {"v1": 0.4, "v2": 0.45, "v3": 0.65}
    g = paired_gap(a, b, scale=100)
    assert g.n == 3 and g.n_better == 3 and abs(g.mean - 10.0) < 1e-9
    assert abs(g.se - 5 / np.sqrt(3)) < 1e-9 and g.clear
    assert verdict(g, 3.0) == "reproduces"
    assert verdict(g, -3.0) == "does not reproduce"
    tie = paired_gap({"v1": 1.0, "v2": 0.0}, {"v1": 0.0, "v2": 1.0})
    assert not tie.clear and verdict(tie, 0.1) in ("same sign, within noise",
                                                   "not measurable here")
    assert verdict(paired_gap({"v1": 0.1, "v2": -0.3}, {"v1": 0, "v2": 0}), 0.05) == \
        "not measurable here"
    with pytest.raises(ValueError, match="at least 2 common videos"):
        paired_gap({"v1": 1.0}, {"v1": 0.0})
