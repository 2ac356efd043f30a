"""Short DAVIS-like clips made of real photographs, with exact masks.

The synthetic videos of :mod:`vos_lib.data.synthetic` are procedural textures, and the
CPU-scale networks of the book never saw anything else.  scikit-image ships a few real
photographs inside its wheel (``skimage.data``: ``astronaut``, ``chelsea``, ``coffee``,
``rocket``; no download), so a clip made of them can be built offline, in CI, anywhere,
to see what the networks do on real image content.

A clip (:func:`photo_clip`) is ``n_frames`` frames of ``size = (H, W)``:

* **background** - one photo seen through a window that pans by whole pixels;
* **object 1** - the horse silhouette of ``skimage.data.horse`` (a real object's
  outline) cut out of a second photo: it crosses the frame from left to right,
  rotating slowly and changing scale;
* **object 2** (``n_objects=2``) - an ellipse cut out of a third photo: it crosses from
  right to left in front of object 1, rotating faster, and hides part of it around
  the middle of the clip (an occlusion).

Each object is a sprite (a binary shape and a texture of the same size) placed by a
similarity transform per frame.  A pixel belongs to object ``k`` if the inverse
transform maps it into ``k``'s shape (nearest sprite pixel); its colour is then ``k``'s
texture at that point (bilinear), and object 2 is drawn over object 1.  The masks are
therefore exact by construction: a pixel with id ``k`` shows object ``k``'s texture, a
pixel with id 0 shows the background photo, unchanged.  Every id is visible in frame 0,
as in DAVIS.  The photos, their crops, the motions and the occlusion's place are drawn
from ``seed``; the same seed gives the same clip, bit for bit.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

#: The colour photographs of ``skimage.data`` bundled in the scikit-image wheel (they load
#: without a network); a clip uses three different ones.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


class PhotoClip(NamedTuple):
    """A clip from :func:`photo_clip`."""
    frames: np.ndarray       #: ``(T, H, W, 3)`` uint8 RGB
    masks: np.ndarray        #: ``(T, H, W)`` uint8 object ids (0 = background, 1..K)
    background: np.ndarray   #: ``(T, H, W, 3)`` uint8, the frames without the objects
    full_masks: np.ndarray   #: ``(T, K, H, W)`` bool, each object's whole in-frame
                             #: silhouette, occluded parts included
    photos: dict             #: which photo is where: ``{"background": name, 1: name, ...}``


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """The ``skimage.data`` photo ``name`` (one of :data:`PHOTOS`) as ``(H, W, 3)``
    uint8 RGB (read-only; it is cached)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose from {PHOTOS}")
    import skimage.data

    img = np.ascontiguousarray(getattr(skimage.data, name)()[..., :3], dtype=np.uint8)
    img.setflags(write=False)
    return img


@lru_cache(maxsize=None)
def horse_shape() -> np.ndarray:
    """The horse silhouette of ``skimage.data.horse`` as ``(328, 400)`` bool, True on
    the horse (the file stores the background as True)."""
    import skimage.data

    shape = ~np.asarray(skimage.data.horse(), dtype=bool)
    shape.setflags(write=False)
    return shape


def _resize(img: np.ndarray, size) -> np.ndarray:
    """``img`` resized to ``size = (h, w)``, anti-aliased, as float in the input's range."""
    from skimage.transform import resize
    return resize(img.astype(np.float64), tuple(size), order=1, anti_aliasing=True,
                  preserve_range=True, mode="edge")


def _crop(rng, img: np.ndarray, aspect: float, frac: tuple) -> np.ndarray:
    """A random crop of ``img`` with width/height ``aspect`` covering a share in
    ``frac`` of the largest such crop."""
    H, W = img.shape[:2]
    h0 = min(H, W / aspect)
    h = h0 * rng.uniform(*frac)
    w = h * aspect
    y = rng.uniform(0, H - h)
    x = rng.uniform(0, W - w)
    return img[int(y):int(y + h), int(x):int(x + w)]


def _sprite(rng, shape: np.ndarray, photo: np.ndarray, height: int):
    """A sprite ``height`` pixels tall: the binary ``shape`` and a crop of ``photo``
    resized to the same size."""
    h = max(int(round(height)), 4)
    w = max(int(round(height * shape.shape[1] / shape.shape[0])), 4)
    mask = _resize(shape.astype(np.float64), (h, w)) > 0.5
    texture = _resize(_crop(rng, photo, w / h, (0.45, 0.8)), (h, w))
    return mask, texture


def _ellipse(ratio: float, n: int = 200) -> np.ndarray:
    """A filled ellipse, ``n`` pixels tall and ``ratio`` times as wide."""
    w = int(round(n * ratio))
    y, x = np.mgrid[:n, :w]
    return (((y - (n - 1) / 2) / (n / 2)) ** 2 + ((x - (w - 1) / 2) / (w / 2)) ** 2) <= 1.0


