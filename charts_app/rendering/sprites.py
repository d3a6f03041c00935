"""Short fixed labels drawn as cached bitmaps: a matplotlib Text costs ~1.5 ms a draw
(font layout and glyph rendering every time); the same label blended into the Agg pixel
buffer from a cache costs ~20 µs. Used for the air-quality band names and guideline label,
which are the same few strings on every chart.

A `LabelSprites` artist draws at its zorder among the Axes' other artists, so series drawn
after it go over it, as they would over Text. Where there is no pixel buffer (SVG) it draws
real Text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform

from .style import FIG_DPI


@dataclass(frozen=True)
class Label:
    """A label at a display position (pixels from the figure's lower left)."""

    text: str
    x: float
    y: float
    ha: str = "left"  # left, right: which end of the label is at x
    va: str = "center"  # center, bottom: which part of the label is at y
    fontsize: float = 8
    color: str = "#222222"
    backdrop: str | None = None  # a colour behind the text (#rrggbbaa), for readability
    gid: str | None = None


@lru_cache(maxsize=256)
def sprite(text: str, fontsize: float, color: str, backdrop: str | None) -> np.ndarray:
    """The label as Agg draws it, cropped to its ink (+1 px), straight RGBA, read-only."""
    fig = Figure(figsize=(8, 1), dpi=FIG_DPI, facecolor="none")
    kwargs = {}
    if backdrop:
        kwargs["bbox"] = {"boxstyle": "square,pad=0.2", "facecolor": backdrop, "linewidth": 0}
    fig.text(0.02, 0.3, text, fontsize=fontsize, color=color, parse_math=False, **kwargs)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    rows = np.flatnonzero(pixels[:, :, 3].any(axis=1))
    cols = np.flatnonzero(pixels[:, :, 3].any(axis=0))
    top, bottom = max(rows[0] - 1, 0), min(rows[-1] + 2, pixels.shape[0])
    left, right = max(cols[0] - 1, 0), min(cols[-1] + 2, pixels.shape[1])
    out = np.array(pixels[top:bottom, left:right])
    out.flags.writeable = False
    return out


def origin(label: Label, h: int, w: int, height: int) -> tuple[int, int]:
    """(row, column) of an h x w sprite's top left in a buffer `height` pixels high."""
    left = label.x - w if label.ha == "right" else label.x
    bottom = label.y - h / 2 if label.va == "center" else label.y
    return int(round(height - (bottom + h))), int(round(left))


def blend(pixels: np.ndarray, image: np.ndarray, row: int, col: int) -> None:
    """Alpha-blend a straight-RGBA image into an opaque RGBA buffer, clipped to it."""
    h, w = image.shape[:2]
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + h, pixels.shape[0]), min(col + w, pixels.shape[1])
    if r0 >= r1 or c0 >= c1:
        return
    src = image[r0 - row : r1 - row, c0 - col : c1 - col].astype(np.float32)
    dst = pixels[r0:r1, c0:c1, :3].astype(np.float32)
    alpha = src[:, :, 3:4] / 255.0
    pixels[r0:r1, c0:c1, :3] = np.rint(src[:, :, :3] * alpha + dst * (1.0 - alpha))


class LabelSprites(Artist):
    """Labels drawn from the sprite cache into the Agg buffer (Text elsewhere)."""

    def __init__(self, labels: list[Label], *, zorder: float):
        super().__init__()
        self.labels = labels
        self.set_zorder(zorder)

    def draw(self, renderer) -> None:
        if not self.get_visible() or not self.labels:
            return
        buffer = getattr(renderer, "buffer_rgba", None)
        if buffer is None:
            self._draw_as_text(renderer)
            return
        pixels = np.asarray(buffer())
        for label in self.labels:
            image = sprite(label.text, label.fontsize, label.color, label.backdrop)
            row, col = origin(label, *image.shape[:2], pixels.shape[0])
            blend(pixels, image, row, col)
        self.stale = False

    def _draw_as_text(self, renderer) -> None:
        for label in self.labels:
            bbox = None
            if label.backdrop:
                bbox = {"boxstyle": "square,pad=0.2", "facecolor": label.backdrop, "linewidth": 0}
            text = Text(
                label.x,
                label.y,
                label.text,
                ha=label.ha,
                va=label.va,
                fontsize=label.fontsize,
                color=label.color,
                transform=IdentityTransform(),
                parse_math=False,
                bbox=bbox,
                gid=label.gid,
            )
            text.set_figure(self.get_figure(root=True))
            text.draw(renderer)
        self.stale = False
