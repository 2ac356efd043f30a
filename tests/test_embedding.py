"""vos_lib.viz.dipnet.embedding (chapter 10): identity vectors per instance and frame,
and the scores measured on them in their own space."""
import numpy as np
import pytest
import torch

from vos_lib.data.davis import Sequence
from vos_lib.dipnet import DIPNet, DIPNetConfig
from vos_lib.viz.dipnet.embedding import (IdentityEmbedding, embedding_blank_distance,
                                          embedding_nn_accuracy,
                                          embedding_reference_accuracy,
                                          embedding_silhouette, embedding_step_ratio,
                                          embedding_tsne, embedding_vectors)


def _emb(vectors, instance, frame):
    n = len(vectors)
    return IdentityEmbedding("t", np.asarray(vectors, float), np.asarray(instance),
                             np.asarray(frame), np.ones(n), np.ones(n), [])


def _two_paths(noise=0.0, seed=0):
    """Two instances moving along straight lines in 3-d, 10 frames each."""
    rng = np.random.default_rng(seed)
    t = np.arange(10)
    a = np.stack([1 + 0.01 * t, 0.1 + 0 * t, 0.1 + 0 * t], 1)
    b = np.stack([0.1 + 0 * t, 1 + 0.01 * t, 0.1 + 0 * t], 1)
    v = np.concatenate([a, b]) + noise * rng.standard_normal((20, 3))
    return _emb(v, [1] * 10 + [2] * 10, np.concatenate([t, t]))


def test_scores_on_two_separated_paths():
    e = _two_paths()
    assert embedding_silhouette(e) > 0.9
    assert embedding_reference_accuracy(e) == 1.0
    assert embedding_nn_accuracy(e) == 1.0
    right = embedding_reference_accuracy(e, per_vector=True)
    assert right.shape == (20,) and right.all()
    # a straight path in equal steps: consecutive steps are 1 / (mean |i - j|) = 3/11
    # of the mean pairwise distance (Euclidean)
    step = embedding_step_ratio(e, metric="euclidean")
    assert step == pytest.approx(3 / 11, rel=1e-6)


def test_shuffled_frames_are_not_smooth_and_mixed_instances_do_not_separate():
    e = _two_paths()
    perm = np.random.default_rng(0).permutation(10)
    shuffled = _emb(e.vectors, e.instance, np.concatenate([perm, perm]))
    assert (embedding_step_ratio(shuffled, metric="euclidean")
            > 2 * embedding_step_ratio(e, metric="euclidean"))
    mixed = _emb(e.vectors, np.tile([1, 2], 10), e.frame)
    assert embedding_silhouette(mixed) < 0.1


def test_nn_accuracy_window_leaves_out_near_frames():
    # instance 1 at frames 0..9 drifts into instance 2's region at frames >= 5: with a
    # window, the near copies are gone and the late frames of 1 meet instance 2
    t = np.arange(10)
    a = np.stack([np.where(t < 5, 1.0, 0.2), np.where(t < 5, 0.1, 1.0)], 1)
    a = a + 0.001 * t[:, None]
    b = np.stack([0.2 + 0 * t, 1.0 + 0 * t], 1) + 0.001 * t[:, None]
    e = _emb(np.concatenate([a, b]), [1] * 10 + [2] * 10, np.concatenate([t, t]))
    assert embedding_nn_accuracy(e, gap=0) > embedding_nn_accuracy(e, gap=3)


def _toy_sequence():
    T, H, W = 3, 96, 160
    frames = np.full((T, H, W, 3), 90, np.uint8)
    masks = []
    for t in range(T):
        m = np.zeros((H, W), np.uint8)
        m[20:50, 10 + 5 * t:50 + 5 * t] = 1
        frames[t, 20:50, 10 + 5 * t:50 + 5 * t] = (200, 40, 40)
        if t < 2:                                   # object 2 leaves after frame 1
            m[60:90, 100:140] = 2
            frames[t, 60:90, 100:140] = (40, 200, 40)
        masks.append(m)
    meta = {"frames": [{"objects": {"1": {"visible_frac": 1.0},
                                    "2": {"visible_frac": 0.4 if t == 1 else 1.0}}}
                       for t in range(T)]}
    return Sequence("toy", frames, masks, (1, 2), meta=meta)


def test_embedding_vectors_one_row_per_nonempty_mask():
    torch.manual_seed(0)
    model = DIPNet(DIPNetConfig()).eval()
    e = embedding_vectors(model, _toy_sequence(), blank=True)
    assert len(e) == 5 and e.skipped == [(2, 2)]
    assert list(e.instance) == [1, 2, 1, 2, 1] and list(e.frame) == [0, 0, 1, 1, 2]
    assert e.vectors.shape == (5, model.identity.channels)
    assert ((e.vectors > 0) & (e.vectors < 1)).all()        # a sigmoid's output
    assert np.allclose(e.area[0], 30 * 40 / (96 * 160))
    assert e.visible[3] == pytest.approx(0.4) and e.visible[0] == 1.0
    assert e.blank.shape == (3, model.identity.channels)
    # the same input gives the same beta (deterministic, batch-independent)
    again = embedding_vectors(model, _toy_sequence(), batch=2)
    assert np.allclose(again.vectors, e.vectors, atol=1e-5)
    d = embedding_blank_distance(e)
    assert d.shape == (5,) and (d > 0).all()
    with pytest.raises(ValueError):
        embedding_blank_distance(again)                     # computed without blank


def test_tsne_is_deterministic_with_a_seed():
    e = _two_paths(noise=0.01)
    a, b = embedding_tsne(e, seed=0), embedding_tsne(e, seed=0)
    assert a.shape == (20, 2) and np.allclose(a, b)