def _render(mask: np.ndarray, texture: np.ndarray, center, angle: float, scale: float,
            size) -> tuple[np.ndarray, np.ndarray]:
    """Place a sprite: its centre at ``center = (x, y)``, turned by ``angle`` (radians),
    scaled by ``scale``.  Returns the ``(H, W)`` bool silhouette and the ``(H, W, 3)``
    texture sampled at every pixel (meaningful inside the silhouette)."""
    from scipy.ndimage import map_coordinates

    H, W = size
    h, w = mask.shape
    ys, xs = np.mgrid[:H, :W].astype(np.float64)
    dx, dy = xs - center[0], ys - center[1]
    c, s = np.cos(angle), np.sin(angle)
    u = (c * dx + s * dy) / scale + (w - 1) / 2      # inverse rotation, sprite column
    v = (-s * dx + c * dy) / scale + (h - 1) / 2     # sprite row
    ui, vi = np.rint(u).astype(int), np.rint(v).astype(int)
    inside = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    sil = np.zeros((H, W), dtype=bool)
    sil[inside] = mask[vi[inside], ui[inside]]
    tex = np.stack([map_coordinates(texture[..., ch], [v, u], order=1, mode="nearest")
                    for ch in range(3)], -1)
    return sil, tex


def photo_clip(seed: int = 0, n_frames: int = 24, size=(96, 160),
               n_objects: int = 2) -> PhotoClip:
    """A short clip of real photos with exact masks (see the module docstring).

    ``seed`` draws the three photos (background, object 1, object 2) from
    :data:`PHOTOS`, their crops, the pan, the motions and where the objects cross;
    ``size = (H, W)`` is the frame size (96x160 is the synthetic set's); ``n_objects``
    is 1 (the horse) or 2 (the horse and the ellipse that passes in front of it).
    Returns a :class:`PhotoClip`: ``frames (T, H, W, 3)`` uint8, ``masks (T, H, W)``
    uint8 ids, the object-free ``background`` frames, each object's unoccluded
    ``full_masks (T, K, H, W)`` and the photo names.
    """
    if n_objects not in (1, 2):
        raise ValueError(f"n_objects must be 1 or 2, got {n_objects}")
    if n_frames < 2:
        raise ValueError(f"n_frames must be at least 2, got {n_frames}")
    H, W = (int(v) for v in size)
    T = int(n_frames)
    rng = np.random.default_rng(seed)
    names = [PHOTOS[i] for i in rng.permutation(len(PHOTOS))[:3]]
    photos = {"background": names[0], 1: names[1]}

    # background: a crop of the photo a little larger than the frame, panned by whole
    # pixels (each frame shows the same photo pixels, moved)
    margin = max(2, int(round(0.12 * min(H, W))))
    bg = _crop(rng, load_photo(names[0]), (W + 2 * margin) / (H + 2 * margin), (0.6, 1.0))
    bg = np.clip(np.rint(_resize(bg, (H + 2 * margin, W + 2 * margin))), 0, 255)
    bg = bg.astype(np.uint8)
    pan = rng.uniform(-1, 1, 2) * margin / (T - 1)
    offsets = [np.rint(margin + pan * t).astype(int) for t in range(T)]
    background = np.stack([bg[oy:oy + H, ox:ox + W] for ox, oy in offsets])

    # objects: sprites at their frame-0 size; the horse crosses left to right, the
    # ellipse right to left in front of it, the two centres meeting at frame t_meet
    t_meet = rng.uniform(0.45, 0.65) * (T - 1)
    y1 = rng.uniform(0.5, 0.6) * H
    x1, x2 = rng.uniform(0.27, 0.33) * W, rng.uniform(0.72, 0.78) * W
    speed = (x2 - x1) / t_meet                             # sum of both speeds, px/frame
    share = rng.uniform(0.4, 0.6)                          # the horse's part of it
    objects = [dict(sprite=_sprite(rng, horse_shape(), load_photo(names[1]),
                                   rng.uniform(0.5, 0.58) * H),
                    start=(x1, y1), velocity=(share * speed, rng.uniform(-0.3, 0.3)),
                    angle=rng.uniform(-0.1, 0.1), spin=rng.uniform(-1, 1) * 0.03,
                    zoom=rng.uniform(-0.12, 0.12))]
    if n_objects == 2:
        photos[2] = names[2]
        y2 = y1 + rng.uniform(-0.12, 0.12) * H
        ellipse = _ellipse(rng.uniform(1.3, 1.6))
        objects.append(dict(sprite=_sprite(rng, ellipse, load_photo(names[2]),
                                           rng.uniform(0.36, 0.42) * H),
                            start=(x2, y2), velocity=(-(1 - share) * speed, 0.0),
                            angle=rng.uniform(-0.5, 0.5),
                            spin=rng.choice([-1, 1]) * rng.uniform(0.06, 0.1),
                            zoom=rng.uniform(-0.12, 0.12)))

    frames = background.copy()
    masks = np.zeros((T, H, W), dtype=np.uint8)
    full = np.zeros((T, len(objects), H, W), dtype=bool)
    for k, ob in enumerate(objects, start=1):            # object 2 drawn last: in front
        mask, texture = ob["sprite"]
        for t in range(T):
            center = (ob["start"][0] + ob["velocity"][0] * t,
                      ob["start"][1] + ob["velocity"][1] * t)
            scale = 1.0 + ob["zoom"] * t / (T - 1)
            sil, tex = _render(mask, texture, center, ob["angle"] + ob["spin"] * t,
                               scale, (H, W))
            frames[t][sil] = np.clip(np.rint(tex[sil]), 0, 255).astype(np.uint8)
            masks[t][sil] = k
            full[t, k - 1] = sil
    return PhotoClip(frames, masks, background, full, photos)
