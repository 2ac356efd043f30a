"""Tests of the real-photo clips (vos_lib.data.photos): shapes and ids, determinism, and
masks that match the rendered objects exactly."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skimage")

from vos_lib.data.photos import PHOTOS, horse_shape, load_photo, photo_clip  # noqa: E402


@pytest.fixture(scope="module")
def clip():
    return photo_clip(seed=0, n_frames=12)


def test_photos_load_offline():
    for name in PHOTOS:
        img = load_photo(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert img.shape[0] >= 256 and img.std() > 20       # a real photo, not a blank
    shape = horse_shape()
    assert shape.dtype == bool and 0.2 < shape.mean() < 0.5  # the horse, not the sky
    with pytest.raises(ValueError):
        load_photo("horse")


def test_shapes_and_ids(clip):
    T, H, W = 12, 96, 160
    assert clip.frames.shape == (T, H, W, 3) and clip.frames.dtype == np.uint8
    assert clip.masks.shape == (T, H, W) and clip.masks.dtype == np.uint8
    assert clip.background.shape == clip.frames.shape
    assert clip.full_masks.shape == (T, 2, H, W) and clip.full_masks.dtype == bool
    assert set(np.unique(clip.masks)) == {0, 1, 2}
    assert set(np.unique(clip.masks[0])) == {0, 1, 2}        # every id in frame 0
    # three different photos: background, object 1, object 2
    assert len({clip.photos["background"], clip.photos[1], clip.photos[2]}) == 3
    # objects of a sensible size: between 3 % and 40 % of the frame each
    area = clip.full_masks.mean(axis=(2, 3))
    assert (area > 0.03).all() and (area < 0.4).all(), area


def test_one_object_and_sizes():
    c = photo_clip(seed=3, n_frames=5, size=(48, 80), n_objects=1)
    assert c.frames.shape == (5, 48, 80, 3) and c.full_masks.shape == (5, 1, 48, 80)
    assert set(np.unique(c.masks)) == {0, 1} and 2 not in c.photos
    with pytest.raises(ValueError):
        photo_clip(n_objects=3)
    with pytest.raises(ValueError):
        photo_clip(n_frames=1)


def test_deterministic():
    a, b = photo_clip(seed=5, n_frames=6), photo_clip(seed=5, n_frames=6)
    c = photo_clip(seed=6, n_frames=6)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.masks, b.masks)
    assert a.photos == b.photos
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.masks, c.masks)


def test_masks_match_rendered_objects(clip):
    # background pixels are the background photo, unchanged
    bg = clip.masks == 0
    assert np.array_equal(clip.frames[bg], clip.background[bg])
    # object pixels show the object's texture, not the background
    for k in (1, 2):
        on = clip.masks == k
        same = (clip.frames[on] == clip.background[on]).all(-1)
        assert same.mean() < 0.05, (k, same.mean())
    # the id mask is the depth order of the silhouettes: object 2 in front of object 1
    full1, full2 = clip.full_masks[:, 0], clip.full_masks[:, 1]
    assert np.array_equal(clip.masks == 2, full2)
    assert np.array_equal(clip.masks == 1, full1 & ~full2)
    assert np.array_equal(clip.masks == 0, ~full1 & ~full2)


def test_occlusion_and_motion(clip):
    full1 = clip.full_masks[:, 0].sum((1, 2))
    visible1 = (clip.masks == 1).sum((1, 2))
    frac = visible1 / full1
    assert frac[0] == 1.0 and frac.min() < 0.8 and frac.min() > 0.1   # partly hidden
    t_min = int(frac.argmin())
    assert 0 < t_min < len(frac) - 1                                   # mid-clip
    # the objects move: the horse's centre goes right, the ellipse's left
    xs = np.arange(clip.masks.shape[2])
    cx = [(clip.full_masks[:, k] * xs).sum((1, 2)) / clip.full_masks[:, k].sum((1, 2))
          for k in (0, 1)]
    assert cx[0][-1] - cx[0][0] > 10 and cx[1][0] - cx[1][-1] > 10
    # and the background pans by whole pixels: the last frame's background is the
    # first one's, moved by an integer shift (the same photo pixels)
    b0, b1 = clip.background[0], clip.background[-1]
    H, W = b0.shape[:2]
    shifts = [(dy, dx) for dy in range(-12, 13) for dx in range(-12, 13)
              if np.array_equal(b1[max(0, -dy):H - max(0, dy), max(0, -dx):W - max(0, dx)],
                                b0[max(0, dy):H + min(0, dy), max(0, dx):W + min(0, dx)])]
    assert len(shifts) == 1 and shifts[0] != (0, 0), shifts
